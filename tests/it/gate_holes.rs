//! Holes in the gates, each closed and kept closed: the pre-commit framework's pre-push, new
//! branches to a second remote, annotated tags and what only tags, stashes and worktrees reach,
//! oversize content, per-path decisions, renames, bad dates, pre-receive with `--repo` and SHA-256
//! repositories (binary content and hostile sizes are in gate_content.rs, the commit-msg hook in
//! commit_msg_hook.rs). Real repositories, real `git push`, the real binary.

use crate::fixture::{at, bare_server, key, write_hook, Repo, Run, Sandbox, BIN};
use serde_json::Value;

const ZERO: &str = "0000000000000000000000000000000000000000";

/// A file of `n` filler lines and then `tail`.
fn padded(n: usize, tail: &str) -> String {
    let mut s: String = (0..n)
        .map(|i| format!("setting_{i} = value {i}\n"))
        .collect();
    s.push_str(tail);
    s
}

fn has_ref(r: &Repo, name: &str) -> bool {
    r.git_output(&["rev-parse", "-q", "--verify", name])
        .status
        .success()
}

/// A repository `r` with remote `origin` (bare, in the sandbox) that already has one commit
/// holding an old key; local main has one more commit adding a new key. Returns (old, new).
fn pushed_old_and_local_new(sb: &Sandbox) -> (Repo, String, String) {
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    let r = sb.repo("r");
    let url = sb.path().join("server.git");
    r.git(&["remote", "add", "origin", url.to_str().unwrap()]);
    r.write("old.txt", &format!("k = {}\n", key(10)));
    let old = r.commit("old key, already on the server");
    let (ok, said) = r.push(&["-q", "origin", "main"]);
    assert!(ok, "{said}");
    r.write("new.txt", &format!("k = {}\n", key(11)));
    let new = r.commit("new key");
    (r, old, new)
}

// 1. The pre-commit framework runs pre-push hooks with an empty stdin and PRE_COMMIT_* refs.

#[test]
fn framework_pre_push_checks_the_refs_named_in_pre_commit_variables() {
    let sb = Sandbox::new();
    let (r, old, new) = pushed_old_and_local_new(&sb);
    let args = ["hook", "pre-push", "--format", "json"];
    // An update: PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF.
    let run = r.keyfence_env(
        &args,
        &[
            ("PRE_COMMIT", "1"),
            ("PRE_COMMIT_FROM_REF", &old),
            ("PRE_COMMIT_TO_REF", &new),
            ("PRE_COMMIT_REMOTE_NAME", "origin"),
            ("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main"),
            ("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main"),
        ],
        Some(""),
    );
    run.expect(1);
    assert_eq!(run.seen(), vec![at("new.txt", 1, Some(&new))]);

    // The framework's root-commit case names only the local branch: everything the destination
    // lacks is checked (origin has the old commit; an empty remote has nothing).
    let root_case = |remote: &str| {
        r.keyfence_env(
            &args,
            &[
                ("PRE_COMMIT", "1"),
                ("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main"),
                ("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main"),
                ("PRE_COMMIT_REMOTE_NAME", remote),
            ],
            Some(""),
        )
    };
    let run = root_case("origin");
    run.expect(1);
    assert_eq!(run.seen(), vec![at("new.txt", 1, Some(&new))]);
    sb.git(&["init", "-q", "--bare", "-b", "main", "empty.git"]);
    let empty = sb.path().join("empty.git");
    r.git(&["remote", "add", "empty", empty.to_str().unwrap()]);
    let run = root_case("empty");
    run.expect(1);
    assert_eq!(
        run.seen(),
        vec![at("new.txt", 1, Some(&new)), at("old.txt", 1, Some(&old))]
    );

    // Run by the framework with nothing named: fail closed instead of checking nothing.
    let run = r.keyfence_env(&args, &[("PRE_COMMIT", "1")], Some(""));
    run.expect(2);
    assert!(run.stderr.contains("no refs to check"), "{}", run.stderr);
}

// 2. A new branch is checked against what its destination has, not what any remote has.

