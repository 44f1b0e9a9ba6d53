//! Where an audited secret has been: one finding per (secret, path) with every place it was
//! introduced, then whether HEAD still holds it, where it was removed, and which refs reach it.
//! Everything here runs per grouped finding, never per commit of the history.

use std::collections::HashMap;
use std::path::Path;

use git2::{ObjectType, Oid, Repository, Tree};

use super::error::SourceError;
use crate::engine::Engine;
use crate::finding::{Finding, Occurrence, SourceKind, Whereabouts};

/// Groups history findings by (fingerprint, path): each group becomes one finding at its oldest
/// commit (smallest index: `commits` is oldest first), carrying every place the secret was
/// found (its own first) as occurrences. Other findings (commit messages) pass unchanged.
pub(crate) fn group(pending: Vec<(Finding, u32)>, commits: &[Oid]) -> Vec<(Finding, u32)> {
    let (mut placed, mut out): (Vec<_>, Vec<_>) = pending
        .into_iter()
        .partition(|(f, _)| f.source == SourceKind::History && f.file.is_some());
    placed.sort_by(|(a, ai), (b, bi)| {
        (&a.fingerprint, ai, &a.file, a.line).cmp(&(&b.fingerprint, bi, &b.file, b.line))
    });
    let occurrence = |f: &Finding, idx: u32| Occurrence {
        commit: commits[idx as usize].to_string(),
        file: f.file.clone().unwrap_or_default(),
        line: f.line,
    };
    let mut rest = placed.into_iter().peekable();
    while let Some(first) = rest.next() {
        // One fingerprint's findings, oldest first.
        let mut same = vec![first];
        while let Some(next) = rest.next_if(|(f, _)| f.fingerprint == same[0].0.fingerprint) {
            same.push(next);
        }
        let mut all: Vec<Occurrence> = same.iter().map(|(f, i)| occurrence(f, *i)).collect();
        all.dedup();
        let mut done: Vec<&str> = Vec::new();
        for (f, idx) in &same {
            let file = f.file.as_deref().unwrap_or_default();
            if done.contains(&file) {
                continue;
            }
            done.push(file);
            let own = occurrence(f, *idx);
            let mut f = f.clone();
            f.occurrences = std::iter::once(own.clone())
                .chain(all.iter().filter(|o| **o != own).cloned())
                .collect();
            f.other_occurrences = f.occurrences.len() - 1;
            out.push((f, *idx));
        }
    }
    out
}

/// A ref that can reach commits: its short name and whether it is remote-tracking.
struct Tip {
    name: String,
    id: Oid,
    remote: bool,
}

/// Fills in [`Whereabouts`] for every grouped history finding (those with occurrences).
pub(crate) fn locate(
    repo: &Repository,
    engine: &Engine,
    commits: &[Oid],
    findings: &mut [(Finding, u32)],
) -> Result<(), SourceError> {
    if !findings.iter().any(|(f, _)| !f.occurrences.is_empty()) {
        return Ok(());
    }
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let head_tree = head.as_ref().map(|c| c.tree()).transpose()?;
    let tips = tips(repo)?;
    let mut holds = Holds::default();
    let mut reach: HashMap<Oid, Vec<usize>> = HashMap::new();
    let mut line: Option<Vec<Oid>> = None;
    for (f, idx) in findings.iter_mut() {
        if f.occurrences.is_empty() {
            continue;
        }
        let intro = commits[*idx as usize];
        let mut w = Whereabouts::default();
        if let Some(tree) = &head_tree {
            let mut paths: Vec<&str> = f.occurrences.iter().map(|o| o.file.as_str()).collect();
            paths.sort_unstable();
            paths.dedup();
            for p in paths {
                if holds.at(repo, engine, tree, p, f)? {
                    w.head_paths.push(p.to_string());
                }
            }
            w.present_at_head = !w.head_paths.is_empty();
            let file = f.file.clone().unwrap_or_default();
            if !w.head_paths.contains(&file) {
                let line = match &mut line {
                    Some(l) => l,
                    None => line.insert(first_parent_line(repo, head.as_ref())?),
                };
                w.removed_in = removed_in(repo, engine, line, intro, &file, f, &mut holds)?
                    .map(|c| c.to_string());
            }
        }
        let reached = match reach.get(&intro) {
            Some(r) => r,
            None => {
                // Refs often share a tip (main and origin/main): one graph query per tip.
                let mut r = Vec::new();
                let mut asked: HashMap<Oid, bool> = HashMap::new();
                for (i, t) in tips.iter().enumerate() {
                    let reaches = match asked.get(&t.id) {
                        Some(&b) => b,
                        None => {
                            let b = t.id == intro || repo.graph_descendant_of(t.id, intro)?;
                            *asked.entry(t.id).or_insert(b)
                        }
                    };
                    if reaches {
                        r.push(i);
                    }
                }
                reach.entry(intro).or_insert(r)
            }
        };
        w.reachable_from = reached.iter().map(|&i| tips[i].name.clone()).collect();
        w.published = reached.iter().any(|&i| tips[i].remote);
        f.whereabouts = Some(w);
    }
    Ok(())
}

