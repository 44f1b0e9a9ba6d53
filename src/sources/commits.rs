//! What history and range sources share: each commit's introduced changes and its message, the
//! content tags hold, reading a blob within the size limit, and the provenance (commit, author,
//! where the secret has been) that findings get at the end.

use std::collections::{HashMap, HashSet};

use git2::{ObjectType, Oid, Repository};
use rayon::prelude::*;

use super::error::{Object, SourceError};
use super::git::{commit_info, Opener};
use super::history::{self, short, Change, Extras};
use super::{Blob, Lines, Provenance};
use crate::driver::Scanner;
use crate::finding::{Finding, SourceKind};

/// A finding waiting for its commit's provenance (by index into the commit list).
pub(crate) type Pending = (Finding, u32);

/// The repository a worker opened for itself (libgit2 handles are not shared across threads).
pub(crate) fn open(repo: &Result<Repository, git2::Error>) -> Result<&Repository, SourceError> {
    repo.as_ref()
        .map_err(|e| SourceError::WorkerOpen(e.message().to_string()))
}

/// What one commit introduces, and the findings in its message.
pub(crate) type PerCommit = (Vec<Change>, Vec<Pending>);

/// Each commit's introduced changes, in parallel, plus findings in the commit messages.
pub(crate) fn enumerate(
    scanner: &Scanner<'_>,
    opener: &Opener,
    commits: &[Oid],
    shallow: &HashSet<Oid>,
) -> Result<Vec<PerCommit>, SourceError> {
    scanner.install(|| {
        commits
            .par_iter()
            .enumerate()
            .map_init(
                || opener.open(),
                |repo, (i, &commit)| {
                    let repo = open(repo)?;
                    let changes = history::introduced(repo, commit, shallow)?;
                    let c = repo.find_commit(commit)?;
                    let what = format!("message of commit {}", short(commit));
                    let messages = scan_message(
                        scanner,
                        c.message_raw_bytes(),
                        &what,
                        SourceKind::CommitMessage,
                    )?;
                    Ok((
                        changes,
                        messages.into_iter().map(|f| (f, i as u32)).collect(),
                    ))
                },
            )
            .collect::<Result<Vec<_>, SourceError>>()
    })?
}

/// A commit or tag message: the same size limit and findings cap as a blob; findings have no
/// file, and lines counted within the message.
pub(crate) fn scan_message(
    scanner: &Scanner<'_>,
    bytes: &[u8],
    what: &str,
    kind: SourceKind,
) -> Result<Vec<Finding>, SourceError> {
    if !scanner.admit(what, bytes.len() as u64)? {
        return Ok(Vec::new());
    }
    scanner.scan(&Blob {
        id: None,
        bytes,
        provenance: Provenance {
            path: None,
            shown: what,
            kind,
        },
        lines: Lines::All,
    })
}

/// Reads a blob unless it is over the size limit (checked from the header, without loading
/// it); `count` says whether it counts as scanned content (not when it is read again).
pub(crate) fn read_blob<'r>(
    scanner: &Scanner<'_>,
    repo: &'r Repository,
    blob: Oid,
    path: &str,
    count: bool,
) -> Result<Option<git2::Blob<'r>>, SourceError> {
    let (size, kind) = repo
        .odb()?
        .read_header(blob)
        .map_err(|e| SourceError::missing(Object::BlobAt(blob, path.to_string()), e))?;
    if kind != ObjectType::Blob {
        // A file entry whose object is not a blob: a damaged pack (flipped type bits) or a
        // crafted tree. Skipping it would report "clean" over content never read.
        return Err(SourceError::NotABlob {
            path: path.to_string(),
            id: blob,
            kind,
        });
    }
    if !scanner.admit(path, size as u64)? {
        return Ok(None);
    }
    let b = repo.find_blob(blob)?;
    if count {
        scanner.count(size as u64);
    }
    Ok(Some(b))
}

