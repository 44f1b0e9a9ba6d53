//! `keyfence install`: the hooks it writes run for real (git commit, git merge, git push), chain
//! a hook they displaced (git-lfs's pre-push must keep uploading), and refuse what cannot work.

use crate::fixture::{self, key, Sandbox};

fn git_hooked(r: &fixture::Repo, args: &[&str]) -> (bool, String) {
    r.git_hooked(args)
}

fn write_hook(path: &std::path::Path, body: &str) {
    std::fs::write(path, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn a_displaced_pre_push_hook_still_runs_with_the_same_input_and_its_exit_code_counts() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    sb.git(&["clone", "-q", "server.git", "client"]);
    let r = sb.at("client");
    // A stand-in for git-lfs's pre-push hook: records its stdin, fails when told to.
    let log = sb.path().join("lfs-log");
    write_hook(
        &r.path.join(".git/hooks/pre-push"),
        &format!(
            "#!/bin/sh\necho \"args: $*\" > '{log}'\ncat >> '{log}'\n[ -e '{fail}' ] && exit 7\nexit 0\n",
            log = log.display(),
            fail = sb.path().join("fail").display()
        ),
    );
    r.keyfence(&["install", "--pre-push"]).expect(2);
    r.keyfence(&["install", "--pre-push", "--force"]).expect(0);
    assert!(r.path.join(".git/hooks/pre-push.keyfence-backup").is_file());

    r.write("a.txt", "clean\n");
    r.commit("clean");
    let (ok, said) = git_hooked(&r, &["push", "-q", "origin", "main"]);
    assert!(ok, "{said}");
    let seen = std::fs::read_to_string(&log).unwrap();
    assert!(seen.starts_with("args: origin "), "{seen}");
    assert!(
        seen.contains("refs/heads/main"),
        "the displaced hook lost its stdin: {seen}"
    );

    // Its failure still blocks the push.
    std::fs::write(sb.path().join("fail"), "").unwrap();
    r.write("a.txt", "clean 2\n");
    r.commit("clean 2");
    let (ok, _) = git_hooked(&r, &["push", "-q", "origin", "main"]);
    assert!(!ok, "the displaced hook's failure was ignored");
    std::fs::remove_file(sb.path().join("fail")).unwrap();

    // And keyfence runs first: a key never reaches the displaced hook or the remote.
    std::fs::remove_file(&log).unwrap();
    r.write("b.txt", &format!("k = {}\n", key(3)));
    r.commit("key");
    let (ok, said) = git_hooked(&r, &["push", "-q", "origin", "main"]);
    assert!(!ok, "{said}");
    assert!(said.contains("aws-access-key-id"), "{said}");
    assert!(
        !log.exists(),
        "the displaced hook ran although keyfence refused"
    );
}

#[test]
fn install_writes_merge_and_message_hooks_that_git_runs() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "base\n");
    r.commit("base");
    r.keyfence(&["install"]).expect(0);
    for hook in ["pre-commit", "pre-merge-commit", "commit-msg", "pre-push"] {
        assert!(r.path.join(".git/hooks").join(hook).is_file(), "{hook}");
    }
    // commit-msg: a key pasted into the message is refused; comment lines do not count.
    r.write("a.txt", "base 2\n");
    r.git(&["add", "a.txt"]);
    let msg = format!("deploy with {}", key(4));
    let (ok, said) = git_hooked(&r, &["commit", "-q", "-m", &msg]);
    assert!(!ok, "{said}");
    assert!(said.contains("commit message"), "{said}");
    let (ok, said) = git_hooked(&r, &["commit", "-q", "-m", "plain message"]);
    assert!(ok, "{said}");

    // pre-merge-commit: a key that only the merge resolution adds is refused at `git merge`.
    let commit_unhooked = |file: &str, body: &str| {
        r.write(file, body);
        r.git(&["add", "-A"]);
        r.git(&["commit", "-q", "--no-verify", "-m", file]);
    };
    r.git(&["checkout", "-q", "-b", "side"]);
    commit_unhooked("side.txt", "side\n");
    r.git(&["checkout", "-q", "main"]);
    commit_unhooked("main.txt", "main\n");
    // A key committed on a side branch with --no-verify: the merge commit is what brings it
    // into main, and git runs pre-merge-commit for a merge that needs no manual resolution.
    r.git(&["checkout", "-q", "side"]);
    r.write("leak.txt", &format!("k = {}\n", key(5)));
    r.git(&["add", "leak.txt"]);
    r.git(&["commit", "-q", "--no-verify", "-m", "leak"]);
    r.git(&["checkout", "-q", "main"]);
    let (ok, said) = git_hooked(&r, &["merge", "--no-edit", "-q", "side"]);
    assert!(!ok, "a merge bringing in a key was accepted: {said}");
    assert!(said.contains("aws-access-key-id"), "{said}");
}

#[test]
fn a_bare_repository_gets_pre_receive_only() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    let server = sb.at("server.git");
    let run = server.keyfence(&["install"]);
    run.expect(2);
    assert!(run.stderr.contains("--pre-receive"), "{}", run.stderr);
    server.keyfence(&["install", "--pre-commit"]).expect(2);
    server.keyfence(&["install", "--pre-receive"]).expect(0);
    assert!(server.path.join("hooks/pre-receive").is_file());
    assert!(!server.path.join("hooks/pre-commit").exists());

    // The installed hook rejects a real push of a key and accepts a clean one.
    sb.git(&["clone", "-q", "server.git", "client"]);
    let client = sb.at("client");
    client.write("a.txt", "clean\n");
    client.commit("clean");
    let (ok, said) = git_hooked(&client, &["push", "-q", "origin", "main"]);
    assert!(ok, "{said}");
    client.write("b.txt", &format!("k = {}\n", key(6)));
    client.commit("key");
    let (ok, said) = git_hooked(&client, &["push", "-q", "origin", "main"]);
    assert!(!ok, "{said}");
    assert!(said.contains("push rejected"), "{said}");
}

#[test]
fn a_staged_lfs_pointer_is_checked_through_its_local_object() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "base\n");
    r.commit("base");
    // What `git add` of an LFS-tracked file leaves: the pointer in the index, the content in
    // .git/lfs/objects (git-lfs is not needed to lay this out).
    let content = format!("aws_access_key_id = {}\n", key(7));
    let oid = "ab".repeat(32);
    let obj = r.path.join(".git/lfs/objects/ab/ab").join(&oid);
    std::fs::create_dir_all(obj.parent().unwrap()).unwrap();
    std::fs::write(&obj, &content).unwrap();
    let pointer = format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {}\n",
        content.len()
    );
    r.write("creds.bin", &pointer);
    r.git(&["add", "creds.bin"]);
    let run = r.keyfence(&["protect", "--staged", "--format", "json"]);
    run.expect(1);
    assert_eq!(run.json()[0]["file"], "creds.bin");
    // Without the object the gate cannot vouch for the file: it fails closed.
    std::fs::remove_file(&obj).unwrap();
    let run = r.keyfence(&["protect", "--staged"]);
    run.expect(2);
    assert!(run.stderr.contains("git lfs fetch"), "{}", run.stderr);
}
