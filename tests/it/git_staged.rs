//! `keyfence protect --staged` and `keyfence install` on real repositories.

use crate::fixture::{self, at, key, Sandbox};

const JSON: &[&str] = &["protect", "--staged", "--format", "json"];

#[test]
fn staged_new_file_reports_its_line() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("README", "hello\n");
    r.commit("init");
    r.write(
        "conf/app.env",
        &format!("# app\nREGION=eu-west-1\nAWS_ACCESS_KEY_ID={}\n", key(1)),
    );
    r.git(&["add", "conf/app.env"]);
    let run = r.keyfence(JSON);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("conf/app.env", 3, None)]);
    assert_eq!(run.json()[0]["source"], "staged");
}

#[test]
fn staged_modification_reports_only_added_lines() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", &format!("old = {}\nx\n", key(1)));
    r.commit("old secret");
    r.write("a.txt", &format!("old = {}\nx\nnew = {}\n", key(1), key(2)));
    r.git(&["add", "a.txt"]);
    let run = r.keyfence(JSON);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("a.txt", 3, None)]);
    assert!(run.stdout.contains(&key(2)[..4]));
    // An edit that only touches other lines passes despite the old secret.
    r.write("a.txt", &format!("old = {}\ny\n", key(1)));
    r.git(&["add", "a.txt"]);
    r.keyfence(JSON).expect(0);
}

#[test]
fn staged_rename_reports_only_what_the_rename_adds() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write(
        "a.txt",
        &format!("one\ntwo\nthree\nold = {}\nfive\n", key(1)),
    );
    r.commit("old");
    r.git(&["mv", "a.txt", "b.txt"]);
    r.keyfence(JSON).expect(0);
    r.write(
        "b.txt",
        &format!(
            "one\ntwo\nthree\nold = {}\nfive\nnew = {}\n",
            key(1),
            key(2)
        ),
    );
    r.git(&["add", "b.txt"]);
    let run = r.keyfence(JSON);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("b.txt", 6, None)]);
}

#[test]
fn partial_staging_is_honoured_both_ways() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "line1\n");
    r.commit("init");
    // Secret only in the staged version; the working file no longer has it.
    r.write("a.txt", &format!("line1\nk = {}\n", key(1)));
    r.git(&["add", "a.txt"]);
    r.write("a.txt", "line1\nclean\n");
    let run = r.keyfence(JSON);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("a.txt", 2, None)]);
    // Secret only in the unstaged part: not reported.
    r.write("a.txt", "line1\nclean\n");
    r.git(&["add", "a.txt"]);
    r.write("a.txt", &format!("line1\nclean\nk = {}\n", key(2)));
    r.keyfence(JSON).expect(0);
}

#[test]
fn unborn_branch_compares_with_the_empty_tree() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("x/y.cfg", &format!("\n\nid={}\n", key(3)));
    r.git(&["add", "-A"]);
    let run = r.keyfence(JSON);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("x/y.cfg", 3, None)]);
}

#[test]
fn runs_from_a_subdirectory_with_repo_relative_paths() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("deep/er/a.txt", "x\n");
    r.commit("init");
    r.write("deep/er/a.txt", &format!("x\nk={}\n", key(4)));
    r.git(&["add", "-A"]);
    let run = r.keyfence_in(&r.path.join("deep/er"), JSON, None);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("deep/er/a.txt", 2, None)]);
    // --repo from elsewhere finds the same.
    let run = r.keyfence_in(
        sb.path(),
        &["protect", "--repo", "r/deep", "--format", "json"],
        None,
    );
    assert_eq!(run.seen(), vec![at("deep/er/a.txt", 2, None)]);
}

#[test]
fn deletions_are_skipped_and_keys_inside_binaries_are_found() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("gone.txt", &format!("k={}\n", key(5)));
    r.commit("has a secret");
    r.git(&["rm", "-q", "gone.txt"]);
    r.git(&["add", "-A"]);
    r.keyfence(JSON).expect(0);
    // Binary content is no longer skipped (a gate that skips it lets the key through).
    std::fs::write(r.path.join("blob.bin"), format!("\0\0bin k={}\n", key(6))).unwrap();
    r.git(&["add", "-A"]);
    let run = r.keyfence(JSON);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("blob.bin", 1, None)]);
}

