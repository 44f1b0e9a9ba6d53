//! Reading a rule pack or config file: a bounded regular file in UTF-8, and TOML errors at their
//! line that never echo a value which may be a secret pasted into the wrong field.

use std::path::Path;

use crate::error::ConfigError;

/// A TOML error at its line. serde quotes offending values (`invalid type: string "…"`); a long
/// one may be a secret pasted into the wrong field, so it is shown redacted.
pub(crate) fn toml_error(file: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    ConfigError::Toml {
        file: file.to_path_buf(),
        line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
        message: redact_quoted(e.message()),
    }
}

/// Every name the config format defines (fields and enum values). serde lists them in an
/// unknown-field or unknown-variant error; they are not secrets, so they are shown in full.
const FORMAT_NAMES: &[&str] = &[
    // FileSpec
    "extend_default",
    "disabled_rules",
    "packs",
    "rules",
    "allowlist",
    "inline_allow",
    "defaults",
    "on",
    "off",
    // RuleSpec
    "id",
    "description",
    "regex",
    "keywords",
    "entropy",
    "paths",
    "severity",
    "rank",
    "remediation",
    "examples",
    "negative_examples",
    "references",
    "example_path",
    "replace_allowlist",
    "validate",
    "enabled",
    // AllowlistSpec
    "regexes",
    "regex_target",
    "stopwords",
    "commits",
    // enum values
    "secret",
    "match",
    "line",
    "low",
    "medium",
    "high",
    "critical",
];

/// A misspelt field name (`extend_defaults`) rather than a value: up to 24 lowercase letters and
/// underscores, with at least one underscore — no credential format looks like that.
fn field_like(s: &str) -> bool {
    s.len() <= 24 && s.contains('_') && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Replaces each `"…"` or `` `…` `` value of 12 characters or more by its redacted form, except
/// the config format's own names ([`FORMAT_NAMES`]).
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest[open..].chars().next().unwrap_or('"');
        let body_start = open + 1;
        let Some(len) = rest[body_start..].find(quote) else {
            break;
        };
        let body = &rest[body_start..body_start + len];
        out.push_str(&rest[..body_start]);
        if body.chars().count() >= 12 && !FORMAT_NAMES.contains(&body) && !field_like(body) {
            out.push_str(&crate::redact::redact(body));
        } else {
            out.push_str(body);
        }
        out.push(quote);
        rest = &rest[body_start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Longest rule pack or config file read; a config is small, and one taken from a scanned
/// repository must not make keyfence read a device or a huge file into memory.
pub(crate) const MAX_CONFIG_SIZE: u64 = 8 << 20;

/// Reads a config or pack file: a regular file (not a FIFO, which would block, nor a device) of at
/// most `MAX_CONFIG_SIZE` bytes, in UTF-8.
pub(crate) fn read_config_text(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let read_err = |source| ConfigError::Read {
        file: path.to_path_buf(),
        source,
    };
    let other = |message: String| ConfigError::Other {
        file: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(other("not a regular file".into()));
    }
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(other(format!(
            "larger than {} MiB; not a rule pack or config",
            MAX_CONFIG_SIZE >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|e| other(format!("not UTF-8: {e}")))
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    memchr::memchr_iter(b'\n', &text.as_bytes()[..offset]).count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quoted_values_in_toml_messages_are_redacted() {
        assert_eq!(
            redact_quoted("invalid type: string \"ABCDEFGHIJKLMNOPQRST\", expected a boolean"),
            "invalid type: string \"ABCD…QRST\", expected a boolean"
        );
        assert_eq!(
            redact_quoted("unknown field `colour`, expected one of `id`"),
            "unknown field `colour`, expected one of `id`"
        );
        assert_eq!(redact_quoted("odd \" quote"), "odd \" quote");
    }
}
