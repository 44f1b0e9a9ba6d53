//! What the push hooks scan: git's hook input turned into a selection of commits (plus annotated
//! tags, and blobs or trees a tag names) that the destination does not have yet, and the
//! message a `commit-msg` hook checks.

use std::collections::HashSet;
use std::io::{IsTerminal, Read};
use std::time::{Duration, Instant};

use git2::{ObjectType, Oid, Repository};

use super::error::SourceError;
use super::history::{peel, ref_tips, walk, Extras, RevSet};
use crate::hook::{ObjectId, PushUpdate, RefUpdate};
use crate::report::escape_control;

/// Git's hook input. A terminal on stdin means a person ran the hook by hand: say what it
/// expects instead of waiting silently.
pub(crate) fn hook_input(hook: &str, shape: &str) -> Result<String, SourceError> {
    if std::io::stdin().is_terminal() {
        return Err(SourceError::HookOnTerminal {
            hook: hook.to_string(),
            shape: shape.to_string(),
        });
    }
    let bytes = super::dir::read_stdin(u64::MAX)
        .map_err(SourceError::HookInput)?
        .unwrap_or_default();
    String::from_utf8(bytes)
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        })
        .map_err(SourceError::HookInput)
}

/// What an update's new object is: the commit to walk from (if any), plus tags and tag-named
/// objects whose content is scanned whole.
pub(crate) fn tip_of(
    repo: &Repository,
    id: &ObjectId,
    what: &str,
    name: &str,
    extras: &mut Extras,
) -> Result<Option<Oid>, SourceError> {
    let oid = Oid::from_str(id.as_str())?;
    let peeled = peel(repo, oid).map_err(|e| SourceError::PushedMissing {
        what: what.to_string(),
        id: id.to_string(),
        source: Box::new(e),
    })?;
    extras.add(&peeled, name);
    Ok(match peeled.kind {
        ObjectType::Commit => Some(peeled.target),
        _ => None,
    })
}

/// A base the other side has: a commit here, or `None` when it is not in this repository.
pub(crate) fn base_of(repo: &Repository, id: &ObjectId) -> Option<Oid> {
    let oid = Oid::from_str(id.as_str()).ok()?;
    repo.find_object(oid, None)
        .and_then(|o| o.peel_to_commit())
        .ok()
        .map(|c| c.id())
}

/// Collects commits in order, each once, and the extras of every update.
#[derive(Default)]
pub(crate) struct Selection {
    seen: HashSet<Oid>,
    pub(crate) commits: Vec<Oid>,
    pub(crate) extras: Extras,
}

impl Selection {
    pub(crate) fn add(&mut self, repo: &Repository, set: &RevSet) -> Result<usize, SourceError> {
        let before = self.commits.len();
        for c in walk(repo, set, None)? {
            if self.seen.insert(c) {
                self.commits.push(c);
            }
        }
        Ok(self.commits.len() - before)
    }
}

/// The pre-commit framework reads git's pre-push input itself and runs hooks with an empty
/// stdin, naming the first pushed ref in `PRE_COMMIT_*` variables instead.
pub(crate) fn framework_update(repo: &Repository) -> Result<Option<PushUpdate>, SourceError> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let remote_ref = var("PRE_COMMIT_REMOTE_BRANCH").unwrap_or_else(|| "(unknown)".into());
    let local_ref = var("PRE_COMMIT_LOCAL_BRANCH");
    let zero = ObjectId::parse(&"0".repeat(40)).expect("40 zeros are an object id");
    if let (Some(from), Some(to)) = (var("PRE_COMMIT_FROM_REF"), var("PRE_COMMIT_TO_REF")) {
        let resolve = |rev: &str| -> Result<ObjectId, SourceError> {
            let oid = repo
                .revparse_single(rev)
                .map_err(|source| SourceError::FrameworkRef {
                    rev: rev.to_string(),
                    source,
                })?
                .id();
            Ok(ObjectId::parse(&oid.to_string()).expect("git ids parse"))
        };
        return Ok(Some(PushUpdate {
            local_ref: local_ref.unwrap_or_else(|| to.clone()),
            local: resolve(&to)?,
            remote_ref,
            remote: resolve(&from)?,
        }));
    }
    // The framework's "whole history" case (the push includes a root commit): only the local
    // ref is named, and everything it reaches that the destination lacks is new.
    if let Some(local) = local_ref {
        let oid = repo
            .revparse_single(&local)
            .map_err(|source| SourceError::FrameworkBranch {
                local: local.clone(),
                source,
            })?
            .id();
        return Ok(Some(PushUpdate {
            local_ref: local,
            local: ObjectId::parse(&oid.to_string()).expect("git ids parse"),
            remote_ref,
            remote: zero,
        }));
    }
    Ok(None)
}

pub(crate) fn under_framework() -> bool {
    std::env::var_os("PRE_COMMIT").is_some_and(|v| v == "1")
        || std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("PRE_COMMIT_"))
}

