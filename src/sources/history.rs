//! Commits and the blobs they introduce, for history audits and range gates.
//!
//! A commit *introduces* a blob at a path when the path's content differs from every parent:
//! for a root (or shallow-boundary) commit that is every file; for a merge it is only what
//! differs from all parents, so content that appears only in a conflict resolution is seen,
//! while what a merge merely brings in from one side is attributed to that side's commit.

use std::collections::{HashMap, HashSet};

use git2::{ObjectType, Oid, Repository, Sort, Tree};

use super::error::{Object, SourceError};
use super::git::commit_of;

/// A path whose content a commit introduces.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) path: String,
    pub(crate) blob: Oid,
    /// The blob at this path in each parent (`None`: absent there). A root commit has one `None`.
    pub(crate) olds: Vec<Option<Oid>>,
}

/// Which commits to walk: tips to start from and tips whose ancestry is excluded.
#[derive(Debug, Default, Clone)]
pub(crate) struct RevSet {
    pub(crate) include: Vec<Oid>,
    pub(crate) exclude: Vec<Oid>,
}

impl RevSet {
    /// Revisions as git understands them: `REV`, `^REV`, `A..B`, `A...B`.
    pub(crate) fn parse(repo: &Repository, revs: &[String]) -> Result<RevSet, SourceError> {
        let mut set = RevSet::default();
        for rev in revs {
            if let Some(x) = rev.strip_prefix('^') {
                set.exclude.push(commit_of(repo, x)?);
            } else if let Some((a, b)) = rev.split_once("...") {
                let a = commit_of(repo, if a.is_empty() { "HEAD" } else { a })?;
                let b = commit_of(repo, if b.is_empty() { "HEAD" } else { b })?;
                set.include.extend([a, b]);
                if let Ok(base) = repo.merge_base(a, b) {
                    set.exclude.push(base);
                }
            } else if let Some((a, b)) = rev.split_once("..") {
                let a = commit_of(repo, if a.is_empty() { "HEAD" } else { a })?;
                let b = commit_of(repo, if b.is_empty() { "HEAD" } else { b })?;
                set.exclude.push(a);
                set.include.push(b);
            } else {
                set.include.push(commit_of(repo, rev)?);
            }
        }
        Ok(set)
    }

    /// Every ref (branches, tags, remotes, notes, stash) and HEAD, peeled to commits.
    pub(crate) fn all_refs(repo: &Repository) -> Result<RevSet, SourceError> {
        Ok(RevSet {
            include: ref_tips(repo, |_| true)?,
            exclude: Vec::new(),
        })
    }

    /// Tags only.
    pub(crate) fn tags(repo: &Repository) -> Result<RevSet, SourceError> {
        Ok(RevSet {
            include: ref_tips(repo, |name| name.starts_with("refs/tags/"))?,
            exclude: Vec::new(),
        })
    }
}

/// What an object id leads to once annotated tags are peeled: the tags on the way (outermost
/// first) and the object at the end of the chain.
#[derive(Debug, Clone)]
pub(crate) struct Peeled {
    pub(crate) tags: Vec<Oid>,
    pub(crate) target: Oid,
    pub(crate) kind: ObjectType,
}

/// Follows a chain of annotated tags (a tag of a tag of …) to what it finally names. A missing
/// object is an error: a gate must not pass over what it cannot read.
pub(crate) fn peel(repo: &Repository, oid: Oid) -> Result<Peeled, SourceError> {
    let mut tags = Vec::new();
    let mut at = oid;
    loop {
        let obj = repo
            .find_object(at, None)
            .map_err(|source| SourceError::NotInRepository { id: at, source })?;
        match obj.kind() {
            Some(ObjectType::Tag) => {
                let tag = obj.into_tag().map_err(|_| SourceError::UnreadableTag(at))?;
                tags.push(at);
                at = tag.target_id();
                if tags.len() > 1000 {
                    return Err(SourceError::TagChain(oid));
                }
            }
            Some(kind) => {
                return Ok(Peeled {
                    tags,
                    target: at,
                    kind,
                })
            }
            None => return Err(SourceError::UnknownType(at)),
        }
    }
}

