//! Config and baseline for a range gate, read from the range's base commit: the content being
//! checked must not decide what the gate allows (DESIGN.md, "Who decides").

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use super::error::PlanError;
use crate::baseline::{Baseline, BaselineError};
use crate::cli::CommonArgs;
use crate::config;

/// The baseline file looked up beside the config.
pub(crate) const BASELINE_FILE: &str = ".keyfence-baseline.json";

/// Config and baseline for a range gate, from the base commit (see [`Trust::Base`]).
pub(crate) fn trusted_from_base(
    args: &CommonArgs,
    repo: &Repository,
    base: Option<Oid>,
) -> Result<(crate::rules::RuleSet, Option<PathBuf>, Option<Baseline>), PlanError> {
    let workdir = repo
        .workdir()
        .map(|w| w.canonicalize().unwrap_or(w.to_path_buf()));
    // An operator path inside the checkout names a file of the checked content: read it as the
    // base commit has it. Outside the checkout it is the operator's own file.
    let inside = |p: &Path| -> Option<String> {
        let wd = workdir.as_ref()?;
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        let abs = normalize(&abs);
        let rel = abs.strip_prefix(wd).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    };
    let at_base = |rel: &str| -> Result<Option<Vec<u8>>, PlanError> {
        let Some(base) = base else { return Ok(None) };
        let tree = repo
            .find_commit(base)
            .and_then(|c| c.tree())
            .map_err(|source| PlanError::BaseCommit { base, source })?;
        let Ok(entry) = tree.get_path(Path::new(rel)) else {
            return Ok(None);
        };
        let blob = repo
            .find_blob(entry.id())
            .map_err(|source| PlanError::BaseFile {
                rel: rel.to_string(),
                source,
            })?;
        Ok(Some(blob.content().to_vec()))
    };
    let (rules, config_file) = match args.config.as_deref() {
        Some(p) => match inside(p) {
            Some(rel) => match at_base(&rel)? {
                Some(text) => (
                    load_config_bytes(&rel, &text, &args.rules_dir)?,
                    Some(p.into()),
                ),
                None => return Err(PlanError::ConfigNotInBase(p.to_path_buf())),
            },
            None => (config::load(Some(p), &args.rules_dir)?, Some(p.into())),
        },
        None => match at_base(config::CONFIG_FILE)? {
            Some(text) => (
                load_config_bytes(config::CONFIG_FILE, &text, &args.rules_dir)?,
                Some(PathBuf::from(config::CONFIG_FILE)),
            ),
            None => (config::load(None, &args.rules_dir)?, None),
        },
    };
    let baseline = match args.baseline.as_deref() {
        Some(p) => match inside(p) {
            Some(rel) => at_base(&rel)?
                .map(|b| parse_baseline(&rel, &b))
                .transpose()?,
            None => Some(Baseline::load(p)?),
        },
        None => at_base(BASELINE_FILE)?
            .map(|b| parse_baseline(BASELINE_FILE, &b))
            .transpose()?,
    };
    Ok((rules, config_file, baseline))
}

fn parse_baseline(name: &str, bytes: &[u8]) -> Result<Baseline, BaselineError> {
    let text = std::str::from_utf8(bytes).map_err(|source| BaselineError::NotUtf8 {
        name: name.to_string(),
        source,
    })?;
    Baseline::parse(text).map_err(|source| BaselineError::Invalid {
        name: format!("{name} (base commit)"),
        source,
    })
}

/// Loads a config read from a commit (not from disk).
fn load_config_bytes(
    name: &str,
    bytes: &[u8],
    extra: &[PathBuf],
) -> Result<crate::rules::RuleSet, PlanError> {
    let text = std::str::from_utf8(bytes).map_err(|source| PlanError::ConfigNotUtf8 {
        name: name.to_string(),
        source,
    })?;
    Ok(config::load_text(
        Path::new(&format!("{name} (base commit)")),
        text,
        extra,
        false,
    )?)
}

/// `a/./b/../c` → `a/c`, without touching the file system (the file may not exist).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
