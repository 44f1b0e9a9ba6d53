//! What every source hands the driver: a blob with its provenance and the lines that count, and
//! the trait a source implements. Defined beside the driver so that sources depend on the driver,
//! never the other way round.

use super::{Scanner, Summary};
use crate::finding::{Finding, SourceKind};
use crate::sources::error::SourceError;
use crate::sources::git;

/// One piece of content to scan and where it came from.
pub(crate) struct Blob<'a> {
    /// The git object, when the content is one.
    #[allow(dead_code)]
    // provenance names the occurrence; the id names the content, for debugging
    pub(crate) id: Option<git2::Oid>,
    pub(crate) bytes: &'a [u8],
    pub(crate) provenance: Provenance<'a>,
    /// Which lines count: a gate keeps only what the change adds.
    pub(crate) lines: Lines<'a>,
}

/// Where a blob came from, as far as scanning it needs to know.
#[derive(Clone, Copy)]
pub(crate) struct Provenance<'a> {
    /// The path rules and path allowlists see (relative to the config root); `None` for messages.
    pub(crate) path: Option<&'a str>,
    /// The name warnings give it (the path as the user wrote it, `<stdin>`, a message).
    pub(crate) shown: &'a str,
    pub(crate) kind: SourceKind,
}

/// The lines of a blob whose findings count.
pub(crate) enum Lines<'a> {
    /// Every line (audits, and content that is new as a whole).
    All,
    /// Only the lines a change adds, worked out on demand: most blobs have no finding at all, and
    /// then the diff is never computed.
    Added(&'a (dyn Fn() -> Result<git::Lines, SourceError> + 'a)),
}

/// What a source hands to the driver. Each implementation reads its content, calls
/// [`Scanner::scan`] for every blob (in parallel where it can) and fills in the provenance of
/// the findings it gets back (file names, commits).
pub(crate) trait Source {
    /// How the summary line counts what this source scanned.
    fn summary(&self) -> Summary;

    /// Scans every blob; the findings are not yet filtered or sorted.
    fn scan(&self, scanner: &Scanner<'_>) -> Result<Vec<Finding>, SourceError>;
}
