//! Staged changes (pre-commit): HEAD's tree against the index, never the working tree. For each
//! added, modified or renamed regular file the source hands over the whole staged blob and the
//! lines the index adds to it, so multi-line context works and old content does not block.

use git2::{Delta, DiffFindOptions, DiffOptions, ObjectType, Oid, Repository};

use super::error::{Object, SourceError};
use super::git::{added_lines, is_file_mode, Lines};
use super::{Blob, Lines as BlobLines, Provenance, Source};
use crate::driver::{Scanner, Summary};
use crate::finding::{Finding, SourceKind};

/// One staged path worth scanning.
#[derive(Debug, Clone)]
pub(crate) struct StagedChange {
    /// Path relative to the repository root, `/`-separated as git stores it.
    pub(crate) path: String,
    /// The staged blob.
    pub(crate) blob: Oid,
    /// The blob in HEAD (at the old path for a rename); `None` when the file is new.
    pub(crate) old: Option<Oid>,
}

/// What the index changes relative to HEAD (an unborn branch compares with the empty tree),
/// being worked out in the background while the caller builds its engine.
/// Deleted files, submodules, symlinks and unmerged (conflicted) entries are left out.
///
/// Asks git itself first: `git diff --cached` uses the index's cache-tree to skip unchanged
/// directories, so it costs what the change costs (a few ms in a 50,000-file repository), where
/// libgit2 reads and hashes the whole index and walks every entry. It also honours
/// `GIT_INDEX_FILE`, which `git commit -a` and `git commit <paths>` set for their hooks. When git
/// cannot be run, libgit2 gives the same answer, more slowly.
pub(crate) struct PendingChanges {
    git: Option<std::process::Child>,
}

/// Starts `git diff --cached --raw -z` in the repository's work tree; see [`PendingChanges`].
pub(crate) fn start(repo: &Repository) -> PendingChanges {
    let git = repo.workdir().and_then(|dir| {
        std::process::Command::new("git")
            .current_dir(dir)
            .args([
                "-c",
                "core.quotePath=false",
                "diff",
                "--cached",
                "--raw",
                "-z",
                "--no-abbrev",
                "--no-ext-diff",
                "--no-color",
                "--find-renames",
                "--ignore-submodules=all",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()
    });
    PendingChanges { git }
}

impl PendingChanges {
    /// The staged changes: git's answer when it gave one, libgit2's otherwise.
    pub(crate) fn finish(self, repo: &Repository) -> Result<Vec<StagedChange>, SourceError> {
        let from_git = self
            .git
            .and_then(|child| child.wait_with_output().ok())
            .filter(|out| out.status.success())
            .and_then(|out| parse_raw_diff(&out.stdout));
        match from_git {
            Some(found) => Ok(found),
            None => {
                // git itself failed: perhaps a damaged object, which would hang libgit2.
                super::loose::check_all(&super::loose::object_dirs(repo))?;
                changes_from_libgit2(repo)
            }
        }
    }
}

/// Parses `--raw -z` records: `:<old mode> <new mode> <old id> <new id> <status>\0<path>\0`,
/// with a second path for renames and copies.
pub(crate) fn parse_raw_diff(raw: &[u8]) -> Option<Vec<StagedChange>> {
    let mut fields = raw.split(|&b| b == 0);
    let mut out = Vec::new();
    while let Some(head) = fields.next() {
        if head.is_empty() {
            break;
        }
        let head = std::str::from_utf8(head.strip_prefix(b":")?).ok()?;
        let parts: Vec<&str> = head.split(' ').collect();
        let [old_mode, new_mode, old_id, new_id, status] = parts[..] else {
            return None;
        };
        let kind = status.chars().next()?;
        let mut path = fields.next()?;
        if matches!(kind, 'R' | 'C') {
            path = fields.next()?;
        }
        let is_file = |m: &str| i32::from_str_radix(m, 8).is_ok_and(super::git::is_regular);
        if !matches!(kind, 'A' | 'M' | 'R' | 'C' | 'T') || !is_file(new_mode) {
            continue;
        }
        let blob = Oid::from_str(new_id).ok()?;
        if blob.is_zero() {
            continue;
        }
        let old = Oid::from_str(old_id)
            .ok()
            .filter(|o| !o.is_zero() && is_file(old_mode));
        out.push(StagedChange {
            path: String::from_utf8_lossy(path).into_owned(),
            blob,
            old,
        });
    }
    Some(out)
}

fn changes_from_libgit2(repo: &Repository) -> Result<Vec<StagedChange>, SourceError> {
    let index = repo.index().map_err(SourceError::Index)?;
    let head_tree = match repo.head() {
        Ok(head) => Some(head.peel_to_tree().map_err(SourceError::HeadNotCommit)?),
        Err(e)
            if matches!(
                e.code(),
                git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
            ) =>
        {
            None
        }
        Err(e) => return Err(SourceError::Head(e)),
    };
    let mut opts = DiffOptions::new();
    opts.skip_binary_check(true).ignore_submodules(true);
    let mut diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut opts))
        .map_err(SourceError::DiffIndex)?;
    // Renames only pair added with deleted files, so this stays proportional to the change.
    let has = |d: Delta| diff.deltas().any(|x| x.status() == d);
    if has(Delta::Added) && has(Delta::Deleted) {
        diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
    }
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let keep = matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        );
        let new = delta.new_file();
        if !keep || !is_file_mode(new.mode()) || new.id().is_zero() {
            continue;
        }
        let Some(path) = new.path_bytes() else {
            continue;
        };
        let old = delta.old_file();
        let old = (is_file_mode(old.mode()) && !old.id().is_zero()).then(|| old.id());
        out.push(StagedChange {
            path: String::from_utf8_lossy(path).into_owned(),
            blob: new.id(),
            old,
        });
    }
    Ok(out)
}

