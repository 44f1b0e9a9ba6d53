//! Sources decide what is scanned and which lines of it count; they hand each [`Blob`] to the
//! driver's scanner and attribute what comes back. They never see rules.

pub mod attribution;
pub mod audit;
pub mod commits;
pub mod dir;
pub mod git;
pub mod history;
pub mod lfs;
pub mod loose;
pub mod odb;
pub mod packorder;
pub mod push;
pub mod range;
pub mod staged;
pub mod stream;
pub mod whereabouts;

use crate::driver::{Scanner, Summary};
use crate::finding::{Finding, SourceKind};

/// One piece of content to scan and where it came from.
pub struct Blob<'a> {
    /// The git object, when the content is one.
    pub id: Option<git2::Oid>,
    pub bytes: &'a [u8],
    pub provenance: Provenance<'a>,
    /// Which lines count: a gate keeps only what the change adds.
    pub lines: Lines<'a>,
}

/// Where a blob came from, as far as scanning it needs to know.
#[derive(Clone, Copy)]
pub struct Provenance<'a> {
    /// The path rules and path allowlists see (relative to the config root); `None` for messages.
    pub path: Option<&'a str>,
    /// The name warnings give it (the path as the user wrote it, `<stdin>`, a message).
    pub shown: &'a str,
    pub kind: SourceKind,
}

/// The lines of a blob whose findings count.
pub enum Lines<'a> {
    /// Every line (audits, and content that is new as a whole).
    All,
    /// Only the lines a change adds, worked out on demand: most blobs have no finding at all, and
    /// then the diff is never computed.
    Added(&'a (dyn Fn() -> anyhow::Result<git::Lines> + 'a)),
}

/// What a source hands to the driver. Each implementation reads its content, calls
/// [`Scanner::scan`] for every blob (in parallel where it can) and fills in the provenance of
/// the findings it gets back (file names, commits).
pub trait Source {
    /// How the summary line counts what this source scanned.
    fn summary(&self) -> Summary;

    /// Scans every blob; the findings are not yet filtered or sorted.
    fn scan(&self, scanner: &Scanner<'_>) -> anyhow::Result<Vec<Finding>>;
}
