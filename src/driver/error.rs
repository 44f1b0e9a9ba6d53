//! Why a scan could not be planned or its report not written. What a source cannot read is a
//! [`SourceError`](crate::sources::error::SourceError); these are the driver's own.

use std::path::PathBuf;

use git2::Oid;

use crate::baseline::BaselineError;
use crate::error::ConfigError;

/// Config, rules or baseline could not be had from where the plan's trust says.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PlanError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(
        "no rules are enabled (the config disables them all), so this gate would pass anything; \
         enable rules in the config, or do not run the gate"
    )]
    NoRules,
    #[error("cannot read the base commit {base}")]
    BaseCommit {
        base: Oid,
        #[source]
        source: git2::Error,
    },
    #[error("{rel} in the base commit is not a readable file")]
    BaseFile {
        rel: String,
        #[source]
        source: git2::Error,
    },
    #[error(
        "--config {} is inside the checkout being checked but not in its base commit; the gate \
         takes config from the base (or from a path outside the checkout)",
        .0.display()
    )]
    ConfigNotInBase(PathBuf),
    #[error("{name} (base commit): not UTF-8")]
    ConfigNotUtf8 {
        name: String,
        #[source]
        source: std::str::Utf8Error,
    },
}

/// The report could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OutputError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Writing the report file failed. The I/O error is kept as text, not as the cause: a broken
    /// pipe here (a FIFO's reader gone) lost the report and must exit 2, not pass as a closed
    /// stdout does in `keyfence::run`.
    #[error("cannot write report to {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
    #[error("cannot write {}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a file name", .0.display())]
    NotAFileName(PathBuf),
    /// The path, already escaped for the terminal.
    #[error("refusing to write {0}: it is a symbolic link (remove it, or choose another path)")]
    Symlink(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report file's broken pipe must fail the run (exit 2): `keyfence::run` treats an I/O
    /// broken pipe anywhere in the chain as a closed stdout, so the typed error must not carry
    /// it as a cause.
    #[test]
    fn a_report_files_broken_pipe_is_not_in_the_chain() {
        let err = OutputError::Write {
            path: "r.json".into(),
            message: std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string(),
        };
        assert!(err
            .to_string()
            .starts_with("cannot write report to r.json: "));
        let mut cause: Option<&dyn std::error::Error> = Some(&err);
        while let Some(c) = cause {
            assert!(c.downcast_ref::<std::io::Error>().is_none(), "{c}");
            cause = c.source();
        }
    }
}
