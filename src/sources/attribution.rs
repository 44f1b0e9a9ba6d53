//! Where blobs of interest sit in history, found after they were scanned: for each commit (oldest
//! first), which of the wanted blobs its tree holds and at which paths, and so which commits
//! *introduce* each blob at a path (the path's content differs from every parent; a root or
//! shallow-boundary commit introduces everything). Each tree is read once however many commits
//! share it, and a tree's answer is remembered by id, so the cost is the number of unique trees,
//! not commits × tree size.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use git2::{Oid, Repository};
use rayon::prelude::*;

use super::error::{Object, SourceError};
use super::git::Opener;

/// The wanted blobs under one tree, as a tree of its own: only entries that hold one, each named
/// once (a path is spelled out only when a blob is introduced), and subtrees shared by id, so a
/// tree costs what it holds directly, not every path below it.
#[derive(Debug, Default)]
struct Node {
    /// Sorted by name (bytewise on the name alone).
    entries: Vec<(Arc<str>, Entry)>,
}

#[derive(Debug)]
enum Entry {
    Blob(Oid),
    Tree(Oid, Hits),
}

type Hits = Arc<Node>;

/// Per wanted blob, every (commit index, path) that introduces it, oldest first.
pub(crate) type Introductions = HashMap<Oid, Vec<(u32, Arc<str>)>>;

/// Tree id → its hits, shared by every worker (sharded so two workers rarely wait on each other).
struct Memo {
    shards: Vec<Mutex<HashMap<Oid, Hits>>>,
    empty: Hits,
}

impl Memo {
    fn new() -> Memo {
        Memo {
            shards: (0..64).map(|_| Mutex::new(HashMap::new())).collect(),
            empty: Arc::new(Node::default()),
        }
    }

    fn shard(&self, id: &Oid) -> &Mutex<HashMap<Oid, Hits>> {
        &self.shards[id.as_bytes()[0] as usize % self.shards.len()]
    }

    fn get(&self, id: &Oid) -> Option<Hits> {
        self.shard(id).lock().ok()?.get(id).cloned()
    }

    fn put(&self, id: Oid, hits: Hits) {
        if let Ok(mut m) = self.shard(&id).lock() {
            m.insert(id, hits);
        }
    }
}

/// What the walk needs to know about blobs.
pub(crate) struct Wanted<'a> {
    /// Blobs to place.
    pub(crate) blobs: &'a HashSet<Oid>,
    /// Every blob the repository holds: a file entry naming anything else is a damaged or
    /// incomplete repository, which fails the audit rather than passing over the file.
    pub(crate) existing: &'a HashSet<Oid>,
}

const MODE_TREE: i32 = 0o040000;

fn hits(
    repo: &Repository,
    tree: Oid,
    wanted: &Wanted<'_>,
    memo: &Memo,
) -> Result<Hits, SourceError> {
    if let Some(h) = memo.get(&tree) {
        return Ok(h);
    }
    let t = repo
        .find_tree(tree)
        .map_err(|e| SourceError::missing(Object::Tree(tree), e))?;
    let mut entries: Vec<(Arc<str>, Entry)> = Vec::new();
    for entry in t.iter() {
        let mode = entry.filemode();
        if super::git::is_regular(mode) {
            let id = entry.id();
            if wanted.blobs.contains(&id) {
                let name: Arc<str> = String::from_utf8_lossy(entry.name_bytes()).into();
                entries.push((name, Entry::Blob(id)));
            } else if !wanted.existing.contains(&id) {
                let what = match repo.odb().and_then(|o| o.read_header(id)) {
                    Ok((_, kind)) => format!("it is a {kind}"),
                    Err(_) => "the repository has no such object".to_string(),
                };
                return Err(SourceError::DamagedTree {
                    tree,
                    id,
                    name: String::from_utf8_lossy(entry.name_bytes()).into_owned(),
                    what,
                });
            }
        } else if mode == MODE_TREE {
            let sub = hits(repo, entry.id(), wanted, memo)?;
            if !sub.entries.is_empty() {
                let name: Arc<str> = String::from_utf8_lossy(entry.name_bytes()).into();
                entries.push((name, Entry::Tree(entry.id(), sub)));
            }
        }
    }
    let h = if entries.is_empty() {
        memo.empty.clone()
    } else {
        // By plain name (git orders a directory as if its name ended in `/`): lookups by name
        // in `introduced` binary-search this order.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Arc::new(Node { entries })
    };
    memo.put(tree, h.clone());
    Ok(h)
}

