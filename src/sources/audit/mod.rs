//! Full history audits: every unique blob that the selected commits introduce, scanned once
//! (in storage order, so delta bases stay in libgit2's cache), each finding attributed per path
//! to the oldest commit that introduced the blob there, with where it has been since.

mod stream;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use git2::{Oid, Repository};
use rayon::prelude::*;

use crate::driver::{Scanner, Summary};
use crate::finding::{Finding, SourceKind};
use crate::sources::commits::{self, open, read_blob, Pending};
use crate::sources::error::SourceError;
use crate::sources::git::Opener;
use crate::sources::history::Extras;
use crate::sources::packorder::PackOrder;
use crate::sources::{Blob, Lines, Provenance, Source};

/// The commits of an audit (oldest first), what refs hold besides them, and how to read them.
pub(crate) struct HistorySource<'r> {
    pub(crate) opener: &'r Opener,
    pub(crate) repo: &'r Repository,
    pub(crate) commits: &'r [Oid],
    pub(crate) extras: &'r Extras,
    pub(crate) shallow: &'r HashSet<Oid>,
    /// Read every object of the repository from git's object stream (`--object-stream`).
    pub(crate) object_stream: bool,
}

impl Source for HistorySource<'_> {
    fn summary(&self) -> Summary {
        Summary::History
    }

    fn scan(&self, scanner: &Scanner<'_>) -> Result<Vec<Finding>, SourceError> {
        scanner
            .stats
            .commits
            .store(self.commits.len() as u64, Ordering::Relaxed);
        let pending = if self.object_stream {
            stream::scan_all_objects(scanner, self)?
        } else {
            self.scan_blobs(scanner)?
        };
        commits::finish(scanner, self.repo, self.commits, self.extras, pending, true)
    }
}

/// What an audit walks: the commits (oldest first), what refs hold besides them, and the
/// shallow boundary.
pub(crate) struct Selected {
    pub(crate) commits: Vec<Oid>,
    pub(crate) extras: Extras,
    pub(crate) shallow: HashSet<Oid>,
}

/// The commits of `revs` (every ref when empty; with `tags`, every tag too) since `since`.
pub(crate) fn select_commits(
    repo: &Repository,
    revs: &[String],
    tags: bool,
    since: Option<i64>,
) -> Result<Selected, SourceError> {
    // Before libgit2 touches a truncated loose object and spins forever (see `sources::loose`).
    crate::sources::loose::check_all(&crate::sources::loose::object_dirs(repo))?;
    let (set, extras) = crate::sources::history::select(repo, revs, tags)?;
    let commits = crate::sources::history::walk(repo, &set, since)?;
    let shallow: HashSet<Oid> = super::git::shallow_commits(repo).into_iter().collect();
    Ok(Selected {
        commits,
        extras,
        shallow,
    })
}

/// What an audit of a shallow clone says: where the history it scans begins.
pub(crate) fn shallow_note(shallow: &HashSet<Oid>) -> Option<String> {
    if shallow.is_empty() {
        return None;
    }
    let mut ids: Vec<String> = shallow
        .iter()
        .map(|o| crate::sources::history::short(*o))
        .collect();
    ids.sort();
    Some(format!(
        "shallow clone: history before {} is not scanned",
        ids.join(", ")
    ))
}