/// The lines of the staged blob that the index adds.
pub(crate) fn added(repo: &Repository, change: &StagedChange) -> Result<Lines, SourceError> {
    added_lines(repo, change.old, change.blob)
}

/// The staged blobs of `changes`, each whole with the lines the index adds to it. A gate: what
/// it cannot read (a damaged or missing object, a file over the size limit) is an error.
pub(crate) struct StagedSource<'r> {
    pub(crate) repo: &'r Repository,
    pub(crate) changes: Vec<StagedChange>,
}

impl Source for StagedSource<'_> {
    fn summary(&self) -> Summary {
        Summary::Staged
    }

    fn scan(&self, scanner: &Scanner<'_>) -> Result<Vec<Finding>, SourceError> {
        let repo = self.repo;
        let max = scanner.plan().max_file_size;
        let odb = repo.odb()?;
        let object_dirs = super::loose::object_dirs(repo);
        let mut findings = Vec::new();
        for change in &self.changes {
            if scanner.path_allowed(&change.path) {
                continue;
            }
            // Staged blobs are loose: a truncated one would hang libgit2 (see `sources::loose`).
            super::loose::check(&object_dirs, change.blob)?;
            if let Some(old) = change.old {
                super::loose::check(&object_dirs, old)?;
            }
            let (size, kind) = odb
                .read_header(change.blob)
                .map_err(|e| SourceError::missing(Object::Staged(change.path.clone()), e))?;
            if kind != ObjectType::Blob {
                return Err(SourceError::StagedNotFile {
                    path: change.path.clone(),
                    id: change.blob,
                    kind,
                });
            }
            if size as u64 > max {
                // A gate does not wave through what it did not read.
                return Err(SourceError::StagedTooLarge {
                    path: change.path.clone(),
                    size: size as u64,
                    max,
                });
            }
            let blob = repo.find_blob(change.blob)?;
            // A Git LFS pointer: the content is the object in .git/lfs, which `git add` put there.
            let lfs = match super::lfs::pointer(blob.content()) {
                Some(ptr) => Some(super::lfs::read_object(repo, &ptr, &change.path, max)?),
                None => None,
            };
            let content: &[u8] = lfs.as_deref().unwrap_or(blob.content());
            scanner.count(content.len() as u64);
            let added = || added(repo, change);
            findings.extend(scanner.scan(&Blob {
                id: Some(change.blob),
                bytes: content,
                provenance: Provenance {
                    path: Some(&change.path),
                    shown: &change.path,
                    kind: SourceKind::Staged,
                },
                // A changed LFS pointer means new content: every line of the object counts.
                lines: match lfs {
                    Some(_) => BlobLines::All,
                    None => BlobLines::Added(&added),
                },
            })?);
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_raw_records_and_skips_deletions_links_and_conflicts() {
        let a = "1".repeat(40);
        let b = "2".repeat(40);
        let z = "0".repeat(40);
        let raw = format!(
            ":000000 100644 {z} {a} A\0new file.tf\0\
             :100644 100644 {a} {b} M\0dir/mod.tf\0\
             :100644 100755 {a} {b} R091\0old.tf\0renamed.tf\0\
             :100644 000000 {a} {z} D\0gone.tf\0\
             :000000 120000 {z} {a} A\0link\0\
             :000000 160000 {z} {a} A\0sub\0\
             :100644 100644 {z} {z} U\0conflict.tf\0"
        );
        let got = parse_raw_diff(raw.as_bytes()).unwrap();
        let got: Vec<(String, Option<String>)> = got
            .iter()
            .map(|c| (c.path.clone(), c.old.map(|o| o.to_string())))
            .collect();
        assert_eq!(
            got,
            vec![
                ("new file.tf".to_string(), None),
                ("dir/mod.tf".to_string(), Some(a.clone())),
                ("renamed.tf".to_string(), Some(a.clone())),
            ]
        );
        assert!(parse_raw_diff(b"garbage\0").is_none());
    }
}