#[test]
fn a_branch_only_an_internal_remote_has_is_checked_when_pushed_to_a_new_remote() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--bare", "-b", "main", "internal.git"]);
    sb.git(&["init", "-q", "--bare", "-b", "main", "public.git"]);
    let r = sb.repo("r");
    let internal = sb.path().join("internal.git");
    r.git(&["remote", "add", "internal", internal.to_str().unwrap()]);
    r.write("README", "hi\n");
    r.commit("init");
    r.write("creds.txt", &format!("k = {}\n", key(20)));
    r.commit("fine on the internal remote");
    let (ok, said) = r.push(&["-q", "internal", "main"]);
    assert!(ok, "{said}");
    r.keyfence(&["install", "--pre-push"]).expect(0);
    let public = sb.path().join("public.git");
    r.git(&["remote", "add", "public", public.to_str().unwrap()]);
    let (ok, said) = r.push(&["public", "main"]);
    assert!(!ok, "the key would be published:\n{said}");
    assert!(said.contains("creds.txt:1"), "{said}");
    assert!(!has_ref(&sb.at("public.git"), "refs/heads/main"));
    // The internal remote has every commit: a new branch there checks nothing.
    let (ok, said) = r.push(&["internal", "main:refs/heads/copy"]);
    assert!(ok, "{said}");
}

#[test]
fn a_stale_remote_tracking_ref_does_not_exempt_a_new_branch() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    sb.git(&["clone", "-q", "server.git", "client"]);
    let r = sb.at("client");
    r.write("README", "hi\n");
    r.commit("init");
    assert!(r.push(&["-q", "origin", "main"]).0);
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("creds.txt", &format!("k = {}\n", key(21)));
    let leak = r.commit("leak");
    assert!(r.push(&["-q", "origin", "feature"]).0);
    // Deleted on the server; the local remote-tracking ref is stale (as without pruning).
    let (ok, said) = r.push(&["-q", "--no-verify", "origin", "--delete", "feature"]);
    assert!(ok, "{said}");
    r.git(&["update-ref", "refs/remotes/origin/feature", &leak]);
    r.keyfence(&["install", "--pre-push"]).expect(0);
    r.git(&["checkout", "-q", "-b", "feature2"]);
    let (ok, said) = r.push(&["origin", "feature2"]);
    assert!(!ok, "the server no longer has the commit:\n{said}");
    assert!(said.contains("creds.txt:1"), "{said}");
    assert!(!has_ref(&sb.at("server.git"), "refs/heads/feature2"));
}

#[test]
fn an_unreachable_remote_falls_back_to_its_own_tracking_refs_only() {
    let sb = Sandbox::new();
    let (r, old, new) = pushed_old_and_local_new(&sb);
    r.git(&["fetch", "-q", "origin"]);
    // Another remote's tracking ref reaches the new commit: it must not exempt it.
    r.git(&["update-ref", "refs/remotes/other/main", &new]);
    let gone = sb.path().join("gone.git");
    r.git(&["remote", "set-url", "origin", gone.to_str().unwrap()]);
    let input = format!("refs/heads/main {new} refs/heads/topic {ZERO}\n");
    let run = r.keyfence_in(
        &r.path,
        &[
            "hook",
            "pre-push",
            "origin",
            gone.to_str().unwrap(),
            "--format",
            "json",
        ],
        Some(&input),
    );
    run.expect(1);
    // The old commit is under refs/remotes/origin/main: excluded; the new one is not.
    assert_eq!(run.seen(), vec![at("new.txt", 1, Some(&new))]);
    assert!(
        run.stderr.contains("cannot list the refs") && run.stderr.contains("refs/remotes/origin/"),
        "{}",
        run.stderr
    );
    assert_ne!(old, new);
}

#[test]
fn a_gate_that_cannot_finish_in_its_deadline_fails_closed() {
    let sb = Sandbox::new();
    let (r, _old, new) = pushed_old_and_local_new(&sb);
    // Listing the destination's refs hangs (its upload-pack sleeps): the watchdog ends the gate.
    r.git(&[
        "config",
        "remote.origin.uploadpack",
        "sleep 5; git-upload-pack",
    ]);
    let input = format!("refs/heads/main {new} refs/heads/topic {ZERO}\n");
    let started = std::time::Instant::now();
    let run = r.keyfence_in(
        &r.path,
        &["hook", "pre-push", "origin", "url", "--deadline", "1"],
        Some(&input),
    );
    run.expect(2);
    assert!(
        run.stderr.contains("did not finish within 1s"),
        "{}",
        run.stderr
    );
    // Only a sanity bound: the gate gave up instead of waiting for the remote.
    assert!(started.elapsed() < std::time::Duration::from_secs(15)); // ls-remote alone waits 20 s
}

// 3. Annotated tags, and what only tags, stashes and worktrees reach.

