//! Why a source could not hand over its content. Each message says what could not be read and,
//! for a gate, how to proceed (DESIGN.md, "Gates fail closed"); the underlying libgit2 or I/O
//! error stays in the chain as the cause `keyfence::run` prints.

use std::path::PathBuf;

use git2::{ObjectType, Oid};

use super::loose::DamagedObject;
use super::odb::StreamError;
use crate::progress::human_bytes;

/// An object named in a "… is missing" message.
#[derive(Debug)]
pub(crate) enum Object {
    Blob(Oid),
    /// A blob and the path it was found at.
    BlobAt(Oid, String),
    /// The staged blob of a path.
    Staged(String),
    Tree(Oid),
    /// A tree and the ref that names it.
    TreeAt(Oid, String),
    /// The root tree of a commit.
    TreeOf(Oid),
    /// Any parent of a commit.
    ParentOf(Oid),
    Commit(Oid),
    Tag(Oid),
}

impl std::fmt::Display for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Object::Blob(id) => write!(f, "blob {id}"),
            Object::BlobAt(id, path) => write!(f, "blob {id} ({path})"),
            Object::Staged(path) => write!(f, "staged blob of {path}"),
            Object::Tree(id) => write!(f, "tree {id}"),
            Object::TreeAt(id, name) => write!(f, "tree {id} ({name})"),
            Object::TreeOf(c) => write!(f, "tree of {c}"),
            Object::ParentOf(c) => write!(f, "a parent of {c}"),
            Object::Commit(c) => write!(f, "commit {c}"),
            Object::Tag(t) => write!(f, "tag object {t}"),
        }
    }
}

/// Reading a repository, a work tree, Git LFS objects or a hook's input failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SourceError {
    /// libgit2 said no, and its own message says enough.
    #[error(transparent)]
    Git(#[from] git2::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Damaged(#[from] DamagedObject),
    #[error(transparent)]
    Stream(#[from] StreamError),

    // Opening the repository.
    #[error(
        "{}: this repository uses SHA-256 object ids, which keyfence cannot read yet; nothing \
         was scanned (use a SHA-1 repository, or scan a checkout with `keyfence scan`)",
        git_dir.display()
    )]
    Sha256 { git_dir: PathBuf },
    #[error("{}: not a git repository", dir.display())]
    NotARepository {
        dir: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("not inside a git repository (use --repo DIR)")]
    NoRepository(#[source] git2::Error),
    /// libgit2's message only: the worker's error is not the one that failed the scan.
    #[error("cannot open the repository in a worker: {0}")]
    WorkerOpen(String),
    #[error("cannot open the repository: {0}")]
    Reopen(String),

    // Revisions and refs.
    #[error(
        "unknown revision `{0}`: this is a shallow clone, so older commits are not here; fetch \
         more history (`git fetch --deepen=100`, or `fetch-depth: 0` in CI)"
    )]
    UnknownInShallow(String),
    #[error("unknown revision `{rev}`")]
    UnknownRevision {
        rev: String,
        #[source]
        source: git2::Error,
    },
    #[error("`{0}` does not name a commit")]
    NotACommit(String),
    #[error("`{text}` is not a date")]
    NotUnixTime {
        text: String,
        #[source]
        source: std::num::ParseIntError,
    },
    #[error("`{0}` is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")]
    NotADate(String),
    #[error("cannot list refs")]
    ListRefs(#[source] git2::Error),
    #[error("{name} points at an object missing from the repository: {source}")]
    DanglingRef {
        name: String,
        #[source]
        source: git2::Error,
    },
    #[error("cannot walk from {0}")]
    WalkFrom(Oid, #[source] git2::Error),
    #[error("cannot exclude {0}")]
    Exclude(Oid, #[source] git2::Error),
    #[error("cannot walk the commit graph (is the repository complete?)")]
    Walk(#[source] git2::Error),
    #[error(
        "shallow clone: the parents of commit {0} are not here, so the lines it adds cannot be \
         told apart; fetch more history (e.g. `git fetch --deepen=100`, or fetch-depth: 0 in CI)"
    )]
    Shallow(String),

    // Objects.
    #[error("{object} is missing")]
    Missing {
        object: Object,
        #[source]
        source: git2::Error,
    },
    #[error("object {id} is missing from the repository")]
    NotInRepository {
        id: Oid,
        #[source]
        source: git2::Error,
    },
    #[error("object {0} is not a readable tag")]
    UnreadableTag(Oid),
    #[error("tag {0} is a chain of over 1000 tags")]
    TagChain(Oid),
    #[error("object {0} has an unknown type")]
    UnknownType(Oid),
    #[error(
        "{path}: the tree names object {id} as a file, but it is a {kind}; the repository is \
         damaged (run `git fsck`)"
    )]
    NotABlob {
        path: String,
        id: Oid,
        kind: ObjectType,
    },
    /// `what` says what the object is instead (`it is a tree`, `the repository has no such
    /// object`).
    #[error(
        "tree {tree} names {id} as a file ({name}), but {what}; the repository is damaged or \
         incomplete (run `git fsck`)"
    )]
    DamagedTree {
        tree: Oid,
        id: Oid,
        name: String,
        what: String,
    },

    // The staged gate.
    #[error("cannot read the index")]
    Index(#[source] git2::Error),
    #[error("HEAD does not point at a commit")]
    HeadNotCommit(#[source] git2::Error),
    #[error("cannot resolve HEAD")]
    Head(#[source] git2::Error),
    #[error("cannot diff HEAD against the index")]
    DiffIndex(#[source] git2::Error),
    #[error(
        "staged entry {path} names object {id}, a {kind}, not a file's content; the repository \
         is damaged (run `git fsck`)"
    )]
    StagedNotFile {
        path: String,
        id: Oid,
        kind: ObjectType,
    },
    #[error(
        "staged file {path} is {} ({size} bytes), over --max-file-size ({max} bytes), so the \
         commit cannot be checked and is blocked; rerun with a larger --max-file-size (e.g. \
         `keyfence protect --max-file-size {}`), or keep such files out of git",
        human_bytes(*size),
        size.next_power_of_two()
    )]
    StagedTooLarge { path: String, size: u64, max: u64 },

    // Size, threads and the work tree.
    /// A gate met content over `--max-file-size`.
    #[error(
        "{what} is {} ({size} bytes), over --max-file-size ({max} bytes), so this gate cannot \
         vouch for it and fails; rerun with a larger --max-file-size (e.g. --max-file-size {}) \
         to scan it",
        human_bytes(*size),
        size.next_power_of_two()
    )]
    TooLarge { what: String, size: u64, max: u64 },
    #[error(
        "{what}: over {cap} matches, all of those reported allowed inline; a gate cannot vouch for \
         the {more} past the cap it did not judge: remove the allowed ones, or accept them in a \
         baseline (keyfence baseline) instead of inline",
        cap = crate::pipeline::MAX_FINDINGS_PER_BLOB
    )]
    CapUnjudged { what: String, more: usize },
    #[error("cannot start worker threads")]
    Threads(#[source] rayon::ThreadPoolBuildError),
    #[error("a scanning thread panicked")]
    Panicked,
    #[error("{}: no such file or directory", .0.display())]
    NoSuchPath(PathBuf),
    #[error("stdin is larger than --max-file-size ({0} bytes)")]
    StdinTooLarge(u64),

    // Git LFS.
    #[error(
        "{path} is a Git LFS file of {size} bytes, over --max-file-size ({max} bytes), so it \
         cannot be checked; rerun with a larger --max-file-size"
    )]
    LfsTooLarge { path: String, size: u64, max: u64 },
    #[error(
        "{path} is a Git LFS pointer but its object {oid} is not in {}, so its content cannot \
         be checked; run `git lfs fetch` (or `git lfs install` and add the file again)",
        file.display()
    )]
    LfsMissing {
        path: String,
        oid: String,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    // Hook input.
    #[error(
        "`keyfence hook {hook}` reads git's hook input on stdin ({shape} per line) and stdin is \
         a terminal; git runs it for you (see `keyfence install`), or pipe the lines in"
    )]
    HookOnTerminal { hook: String, shape: String },
    #[error("cannot read the hook input from stdin")]
    HookInput(#[source] std::io::Error),
    /// A pushed object (`what` is `local sha` or `new sha`) that cannot be followed.
    #[error("{what} {id} is not in this repository")]
    PushedMissing {
        what: String,
        id: String,
        #[source]
        source: Box<SourceError>,
    },
    #[error("PRE_COMMIT ref `{rev}` is not in this repository")]
    FrameworkRef {
        rev: String,
        #[source]
        source: git2::Error,
    },
    #[error("PRE_COMMIT_LOCAL_BRANCH `{local}` is not in this repository")]
    FrameworkBranch {
        local: String,
        #[source]
        source: git2::Error,
    },
    /// `refname` is already escaped for the terminal.
    #[error("old sha {base} of {refname} is not a commit here")]
    OldNotCommit { base: String, refname: String },
}

