//! `keyfence hook pre-push | pre-receive`: read git's hook input, turn each ref update into a
//! set of commits, and gate them by the lines they add. Fails closed: input that cannot be
//! understood or a revision that cannot be found is an error (exit 2), never a silent pass.

use std::collections::HashSet;
use std::io::Read;
use std::time::Instant;

use anyhow::Context;
use git2::{Oid, Repository};

use super::common::Plan;
use super::history::{scan_range, Stats};
use crate::cli::{HookCommand, PrePushArgs, PreReceiveArgs};
use crate::finding::Finding;
use crate::hook::{parse_pre_push, parse_pre_receive, Action, ObjectId};
use crate::sources::git::{root_dir, shallow_commits, Opener};
use crate::sources::history::{check_not_shallow, ref_tips, walk, RevSet};
use crate::ExitStatus;

pub fn run(cmd: &HookCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        HookCommand::PrePush(args) => pre_push(args),
        HookCommand::PreReceive(args) => pre_receive(args),
    }
}

fn read_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("cannot read the hook input from stdin")?;
    Ok(s)
}

fn oid_of(repo: &Repository, id: &ObjectId, what: &str) -> anyhow::Result<Oid> {
    let oid = Oid::from_str(id.as_str())?;
    let commit = repo
        .find_object(oid, None)
        .and_then(|o| o.peel_to_commit())
        .with_context(|| format!("{what} {id} is not a commit in this repository"))?;
    Ok(commit.id())
}

/// Collects commits in order, each once.
#[derive(Default)]
struct Selection {
    seen: HashSet<Oid>,
    commits: Vec<Oid>,
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

fn pre_push(args: &PrePushArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let input = read_stdin()?;
    let updates = parse_pre_push(&input)?;
    let (opener, repo) = Opener::new(args.repo.as_deref())?;
    let plan = Plan::build(&args.common, &root_dir(&repo))?;
    let mut sel = Selection::default();
    for u in &updates {
        let set = match u.action() {
            Action::Nothing => continue,
            Action::New { tip } => new_ref_set(&repo, oid_of(&repo, tip, "local sha")?, |n| {
                n.starts_with("refs/remotes/")
            })?,
            Action::Range { base, tip } => {
                let tip = oid_of(&repo, tip, "local sha")?;
                match oid_of(&repo, base, "remote sha") {
                    Ok(base) => RevSet {
                        include: vec![tip],
                        exclude: vec![base],
                    },
                    // The remote moved to a commit we have never fetched (a force push over
                    // someone else's work): scan everything no remote-tracking ref reaches.
                    Err(_) => {
                        plan.note(&format!(
                            "{}: remote sha {} is not here; scanning every commit no remote-tracking ref reaches",
                            u.remote_ref,
                            &base.as_str()[..12]
                        ));
                        new_ref_set(&repo, tip, |n| n.starts_with("refs/remotes/"))?
                    }
                }
            }
        };
        sel.add(&repo, &set)?;
    }
    gate(&plan, &opener, &repo, &sel.commits, started, "push blocked")
}

fn pre_receive(args: &PreReceiveArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let input = read_stdin()?;
    let updates = parse_pre_receive(&input)?;
    let (opener, repo) = Opener::new(args.repo.as_deref())?;
    let plan = Plan::build(&args.common, &root_dir(&repo))?;
    let mut sel = Selection::default();
    for u in &updates {
        let set = match u.action() {
            Action::Nothing => continue,
            Action::New { tip } => new_ref_set(&repo, oid_of(&repo, tip, "new sha")?, |n| {
                n.starts_with("refs/")
            })?,
            Action::Range { base, tip } => RevSet {
                include: vec![oid_of(&repo, tip, "new sha")?],
                exclude: vec![oid_of(&repo, base, "old sha")?],
            },
        };
        sel.add(&repo, &set)?;
    }
    gate(
        &plan,
        &opener,
        &repo,
        &sel.commits,
        started,
        "push rejected",
    )
}

/// The commits of `tip` that no ref matching `existing` reaches.
fn new_ref_set(
    repo: &Repository,
    tip: Oid,
    existing: impl Fn(&str) -> bool,
) -> anyhow::Result<RevSet> {
    Ok(RevSet {
        include: vec![tip],
        exclude: ref_tips(repo, |n| n != "HEAD" && existing(n))?,
    })
}

fn gate(
    plan: &Plan,
    opener: &Opener,
    repo: &Repository,
    commits: &[Oid],
    started: Instant,
    verdict: &str,
) -> anyhow::Result<ExitStatus> {
    let shallow: HashSet<Oid> = shallow_commits(repo).into_iter().collect();
    check_not_shallow(commits, &shallow)?;
    let (mut findings, stats): (Vec<Finding>, Stats) = if commits.is_empty() {
        (Vec::new(), Stats::default())
    } else {
        scan_range(plan, opener, repo, commits, &shallow)?
    };
    let status = plan.emit(&mut findings)?;
    if !plan.quiet {
        plan.note(&stats.summary(findings.len(), started));
    }
    if status == ExitStatus::Findings {
        eprintln!(
            "keyfence: {verdict}: {} in the pushed commits:",
            super::common::plural(findings.len() as u64, "secret")
        );
        for f in &findings {
            let commit = f.commit.as_ref().map(|c| &c.id[..12]).unwrap_or("?");
            let place = match &f.file {
                Some(file) => format!("{file}:{}", f.line),
                None => format!("commit message line {}", f.line),
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
