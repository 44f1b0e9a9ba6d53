//! Filters between the engine and the report: inline `keyfence:allow` comments, the user's
//! commit allowlist and (when given) a baseline of accepted findings.

use crate::finding::Finding;
use crate::rules::Allowlist;

/// The marker that silences findings on its own line.
pub const INLINE_ALLOW: &[u8] = b"keyfence:allow";

/// True when the line carries an inline allow marker.
pub fn inline_allowed(line: &[u8]) -> bool {
    memchr::memmem::find(line, INLINE_ALLOW).is_some()
}

/// True when the finding's commit is allowlisted.
pub fn commit_allowed(allowlist: &Allowlist, finding: &Finding) -> bool {
    finding
        .commit
        .as_ref()
        .is_some_and(|c| allowlist.allows_commit(&c.id))
}
