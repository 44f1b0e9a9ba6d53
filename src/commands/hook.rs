//! `keyfence hook pre-push | pre-receive | commit-msg`: read git's hook input, turn each ref
//! update into a set of commits (plus annotated tags, and blobs or trees a tag names), and gate
//! them by the lines they add. Fails closed: input that cannot be understood, a revision that
//! cannot be found, or a framework run that names no refs is an error (exit 2), never a pass.

use std::collections::HashSet;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use git2::{ObjectType, Oid, Repository};

use super::common::{Plan, Trust};
use super::history::{scan_range, Stats};
use crate::cli::{CommitMsgArgs, HookCommand, PrePushArgs, PreReceiveArgs};
use crate::finding::{Finding, SourceKind};
use crate::hook::{parse_pre_push, parse_pre_receive, Action, ObjectId, PushUpdate};
use crate::report::escape_control;
use crate::sources::git::{root_dir, shallow_commits, Opener};
use crate::sources::history::{check_not_shallow, peel, ref_tips, walk, Extras, RevSet};
use crate::ExitStatus;

pub fn run(cmd: &HookCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        HookCommand::PrePush(args) => pre_push(args),
        HookCommand::PreReceive(args) => pre_receive(args),
        HookCommand::CommitMsg(args) => commit_msg(args),
    }
}

/// Git's hook input. A terminal on stdin means a person ran the hook by hand: say what it
/// expects instead of waiting silently.
fn read_stdin(hook: &str, shape: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!(
            "`keyfence hook {hook}` reads git's hook input on stdin ({shape} per line) and stdin \
             is a terminal; git runs it for you (see `keyfence install`), or pipe the lines in"
        );
    }
    let mut s = String::new();
    stdin
        .lock()
        .read_to_string(&mut s)
        .context("cannot read the hook input from stdin")?;
    Ok(s)
}

/// What an update's new object is: the commit to walk from (if any), plus tags and tag-named
/// objects whose content is scanned whole.
fn tip_of(
    repo: &Repository,
    id: &ObjectId,
    what: &str,
    name: &str,
    extras: &mut Extras,
) -> anyhow::Result<Option<Oid>> {
    let oid = Oid::from_str(id.as_str())?;
    let peeled =
        peel(repo, oid).with_context(|| format!("{what} {id} is not in this repository"))?;
    extras.add(&peeled, name);
    Ok(match peeled.kind {
        ObjectType::Commit => Some(peeled.target),
        _ => None,
    })
}

/// A base the other side has: a commit here, or `None` when it is not in this repository.
fn base_of(repo: &Repository, id: &ObjectId) -> Option<Oid> {
    let oid = Oid::from_str(id.as_str()).ok()?;
    repo.find_object(oid, None)
        .and_then(|o| o.peel_to_commit())
        .ok()
        .map(|c| c.id())
}

/// Collects commits in order, each once, and the extras of every update.
#[derive(Default)]
struct Selection {
    seen: HashSet<Oid>,
    commits: Vec<Oid>,
    extras: Extras,
}

