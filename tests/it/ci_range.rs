//! The GitHub Action's range logic (ci/github-range.py) against real repositories: an origin, a
//! developer's clone that pushes, and the CI checkout (a clone with full history, as
//! actions/checkout with fetch-depth 0 makes). Each recorded event payload (tests/events) gets the
//! real commit ids and must yield exactly the commits that event brought. One test per event
//! type, each on a fresh `World` (the shared fixture builder).

use std::path::Path;

use crate::fixture::{self, key, Repo, Sandbox};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ci/github-range.py");

/// Runs the script in `ci` for `event` with the payload `fixture` filled in by `vars`; returns
/// (stdout line, GITHUB_OUTPUT contents).
fn range(ci: &Repo, event: &str, fixture: &str, vars: &[(&str, &str)]) -> (String, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events");
    let mut payload = std::fs::read_to_string(dir.join(fixture)).unwrap();
    for (name, value) in vars {
        payload = payload.replace(&format!("{{{{{name}}}}}"), value);
    }
    assert!(!payload.contains("{{"), "unfilled placeholder in {fixture}");
    let event_path = ci.home.join(format!("{fixture}.event"));
    std::fs::write(&event_path, payload).unwrap();
    let output = ci.home.join(format!("{fixture}.output"));
    let _ = std::fs::remove_file(&output);
    let mut cmd = ci.command("python3");
    cmd.arg(SCRIPT).current_dir(&ci.path);
    let out = cmd
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_OUTPUT", &output)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{fixture}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        std::fs::read_to_string(&output).unwrap_or_default(),
    )
}

fn clone(sb: &Sandbox, name: &str) -> Repo {
    // --no-local: objects travel as over a network, so only what refs reach arrives.
    sb.git(&["clone", "-q", "--no-local", "origin.git", name]);
    let r = sb.at(name);
    r.git(&["config", "user.email", "t@example.com"]);
    r.git(&["config", "user.name", "t"]);
    r
}

/// The commits `revs` selects in `repo`, oldest first.
fn commits(repo: &Repo, revs: &str) -> Vec<String> {
    let mut args = vec!["rev-list", "--reverse"];
    args.extend(revs.split_whitespace());
    repo.git(&args).lines().map(str::to_string).collect()
}

/// The shared fixture: a bare origin, a developer's clone that pushed `c1`, then `c2` and `c3` on
/// main, and the CI clone fetched up to `c3`.
struct World {
    sb: Sandbox,
    dev: Repo,
    ci: Repo,
    c1: String,
    c2: String,
    c3: String,
}

impl World {
    fn new() -> World {
        let sb = Sandbox::new();
        sb.git(&["init", "-q", "--bare", "-b", "main", "origin.git"]);
        let dev = clone(&sb, "dev");
        dev.write("main.tf", &format!("# old {}\n", key(1)));
        let c1 = dev.commit("c1");
        dev.git(&["push", "-q", "origin", "main"]);
        let ci = clone(&sb, "ci");
        dev.write("a.tf", "a\n");
        let c2 = dev.commit("c2");
        dev.write("b.tf", &format!("access_key = \"{}\"\n", key(2)));
        let c3 = dev.commit("c3");
        dev.git(&["push", "-q", "origin", "main"]);
        ci.git(&["fetch", "-q", "origin"]);
        World {
            sb,
            dev,
            ci,
            c1,
            c2,
            c3,
        }
    }

    /// Pushes branch `feature` (f1, f2) off `c3`; returns (f1, f2).
    fn feature(&self) -> (String, String) {
        self.dev.git(&["checkout", "-q", "-b", "feature"]);
        self.dev.write("f.tf", "f1\n");
        let f1 = self.dev.commit("f1");
        self.dev.write("f.tf", "f2\n");
        let f2 = self.dev.commit("f2");
        self.dev.git(&["push", "-q", "origin", "feature"]);
        self.dev.git(&["checkout", "-q", "main"]);
        self.ci.git(&["fetch", "-q", "origin"]);
        (f1, f2)
    }

    /// Rewrites main from `c2` with one new commit `name` and force-pushes it.
    fn force_main(&self, name: &str) -> String {
        self.dev.git(&["checkout", "-q", "main"]);
        self.dev.git(&["reset", "-q", "--hard", &self.c2]);
        self.dev.write("c.tf", &format!("{name}\n"));
        let c = self.dev.commit(name);
        self.dev.git(&["push", "-q", "--force", "origin", "main"]);
        c
    }
}

/// `keyfence history --added-only --format json REVS...` in `repo`.
fn gate(repo: &Repo, revs: &str) -> fixture::Run {
    let mut args = vec!["history", "--added-only", "--format", "json"];
    args.extend(revs.split_whitespace());
    repo.keyfence(&args)
}