/// Besides commits, what refs can hold: annotated tag objects (their messages are content) and
/// tags that name a blob or a tree directly.
#[derive(Debug, Default, Clone)]
pub(crate) struct Extras {
    /// Annotated tag objects, each once.
    pub(crate) tags: Vec<Oid>,
    /// Blobs and trees named by a tag rather than reached through a commit: (object, ref name).
    pub(crate) objects: Vec<(Oid, ObjectType, String)>,
}

impl Extras {
    /// Adds what `oid` (the target of `name`) holds besides a commit.
    pub(crate) fn add(&mut self, peeled: &Peeled, name: &str) {
        for t in &peeled.tags {
            if !self.tags.contains(t) {
                self.tags.push(*t);
            }
        }
        if matches!(peeled.kind, ObjectType::Blob | ObjectType::Tree)
            && !self.objects.iter().any(|(o, _, _)| *o == peeled.target)
        {
            self.objects
                .push((peeled.target, peeled.kind, name.to_string()));
        }
    }
}

/// The tag objects and tag-named blobs and trees of every ref `keep` selects.
pub(crate) fn ref_extras(
    repo: &Repository,
    keep: impl Fn(&str) -> bool,
) -> Result<Extras, SourceError> {
    let mut extras = Extras::default();
    for r in repo.references().map_err(SourceError::ListRefs)? {
        let r = r?;
        let (Some(name), Some(target)) = (r.name(), r.target()) else {
            continue;
        };
        if !keep(name) {
            continue;
        }
        let peeled = peel(repo, target)?;
        extras.add(&peeled, name);
    }
    Ok(extras)
}

