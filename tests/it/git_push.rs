//! Push gates: `keyfence hook pre-push` and `keyfence hook pre-receive`, driven by real
//! `git push` to local bare repositories and by hand-written hook input.

use crate::fixture::{self, at, key, Sandbox, BIN};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// `git push ARGS` from `r` with keyfence on PATH; returns (success, stdout+stderr).
fn push(r: &fixture::Repo, args: &[&str]) -> (bool, String) {
    r.push(args)
}

/// A bare "server" with keyfence's pre-receive hook, a clone of it, and a first clean push.
fn server_and_clone(sb: &Sandbox) -> (fixture::Repo, fixture::Repo) {
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    let server = sb.at("server.git");
    let hook = server.path.join("hooks/pre-receive");
    std::fs::write(&hook, format!("#!/bin/sh\nexec '{BIN}' hook pre-receive\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    sb.git(&["clone", "-q", "server.git", "client"]);
    let client = sb.at("client");
    client.write("README", "hi\n");
    client.commit("init");
    let (ok, said) = push(&client, &["-q", "origin", "main"]);
    assert!(ok, "{said}");
    (server, client)
}

#[test]
fn pre_receive_rejects_a_push_that_adds_a_secret_and_accepts_clean_ones() {
    let sb = Sandbox::new();
    let (server, client) = server_and_clone(&sb);
    client.write("app/cfg.txt", &format!("a\nb\nkey = {}\n", key(1)));
    let leak = client.commit("leak");
    let (ok, said) = push(&client, &["origin", "main"]);
    assert!(!ok, "push should be rejected:\n{said}");
    assert!(said.contains("push rejected"), "{said}");
    assert!(
        said.contains(&format!(
            "commit {}  app/cfg.txt:3  aws-access-key-id",
            &leak[..12]
        )),
        "{said}"
    );
    // The server did not move.
    assert_ne!(server.git(&["rev-parse", "main"]), leak);
    // A new branch carrying the secret is rejected too.
    let (ok, said) = push(&client, &["origin", "main:refs/heads/feature"]);
    assert!(!ok, "{said}");

    // Fix the commit, push clean: accepted.
    client.git(&["reset", "-q", "--hard", "HEAD~1"]);
    client.write("app/cfg.txt", "a\nb\n");
    let clean = client.commit("clean");
    let (ok, said) = push(&client, &["origin", "main"]);
    assert!(ok, "{said}");
    assert_eq!(server.git(&["rev-parse", "main"]), clean);
    // A new branch whose commits the server already has scans nothing and passes.
    let (ok, said) = push(&client, &["origin", "main:refs/heads/copy"]);
    assert!(ok, "{said}");
    // Deleting a branch scans nothing.
    let (ok, said) = push(&client, &["origin", ":refs/heads/copy"]);
    assert!(ok, "{said}");
}

#[test]
fn pre_receive_lets_old_secrets_through_but_not_new_ones() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    sb.git(&["clone", "-q", "server.git", "client"]);
    let client = sb.at("client");
    client.write("old.txt", &format!("k = {}\n", key(2)));
    client.commit("old leak, pushed before the hook existed");
    assert!(push(&client, &["-q", "origin", "main"]).0);
    let server = sb.at("server.git");
    let hook = server.path.join("hooks/pre-receive");
    std::fs::write(&hook, format!("#!/bin/sh\nexec '{BIN}' hook pre-receive\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    client.write("old.txt", &format!("k = {}\nmore\n", key(2)));
    client.commit("touch the old file");
    let (ok, said) = push(&client, &["origin", "main"]);
    assert!(ok, "{said}");
}

#[test]
fn installed_pre_push_hook_blocks_then_passes() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    sb.git(&["clone", "-q", "server.git", "client"]);
    let client = sb.at("client");
    client.write("README", "hi\n");
    client.commit("init");
    client.keyfence(&["install", "--pre-push"]).expect(0);
    assert!(push(&client, &["-q", "origin", "main"]).0);
    client.write("x.txt", &format!("k = {}\n", key(3)));
    client.commit("leak");
    let (ok, said) = push(&client, &["origin", "main"]);
    assert!(!ok, "{said}");
    assert!(
        said.contains("push blocked") && said.contains("x.txt:1"),
        "{said}"
    );
    let (ok, said) = push(&client, &["origin", "main:refs/heads/new"]);
    assert!(!ok, "a new branch is gated too:\n{said}");
    client.git(&["reset", "-q", "--hard", "HEAD~1"]);
    client.write("x.txt", "clean\n");
    client.commit("clean");
    let (ok, said) = push(&client, &["origin", "main"]);
    assert!(ok, "{said}");
}

#[test]
fn pre_push_input_conflict_resolution_and_fail_closed() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("conf.txt", "value = base\n");
    let base = r.commit("base");
    r.git(&["update-ref", "refs/remotes/origin/main", &base]);
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("conf.txt", "value = side\n");
    r.commit("side");
    r.git(&["checkout", "-q", "main"]);
    r.write("conf.txt", "value = main\n");
    r.commit("main");
    assert!(!r.git_output(&["merge", "-q", "side"]).status.success());
    r.write("conf.txt", &format!("value = merged\nkey = {}\n", key(4)));
    r.git(&["add", "conf.txt"]);
    r.git(&["commit", "-q", "--no-edit"]);
    let merge = r.head();
    let args = ["hook", "pre-push", "origin", "url", "--format", "json"];

    // An update of origin/main.
    let input = format!("refs/heads/main {merge} refs/heads/main {base}\n");
    let run = r.keyfence_in(&r.path, &args, Some(&input));
    run.expect(1);
    assert_eq!(run.seen(), vec![at("conf.txt", 2, Some(&merge))]);
    // A new branch: commits no remote-tracking ref reaches.
    let input = format!("refs/heads/main {merge} refs/heads/topic {ZERO}\n");
    let run = r.keyfence_in(&r.path, &args, Some(&input));
    assert_eq!(run.seen(), vec![at("conf.txt", 2, Some(&merge))]);
    // A deletion scans nothing.
    let input = format!("(delete) {ZERO} refs/heads/old {base}\n");
    let run = r.keyfence_in(&r.path, &args, Some(&input));
    run.expect(0);
    assert!(run.json().is_empty());
    // A remote sha we never fetched: fall back to what no remote ref reaches.
    let unknown = "1234567890123456789012345678901234567890";
    let input = format!("refs/heads/main {merge} refs/heads/main {unknown}\n");
    let run = r.keyfence_in(&r.path, &args, Some(&input));
    assert_eq!(run.seen(), vec![at("conf.txt", 2, Some(&merge))]);
    // Fail closed: an unknown local sha, garbage input.
    let input = format!("refs/heads/main {unknown} refs/heads/main {base}\n");
    r.keyfence_in(&r.path, &args, Some(&input)).expect(2);
    r.keyfence_in(&r.path, &args, Some("refs/heads/main HEAD\n"))
        .expect(2);
    // pre-receive input against the same repository.
    let input = format!("{base} {merge} refs/heads/main\n");
    let run = r.keyfence_in(
        &r.path,
        &["hook", "pre-receive", "--format", "json"],
        Some(&input),
    );
    run.expect(1);
    assert_eq!(run.seen(), vec![at("conf.txt", 2, Some(&merge))]);
}

#[test]
fn pre_push_in_a_shallow_clone_without_the_base_fails_closed() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    for i in 0..3 {
        r.write("a.txt", &format!("{i}\n"));
        r.commit("c");
    }
    let url = format!("file://{}", r.path.display());
    sb.git(&["clone", "-q", "--depth", "1", &url, "sh"]);
    let sh = sb.at("sh");
    sh.write("b.txt", "b\n");
    let tip = sh.commit("new");
    // No remote ref reaches the boundary's parents, and the destination cannot be asked (it
    // is not a reachable remote): the walk hits the shallow boundary.
    sh.git(&["update-ref", "-d", "refs/remotes/origin/main"]);
    sh.git(&["update-ref", "-d", "refs/remotes/origin/HEAD"]);
    let input = format!("refs/heads/main {tip} refs/heads/main {ZERO}\n");
    let run = sh.keyfence_in(
        &sh.path,
        &["hook", "pre-push", "unreachable-remote", "url"],
        Some(&input),
    );
    run.expect(2);
    assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
}
