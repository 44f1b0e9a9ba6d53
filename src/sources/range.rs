//! Range gates (CI, pre-push, pre-receive): for each commit, the blobs it introduces, scanned
//! whole with only the lines it adds counting (relative to every parent, renames included), plus
//! its message and what tags in the range hold.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use git2::{Oid, Repository};
use rayon::prelude::*;

use super::commits::{self, open, read_blob, Pending};
use super::error::SourceError;
use super::git::{Lines, Opener};
use super::history::{Change, Extras};
use super::{Blob, Lines as BlobLines, Provenance, Source};
use crate::driver::{Scanner, Summary};
use crate::finding::{Finding, SourceKind};

/// The commits of a range (oldest first) and the tags it brings.
pub(crate) struct RangeSource<'r> {
    pub(crate) opener: &'r Opener,
    pub(crate) repo: &'r Repository,
    pub(crate) commits: &'r [Oid],
    pub(crate) extras: &'r Extras,
    pub(crate) shallow: &'r HashSet<Oid>,
}

impl Source for RangeSource<'_> {
    fn summary(&self) -> Summary {
        Summary::History
    }

    fn scan(&self, scanner: &Scanner<'_>) -> Result<Vec<Finding>, SourceError> {
        let stats = &scanner.stats;
        stats
            .commits
            .store(self.commits.len() as u64, Ordering::Relaxed);
        let per_commit = commits::enumerate(scanner, self.opener, self.commits, self.shallow)?;
        let watch = &scanner.plan().watch;
        let mut pending: Vec<Pending> = Vec::new();
        let mut work: Vec<(u32, Change)> = Vec::new();
        for (i, (changes, messages)) in per_commit.into_iter().enumerate() {
            pending.extend(messages);
            for c in &changes {
                if watch.contains(&c.path) {
                    pending.push((config_change(&c.path, c.blob), i as u32));
                }
            }
            work.extend(
                changes
                    .into_iter()
                    .filter(|c| !scanner.path_allowed(&c.path))
                    .map(|c| (i as u32, c)),
            );
        }
        let found = scanner.install(|| {
            work.par_iter()
                .map_init(
                    || self.opener.open(),
                    |repo, (commit, change)| {
                        let commit_id = self.commits[*commit as usize];
                        let found = scan_change(scanner, open(repo)?, commit_id, change)?;
                        Ok(found.into_iter().map(|f| (f, *commit)).collect::<Vec<_>>())
                    },
                )
                .collect::<Result<Vec<_>, SourceError>>()
        })??;
        pending.extend(found.into_iter().flatten());
        commits::finish(
            scanner,
            self.repo,
            self.commits,
            self.extras,
            pending,
            false,
        )
    }
}

/// One path a commit changes: its blob whole, keeping the findings on lines the commit adds.
fn scan_change(
    scanner: &Scanner<'_>,
    repo: &Repository,
    commit: Oid,
    change: &Change,
) -> Result<Vec<Finding>, SourceError> {
    let Some(blob) = read_blob(scanner, repo, change.blob, &change.path, true)? else {
        return Ok(Vec::new());
    };
    let lfs = super::lfs::content(scanner, repo, blob.content(), &change.path)?;
    let added = || added_lines(repo, commit, change);
    scanner.scan(&Blob {
        id: Some(change.blob),
        bytes: lfs.as_deref().unwrap_or(blob.content()),
        provenance: Provenance {
            path: Some(&change.path),
            shown: &change.path,
            kind: SourceKind::Range,
        },
        // A changed LFS pointer brings a new object: all of it is new.
        lines: match lfs {
            Some(_) => BlobLines::All,
            None => BlobLines::Added(&added),
        },
    })
}

/// The lines a commit adds to a changed path: new relative to the path in every parent, where a
/// path that is new in a parent's diff is compared with the file it was renamed from (git's
/// rename detection, as `protect` uses), so a pure `git mv` adds nothing at every gate.
fn added_lines(repo: &Repository, commit: Oid, change: &Change) -> Result<Lines, SourceError> {
    let mut lines = Lines::All;
    for (i, old) in change.olds.iter().enumerate() {
        let old = match old {
            Some(o) => Some(*o),
            None => rename_source(repo, commit, i, &change.path)?,
        };
        lines = lines.intersect(super::git::added_lines(repo, old, change.blob)?);
        if lines.is_empty() {
            break;
        }
    }
    Ok(lines)
}

/// The blob that `path` was renamed (or copied with a rename) from, relative to parent `parent`.
fn rename_source(
    repo: &Repository,
    commit: Oid,
    parent: usize,
    path: &str,
) -> Result<Option<Oid>, SourceError> {
    let c = repo.find_commit(commit)?;
    let Ok(parent) = c.parent(parent) else {
        return Ok(None);
    };
    let (old_tree, new_tree) = (parent.tree()?, c.tree()?);
    let mut opts = git2::DiffOptions::new();
    opts.skip_binary_check(true).ignore_submodules(true);
    let mut diff = repo.diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut opts))?;
    diff.find_similar(Some(git2::DiffFindOptions::new().renames(true)))?;
    for delta in diff.deltas() {
        if delta.status() == git2::Delta::Renamed
            && delta.new_file().path_bytes() == Some(path.as_bytes())
        {
            return Ok(Some(delta.old_file().id()));
        }
    }
    Ok(None)
}

/// The rule id of a finding that says a gate's own config or baseline changes in the range.
pub(crate) const CONFIG_CHANGE_RULE: &str = "keyfence-config-change";

/// A change to the gate's config or baseline inside the range being checked: reported, so a
/// change that weakens the gate is reviewed rather than obeyed.
fn config_change(path: &str, blob: Oid) -> Finding {
    Finding {
        rule_id: CONFIG_CHANGE_RULE.to_string(),
        description: "The keyfence config or baseline changes here; a gate does not take it \
                      from the change it checks: review it (it may allow secrets)"
            .to_string(),
        severity: crate::rules::Severity::High,
        file: Some(path.to_string()),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        secret: String::new(),
        matched: String::new(),
        matched_redacted: String::new(),
        line_text: String::new(),
        entropy: 0.0,
        fingerprint: crate::finding::fingerprint(CONFIG_CHANGE_RULE, blob.as_bytes()),
        commit: None,
        other_occurrences: 0,
        source: SourceKind::Range,
        related: Vec::new(),
        details: Default::default(),
        decoded: None,
        occurrences: Vec::new(),
        whereabouts: None,
    }
}
