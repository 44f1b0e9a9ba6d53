//! Filters between the engine and the report: inline `keyfence:allow` comments, the user's
//! commit allowlist and (when given) a baseline of accepted findings.

use crate::finding::Finding;
use crate::rules::Allowlist;

/// The marker that silences findings on its own line.
pub const INLINE_ALLOW: &[u8] = b"keyfence:allow";

pub use crate::rules::InlineAllow;

/// True when `line` (the physical line of a finding of `rule_id` with this `secret`) carries a
/// marker that allows it: a bare `keyfence:allow`, or one naming the rule id or a prefix (12+ hex
/// digits) of the finding's fingerprint (`keyfence:allow aws-access-key-id`).
pub fn inline_allowed(policy: InlineAllow, line: &[u8], rule_id: &str, secret: &[u8]) -> bool {
    if policy == InlineAllow::Off {
        return false;
    }
    let mut fp: Option<String> = None;
    for at in memchr::memmem::find_iter(line, INLINE_ALLOW) {
        let rest = &line[at + INLINE_ALLOW.len()..];
        let token: &[u8] = match rest.first() {
            Some(b' ' | b'\t' | b'=' | b':') => {
                let body = &rest[1..];
                let body = &body[body.iter().take_while(|b| **b == b' ').count()..];
                let n = body
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_')
                    .count();
                &body[..n]
            }
            _ => b"",
        };
        if token.is_empty() || token == rule_id.as_bytes() {
            return true;
        }
        if token.len() >= 12 && token.iter().all(u8::is_ascii_hexdigit) {
            let fp = fp.get_or_insert_with(|| crate::finding::fingerprint(rule_id, secret));
            if fp.as_bytes().starts_with(&token.to_ascii_lowercase()) {
                return true;
            }
        }
    }
    false
}

/// True when the finding's commit is allowlisted.
pub fn commit_allowed(allowlist: &Allowlist, finding: &Finding) -> bool {
    finding
        .commit
        .as_ref()
        .is_some_and(|c| allowlist.allows_commit(&c.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_allow_their_line_by_rule_or_fingerprint_and_only_when_on() {
        let r = "aws-access-key-id";
        assert!(inline_allowed(
            InlineAllow::On,
            b"x = 1 # keyfence:allow",
            r,
            b"s"
        ));
        assert!(!inline_allowed(
            InlineAllow::Off,
            b"x = 1 # keyfence:allow",
            r,
            b"s"
        ));
        assert!(inline_allowed(
            InlineAllow::On,
            b"# keyfence:allow aws-access-key-id",
            r,
            b"s"
        ));
        assert!(!inline_allowed(
            InlineAllow::On,
            b"# keyfence:allow github-pat",
            r,
            b"s"
        ));
        let fp = crate::finding::fingerprint(r, b"s");
        let line = format!("# keyfence:allow {}", &fp[..16]);
        assert!(inline_allowed(InlineAllow::On, line.as_bytes(), r, b"s"));
        assert!(!inline_allowed(InlineAllow::On, line.as_bytes(), r, b"t"));
        assert!(!inline_allowed(InlineAllow::On, b"nothing here", r, b"s"));
    }
}
