//! `keyfence hook pre-push | pre-receive | commit-msg`: read git's hook input, turn each ref
//! update into a set of commits (plus annotated tags, and blobs or trees a tag names), and gate
//! them by the lines they add. Fails closed: input that cannot be understood, a revision that
//! cannot be found, or a framework run that names no refs is an error (exit 2), never a pass.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use git2::{Oid, Repository};

use crate::cli::{CommitMsgArgs, HookCommand, PrePushArgs, PreReceiveArgs};
use crate::driver::plan::{Plan, Trust};
use crate::driver::{self, plural, Summary};
use crate::finding::SourceKind;
use crate::hook::{parse_pre_push, parse_pre_receive};
use crate::report::escape_control;
use crate::sources::error::SourceError;
use crate::sources::git::{root_dir, shallow_commits, Opener};
use crate::sources::history::check_not_shallow;
use crate::sources::push::{self, hook_input, Selection};
use crate::sources::range::RangeSource;
use crate::sources::{Blob, Lines, Provenance, Source};
use crate::ExitStatus;

pub(crate) fn run(cmd: &HookCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        HookCommand::PrePush(args) => pre_push(args),
        HookCommand::PreReceive(args) => pre_receive(args),
        HookCommand::CommitMsg(args) => commit_msg(args),
    }
}

fn pre_push(args: &PrePushArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let (opener, repo) = Opener::new(args.repo.as_deref())?;
    crate::sources::loose::check_all(&crate::sources::loose::object_dirs(&repo))?;
    let framework = push::under_framework();
    let input = if framework && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        String::new()
    } else {
        let shape = "`<local ref> <local sha> <remote ref> <remote sha>`";
        hook_input("pre-push", shape)?
    };
    let mut updates = parse_pre_push(&input)?;
    if updates.is_empty() {
        if let Some(u) = push::framework_update(&repo)? {
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
    let root = root_dir(&repo);
    let plan =
        Plan::build_for(&args.common, &Trust::Local { root })?.at_gate(crate::report::Gate::Push);
    let sel = push::select_push(&repo, &updates, remote.as_deref(), &|m| plan.note(m))?;
    gate(&plan, (&opener, &repo), &sel, "push blocked", started)
}

fn pre_receive(args: &PreReceiveArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let input = hook_input("pre-receive", "`<old sha> <new sha> <ref>`")?;
    let updates = parse_pre_receive(&input)?;
    let (opener, repo) = Opener::new(args.repo.as_deref())?;
    crate::sources::loose::check_all(&crate::sources::loose::object_dirs(&repo))?;
    // Only the git dir: a non-bare server's work tree is what an earlier push wrote.
    let git_dir = repo.path().to_path_buf();
    let plan = Plan::build_for(&args.common, &Trust::Server { git_dir })?;
    let sel = push::select_receive(&repo, &updates)?;
    gate(&plan, (&opener, &repo), &sel, "push rejected", started)
}

/// The commit message a `commit-msg` hook checks, as one blob.
struct MessageSource {
    bytes: Vec<u8>,
}

impl Source for MessageSource {
    fn summary(&self) -> Summary {
        Summary::Files
    }

    fn scan(
        &self,
        scanner: &driver::Scanner<'_>,
    ) -> Result<Vec<crate::finding::Finding>, SourceError> {
        let provenance = Provenance {
            path: None,
            shown: "the commit message",
            kind: SourceKind::CommitMessage,
        };
        let blob = Blob {
            id: None,
            bytes: &self.bytes,
            provenance,
            lines: Lines::All,
        };
        scanner.scan(&blob)
    }
}

/// `commit-msg`: the message git is about to record (the file git names), checked before the
/// commit exists, so a key pasted into a message never enters history.
fn commit_msg(args: &CommitMsgArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let (_, repo) = Opener::new(args.repo.as_deref())?;
    let root = root_dir(&repo);
    let plan = Plan::build_for(&args.common, &Trust::Local { root })?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read the commit message {}", args.file.display()))?;
    if bytes.len() as u64 > plan.max_file_size {
        bail!(
            "the commit message is over --max-file-size ({} bytes), so it cannot be checked",
            plan.max_file_size
        );
    }
    let source = MessageSource {
        bytes: push::commit_message(&bytes),
    };
    let mut scanned = driver::run(&plan, &source, started)?;
    let mut findings = std::mem::take(&mut scanned.findings);
    plan.filters().apply(&mut findings);
    let status = plan.emit(&mut findings)?;
    plan.note(&format!(
        "scanned the commit message in {:.3}s: {}",
        scanned.elapsed().as_secs_f64(),
        plural(findings.len() as u64, "finding")
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

/// Scans a push's selection as a range gate and says what blocks it.
fn gate(
    plan: &Plan,
    (opener, repo): (&Opener, &Repository),
    sel: &Selection,
    verdict: &str,
    started: Instant,
) -> anyhow::Result<ExitStatus> {
    let shallow: HashSet<Oid> = shallow_commits(repo).into_iter().collect();
    check_not_shallow(&sel.commits, &shallow)?;
    let source = RangeSource {
        opener,
        repo,
        commits: &sel.commits,
        extras: &sel.extras,
        shallow: &shallow,
    };
    let (status, findings) = driver::run(plan, &source, started)?.report(plan)?;
    if status == ExitStatus::Findings {
        let n = plural(findings.len() as u64, "finding");
        eprintln!("keyfence: {verdict}: {n} in the pushed commits:");
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