/// The commits a pre-push must check: for each update, what it brings that the destination (the
/// remote `remote`) does not have. `note` says when a remote sha is not here.
pub(crate) fn select_push(
    repo: &Repository,
    updates: &[PushUpdate],
    remote: Option<&str>,
    note: &dyn Fn(&str),
) -> Result<Selection, SourceError> {
    let mut destination: Option<Vec<Oid>> = None;
    let have = |destination: &mut Option<Vec<Oid>>| {
        destination
            .get_or_insert_with(|| destination_tips(repo, remote, note))
            .clone()
    };
    let mut sel = Selection::default();
    for u in updates {
        let Some((tip, base)) = u.action().tip_and_base() else {
            continue;
        };
        let Some(tip) = tip_of(repo, tip, "local sha", &u.local_ref, &mut sel.extras)? else {
            continue;
        };
        let exclude = match base.map(|b| (b, base_of(repo, b))) {
            None => have(&mut destination),
            Some((_, Some(base))) => vec![base],
            // The remote moved to a commit we have never fetched (a force push over someone
            // else's work): scan everything the destination does not have.
            Some((base, None)) => {
                note(&format!(
                    "{}: remote sha {} is not here; scanning every commit the remote does not \
                     have",
                    escape_control(&u.remote_ref),
                    &base.as_str()[..12]
                ));
                have(&mut destination)
            }
        };
        let set = RevSet {
            include: vec![tip],
            exclude,
        };
        sel.add(repo, &set)?;
    }
    Ok(sel)
}

/// The commits a pre-receive must check: what each update brings that no ref of the server
/// has (a new ref), or what its new tip adds to its old one.
pub(crate) fn select_receive(
    repo: &Repository,
    updates: &[RefUpdate],
) -> Result<Selection, SourceError> {
    let mut sel = Selection::default();
    for u in updates {
        let Some((tip, base)) = u.action().tip_and_base() else {
            continue;
        };
        let Some(tip) = tip_of(repo, tip, "new sha", &u.refname, &mut sel.extras)? else {
            continue;
        };
        let exclude = match base {
            None => ref_tips(repo, |n| n != "HEAD" && n.starts_with("refs/"))?,
            Some(base) => match base_of(repo, base) {
                Some(base) => vec![base],
                None => {
                    return Err(SourceError::OldNotCommit {
                        base: base.to_string(),
                        refname: escape_control(&u.refname).into_owned(),
                    })
                }
            },
        };
        let set = RevSet {
            include: vec![tip],
            exclude,
        };
        sel.add(repo, &set)?;
    }
    Ok(sel)
}

/// The commits the destination already has: its refs as it advertises them now (`git
/// ls-remote`), those we have locally. When it cannot be reached, what the remote-tracking refs
/// of that remote say, with a warning. Never another remote's refs: a key that only an internal
/// remote has must not be published to a new one unchecked.
fn destination_tips(repo: &Repository, remote: Option<&str>, note: &dyn Fn(&str)) -> Vec<Oid> {
    match remote {
        None => Vec::new(),
        Some(remote) => match ls_remote(repo, remote) {
            Ok(ids) => ids
                .into_iter()
                .filter_map(|id| {
                    repo.find_object(id, None)
                        .and_then(|o| o.peel_to_commit())
                        .ok()
                        .map(|c| c.id())
                })
                .collect(),
            Err(why) => {
                note(&format!(
                    "warning: cannot list the refs of `{}` ({why}); trusting its \
                     remote-tracking refs refs/remotes/{}/* instead",
                    escape_control(remote),
                    escape_control(remote)
                ));
                let prefix = format!("refs/remotes/{remote}/");
                ref_tips(repo, |n| n.starts_with(&prefix)).unwrap_or_default()
            }
        },
    }
}

/// How long `git ls-remote` may take before the remote-tracking refs are used instead.
const LS_REMOTE_TIMEOUT: Duration = Duration::from_secs(20);

/// Object ids the remote advertises (`git ls-remote REMOTE`).
fn ls_remote(repo: &Repository, remote: &str) -> Result<Vec<Oid>, String> {
    let mut child = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(repo.path())
        .args(["ls-remote", "--", remote])
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + LS_REMOTE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer in {}s", LS_REMOTE_TIMEOUT.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("git ls-remote exited with {status}"));
    }
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|id| Oid::from_str(id).ok())
        .collect())
}

/// The message as the commit will record it, at worst more of it: git strips comment lines only
/// when the message was edited (a `-m` message keeps them) and `core.commentChar` may be `auto`,
/// so every line is scanned, except what follows the scissors line of `git commit -v` (the staged
/// diff, which the pre-commit gate checks by its own rules), which git always removes. Lines
/// below it are blanked so line numbers stay those of the file.
pub(crate) fn commit_message(bytes: &[u8]) -> Vec<u8> {
    const SCISSORS: &[u8] = b" ------------------------ >8 ------------------------";
    let mut out = Vec::with_capacity(bytes.len());
    let mut cut = false;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if !cut && body.len() > SCISSORS.len() && body.ends_with(SCISSORS) {
            cut = true;
        }
        if cut {
            if line.ends_with(b"\n") {
                out.push(b'\n');
            }
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}
