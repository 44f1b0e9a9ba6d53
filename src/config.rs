//! `.keyfence.toml` → the immutable rule set every worker shares. Built once per run.

use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::rules::spec::FileSpec;
use crate::rules::{add_pack_file, read_config_text, toml_error, RuleSet, RuleSetBuilder};

/// The config file name looked up at the scan or repository root.
pub const CONFIG_FILE: &str = ".keyfence.toml";

/// Which config applies: `--config FILE` wins, else `.keyfence.toml` in `root`, else none.
pub fn locate(explicit: Option<&Path>, root: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let candidate = root.join(CONFIG_FILE);
    candidate.is_file().then_some(candidate)
}

/// Loads the rules in effect: the shipped packs (unless `extend_default = false`), extra packs
/// given on the command line or named by the config, then the config's own rules and allowlist.
pub fn load(config: Option<&Path>, extra_packs: &[PathBuf]) -> Result<RuleSet, ConfigError> {
    let (text, spec) = match config {
        Some(path) => {
            let text = read_config_text(path)?;
            // A first parse only to learn `extend_default` and `packs`; errors surface here with
            // the same file:line as the real load below.
            let spec: FileSpec = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
            (Some(text), Some(spec))
        }
        None => (None, None),
    };
    let mut builder = match spec.as_ref().and_then(|s| s.extend_default) {
        Some(false) => RuleSetBuilder::default(),
        _ => RuleSetBuilder::with_defaults()?,
    };
    for pack in extra_packs {
        add_pack_dir_or_file(&mut builder, pack)?;
    }
    if let (Some(path), Some(spec), Some(text)) = (config, spec.as_ref(), text.as_deref()) {
        let base = path.parent().unwrap_or(Path::new("."));
        for pack in &spec.packs {
            add_pack_dir_or_file(&mut builder, &base.join(pack))?;
        }
        builder.add_pack(&crate::rules::PackText {
            file: path.to_path_buf(),
            text,
        })?;
    }
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