impl SourceError {
    /// `object` could not be read.
    pub(crate) fn missing(object: Object, source: git2::Error) -> SourceError {
        SourceError::Missing { object, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The causes `keyfence::run` prints come from the typed chain: a context over a libgit2
    /// error keeps that error as its cause, and a size message reads as the untyped one did.
    #[test]
    fn messages_keep_their_text_and_cause() {
        let id = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        let err = SourceError::missing(
            Object::BlobAt(id, "a/b".into()),
            git2::Error::from_str("object not found"),
        );
        assert_eq!(
            err.to_string(),
            "blob 0123456789abcdef0123456789abcdef01234567 (a/b) is missing"
        );
        let cause = std::error::Error::source(&err).expect("a cause");
        assert_eq!(cause.to_string(), "object not found");
        let big = SourceError::TooLarge {
            what: "big.bin".into(),
            size: 3_000_000,
            max: 1 << 20,
        };
        assert_eq!(
            big.to_string(),
            "big.bin is 3.0 MB (3000000 bytes), over --max-file-size (1048576 bytes), so this \
             gate cannot vouch for it and fails; rerun with a larger --max-file-size (e.g. \
             --max-file-size 4194304) to scan it"
        );
    }

    /// Opening and resolving over real directories: the same top line as before, and libgit2's
    /// or the parser's error as the one cause below it.
    #[test]
    fn opening_and_resolving_name_what_failed() {
        let cause = |e: &SourceError| std::error::Error::source(e).map(|c| c.to_string());
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        let err = super::super::git::Opener::new(Some(&plain))
            .err()
            .expect("not a repo");
        assert_eq!(
            err.to_string(),
            format!("{}: not a git repository", plain.display())
        );
        assert!(cause(&err).is_some_and(|c| !c.is_empty()), "{err:?}");

        let repo = git2::Repository::init(dir.path().join("repo")).unwrap();
        let err = super::super::git::commit_of(&repo, "no-such-rev").unwrap_err();
        assert_eq!(err.to_string(), "unknown revision `no-such-rev`");
        assert!(cause(&err).is_some(), "{err:?}");

        let err = super::super::git::parse_since("@soon").unwrap_err();
        assert_eq!(err.to_string(), "`@soon` is not a date");
        assert_eq!(
            cause(&err).as_deref(),
            Some("invalid digit found in string")
        );
        let err = super::super::git::parse_since("soon").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`soon` is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"
        );
        assert!(cause(&err).is_none());
    }
}