#[test]
fn a_key_in_an_annotated_tag_message_is_refused_by_both_push_gates() {
    let sb = Sandbox::new();
    let server = bare_server(&sb, "server.git", &[]);
    sb.git(&["clone", "-q", "server.git", "client"]);
    let c = sb.at("client");
    c.write("README", "hi\n");
    c.commit("init");
    let (ok, said) = c.push(&["-q", "origin", "main"]);
    assert!(ok, "{said}");
    let msg = format!("release 1\n\naws key {}\n", key(30));
    c.git(&["tag", "-a", "v1", "-m", &msg]);
    // The tagged commit is on the server already: only the tag message is new.
    let (ok, said) = c.push(&["origin", "v1"]);
    assert!(!ok, "{said}");
    assert!(said.contains("tag message line 3"), "{said}");
    assert!(!has_ref(&server, "refs/tags/v1"));

    // The same through the pre-push hook, to a server without a hook.
    sb.git(&["init", "-q", "--bare", "-b", "main", "plain.git"]);
    let plain = sb.path().join("plain.git");
    c.git(&["remote", "add", "plain", plain.to_str().unwrap()]);
    assert!(c.push(&["-q", "plain", "main"]).0);
    c.keyfence(&["install", "--pre-push"]).expect(0);
    let (ok, said) = c.push(&["plain", "v1"]);
    assert!(!ok, "{said}");
    assert!(said.contains("push blocked"), "{said}");
    assert!(!has_ref(&sb.at("plain.git"), "refs/tags/v1"));
    // A tag naming a blob that holds a key: the server checks the blob.
    c.write("loose.txt", &format!("k = {}\n", key(31)));
    let blob = c.git(&["hash-object", "-w", "loose.txt"]);
    std::fs::remove_file(c.path.join("loose.txt")).unwrap();
    c.git(&["tag", "blobtag", &blob]);
    let (ok, said) = c.push(&["--no-verify", "origin", "blobtag"]);
    assert!(!ok, "{said}");
    assert!(!has_ref(&server, "refs/tags/blobtag"));
    let (ok, said) = c.push(&["plain", "blobtag"]);
    assert!(!ok, "{said}");
    // A clean annotated tag passes both.
    c.git(&["tag", "-a", "v2", "-m", "release 2"]);
    let (ok, said) = c.push(&["plain", "v2"]);
    assert!(ok, "{said}");
    let (ok, said) = c.push(&["origin", "v2"]);
    assert!(ok, "{said}");
}