/// Annotated tag messages (their findings carry the tag as provenance) and blobs or trees that
/// tags name directly; all of it counts as new.
fn scan_extras(
    scanner: &Scanner<'_>,
    repo: &Repository,
    extras: &Extras,
) -> Result<Vec<Finding>, SourceError> {
    let mut out = Vec::new();
    for &t in &extras.tags {
        let tag = repo
            .find_tag(t)
            .map_err(|e| SourceError::missing(Object::Tag(t), e))?;
        let name = String::from_utf8_lossy(tag.name_bytes()).into_owned();
        let mut found = scan_message(
            scanner,
            tag.message_bytes().unwrap_or_default(),
            &format!("message of tag {name}"),
            SourceKind::TagMessage,
        )?;
        let who = tag.tagger();
        let text = |f: fn(&git2::Signature<'_>) -> String| who.as_ref().map(f).unwrap_or_default();
        let info = crate::finding::Commit {
            id: t.to_string(),
            author: text(|w| String::from_utf8_lossy(w.name_bytes()).into_owned()),
            email: text(|w| String::from_utf8_lossy(w.email_bytes()).into_owned()),
            date: text(|w| super::git::rfc3339(w.when())),
            summary: format!("tag {name}"),
        };
        for f in &mut found {
            f.commit = Some(info.clone());
        }
        out.extend(found);
    }
    for (oid, kind, name) in &extras.objects {
        for (blob, path) in tagged_blobs(repo, *oid, *kind, name)? {
            let Some(content) = read_blob(scanner, repo, blob, &path, true)? else {
                continue;
            };
            out.extend(scanner.scan(&Blob {
                id: Some(blob),
                bytes: content.content(),
                provenance: Provenance {
                    path: Some(&path),
                    shown: &path,
                    kind: SourceKind::History,
                },
                lines: Lines::All,
            })?);
        }
    }
    Ok(out)
}

/// The blobs a tag names: the blob itself, or every blob of the tree (`name:dir/file`).
fn tagged_blobs(
    repo: &Repository,
    oid: Oid,
    kind: ObjectType,
    name: &str,
) -> Result<Vec<(Oid, String)>, SourceError> {
    if kind == ObjectType::Blob {
        return Ok(vec![(oid, name.to_string())]);
    }
    let mut blobs = Vec::new();
    let tree = repo
        .find_tree(oid)
        .map_err(|e| SourceError::missing(Object::TreeAt(oid, name.to_string()), e))?;
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob) {
            let file = String::from_utf8_lossy(entry.name_bytes());
            blobs.push((entry.id(), format!("{name}:{dir}{file}")));
        }
        git2::TreeWalkResult::Ok
    })?;
    Ok(blobs)
}

/// Attributes pending findings to their commits and adds what tags hold: the end of every
/// history and range scan. An audit reports each secret once per path, at the commit that
/// introduced it there, with where it has been since; a range gate reports what each commit adds.
pub(crate) fn finish(
    scanner: &Scanner<'_>,
    repo: &Repository,
    commits: &[Oid],
    extras: &Extras,
    pending: Vec<Pending>,
    audit: bool,
) -> Result<Vec<Finding>, SourceError> {
    let pending = if audit {
        let mut grouped = super::whereabouts::group(pending, commits);
        super::whereabouts::locate(repo, scanner.engine(), commits, &mut grouped)?;
        grouped
    } else {
        pending
    };
    let mut findings = attach_commits(repo, commits, pending)?;
    findings.extend(scan_extras(scanner, repo, extras)?);
    Ok(findings)
}

/// Fills in each finding's commit provenance (looked up once per commit).
fn attach_commits(
    repo: &Repository,
    commits: &[Oid],
    pending: Vec<Pending>,
) -> Result<Vec<Finding>, SourceError> {
    let mut cache = HashMap::new();
    let mut out = Vec::with_capacity(pending.len());
    for (mut f, idx) in pending {
        let info = match cache.get(&idx) {
            Some(info) => info,
            None => {
                let c = repo.find_commit(commits[idx as usize])?;
                cache.entry(idx).or_insert(commit_info(&c))
            }
        };
        f.commit = Some(info.clone());
        out.push(f);
    }
    Ok(out)
}
