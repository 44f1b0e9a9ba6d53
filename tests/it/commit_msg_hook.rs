//! The commit-msg hook: a key pasted into a commit message never enters history, whatever
//! comment character or verbose diff git uses. Moved from gate_holes.rs, assertions unchanged.

use crate::fixture::{key, write_hook, Repo, Sandbox, BIN};

// 16. commit-msg: a key pasted into a message never enters history.

/// `git commit ARGS` in `r` with `GIT_EDITOR` set; returns success.
fn commit_with_editor(r: &Repo, editor: &str, args: &[&str]) -> bool {
    let mut cmd = r.command("git");
    cmd.arg("commit").args(args).current_dir(&r.path);
    cmd.env("GIT_EDITOR", editor);
    cmd.output().unwrap().status.success()
}

fn with_commit_msg_hook(sb: &Sandbox) -> Repo {
    let r = sb.repo("r");
    r.write("README", "hi\n");
    r.commit("init");
    write_hook(
        &r.path.join(".git"),
        "commit-msg",
        &format!("exec '{BIN}' hook commit-msg \"$1\""),
    );
    r
}

#[test]
fn commit_msg_hook_refuses_a_key_in_the_message() {
    let sb = Sandbox::new();
    let r = with_commit_msg_hook(&sb);
    let file = sb.path().join("MSG");
    std::fs::write(&file, format!("fix\n\nused key {}\n", key(95))).unwrap();
    let run = r.keyfence(&["hook", "commit-msg", file.to_str().unwrap()]);
    run.expect(1);
    assert!(run.stderr.contains("commit blocked"), "{}", run.stderr);
    std::fs::write(&file, "fix\n\nno key here\n").unwrap();
    r.keyfence(&["hook", "commit-msg", file.to_str().unwrap()])
        .expect(0);

    // Installed as git's commit-msg hook.
    let before = r.head();
    let out = r.git_output(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        &format!("oops {}", key(96)),
    ]);
    assert!(!out.status.success());
    assert_eq!(r.head(), before);
    r.git(&["commit", "-q", "--allow-empty", "-m", "clean message"]);
    assert_ne!(r.head(), before);
}

#[test]
fn commit_msg_hook_scans_comment_lines_because_git_may_keep_them() {
    // Whether git strips `#` lines depends on how the message was made (edited: stripped; `-m`:
    // kept) and on core.commentChar, which the hook cannot see: it scans them, failing safe.
    let sb = Sandbox::new();
    let r = with_commit_msg_hook(&sb);
    let file = sb.path().join("MSG");
    std::fs::write(
        &file,
        format!(
            "fix\n# key {}\n# Please enter the commit message\n",
            key(95)
        ),
    )
    .unwrap();
    r.keyfence(&["hook", "commit-msg", file.to_str().unwrap()])
        .expect(1);
    std::fs::write(&file, "fix\n# Please enter the commit message\n").unwrap();
    r.keyfence(&["hook", "commit-msg", file.to_str().unwrap()])
        .expect(0);
}

#[test]
fn commit_msg_hook_refuses_a_key_on_a_hash_line_of_a_message_given_with_m() {
    let sb = Sandbox::new();
    let r = with_commit_msg_hook(&sb);
    let before = r.head();
    let msg = format!("fix\n# {}", key(98));
    let out = r.git_output(&["commit", "-q", "--allow-empty", "-m", &msg]);
    let recorded = r.git(&["log", "-1", "--format=%B"]);
    assert!(
        !out.status.success() && r.head() == before,
        "the key entered history:\n{recorded}"
    );
}

#[test]
fn commit_msg_hook_with_comment_char_auto_checks_every_line() {
    let sb = Sandbox::new();
    let r = with_commit_msg_hook(&sb);
    r.git(&["config", "core.commentChar", "auto"]);
    let file = sb.path().join("MSG");
    std::fs::write(&file, format!("fix\n\naws_access_key_id = {}\n", key(99))).unwrap();
    r.keyfence(&["hook", "commit-msg", file.to_str().unwrap()])
        .expect(1);
}

#[test]
fn commit_msg_hook_does_not_scan_the_verbose_diff_below_the_scissors_line() {
    let sb = Sandbox::new();
    let r = with_commit_msg_hook(&sb);
    r.write(".keyfence.toml", "[allowlist]\npaths = [\"fixtures/**\"]\n");
    r.commit("config");
    r.write("fixtures/f.txt", &format!("k = {}\n", key(100)));
    r.git(&["add", "-A"]);
    r.keyfence(&["protect", "--staged"]).expect(0);
    let before = r.head();
    assert!(commit_with_editor(
        &r,
        "sed -i '1s/^/add a fixture/'",
        &["-q", "-v"]
    ));
    assert_ne!(r.head(), before);
}
