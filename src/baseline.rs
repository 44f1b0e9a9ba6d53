//! Baselines: findings a team has accepted, stored as `(rule id, fingerprint)` pairs — never the
//! secret, never a location or a timestamp — sorted one per line, so the file is stable across
//! runs and two branches that baseline the same findings write the same bytes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::finding::Finding;

/// The format version written to and accepted from files.
pub(crate) const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) rule_id: String,
    pub(crate) fingerprint: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Baseline {
    entries: BTreeSet<Entry>,
}

/// Why a baseline cannot be used. A gate given a broken baseline fails: dropping it would
/// report findings the team accepted, guessing at it could hide new ones.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BaselineError {
    #[error("cannot read baseline {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `name` is the file as the message names it: a path, or `NAME (base commit)`.
    #[error("{name}: not a keyfence baseline")]
    Invalid {
        name: String,
        #[source]
        source: FormatError,
    },
    #[error("{name}: not UTF-8")]
    NotUtf8 {
        name: String,
        #[source]
        source: std::str::Utf8Error,
    },
}

/// What is wrong with a baseline's text.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FormatError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("unsupported baseline version {0} (this keyfence writes {VERSION})")]
    Version(u32),
}

#[derive(Serialize, Deserialize)]
struct FileForm {
    keyfence_baseline: u32,
    findings: Vec<Entry>,
}

impl Baseline {
    pub(crate) fn from_findings(findings: &[Finding]) -> Baseline {
        Baseline {
            entries: findings
                .iter()
                .map(|f| Entry {
                    rule_id: f.rule_id.clone(),
                    fingerprint: f.fingerprint.clone(),
                })
                .collect(),
        }
    }

    pub(crate) fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(&text).map_err(|source| BaselineError::Invalid {
            name: path.display().to_string(),
            source,
        })
    }

    pub(crate) fn parse(text: &str) -> Result<Baseline, FormatError> {
        let form: FileForm = serde_json::from_str(text)?;
        if form.keyfence_baseline != VERSION {
            return Err(FormatError::Version(form.keyfence_baseline));
        }
        Ok(Baseline {
            entries: form.findings.into_iter().collect(),
        })
    }

    /// The file text: sorted entries, one per line.
    pub(crate) fn render(&self) -> String {
        let mut out = format!("{{\n  \"keyfence_baseline\": {VERSION},\n  \"findings\": [");
        for (i, e) in self.entries.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str("    ");
            out.push_str(&serde_json::to_string(e).expect("strings serialize"));
        }
        if !self.entries.is_empty() {
            out.push_str("\n  ");
        }
        out.push_str("]\n}\n");
        out
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key(f: &Finding) -> Entry {
        Entry {
            rule_id: f.rule_id.clone(),
            fingerprint: f.fingerprint.clone(),
        }
    }

    /// Drops baselined findings; returns the entries that matched none of them.
    pub(crate) fn apply(&self, findings: &mut Vec<Finding>) -> Vec<Entry> {
        let mut used = BTreeSet::new();
        findings.retain(|f| {
            let key = Baseline::key(f);
            if self.entries.contains(&key) {
                used.insert(key);
                false
            } else {
                true
            }
        });
        self.entries.difference(&used).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sorted_and_parses_back() {
        let mut b = Baseline::default();
        for (r, f) in [("b", "2"), ("a", "9"), ("a", "1"), ("a", "1")] {
            b.entries.insert(Entry {
                rule_id: r.into(),
                fingerprint: f.into(),
            });
        }
        let text = b.render();
        assert_eq!(
            text,
            "{\n  \"keyfence_baseline\": 1,\n  \"findings\": [\n    {\"rule_id\":\"a\",\"fingerprint\":\"1\"},\n    {\"rule_id\":\"a\",\"fingerprint\":\"9\"},\n    {\"rule_id\":\"b\",\"fingerprint\":\"2\"}\n  ]\n}\n"
        );
        assert_eq!(Baseline::parse(&text).unwrap(), b);
        assert!(Baseline::parse(&Baseline::default().render())
            .unwrap()
            .is_empty());
        assert!(Baseline::parse("{\"keyfence_baseline\": 9, \"findings\": []}").is_err());
    }

    /// The message names the file and keeps why it is not a baseline as its cause, as the
    /// untyped error did ("caused by: unsupported baseline version 9 …").
    #[test]
    fn a_bad_baseline_names_the_file_and_the_reason() {
        let dir = std::env::temp_dir().join(format!("keyfence-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("b.json");
        std::fs::write(&file, "{\"keyfence_baseline\": 9, \"findings\": []}").unwrap();
        let err = Baseline::load(&file).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: not a keyfence baseline", file.display())
        );
        let cause = std::error::Error::source(&err)
            .expect("a cause")
            .to_string();
        assert_eq!(
            cause,
            "unsupported baseline version 9 (this keyfence writes 1)"
        );
        let missing = Baseline::load(&dir.join("none.json")).unwrap_err();
        assert!(matches!(missing, BaselineError::Read { .. }), "{missing}");
        assert!(missing.to_string().starts_with("cannot read baseline "));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