impl Selection {
    fn add(&mut self, repo: &Repository, set: &RevSet) -> anyhow::Result<usize> {
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
fn framework_update(repo: &Repository) -> anyhow::Result<Option<PushUpdate>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let remote_ref = var("PRE_COMMIT_REMOTE_BRANCH").unwrap_or_else(|| "(unknown)".into());
    let local_ref = var("PRE_COMMIT_LOCAL_BRANCH");
    let zero = ObjectId::parse(&"0".repeat(40)).expect("40 zeros are an object id");
    if let (Some(from), Some(to)) = (var("PRE_COMMIT_FROM_REF"), var("PRE_COMMIT_TO_REF")) {
        let resolve = |rev: &str| -> anyhow::Result<ObjectId> {
            let oid = repo
                .revparse_single(rev)
                .with_context(|| format!("PRE_COMMIT ref `{rev}` is not in this repository"))?
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
            .with_context(|| {
                format!("PRE_COMMIT_LOCAL_BRANCH `{local}` is not in this repository")
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

fn under_framework() -> bool {
    std::env::var_os("PRE_COMMIT").is_some_and(|v| v == "1")
        || std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("PRE_COMMIT_"))
}

fn pre_push(args: &PrePushArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let (opener, repo) = Opener::new(args.repo.as_deref())?;
    crate::sources::loose::check_all(&crate::sources::loose::object_dirs(&repo))?;
    let framework = under_framework();
    let input = if framework && std::io::stdin().is_terminal() {
        String::new()
    } else {
        read_stdin(
            "pre-push",
            "`<local ref> <local sha> <remote ref> <remote sha>`",
        )?
    };
    let mut updates = parse_pre_push(&input)?;
    if updates.is_empty() {
        if let Some(u) = framework_update(&repo)? {
            updates.push(u);
        } else if framework {
            bail!(
                "run by the pre-commit framework with no refs to check (no hook input and no \
                 PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF/PRE_COMMIT_LOCAL_BRANCH), so nothing \
                 would be checked; run `git push` again, or install keyfence's own hook with \
                 `keyfence install --pre-push`"
            );
        }
    }
    let remote = args
        .remote
        .clone()
        .or_else(|| std::env::var("PRE_COMMIT_REMOTE_NAME").ok())
        .or_else(|| std::env::var("PRE_COMMIT_REMOTE_URL").ok());
    let plan = Plan::build_for(
        &args.common,
        &Trust::Local {
            root: root_dir(&repo),
        },
    )?
    .at_gate(crate::report::Gate::Push);
    let mut destination: Option<Vec<Oid>> = None;
    let mut sel = Selection::default();
    for u in &updates {
        let set = match u.action() {
            Action::Nothing => continue,
            Action::New { tip } => {
                let Some(tip) = tip_of(&repo, tip, "local sha", &u.local_ref, &mut sel.extras)?
                else {
                    continue;
                };
                let have = destination_tips(&plan, &repo, remote.as_deref(), &mut destination);
                RevSet {
                    include: vec![tip],
                    exclude: have,
                }
            }
            Action::Range { base, tip } => {
                let Some(tip) = tip_of(&repo, tip, "local sha", &u.local_ref, &mut sel.extras)?
                else {
                    continue;
                };
                match base_of(&repo, base) {
                    Some(base) => RevSet {
                        include: vec![tip],
                        exclude: vec![base],
                    },
                    // The remote moved to a commit we have never fetched (a force push over
                    // someone else's work): scan everything the destination does not have.
                    None => {
                        plan.note(&format!(
                            "{}: remote sha {} is not here; scanning every commit the remote \
                             does not have",
                            escape_control(&u.remote_ref),
                            &base.as_str()[..12]
                        ));
                        RevSet {
                            include: vec![tip],
                            exclude: destination_tips(
                                &plan,
                                &repo,
                                remote.as_deref(),
                                &mut destination,
                            ),
                        }
                    }
                }
            }
        };
        sel.add(&repo, &set)?;
    }
    gate(&plan, &opener, &repo, &sel, started, "push blocked")
}

/// The commits the destination already has: its refs as it advertises them now (`git
/// ls-remote`), those we have locally. When it cannot be reached, what the remote-tracking refs
/// of that remote say, with a warning. Never another remote's refs: a key that only an internal
/// remote has must not be published to a new one unchecked.
fn destination_tips(
    plan: &Plan,
    repo: &Repository,
    remote: Option<&str>,
    cache: &mut Option<Vec<Oid>>,
) -> Vec<Oid> {
    if let Some(tips) = cache {
        return tips.clone();
    }
    let tips = match remote {
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
                plan.note(&format!(
                    "warning: cannot list the refs of `{}` ({why}); trusting its \
                     remote-tracking refs refs/remotes/{}/* instead",
                    escape_control(remote),
                    escape_control(remote)
                ));
                let prefix = format!("refs/remotes/{remote}/");
                ref_tips(repo, |n| n.starts_with(&prefix)).unwrap_or_default()
            }
        },
    };
    *cache = Some(tips.clone());
    tips
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

fn pre_receive(args: &PreReceiveArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let input = read_stdin("pre-receive", "`<old sha> <new sha> <ref>`")?;
    let updates = parse_pre_receive(&input)?;
    let (opener, repo) = Opener::new(args.repo.as_deref())?;
    crate::sources::loose::check_all(&crate::sources::loose::object_dirs(&repo))?;
    // Only the git dir: a non-bare server's work tree is what an earlier push wrote.
    let plan = Plan::build_for(
        &args.common,
        &Trust::Server {
            git_dir: repo.path().to_path_buf(),
        },
    )?;
    let mut sel = Selection::default();
    for u in &updates {
        let set = match u.action() {
            Action::Nothing => continue,
            Action::New { tip } => {
                let Some(tip) = tip_of(&repo, tip, "new sha", &u.refname, &mut sel.extras)? else {
                    continue;
                };
                RevSet {
                    include: vec![tip],
                    exclude: ref_tips(&repo, |n| n != "HEAD" && n.starts_with("refs/"))?,
                }
            }
            Action::Range { base, tip } => {
                let Some(tip) = tip_of(&repo, tip, "new sha", &u.refname, &mut sel.extras)? else {
                    continue;
                };
                let Some(base) = base_of(&repo, base) else {
                    bail!(
                        "old sha {base} of {} is not a commit here",
                        escape_control(&u.refname)
                    );
                };
                RevSet {
                    include: vec![tip],
                    exclude: vec![base],
                }
            }
        };
        sel.add(&repo, &set)?;
    }
    gate(&plan, &opener, &repo, &sel, started, "push rejected")
}

/// `commit-msg`: the message git is about to record (the file git names), checked before the
/// commit exists, so a key pasted into a message never enters history.
fn commit_msg(args: &CommitMsgArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let (_, repo) = Opener::new(args.repo.as_deref())?;
    let plan = Plan::build_for(
        &args.common,
        &Trust::Local {
            root: root_dir(&repo),
        },
    )?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read the commit message {}", args.file.display()))?;
    if bytes.len() as u64 > plan.max_file_size {
        bail!(
            "the commit message is over --max-file-size ({} bytes), so it cannot be checked",
            plan.max_file_size
        );
    }
    let kept: Vec<u8> = message_without_comments(&bytes, &repo);
    let out = crate::pipeline::scan_bytes(&plan.engine, &kept, None, SourceKind::CommitMessage);
    let mut findings = out.findings;
    let status = plan.emit(&mut findings)?;
    plan.note(&format!(
        "scanned the commit message in {:.3}s: {}",
        started.elapsed().as_secs_f64(),
        super::common::plural(findings.len() as u64, "finding")
    ));
    if status == ExitStatus::Findings {
        eprintln!(
            "keyfence: commit blocked: the commit message holds a secret; edit it out (the \
             message is kept in {}), rotate the key if it was shared, and commit again",
            Path::new(".git/COMMIT_EDITMSG").display()
        );
    }
    Ok(status)
}

/// The message as the commit will record it, at worst more of it: git strips comment lines only
/// when the message was edited (a `-m` message keeps them) and `core.commentChar` may be `auto`,
/// so every line is scanned, except what follows the scissors line of `git commit -v` (the staged
/// diff, which the pre-commit gate checks by its own rules), which git always removes. Lines
/// below it are blanked so line numbers stay those of the file.
fn message_without_comments(bytes: &[u8], _repo: &Repository) -> Vec<u8> {
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

fn gate(
    plan: &Plan,
    opener: &Opener,
    repo: &Repository,
    sel: &Selection,
    started: Instant,
    verdict: &str,
) -> anyhow::Result<ExitStatus> {
    let shallow: HashSet<Oid> = shallow_commits(repo).into_iter().collect();
    check_not_shallow(&sel.commits, &shallow)?;
    let (mut findings, stats): (Vec<Finding>, Stats) =
        if sel.commits.is_empty() && sel.extras.is_empty() {
            (Vec::new(), Stats::default())
        } else {
            scan_range(plan, opener, repo, &sel.commits, &sel.extras, &shallow)?
        };
    let status = plan.emit(&mut findings)?;
    if !plan.quiet {
        plan.note(&stats.summary(findings.len(), started));
    }
    if status == ExitStatus::Findings {
        eprintln!(
            "keyfence: {verdict}: {} in the pushed commits:",
            super::common::plural(findings.len() as u64, "finding")
        );
        for f in &findings {
            let commit = f.commit.as_ref().map(|c| &c.id[..12]).unwrap_or("?");
            let place = match (&f.file, f.source) {
                (Some(file), _) => format!("{}:{}", escape_control(file), f.line),
                (None, SourceKind::TagMessage) => format!("tag message line {}", f.line),
                (None, _) => format!("commit message line {}", f.line),
            };
            eprintln!("keyfence:   commit {commit}  {place}  {}", f.rule_id);
        }
        eprintln!(
            "keyfence: remove the secret from those commits (e.g. `git rebase -i`), rotate the key, \
             and push again"
        );
    }
    Ok(status)
}
