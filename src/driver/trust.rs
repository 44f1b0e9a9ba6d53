//! Config and baseline for a range gate, read from the range's base commit: the content being
//! checked must not decide what the gate allows (DESIGN.md, "Who decides").

use std::path::{Path, PathBuf};

use anyhow::Context;
use git2::{Oid, Repository};

use crate::baseline::Baseline;
use crate::cli::CommonArgs;
use crate::config;

/// The baseline file looked up beside the config.
pub(crate) const BASELINE_FILE: &str = ".keyfence-baseline.json";

/// Config and baseline for a range gate, from the base commit (see [`Trust::Base`]).
pub(crate) fn trusted_from_base(
    args: &CommonArgs,
    repo: &Repository,
    base: Option<Oid>,
) -> anyhow::Result<(crate::rules::RuleSet, Option<PathBuf>, Option<Baseline>)> {
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
    let at_base = |rel: &str| -> anyhow::Result<Option<Vec<u8>>> {
        let Some(base) = base else { return Ok(None) };
        let tree = repo
            .find_commit(base)
            .and_then(|c| c.tree())
            .with_context(|| format!("cannot read the base commit {base}"))?;
        let Ok(entry) = tree.get_path(Path::new(rel)) else {
            return Ok(None);
        };
        let blob = repo
            .find_blob(entry.id())
            .with_context(|| format!("{rel} in the base commit is not a readable file"))?;
        Ok(Some(blob.content().to_vec()))
    };
    let (rules, config_file) = match args.config.as_deref() {
        Some(p) => match inside(p) {
            Some(rel) => match at_base(&rel)? {
                Some(text) => (
                    load_config_bytes(&rel, &text, &args.rules_dir)?,
                    Some(p.into()),
                ),
                None => anyhow::bail!(
                    "--config {} is inside the checkout being checked but not in its base \
                     commit; the gate takes config from the base (or from a path outside the \
                     checkout)",
                    p.display()
                ),
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

fn parse_baseline(name: &str, bytes: &[u8]) -> anyhow::Result<Baseline> {
    let text = std::str::from_utf8(bytes).with_context(|| format!("{name}: not UTF-8"))?;
    Baseline::parse(text).with_context(|| format!("{name} (base commit): not a keyfence baseline"))
}

/// Loads a config read from a commit (not from disk).
fn load_config_bytes(
    name: &str,
    bytes: &[u8],
    extra: &[PathBuf],
) -> anyhow::Result<crate::rules::RuleSet> {
    let text =
        std::str::from_utf8(bytes).with_context(|| format!("{name} (base commit): not UTF-8"))?;
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