/// Commits that refs do not reach but history audits must: every stash entry (`stash@{n}`
/// lives only in the reflog of `refs/stash`) and the HEAD of every linked worktree (a detached
/// HEAD there is reachable from no ref).
pub(crate) fn unreferenced_tips(repo: &Repository) -> Result<Vec<Oid>, SourceError> {
    let mut tips = Vec::new();
    if let Ok(log) = repo.reflog("refs/stash") {
        for entry in log.iter() {
            let id = entry.id_new();
            if !id.is_zero() {
                tips.push(id);
            }
        }
    }
    if let Ok(names) = repo.worktrees() {
        for name in names.iter().flatten() {
            let Ok(wt) = repo.find_worktree(name) else {
                continue;
            };
            if let Ok(head) = Repository::open_from_worktree(&wt)
                .and_then(|r| r.head().and_then(|h| h.peel_to_commit().map(|c| c.id())))
            {
                tips.push(head);
            }
        }
    }
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// The commits that refs selected by `keep` point at (HEAD included when `keep` takes all).
pub(crate) fn ref_tips(
    repo: &Repository,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Oid>, SourceError> {
    let mut tips = Vec::new();
    for r in repo.references().map_err(SourceError::ListRefs)? {
        let r = r?;
        let Some(name) = r.name() else { continue };
        if !keep(name) {
            continue;
        }
        match r.peel_to_commit() {
            Ok(c) => tips.push(c.id()),
            // A direct ref (or a tag) to an object that is not there is a broken repository
            // (a lost packfile, say): skipping it would report "clean" over unscanned history.
            // A symbolic ref to nothing or a tag of a tree or blob holds no commit; skip those.
            Err(source)
                if source.code() == git2::ErrorCode::NotFound
                    && r.kind() == Some(git2::ReferenceType::Direct) =>
            {
                return Err(SourceError::DanglingRef {
                    name: name.to_string(),
                    source,
                });
            }
            Err(_) => {}
        }
    }
    if keep("HEAD") {
        if let Ok(c) = repo.head().and_then(|h| h.peel_to_commit()) {
            tips.push(c.id());
        }
    }
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// The commits of `set`, parents before children (oldest first), optionally only those
/// committed at or after `since` (unix seconds).
pub(crate) fn walk(
    repo: &Repository,
    set: &RevSet,
    since: Option<i64>,
) -> Result<Vec<Oid>, SourceError> {
    if set.include.is_empty() {
        return Ok(Vec::new());
    }
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    for &oid in &set.include {
        walk.push(oid).map_err(|e| SourceError::WalkFrom(oid, e))?;
    }
    for &oid in &set.exclude {
        walk.hide(oid).map_err(|e| SourceError::Exclude(oid, e))?;
    }
    let mut out = Vec::new();
    for oid in walk {
        let oid = oid.map_err(SourceError::Walk)?;
        if let Some(since) = since {
            let c = repo.find_commit(oid)?;
            if c.time().seconds() < since {
                continue;
            }
        }
        out.push(oid);
    }
    Ok(out)
}

/// What `commit` introduces (see the module docs). Shallow-boundary commits count as roots.
pub(crate) fn introduced(
    repo: &Repository,
    commit: Oid,
    shallow: &HashSet<Oid>,
) -> Result<Vec<Change>, SourceError> {
    let c = repo
        .find_commit(commit)
        .map_err(|e| SourceError::missing(Object::Commit(commit), e))?;
    let tree = c
        .tree()
        .map_err(|e| SourceError::missing(Object::TreeOf(commit), e))?;
    let parents: Vec<Tree<'_>> = if shallow.contains(&commit) {
        Vec::new()
    } else {
        c.parents()
            .map(|p| p.tree())
            .collect::<Result<_, _>>()
            .map_err(|e| SourceError::missing(Object::ParentOf(commit), e))?
    };
    if parents.is_empty() {
        let mut out = Vec::new();
        for (path, blob) in tree_changes(repo, None, &tree)? {
            out.push(Change {
                path,
                blob: blob.0,
                olds: vec![None],
            });
        }
        return Ok(out);
    }
    let mut by_path: HashMap<String, Change> = HashMap::new();
    for (i, parent) in parents.iter().enumerate() {
        let changes = tree_changes(repo, Some(parent), &tree)?;
        if i == 0 {
            by_path = changes
                .into_iter()
                .map(|(path, (blob, old))| {
                    let change = Change {
                        path: path.clone(),
                        blob,
                        olds: vec![old],
                    };
                    (path, change)
                })
                .collect();
        } else {
            let mut changes: HashMap<String, (Oid, Option<Oid>)> = changes.into_iter().collect();
            by_path.retain(|path, change| match changes.remove(path) {
                Some((_, old)) => {
                    change.olds.push(old);
                    true
                }
                None => false,
            });
        }
        if by_path.is_empty() {
            break;
        }
    }
    let mut out: Vec<Change> = by_path.into_values().collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// A path with its new blob and its old blob, if any.
type TreeChange = (String, (Oid, Option<Oid>));

/// Regular files that differ in `new` from `old`. Subtrees with the same id on both sides are
/// skipped without being read, so a commit costs what it changes, not the size of its tree.
fn tree_changes(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
) -> Result<Vec<TreeChange>, SourceError> {
    let mut out = Vec::new();
    let mut prefix = Vec::new();
    diff_trees(repo, old, new, &mut prefix, &mut out)?;
    Ok(out)
}

const MODE_TREE: i32 = 0o040000;

/// git's tree-entry order: names compared bytewise, a directory's name as if followed by `/`.
fn git_order(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n]).then_with(|| {
        let end = |name: &[u8], dir: bool| match name.get(n) {
            Some(&c) => c,
            None if dir => b'/',
            None => 0,
        };
        end(a, a_dir).cmp(&end(b, b_dir))
    })
}

fn diff_trees(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    prefix: &mut Vec<u8>,
    out: &mut Vec<TreeChange>,
) -> Result<(), SourceError> {
    // Both trees are stored sorted in git's order: walk them together instead of looking every
    // name up (a lookup by name allocates and searches; a merge is one pass).
    let mut olds = old.map(|t| t.iter()).into_iter().flatten().peekable();
    for entry in new.iter() {
        let mode = entry.filemode();
        let name = entry.name_bytes();
        let mut before = None;
        while let Some(o) = olds.peek() {
            match git_order(
                o.name_bytes(),
                o.filemode() == MODE_TREE,
                name,
                mode == MODE_TREE,
            ) {
                std::cmp::Ordering::Less => {
                    olds.next();
                }
                std::cmp::Ordering::Equal => {
                    before = Some((o.id(), o.filemode()));
                    olds.next();
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        if before.is_some_and(|(id, m)| id == entry.id() && m == mode) {
            continue;
        }
        let len = prefix.len();
        prefix.extend_from_slice(name);
        if mode == MODE_TREE {
            let sub = repo
                .find_tree(entry.id())
                .map_err(|e| SourceError::missing(Object::Tree(entry.id()), e))?;
            let old_sub = match before {
                Some((id, MODE_TREE)) => Some(
                    repo.find_tree(id)
                        .map_err(|e| SourceError::missing(Object::Tree(id), e))?,
                ),
                _ => None,
            };
            prefix.push(b'/');
            diff_trees(repo, old_sub.as_ref(), &sub, prefix, out)?;
        } else if super::git::is_regular(mode) {
            let old_blob = before
                .filter(|&(_, m)| super::git::is_regular(m))
                .map(|(id, _)| id);
            if old_blob != Some(entry.id()) {
                out.push((
                    String::from_utf8_lossy(prefix).into_owned(),
                    (entry.id(), old_blob),
                ));
            }
        }
        prefix.truncate(len);
    }
    Ok(())
}

/// Refuses a range scan that would reach past a shallow clone's boundary, where added lines
/// cannot be told from old ones.
pub(crate) fn check_not_shallow(
    commits: &[Oid],
    shallow: &HashSet<Oid>,
) -> Result<(), SourceError> {
    if let Some(c) = commits.iter().find(|c| shallow.contains(c)) {
        return Err(SourceError::Shallow(short(*c)));
    }
    Ok(())
}

pub(crate) fn short(oid: Oid) -> String {
    let s = oid.to_string();
    s[..12].to_string()
}

/// The revisions to walk and what refs hold besides commits: with no revisions, everything the
/// repository holds (every ref, annotated tags' messages, tags of blobs and trees, stash entries
/// and other worktrees' HEADs); else the revisions given, and with `--tags` every tag.
pub(crate) fn select(
    repo: &Repository,
    revs: &[String],
    tags: bool,
) -> Result<(RevSet, Extras), SourceError> {
    let mut extras = Extras::default();
    let mut set = if revs.is_empty() && !tags {
        let mut set = RevSet::all_refs(repo)?;
        set.include.extend(unreferenced_tips(repo)?);
        extras = ref_extras(repo, |_| true)?;
        set
    } else {
        let set = RevSet::parse(repo, revs)?;
        for tip in revs.iter().flat_map(|rev| tips_named(rev)) {
            if let Ok(obj) = repo.revparse_single(tip) {
                extras.add(&peel(repo, obj.id())?, tip);
            }
        }
        set
    };
    if tags {
        set.include.extend(RevSet::tags(repo)?.include);
        let tags = ref_extras(repo, |n| n.starts_with("refs/tags/"))?;
        for t in tags.tags {
            if !extras.tags.contains(&t) {
                extras.tags.push(t);
            }
        }
        extras.objects.extend(tags.objects);
    }
    Ok((set, extras))
}

/// The revisions a rev argument names as tips (`A..B` → B, `A...B` → A and B, `^X` → none).
fn tips_named(rev: &str) -> Vec<&str> {
    if rev.starts_with('^') {
        return Vec::new();
    }
    if let Some((a, b)) = rev.split_once("...") {
        return [a, b].into_iter().filter(|s| !s.is_empty()).collect();
    }
    if let Some((_, b)) = rev.split_once("..") {
        return if b.is_empty() { vec!["HEAD"] } else { vec![b] };
    }
    vec![rev]
}
