//! What a newcomer meets in the first hour: init, uninstall, completions and the man page, and
//! flags that must be refused rather than ignored.

use crate::fixture::{key, Sandbox};

#[test]
fn init_writes_a_config_the_real_loader_accepts_and_never_overwrites_silently() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    std::fs::create_dir_all(r.path.join("sub")).unwrap();
    // From a subdirectory: written at the repository root.
    r.keyfence_in(&r.path.join("sub"), &["init"], None)
        .expect(0);
    let cfg = r.path.join(".keyfence.toml");
    assert!(cfg.is_file());
    r.keyfence(&["rules", "test", "--config", ".keyfence.toml"])
        .expect(0);
    // The config in effect finds keys as the shipped rules do.
    r.write("main.tf", &format!("access_key = \"{}\"\n", key(1)));
    r.keyfence(&["scan", "."]).expect(1);
    let run = r.keyfence(&["init"]);
    run.expect(2);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    r.keyfence(&["init", "--force"]).expect(0);
}

#[test]
fn uninstall_removes_only_keyfence_hooks_and_restores_a_displaced_one() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    let hooks = r.path.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let theirs = "#!/bin/sh\necho theirs\n";
    std::fs::write(hooks.join("pre-push"), theirs).unwrap();
    std::fs::write(hooks.join("post-checkout"), theirs).unwrap();
    r.keyfence(&["install", "--force"]).expect(0);
    assert!(hooks.join("pre-push.keyfence-backup").is_file());
    r.keyfence(&["uninstall"]).expect(0);
    for gone in ["pre-commit", "pre-merge-commit", "commit-msg"] {
        assert!(!hooks.join(gone).exists(), "{gone} left behind");
    }
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push")).unwrap(),
        theirs
    );
    assert!(!hooks.join("pre-push.keyfence-backup").exists());
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-checkout")).unwrap(),
        theirs
    );
}

#[test]
fn completions_and_the_man_page_are_printed() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    for shell in ["bash", "zsh", "fish"] {
        let run = r.keyfence(&["completions", shell]);
        run.expect(0);
        assert!(run.stdout.contains("keyfence"), "{shell}");
        assert!(
            run.stdout.contains("pre-receive"),
            "{shell}: subcommands missing"
        );
    }
    let run = r.keyfence(&["man"]);
    run.expect(0);
    assert!(
        run.stdout.starts_with(".ie") || run.stdout.contains(".TH"),
        "not roff"
    );
    assert!(run.stdout.contains("keyfence"));
}

#[test]
fn baseline_refuses_flags_that_would_do_nothing() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", &format!("k = {}\n", key(2)));
    for flags in [
        vec!["baseline", ".", "--format", "sarif"],
        vec!["baseline", ".", "--no-redact"],
        vec!["baseline", ".", "--baseline", "x.json"],
    ] {
        let run = r.keyfence(&flags);
        run.expect(2);
        assert!(
            !r.path.join(".keyfence-baseline.json").exists(),
            "{flags:?}"
        );
    }
    r.keyfence(&["baseline", "."]).expect(0);
    assert!(r.path.join(".keyfence-baseline.json").is_file());
}

#[test]
fn a_missing_config_is_said_once_and_a_shallow_range_says_to_fetch_more() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "a\n");
    r.commit("one");
    r.write("a.txt", "b\n");
    r.commit("two");
    let run = r.keyfence(&["scan", ".", "--config", "missing.toml"]);
    run.expect(2);
    assert_eq!(
        run.stderr.matches("No such file").count(),
        1,
        "{}",
        run.stderr
    );
    let url = format!("file://{}", r.path.display());
    sb.git(&["clone", "-q", "--depth", "1", &url, "shallow"]);
    let sh = sb.at("shallow");
    let run = sh.keyfence(&["history", "HEAD~1..HEAD", "--added-only"]);
    run.expect(2);
    assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
    assert!(run.stderr.contains("fetch"), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn a_report_to_a_pipe_or_device_is_written_in_place_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", &format!("k = {}\n", key(3)));
    let fifo = sb.path().join("report.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let run = r.keyfence(&[
        "scan",
        ".",
        "--format",
        "json",
        "--output",
        fifo.to_str().unwrap(),
    ]);
    run.expect(1);
    let got = reader.join().unwrap();
    assert!(got.contains("aws-access-key-id"), "{got}");
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(
        meta.file_type().is_fifo(),
        "the FIFO was replaced by a file"
    );
}
