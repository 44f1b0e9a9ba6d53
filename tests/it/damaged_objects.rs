//! A loose object truncated by a crash or a full disk: the bundled libgit2 spins forever on it,
//! so every git mode must notice first and fail closed (exit 2) with a message naming it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::{self, isolate, key, Sandbox, BIN};

/// Runs keyfence with a hard limit so a hang fails the test instead of blocking the suite.
fn run_limited(
    dir: &std::path::Path,
    home: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir);
    isolate(&mut cmd, home);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut i = child.stdin.take().unwrap();
        let _ = i.write_all(stdin.as_bytes());
    }
    let started = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("keyfence {args:?} hung on a truncated loose object");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn truncate_object(repo: &fixture::Repo, oid: &str) {
    let path = repo
        .path
        .join(".git/objects")
        .join(&oid[..2])
        .join(&oid[2..]);
    let bytes = std::fs::read(&path).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn a_truncated_loose_object_fails_every_git_mode_instead_of_hanging() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "base\n");
    let base = r.commit("base");
    // A large, incompressible-ish body so half the file is clearly not the whole stream.
    let body: String = (0..4000)
        .map(|i| format!("line {i} {}\n", key(i)))
        .collect();
    r.write("b.txt", &body);
    let tip = r.commit("adds b");
    let blob = r.git(&["rev-parse", "HEAD:b.txt"]);
    truncate_object(&r, &blob);

    let (code, err) = run_limited(&r.path, &r.home, &["history"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("damaged") && err.contains(&blob[2..]), "{err}");

    let range = format!("{base}..{tip}");
    let (code, err) = run_limited(&r.path, &r.home, &["history", &range, "--added-only"], "");
    assert_eq!(code, 2, "{err}");

    let zero = "0".repeat(40);
    let input = format!("refs/heads/main {tip} refs/heads/main {zero}\n");
    let (code, err) = run_limited(
        &r.path,
        &r.home,
        &["hook", "pre-push", "nowhere", "nowhere"],
        &input,
    );
    assert_eq!(code, 2, "{err}");

    // A staged blob truncated after `git add`.
    r.write("c.txt", &body.replace("line", "row"));
    r.git(&["add", "c.txt"]);
    let staged = r.git(&["rev-parse", ":c.txt"]);
    truncate_object(&r, &staged);
    let (code, err) = run_limited(&r.path, &r.home, &["protect", "--staged"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("damaged"), "{err}");
}