/// Every finding's (file, line, source, commit), in report order.
fn file_line_source_commit(run: &Run) -> Vec<(Option<String>, u64, String, String)> {
    run.json()
        .iter()
        .map(|f: &Value| {
            (
                f["file"].as_str().map(str::to_string),
                f["line"].as_u64().unwrap(),
                f["source"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn history_finds_keys_that_only_tags_stashes_and_worktrees_reach() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("README", "hi\n");
    r.commit("init");
    // An annotated tag's message.
    r.git(&[
        "tag",
        "-a",
        "v1",
        "-m",
        &format!("release\nkey {}\n", key(40)),
    ]);
    let v1 = r.git(&["rev-parse", "v1"]);
    // A tag of a tag whose inner tag has no ref of its own.
    r.git(&["tag", "-a", "inner", "-m", &format!("inner {}\n", key(41))]);
    let inner = r.git(&["rev-parse", "inner"]);
    r.git(&["tag", "-a", "outer", "-m", "outer", "inner"]);
    r.git(&["tag", "-d", "inner"]);
    // A tag naming a blob.
    r.write("loose.txt", &format!("x\nk = {}\n", key(42)));
    let blob = r.git(&["hash-object", "-w", "loose.txt"]);
    std::fs::remove_file(r.path.join("loose.txt")).unwrap();
    r.git(&["tag", "blobtag", &blob]);
    // Two stash entries: stash@{1} lives only in the reflog.
    r.write("README", &format!("hi\nk = {}\n", key(43)));
    r.git(&["stash", "-q"]);
    r.write("README", &format!("hi\nk = {}\n", key(44)));
    r.git(&["stash", "-q"]);
    let stash0 = r.git(&["rev-parse", "stash@{0}"]);
    let stash1 = r.git(&["rev-parse", "stash@{1}"]);
    // A linked worktree's detached HEAD, reachable from no ref.
    let wt_path = sb.path().join("wt");
    r.git(&[
        "worktree",
        "add",
        "-q",
        "--detach",
        wt_path.to_str().unwrap(),
    ]);
    let wt = sb.at("wt");
    wt.write("w.txt", &format!("k = {}\n", key(45)));
    let detached = wt.commit("detached");

    let run = r.keyfence(&["history", "--format", "json"]);
    run.expect(1);
    let found = file_line_source_commit(&run);
    let expect = [
        (None, 2, "tag-message", v1.as_str()),
        (None, 1, "tag-message", inner.as_str()),
        (Some("README"), 2, "history", stash0.as_str()),
        (Some("README"), 2, "history", stash1.as_str()),
        (Some("w.txt"), 1, "history", detached.as_str()),
    ];
    for (file, line, source, commit) in expect {
        assert!(
            found
                .iter()
                .any(|f| f.0.as_deref() == file && f.1 == line && f.2 == source && f.3 == commit),
            "missing {file:?}:{line} {source} {commit} in {found:#?}"
        );
    }
    assert!(
        found
            .iter()
            .any(|f| f.0.as_deref().is_some_and(|p| p.contains("blobtag")) && f.1 == 2),
        "the tagged blob is missing from {found:#?}"
    );
    assert_eq!(run.json().len(), 6, "{found:#?}");
}

// 4. Oversize content: gates fail, audits skip and say so.

#[test]
fn oversize_content_fails_every_gate_and_is_counted_by_audits() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("README", "hi\n");
    let base = r.commit("init");
    r.write("big.txt", &padded(100, "end\n"));
    assert!(std::fs::metadata(r.path.join("big.txt")).unwrap().len() > 2048);
    r.git(&["add", "big.txt"]);
    let run = r.keyfence(&["protect", "--staged", "--max-file-size", "1K"]);
    run.expect(2);
    assert!(run.stderr.contains("--max-file-size"), "{}", run.stderr);
    r.keyfence(&["protect", "--staged"]).expect(0);
    let big = r.commit("big");

    // The audit skips it, says so, and passes; --strict makes the skip an error.
    let run = r.keyfence(&["history", "--max-file-size", "1K"]);
    run.expect(0);
    assert!(
        run.stderr.contains("over --max-file-size"),
        "{}",
        run.stderr
    );
    r.keyfence(&["history", "--max-file-size", "1K", "--strict"])
        .expect(2);
    // The range gate fails.
    let range = format!("{base}..{big}");
    let run = r.keyfence(&["history", &range, "--added-only", "--max-file-size", "1K"]);
    run.expect(2);
    assert!(run.stderr.contains("--max-file-size"), "{}", run.stderr);

    // The server gate rejects the push.
    let server = bare_server(&sb, "server.git", &["--max-file-size", "1K"]);
    let url = server.path.to_str().unwrap().to_string();
    r.git(&["remote", "add", "origin", &url]);
    let (ok, said) = r.push(&["origin", &format!("{base}:refs/heads/main")]);
    assert!(ok, "{said}");
    let (ok, said) = r.push(&["origin", "main"]);
    assert!(!ok, "{said}");
    assert!(said.contains("--max-file-size"), "{said}");
    assert_eq!(server.git(&["rev-parse", "main"]), base);
}

// 9. Per-path decisions: the same blob at an allowlisted path and at another one.

#[test]
fn a_blob_at_an_allowlisted_path_and_elsewhere_is_reported_elsewhere() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    // A rule's own path allowlist (and the global one).
    r.write(
        ".keyfence.toml",
        "[[rules]]\nid = \"aws-access-key-id\"\n[rules.allowlist]\npaths = [\"fixtures/**\"]\n\n\
         [allowlist]\npaths = [\"vendor/**\"]\n",
    );
    let content = format!("k = {}\n", key(70));
    r.write("fixtures/a.txt", &content);
    r.write("vendor/a.txt", &content);
    r.commit("fixtures");
    r.write("src/a.txt", &content);
    let second = r.commit("the same content outside fixtures/");
    let run = r.keyfence(&["history", "--format", "json"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("src/a.txt", 1, Some(&second))]);
}

// 10. A rename adds nothing, at every gate; a rename with a new line adds that line.

#[test]
fn a_git_mv_adds_no_lines_at_any_gate() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    let server = sb.at("server.git");
    let r = sb.repo("r");
    r.git(&["remote", "add", "origin", server.path.to_str().unwrap()]);
    r.write("old.txt", &padded(12, &format!("k = {}\n", key(80))));
    let a = r.commit("an old key, accepted at the time");
    assert!(r.push(&["-q", "origin", "main"]).0);
    write_hook(
        &server.path,
        "pre-receive",
        &format!("exec '{BIN}' hook pre-receive"),
    );

    r.git(&["mv", "old.txt", "new.txt"]);
    r.keyfence(&["protect", "--staged"]).expect(0);
    let b = r.commit("rename");
    r.keyfence(&["history", &format!("{a}..{b}"), "--added-only"])
        .expect(0);
    let (ok, said) = r.push(&["origin", "main"]);
    assert!(ok, "{said}");

    // A rename that also adds a key line: every gate reports exactly that line.
    r.git(&["mv", "new.txt", "moved.txt"]);
    let mut text = std::fs::read_to_string(r.path.join("moved.txt")).unwrap();
    text.push_str(&format!("k2 = {}\n", key(81)));
    r.write("moved.txt", &text);
    r.git(&["add", "moved.txt"]);
    let run = r.keyfence(&["protect", "--staged", "--format", "json"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("moved.txt", 14, None)]);
    let c = r.commit("rename and a new key");
    let run = r.keyfence(&[
        "history",
        &format!("{b}..{c}"),
        "--added-only",
        "--format",
        "json",
    ]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("moved.txt", 14, Some(&c))]);
    let (ok, said) = r.push(&["origin", "main"]);
    assert!(!ok, "{said}");
    assert!(said.contains("moved.txt:14"), "{said}");
    assert!(!said.contains("moved.txt:13"), "{said}");
}