#[test]
fn during_a_merge_the_resolution_is_scanned_and_conflicts_do_not_crash() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("conf.txt", "value = base\n");
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("conf.txt", "value = side\n");
    r.commit("side");
    r.git(&["checkout", "-q", "main"]);
    r.write("conf.txt", "value = main\n");
    r.commit("main");
    let out = r.git_output(&["merge", "-q", "side"]);
    assert!(!out.status.success(), "the merge should conflict");
    // Unresolved: the conflicted entry (stages 1-3) is skipped, nothing else staged.
    r.keyfence(JSON).expect(0);
    r.write("conf.txt", &format!("value = merged\nkey = {}\n", key(7)));
    r.git(&["add", "conf.txt"]);
    let run = r.keyfence(JSON);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("conf.txt", 2, None)]);
}

#[test]
fn works_in_a_linked_worktree() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "x\n");
    r.commit("init");
    r.git(&["worktree", "add", "-q", "-b", "wt", "../wt"]);
    let wt = sb.at("wt");
    wt.write("a.txt", &format!("x\nk={}\n", key(8)));
    wt.git(&["add", "a.txt"]);
    let run = wt.keyfence(JSON);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("a.txt", 2, None)]);
    // The main work tree's index is untouched.
    r.keyfence(JSON).expect(0);
    // Hooks installed from a worktree go to the shared hooks dir.
    wt.keyfence(&["install", "--pre-commit"]).expect(0);
    assert!(r.path.join(".git/hooks/pre-commit").is_file());
}

#[test]
fn baseline_suppresses_staged_findings() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", &format!("k={}\n", key(9)));
    r.git(&["add", "a.txt"]);
    let base = sb.path().join("base.json");
    r.keyfence(&["baseline", "--output", base.to_str().unwrap(), "a.txt"])
        .expect(0);
    let run = r.keyfence(&[
        "protect",
        "--format",
        "json",
        "--baseline",
        base.to_str().unwrap(),
    ]);
    run.expect(0);
    assert!(run.json().is_empty());
}

#[test]
fn installed_pre_commit_hook_blocks_and_passes() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "x\n");
    r.commit("init");
    r.keyfence(&["install", "--pre-commit"]).expect(0);
    let hook = r.path.join(".git/hooks/pre-commit");
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("keyfence protect --staged"));

    let commit = |msg: &str| {
        let mut cmd = r.command("git");
        cmd.args(["commit", "-q", "-m", msg]).current_dir(&r.path);
        cmd.env("PATH", fixture::path_with_keyfence());
        cmd.output().unwrap()
    };
    r.write("a.txt", &format!("x\nk={}\n", key(10)));
    r.git(&["add", "a.txt"]);
    let out = commit("leak");
    assert!(!out.status.success(), "the hook should block the commit");
    // Git sends a hook's stdout to stderr.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("a.txt:2"), "{said}");
    r.write("a.txt", "x\nclean\n");
    r.git(&["add", "a.txt"]);
    let out = commit("clean");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without keyfence on PATH the hook blocks with a message.
    let mut cmd = r.command("git");
    r.write("a.txt", "x\nclean2\n");
    r.git(&["add", "a.txt"]);
    cmd.args(["commit", "-q", "-m", "no bin"])
        .current_dir(&r.path);
    cmd.env("PATH", "/usr/bin:/bin");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot find it"));
}

#[test]
fn install_respects_hooks_path_and_foreign_hooks() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.git(&["config", "core.hooksPath", ".githooks"]);
    std::fs::create_dir_all(r.path.join(".githooks")).unwrap();
    std::fs::write(r.path.join(".githooks/pre-push"), "#!/bin/sh\necho mine\n").unwrap();
    let run = r.keyfence(&["install"]);
    run.expect(2);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert!(
        !r.path.join(".githooks/pre-commit").exists(),
        "nothing half-installed"
    );
    r.keyfence(&["install", "--force"]).expect(0);
    let body = std::fs::read_to_string(r.path.join(".githooks/pre-push")).unwrap();
    assert!(body.contains("keyfence hook pre-push"));
    assert!(r.path.join(".githooks/pre-push.keyfence-backup").is_file());
    assert!(r.path.join(".githooks/pre-commit").is_file());
    // Our own hooks are replaced without --force.
    r.keyfence(&["install"]).expect(0);
}