impl HistorySource<'_> {
    /// Every unique blob the commits introduce, once, in parallel; plus the commit messages.
    fn scan_blobs(&self, scanner: &Scanner<'_>) -> Result<Vec<Pending>, SourceError> {
        let per_commit = commits::enumerate(scanner, self.opener, self.commits, self.shallow)?;
        // blob → (commit index, path index), oldest commit first because commits are in order.
        let mut paths: Vec<String> = Vec::new();
        let mut path_ids: HashMap<String, u32> = HashMap::new();
        let mut blobs: HashMap<Oid, Vec<(u32, u32)>> = HashMap::new();
        let mut pending: Vec<Pending> = Vec::new();
        for (i, (changes, messages)) in per_commit.into_iter().enumerate() {
            pending.extend(messages);
            for change in changes {
                let next = paths.len() as u32;
                let p = *path_ids.entry(change.path).or_insert_with_key(|k| {
                    paths.push(k.clone());
                    next
                });
                blobs.entry(change.blob).or_default().push((i as u32, p));
            }
        }
        drop(path_ids);
        let mut blobs: Vec<(Oid, Vec<(u32, u32)>)> = blobs.into_iter().collect();
        // Storage order: each worker then reads neighbouring objects, so delta bases come from
        // libgit2's cache instead of being re-inflated per blob (see `sources::packorder`).
        // Objects outside packs keep oldest-commit order. Findings are sorted at the end anyway.
        let order = PackOrder::load(self.repo.commondir());
        blobs.sort_by_cached_key(|(oid, occ)| (order.key(oid.as_bytes()), occ[0]));
        drop(order);
        let found = scanner.install(|| {
            blobs
                .par_iter()
                .map_init(
                    || self.opener.open(),
                    |repo, (blob, occ)| place_blob(scanner, open(repo)?, *blob, occ, &paths, true),
                )
                .collect::<Result<Vec<_>, SourceError>>()
        })??;
        pending.extend(found.into_iter().flatten());
        Ok(pending)
    }
}

/// The findings of one blob at every (commit, path) where it was introduced (`occ`, oldest
/// first, paths by index into `paths`): one finding per (commit, path), grouped by
/// `commits::finish`. Rules and allowlists can depend on the path, so the blob is scanned once
/// per class of paths that rules treat alike (almost always one), and a path allowlist or a
/// path-restricted rule decides for every path the blob appears at, not the first. `first`:
/// the blob is read for the first time (and counted).
pub(crate) fn place_blob(
    scanner: &Scanner<'_>,
    repo: &Repository,
    blob: Oid,
    occ: &[(u32, u32)],
    paths: &[String],
    first: bool,
) -> Result<Vec<Pending>, SourceError> {
    let live: Vec<(u32, u32)> = occ
        .iter()
        .copied()
        .filter(|&(_, p)| !scanner.path_allowed(&paths[p as usize]))
        .collect();
    let Some(&(_, first_path)) = live.first() else {
        return Ok(Vec::new());
    };
    let path = paths[first_path as usize].as_str();
    let Some(content) = read_blob(scanner, repo, blob, path, first)? else {
        return Ok(Vec::new());
    };
    // Every commit that introduced the blob at each path: `finish` groups them per secret.
    let mut order: Vec<u32> = Vec::new();
    let mut at: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(c, p) in &live {
        at.entry(p)
            .or_insert_with(|| {
                order.push(p);
                Vec::new()
            })
            .push(c);
    }
    let mut classes: Vec<(Vec<bool>, Vec<u32>)> = Vec::new();
    for &p in &order {
        // One path is one class: no need to ask every rule (the usual blob, on the hot path).
        let class = if order.len() == 1 {
            Vec::new()
        } else {
            scanner.engine().path_class(&paths[p as usize])
        };
        match classes.iter_mut().find(|(c, _)| *c == class) {
            Some((_, members)) => members.push(p),
            None => classes.push((class, vec![p])),
        }
    }
    let mut res = Vec::new();
    for (_, members) in classes {
        let path = paths[members[0] as usize].as_str();
        let blob = Blob {
            id: Some(blob),
            bytes: content.content(),
            provenance: Provenance {
                path: Some(path),
                shown: path,
                kind: SourceKind::History,
            },
            lines: Lines::All,
        };
        // Read again after the object stream found something: counted there already.
        let found = if first {
            scanner.scan(&blob)?
        } else {
            scanner.rescan(&blob)?
        };
        for p in members {
            for &commit in &at[&p] {
                for f in &found {
                    let mut f = f.clone();
                    f.file = Some(paths[p as usize].clone());
                    res.push((f, commit));
                }
            }
        }
    }
    Ok(res)
}