// 11. Bad dates are errors, not panics.

#[test]
fn since_rejects_multibyte_and_out_of_range_dates() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("README", "hi\n");
    r.commit("init");
    for bad in [
        "2023-11-14T10:00:0\u{e9}",
        "2023-11-1\u{e9}",
        "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        "2023-11-14T10:00:00+0\u{e9}:0",
        "2023-11-14T99:99:99Z",
        "2023-02-30",
    ] {
        let run = r.keyfence(&["history", "--since", bad]);
        assert_eq!(run.code, 2, "--since {bad}: {}", run.stderr);
        assert!(run.stderr.contains("is not a date"), "{}", run.stderr);
    }
    r.keyfence(&["history", "--since", "2024-02-29"]).expect(0);
}

// 12. pre-receive with --repo sees the pushed objects in quarantine.

#[test]
fn pre_receive_with_repo_flag_sees_quarantined_objects() {
    for how in ["\"$GIT_DIR\"", "ABS"] {
        let sb = Sandbox::new();
        sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
        let server = sb.at("server.git");
        let repo_arg = if how == "ABS" {
            format!("'{}'", server.path.display())
        } else {
            how.to_string()
        };
        write_hook(
            &server.path,
            "pre-receive",
            &format!("exec '{BIN}' hook pre-receive --repo {repo_arg}"),
        );
        sb.git(&["clone", "-q", "server.git", "client"]);
        let c = sb.at("client");
        c.write("README", "hi\n");
        c.commit("init");
        let (ok, said) = c.push(&["origin", "main"]);
        assert!(ok, "--repo {how}: a clean first push:\n{said}");
        c.write("more.txt", "clean\n");
        let clean = c.commit("clean");
        let (ok, said) = c.push(&["origin", "main"]);
        assert!(ok, "--repo {how}: a clean push:\n{said}");
        assert_eq!(server.git(&["rev-parse", "main"]), clean);
        c.write("leak.txt", &format!("k = {}\n", key(90)));
        c.commit("leak");
        let (ok, said) = c.push(&["origin", "main"]);
        assert!(!ok, "{said}");
        assert!(said.contains("leak.txt:1"), "--repo {how}:\n{said}");
        assert_eq!(server.git(&["rev-parse", "main"]), clean);
    }
}

// 13. SHA-256 repositories are an error that says why.

#[test]
fn a_sha256_repository_is_an_error_naming_the_object_format() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--object-format=sha256", "-b", "main", "r"]);
    let r = sb.at("r");
    r.write("README", "hi\n");
    r.commit("init");
    let run = r.keyfence(&["history"]);
    run.expect(2);
    assert!(run.stderr.contains("SHA-256"), "{}", run.stderr);
    let run = r.keyfence(&["history", "--repo", r.path.to_str().unwrap()]);
    run.expect(2);
    assert!(run.stderr.contains("SHA-256"), "{}", run.stderr);
}
