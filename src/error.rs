//! Errors of the library part. The binary wraps them with `anyhow` at the edge.

use std::path::PathBuf;

/// A rule pack or config file that cannot be loaded. Every variant names the file, and the line
/// and rule id where known, because "invalid regex" alone does not help anyone fix a config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: invalid TOML: {message}")]
    Toml {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{file}:{line}: rule `{rule}`: {message}")]
    Rule {
        file: PathBuf,
        line: usize,
        rule: String,
        message: String,
    },
    #[error("{file}:{line}: {message}")]
    At {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Other { file: PathBuf, message: String },
}