/// The wanted (path, blob)s of `node` that no parent node holds at the same path. A subtree
/// some parent has with the same id holds nothing new and is not entered.
fn introduced(
    node: &Node,
    parents: &[Option<&Node>],
    prefix: &str,
    out: &mut Vec<(Oid, Arc<str>)>,
) {
    for (name, entry) in &node.entries {
        let same: Vec<Option<&Entry>> = parents
            .iter()
            .map(|p| {
                p.and_then(|p| {
                    p.entries
                        .binary_search_by(|(n, _)| n.as_ref().cmp(name.as_ref()))
                        .ok()
                        .map(|i| &p.entries[i].1)
                })
            })
            .collect();
        let path = || -> Arc<str> {
            if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}").into()
            }
        };
        match entry {
            Entry::Blob(b) => {
                let kept = same
                    .iter()
                    .any(|e| matches!(e, Some(Entry::Blob(pb)) if pb == b));
                if !kept {
                    out.push((*b, path()));
                }
            }
            Entry::Tree(id, sub) => {
                if same
                    .iter()
                    .any(|e| matches!(e, Some(Entry::Tree(pid, _)) if pid == id))
                {
                    continue;
                }
                let subs: Vec<Option<&Node>> = same
                    .iter()
                    .map(|e| match e {
                        Some(Entry::Tree(_, n)) => Some(&**n),
                        _ => None,
                    })
                    .collect();
                introduced(sub, &subs, &path(), out);
            }
        }
    }
}

/// For each wanted blob, every (commit index, path) where a commit of `commits` introduces it, in
/// commit order. `commits` are oldest first; `shallow` commits count as roots.
pub(crate) fn introductions(
    opener: &Opener,
    commits: &[Oid],
    shallow: &HashSet<Oid>,
    wanted: &Wanted<'_>,
) -> Result<Introductions, SourceError> {
    let memo = Memo::new();
    let per_commit = commits
        .par_iter()
        .enumerate()
        .map_init(
            || opener.open(),
            |repo, (i, &commit)| -> Result<Vec<(Oid, u32, Arc<str>)>, SourceError> {
                let repo = repo
                    .as_ref()
                    .map_err(|e| SourceError::Reopen(e.message().to_string()))?;
                let c = repo
                    .find_commit(commit)
                    .map_err(|e| SourceError::missing(Object::Commit(commit), e))?;
                let mine = hits(repo, c.tree_id(), wanted, &memo)?;
                if mine.entries.is_empty() {
                    return Ok(Vec::new());
                }
                let mut parents: Vec<Hits> = Vec::new();
                if !shallow.contains(&commit) {
                    for p in c.parent_ids() {
                        let pc = repo
                            .find_commit(p)
                            .map_err(|e| SourceError::missing(Object::ParentOf(commit), e))?;
                        parents.push(hits(repo, pc.tree_id(), wanted, &memo)?);
                    }
                }
                let parents: Vec<Option<&Node>> = parents.iter().map(|p| Some(&**p)).collect();
                let mut out = Vec::new();
                introduced(&mine, &parents, "", &mut out);
                Ok(out.into_iter().map(|(b, p)| (b, i as u32, p)).collect())
            },
        )
        .collect::<Result<Vec<_>, SourceError>>()?;
    let mut out: Introductions = HashMap::new();
    for (blob, idx, path) in per_commit.into_iter().flatten() {
        out.entry(blob).or_default().push((idx, path));
    }
    for v in out.values_mut() {
        v.sort_by_key(|(idx, _)| *idx);
    }
    Ok(out)
}