/// Local branches, remote-tracking refs, then tags, each sorted by name; symbolic refs
/// (`origin/HEAD`) are skipped, their target is listed already.
fn tips(repo: &Repository) -> Result<Vec<Tip>, SourceError> {
    let mut tips = Vec::new();
    for r in repo.references()? {
        let Ok(r) = r else { continue };
        if r.kind() != Some(git2::ReferenceType::Direct) {
            continue;
        }
        let Some(full) = r.name() else { continue };
        let rank = if full.starts_with("refs/heads/") {
            0
        } else if full.starts_with("refs/remotes/") {
            1
        } else if full.starts_with("refs/tags/") {
            2
        } else {
            continue;
        };
        let Ok(c) = r.peel_to_commit() else { continue };
        let name = r.shorthand().unwrap_or(full).to_string();
        tips.push((rank, name, c.id()));
    }
    tips.sort();
    Ok(tips
        .into_iter()
        .map(|(rank, name, id)| Tip {
            name,
            id,
            remote: rank == 1,
        })
        .collect())
}

/// HEAD's first-parent line, oldest first.
fn first_parent_line(
    repo: &Repository,
    head: Option<&git2::Commit<'_>>,
) -> Result<Vec<Oid>, SourceError> {
    let mut line = Vec::new();
    let mut at = head.map(|c| c.id());
    while let Some(id) = at {
        line.push(id);
        at = repo.find_commit(id)?.parent_id(0).ok();
    }
    line.reverse();
    Ok(line)
}

/// The first commit on `line` after `intro` whose `path` no longer holds the finding's secret;
/// `None` when `intro` never reaches the line.
fn removed_in(
    repo: &Repository,
    engine: &Engine,
    line: &[Oid],
    intro: Oid,
    path: &str,
    f: &Finding,
    holds: &mut Holds,
) -> Result<Option<Oid>, SourceError> {
    // Descending from `intro` is monotone along a first-parent line: a binary search.
    let mut err = None;
    let start = line.partition_point(|&c| {
        let reaches = c == intro
            || repo.graph_descendant_of(c, intro).unwrap_or_else(|e| {
                err = Some(e);
                false
            });
        !reaches
    });
    if let Some(e) = err {
        return Err(e.into());
    }
    for &c in line.iter().skip(start).skip_while(|&&c| c == intro) {
        let tree = repo.find_commit(c)?.tree()?;
        if !holds.at(repo, engine, &tree, path, f)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Whether a blob holds a finding's secret, cached per (blob, fingerprint).
#[derive(Default)]
struct Holds {
    seen: HashMap<(Oid, String), bool>,
}

impl Holds {
    fn at(
        &mut self,
        repo: &Repository,
        engine: &Engine,
        tree: &Tree<'_>,
        path: &str,
        f: &Finding,
    ) -> Result<bool, SourceError> {
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(false);
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(false);
        }
        let key = (entry.id(), f.fingerprint.clone());
        if let Some(&h) = self.seen.get(&key) {
            return Ok(h);
        }
        let blob = repo.find_blob(entry.id())?;
        let content = blob.content();
        let h = (!f.secret.is_empty()
            && memchr::memmem::find(content, f.secret.as_bytes()).is_some())
            || (f.decoded.is_some()
                && crate::pipeline::scan_bytes_capped(
                    engine,
                    content,
                    Some(path),
                    SourceKind::History,
                    crate::pipeline::MAX_FINDINGS_PER_BLOB,
                )
                .findings
                .iter()
                .any(|g| g.fingerprint == f.fingerprint));
        self.seen.insert(key, h);
        Ok(h)
    }
}
