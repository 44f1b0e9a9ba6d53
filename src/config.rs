//! `.keyfence.toml` → the immutable rule set every worker shares. Built once per run.
//!
//! One model for every command: the config is `.keyfence.toml` at the repository root (the top of
//! the git work tree holding what is scanned; outside a repository, the scan root) unless
//! `--config` names one, and every path glob in it matches paths relative to that root.

use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::rules::spec::FileSpec;
use crate::rules::{add_pack_file, line_of, read_config_text, toml_error, RuleSet, RuleSetBuilder};

/// The config file name looked up at the scan or repository root.
pub(crate) const CONFIG_FILE: &str = ".keyfence.toml";

/// Which config applies: `--config FILE` wins, else `.keyfence.toml` in `root`, else none.
pub(crate) fn locate(explicit: Option<&Path>, root: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let candidate = root.join(CONFIG_FILE);
    candidate.is_file().then_some(candidate)
}

/// The directory whose `.keyfence.toml` applies to `path` (a file or directory) and against
/// which path globs match: the top of the git work tree holding it, else `path` itself (its
/// directory, for a file). `.` when that is the current directory, so messages stay short.
pub(crate) fn config_root_for(path: &Path) -> PathBuf {
    work_tree_of(path).unwrap_or_else(|| {
        if path.is_dir() {
            path.to_path_buf()
        } else {
            match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            }
        }
    })
}

/// The top of the git work tree holding `path`: the nearest directory, from `path` up, with a
/// `.git` entry (a directory, or a file in linked worktrees and submodules).
pub(crate) fn work_tree_of(path: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(path).ok()?;
    let start = if abs.is_dir() {
        abs
    } else {
        abs.parent()?.to_path_buf()
    };
    let top = start
        .ancestors()
        .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())?;
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    Some(if cwd.as_deref() == Some(top) {
        PathBuf::from(".")
    } else {
        top.to_path_buf()
    })
}

/// Loads the rules in effect: the shipped packs (unless `extend_default = false`), extra packs
/// given on the command line or named by the config, then the config's own rules and allowlist.
pub(crate) fn load(config: Option<&Path>, extra_packs: &[PathBuf]) -> Result<RuleSet, ConfigError> {
    match config {
        Some(path) => {
            let text = read_config_text(path)?;
            load_text(path, &text, extra_packs, true)
        }
        None => {
            let mut builder = RuleSetBuilder::with_defaults()?;
            for pack in extra_packs {
                add_pack_dir_or_file(&mut builder, pack)?;
            }
            builder.build()
        }
    }
}

/// Loads the rules in effect from a config's text; `name` is what errors call it (and, when
/// `allow_packs`, where its `packs` are relative to). `allow_packs = false` is for a config read
/// from a commit rather than from disk: one that names packs is then an error, since the packs on
/// disk are not the commit's.
pub fn load_text(
    name: &Path,
    text: &str,
    extra_packs: &[PathBuf],
    allow_packs: bool,
) -> Result<RuleSet, ConfigError> {
    // A first parse only to learn `extend_default` and `packs`; errors surface here with the same
    // file:line as the real load below.
    let spec: FileSpec = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
    if let (false, Some(first)) = (allow_packs, spec.packs.first()) {
        return Err(ConfigError::At {
            file: name.to_path_buf(),
            line: line_of(text, first.span().start),
            message: "a config read from a commit cannot load packs from disk; give the \
                      operator's config with --config"
                .into(),
        });
    }
    let mut builder = match spec.extend_default {
        Some(false) => RuleSetBuilder::default(),
        _ => RuleSetBuilder::with_defaults()?,
    };
    for pack in extra_packs {
        add_pack_dir_or_file(&mut builder, pack)?;
    }
    let base = name.parent().unwrap_or(Path::new("."));
    for (i, pack) in spec.packs.iter().enumerate() {
        let full = base.join(pack.get_ref());
        // The path is the config's value: an error about the pack itself names the config line
        // and the index, not the path (errors inside a pack that exists name that pack).
        let at = |message: String| ConfigError::At {
            file: name.to_path_buf(),
            line: line_of(text, pack.span().start),
            message: format!("packs[{i}]: {message}"),
        };
        match std::fs::metadata(&full) {
            Err(e) => return Err(at(format!("cannot read: {e}"))),
            Ok(m) if !m.is_file() && !m.is_dir() => {
                return Err(at("not a regular file or directory".into()))
            }
            Ok(_) => {}
        }
        add_pack_dir_or_file(&mut builder, &full).map_err(|e| match e {
            ConfigError::Read { file, source } if file == full => {
                at(format!("cannot read: {source}"))
            }
            ConfigError::Other { file, message } if file == full => at(message),
            other => other,
        })?;
    }
    builder.add_pack(&crate::rules::PackText {
        file: name.to_path_buf(),
        text,
    })?;
    builder.build()
}

/// A pack path may be one TOML file or a directory of them (loaded in name order).
fn add_pack_dir_or_file(builder: &mut RuleSetBuilder, path: &Path) -> Result<(), ConfigError> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| ConfigError::Read {
                file: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        for f in files {
            add_pack_file(builder, &f)?;
        }
        Ok(())
    } else {
        add_pack_file(builder, path).map(|_| ())
    }
}
