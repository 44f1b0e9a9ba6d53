//! Errors of the library part that several modules share. Errors of one domain live beside it:
//! `sources::error::SourceError` (reading repositories, work trees, Git LFS, hook input),
//! `driver::error::{PlanError, OutputError}`, `baseline::BaselineError`. The binary's edge
//! (`commands/`, `keyfence::run`) wraps them all with `anyhow` and prints their chain of causes.

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

/// Why `keyfence rules list | test` or `keyfence explain` could not run.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The id as given, already escaped for the terminal (it comes from the command line).
    #[error("no rule `{0}` (see `keyfence rules list`)")]
    UnknownRule(String),
    /// Kept as the source, so that a closed pipe (`rules list | head`) is recognised as one.
    #[error("cannot write to standard output")]
    Write(#[from] std::io::Error),
}

/// A `{{…}}` placeholder in a rule example that the fake-key generator does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown placeholder `{{{{{0}}}}}`")]
pub struct UnknownPlaceholder(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    /// `keyfence::run` treats an error whose chain holds a broken-pipe I/O error as a closed
    /// reader (`rules list | head`), not a failure; the typed error must keep the I/O error in
    /// its chain for that (a `transparent` variant would hide it).
    #[test]
    fn a_closed_pipe_stays_visible_through_the_typed_error() {
        let err = anyhow::Error::from(RulesError::from(std::io::Error::from(
            std::io::ErrorKind::BrokenPipe,
        )));
        assert!(err.chain().any(|c| c
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)));
        assert_eq!(
            UnknownPlaceholder("b64:x".into()).to_string(),
            "unknown placeholder `{{b64:x}}`"
        );
    }
}