/// push: before..after.
#[test]
fn push_checks_before_to_after() {
    let w = World::new();
    let (c1, c2, c3) = (&w.c1, &w.c2, &w.c3);
    let (revs, output) = range(&w.ci, "push", "push.json", &[("BEFORE", c1), ("AFTER", c3)]);
    assert_eq!(revs, format!("{c1}..{c3}"));
    assert_eq!(output, format!("revs={c1}..{c3}\n"));
    assert_eq!(commits(&w.ci, &revs), vec![c2.clone(), c3.clone()]);
    // The gate over that range: the new key, not the old one.
    let run = gate(&w.ci, &revs);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("b.tf") && !run.stdout.contains("main.tf"));
}

/// new branch: only what no other remote branch has.
#[test]
fn new_branch_checks_only_what_no_other_branch_has() {
    let w = World::new();
    let (f1, f2) = w.feature();
    let (revs, _) = range(&w.ci, "push", "push-new-branch.json", &[("AFTER", &f2)]);
    assert_eq!(revs, format!("{f2} ^refs/remotes/origin/main"));
    assert_eq!(commits(&w.ci, &revs), vec![f1, f2]);
    let run = gate(&w.ci, &revs);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// force push: main rewritten from c2; the CI clone still knows the old tip c3.
#[test]
fn force_push_with_the_old_tip_known_checks_old_to_new() {
    let w = World::new();
    w.feature();
    let c4 = w.force_main("c4");
    w.ci.git(&["fetch", "-q", "origin"]);
    let c3 = &w.c3;
    let (revs, _) = range(
        &w.ci,
        "push",
        "push-forced.json",
        &[("BEFORE", c3), ("AFTER", &c4)],
    );
    assert_eq!(revs, format!("{c3}..{c4}"));
    assert_eq!(commits(&w.ci, &revs), vec![c4]);
}

/// Forced twice: a fresh checkout never saw the old tip c4 (nothing reaches it any more), so the
/// range is taken as for a new branch.
#[test]
fn force_push_with_the_old_tip_unknown_is_taken_as_a_new_branch() {
    let w = World::new();
    w.feature();
    let c4 = w.force_main("c4");
    let c5 = w.force_main("c5");
    let fresh = clone(&w.sb, "fresh");
    assert!(fresh
        .git_output(&["cat-file", "-e", &format!("{c4}^{{commit}}")])
        .status
        .code()
        .is_some_and(|c| c != 0));
    let (revs, _) = range(
        &fresh,
        "push",
        "push-forced.json",
        &[("BEFORE", &c4), ("AFTER", &c5)],
    );
    assert_eq!(revs, format!("{c5} ^refs/remotes/origin/feature"));
    assert_eq!(commits(&fresh, &revs), vec![c5]);
}

/// branch deleted: nothing to check.
#[test]
fn branch_deletion_checks_nothing() {
    let w = World::new();
    let (_, f2) = w.feature();
    w.dev.git(&["push", "-q", "origin", "--delete", "feature"]);
    w.ci.git(&["fetch", "-q", "--prune", "origin"]);
    let (revs, output) = range(&w.ci, "push", "push-deleted.json", &[("BEFORE", &f2)]);
    assert_eq!(revs, "");
    assert_eq!(output, "revs=\n");
}

/// pull request from a branch of this repository: base.sha..head.sha.
#[test]
fn pull_request_checks_base_to_head() {
    let w = World::new();
    let (f1, f2) = w.feature();
    let c4 = w.force_main("c4");
    w.ci.git(&["fetch", "-q", "origin"]);
    let (revs, _) = range(
        &w.ci,
        "pull_request",
        "pull_request.json",
        &[("BASE", &c4), ("HEAD", &f2)],
    );
    assert_eq!(revs, format!("{c4}..{f2}"));
    assert_eq!(commits(&w.ci, &revs), vec![w.c3.clone(), f1, f2]);
}

/// pull request from a fork: its branch is not in this repository, only refs/pull/N/head is
/// (GitHub keeps it there); the CI clone does not have the commit until it fetches that ref.
#[test]
fn pull_request_from_a_fork_fetches_the_pull_ref() {
    let w = World::new();
    w.feature();
    let base = w.force_main("c4");
    let fork = clone(&w.sb, "fork");
    fork.git(&["checkout", "-q", "-b", "patch-1"]);
    fork.write("p.tf", "p\n");
    let p1 = fork.commit("p1");
    fork.git(&["push", "-q", "origin", "patch-1:refs/pull/12/head"]);
    let ci2 = clone(&w.sb, "ci2");
    assert!(ci2
        .git_output(&["cat-file", "-e", &format!("{p1}^{{commit}}")])
        .status
        .code()
        .is_some_and(|c| c != 0));
    let (revs, _) = range(
        &ci2,
        "pull_request",
        "pull_request-fork.json",
        &[("BASE", &base), ("HEAD", &p1)],
    );
    assert_eq!(revs, format!("{base}..{p1}"));
    assert_eq!(commits(&ci2, &revs), vec![p1]);
    assert_eq!(gate(&ci2, &revs).code, 0);
}
