//! Parsers for what git writes to a hook's standard input. Pure functions over text, so they
//! can be fuzzed: any input either parses or yields an error naming the bad line.

use std::fmt;

/// An object id as git prints it (40 hex digits for SHA-1, 64 for SHA-256), lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectId(String);

impl ObjectId {
    pub fn parse(s: &str) -> Option<ObjectId> {
        let ok = matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| ObjectId(s.to_ascii_lowercase()))
    }

    /// All zeros: git's "no object" (a created or deleted ref).
    pub fn is_zero(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One line of pre-push input: `<local ref> <local sha> <remote ref> <remote sha>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushUpdate {
    pub local_ref: String,
    pub local: ObjectId,
    pub remote_ref: String,
    pub remote: ObjectId,
}

/// One line of pre-receive input: `<old sha> <new sha> <ref>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: ObjectId,
    pub new: ObjectId,
    pub refname: String,
}

/// What an update asks of a scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// A deletion: nothing to scan.
    Nothing,
    /// A new ref: the commits of `tip` not reachable from any ref the other side already has.
    New { tip: &'a ObjectId },
    /// An update: the commits in `base..tip`.
    Range {
        base: &'a ObjectId,
        tip: &'a ObjectId,
    },
}

impl<'a> Action<'a> {
    /// The tip to scan and the base it starts from (none for a new ref); `None` for a deletion.
    pub fn tip_and_base(&self) -> Option<(&'a ObjectId, Option<&'a ObjectId>)> {
        match *self {
            Action::Nothing => None,
            Action::New { tip } => Some((tip, None)),
            Action::Range { base, tip } => Some((tip, Some(base))),
        }
    }
}

fn action<'a>(old: &'a ObjectId, new: &'a ObjectId) -> Action<'a> {
    if new.is_zero() {
        Action::Nothing
    } else if old.is_zero() {
        Action::New { tip: new }
    } else {
        Action::Range {
            base: old,
            tip: new,
        }
    }
}

impl PushUpdate {
    pub fn action(&self) -> Action<'_> {
        action(&self.remote, &self.local)
    }
}

impl RefUpdate {
    pub fn action(&self) -> Action<'_> {
        action(&self.old, &self.new)
    }
}

/// A line that is not what git writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hook input line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

fn fields(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| (n, l.split_ascii_whitespace().collect()))
}

fn oid(line: usize, what: &str, s: &str) -> Result<ObjectId, ParseError> {
    ObjectId::parse(s).ok_or_else(|| ParseError {
        line,
        message: format!(
            "{what} `{}` is not an object id",
            s.chars().take(80).collect::<String>()
        ),
    })
}

fn count(line: usize, want: usize, got: usize, shape: &str) -> Result<(), ParseError> {
    if got == want {
        Ok(())
    } else {
        Err(ParseError {
            line,
            message: format!("expected {want} fields ({shape}), found {got}"),
        })
    }
}

/// Parses pre-push input. Blank lines are ignored.
pub fn parse_pre_push(text: &str) -> Result<Vec<PushUpdate>, ParseError> {
    fields(text)
        .map(|(n, f)| {
            count(
                n,
                4,
                f.len(),
                "<local ref> <local sha> <remote ref> <remote sha>",
            )?;
            Ok(PushUpdate {
                local_ref: f[0].to_string(),
                local: oid(n, "local sha", f[1])?,
                remote_ref: f[2].to_string(),
                remote: oid(n, "remote sha", f[3])?,
            })
        })
        .collect()
}

/// Parses pre-receive (or post-receive) input. Blank lines are ignored.
pub fn parse_pre_receive(text: &str) -> Result<Vec<RefUpdate>, ParseError> {
    fields(text)
        .map(|(n, f)| {
            count(n, 3, f.len(), "<old sha> <new sha> <ref>")?;
            Ok(RefUpdate {
                old: oid(n, "old sha", f[0])?,
                new: oid(n, "new sha", f[1])?,
                refname: f[2].to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn pre_push_lines_map_to_actions() {
        let input = format!(
            "refs/heads/main {A} refs/heads/main {B}\n\nrefs/heads/new {A} refs/heads/new {Z}\n(delete) {Z} refs/heads/old {B}\r\n"
        );
        let ups = parse_pre_push(&input).unwrap();
        assert_eq!(ups.len(), 3);
        assert!(
            matches!(ups[0].action(), Action::Range { base, tip } if base.as_str() == B && tip.as_str() == A)
        );
        assert!(matches!(ups[1].action(), Action::New { .. }));
        assert_eq!(ups[2].action(), Action::Nothing);
    }

    #[test]
    fn pre_receive_lines_and_errors() {
        let ups = parse_pre_receive(&format!("{Z} {A} refs/heads/x\n")).unwrap();
        assert!(matches!(ups[0].action(), Action::New { .. }));
        let err = parse_pre_receive(&format!("{A} {B}\n")).unwrap_err();
        assert_eq!(err.line, 1);
        let err = parse_pre_push(&format!("a {A} b nothex\n")).unwrap_err();
        assert!(err.message.contains("remote sha"));
        assert!(parse_pre_push("").unwrap().is_empty());
        assert!(parse_pre_receive("é é é").is_err());
    }
}
