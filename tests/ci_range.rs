//! The GitHub Action's range logic (ci/github-range.py) against real repositories: an origin, a
//! developer's clone that pushes, and the CI checkout (a clone with full history, as
//! actions/checkout with fetch-depth 0 makes). Each recorded event payload (tests/events) gets the
//! real commit ids and must yield exactly the commits that event brought.

mod common;

use std::path::Path;
use std::process::Command;

use common::{key, Repo, Sandbox};

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
    let mut cmd = Command::new("python3");
    cmd.arg(SCRIPT).current_dir(&ci.path);
    common::isolate(&mut cmd, &ci.home);
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

#[test]
fn each_event_yields_exactly_the_commits_it_brought() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--bare", "-b", "main", "origin.git"]);
    let dev = clone(&sb, "dev");
    dev.write("main.tf", &format!("# old {}\n", key(1)));
    let c1 = dev.commit("c1");
    dev.git(&["push", "-q", "origin", "main"]);
    let ci = clone(&sb, "ci");

    // push: before..after.
    dev.write("a.tf", "a\n");
    let c2 = dev.commit("c2");
    dev.write("b.tf", &format!("access_key = \"{}\"\n", key(2)));
    let c3 = dev.commit("c3");
    dev.git(&["push", "-q", "origin", "main"]);
    ci.git(&["fetch", "-q", "origin"]);
    let (revs, output) = range(&ci, "push", "push.json", &[("BEFORE", &c1), ("AFTER", &c3)]);
    assert_eq!(revs, format!("{c1}..{c3}"));
    assert_eq!(output, format!("revs={c1}..{c3}\n"));
    assert_eq!(commits(&ci, &revs), vec![c2.clone(), c3.clone()]);
    // The gate over that range: the new key, not the old one.
    let mut args = vec!["history", "--added-only", "--format", "json"];
    args.extend(revs.split_whitespace());
    let run = ci.keyfence(&args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("b.tf") && !run.stdout.contains("main.tf"));

    // new branch: only what no other remote branch has.
    dev.git(&["checkout", "-q", "-b", "feature"]);
    dev.write("f.tf", "f1\n");
    let f1 = dev.commit("f1");
    dev.write("f.tf", "f2\n");
    let f2 = dev.commit("f2");
    dev.git(&["push", "-q", "origin", "feature"]);
    ci.git(&["fetch", "-q", "origin"]);
    let (revs, _) = range(&ci, "push", "push-new-branch.json", &[("AFTER", &f2)]);
    assert_eq!(revs, format!("{f2} ^refs/remotes/origin/main"));
    assert_eq!(commits(&ci, &revs), vec![f1.clone(), f2.clone()]);
    let mut args = vec!["history", "--added-only", "--format", "json"];
    args.extend(revs.split_whitespace());
    let run = ci.keyfence(&args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    // force push: main rewritten from c2; the CI clone still knows the old tip c3.
    dev.git(&["checkout", "-q", "main"]);
    dev.git(&["reset", "-q", "--hard", &c2]);
    dev.write("c.tf", "c4\n");
    let c4 = dev.commit("c4");
    dev.git(&["push", "-q", "--force", "origin", "main"]);
    ci.git(&["fetch", "-q", "origin"]);
    let (revs, _) = range(
        &ci,
        "push",
        "push-forced.json",
        &[("BEFORE", &c3), ("AFTER", &c4)],
    );
    assert_eq!(revs, format!("{c3}..{c4}"));
    assert_eq!(commits(&ci, &revs), vec![c4.clone()]);
    // Forced again: a fresh checkout never saw the old tip c4 (nothing reaches it any more), so
    // the range is taken as for a new branch.
    dev.git(&["reset", "-q", "--hard", &c2]);
    dev.write("c.tf", "c5\n");
    let c5 = dev.commit("c5");
    dev.git(&["push", "-q", "--force", "origin", "main"]);
    let fresh = clone(&sb, "fresh");
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
    assert_eq!(commits(&fresh, &revs), vec![c5.clone()]);
    let c4 = c5;

    // branch deleted: nothing to check.
    let (revs, output) = range(&ci, "push", "push-deleted.json", &[("BEFORE", &f2)]);
    assert_eq!(revs, "");
    assert_eq!(output, "revs=\n");

    // pull request from a branch of this repository: base.sha..head.sha.
    ci.git(&["fetch", "-q", "origin"]);
    let (revs, _) = range(
        &ci,
        "pull_request",
        "pull_request.json",
        &[("BASE", &c4), ("HEAD", &f2)],
    );
    assert_eq!(revs, format!("{c4}..{f2}"));
    assert_eq!(
        commits(&ci, &revs),
        vec![c3.clone(), f1.clone(), f2.clone()]
    );

    // pull request from a fork: its branch is not in this repository, only refs/pull/N/head is
    // (GitHub keeps it there); the CI clone does not have the commit until it fetches that ref.
    let fork = clone(&sb, "fork");
    fork.git(&["checkout", "-q", "-b", "patch-1"]);
    fork.write("p.tf", "p\n");
    let p1 = fork.commit("p1");
    fork.git(&["push", "-q", "origin", "patch-1:refs/pull/12/head"]);
    let ci2 = clone(&sb, "ci2");
    let (revs, _) = range(
        &ci2,
        "pull_request",
        "pull_request-fork.json",
        &[("BASE", &c4), ("HEAD", &p1)],
    );
    assert_eq!(revs, format!("{c4}..{p1}"));
    assert_eq!(commits(&ci2, &revs), vec![p1.clone()]);
    let mut args = vec!["history", "--added-only", "--format", "json"];
    args.extend(revs.split_whitespace());
    assert_eq!(ci2.keyfence(&args).code, 0);
}
