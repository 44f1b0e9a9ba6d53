//! What keyfence writes must be safe to write: no secret in clear (whatever its length, whatever
//! the format), no control sequence that drives the reader's terminal, no report file written
//! through a planted symlink, and no pipeline that passes because its reader stopped early.

use std::collections::HashSet;
use std::io::Read;
use std::process::Stdio;

use crate::fixture::{self, key, Repo, Run, Sandbox, BIN};
use keyfence::rules::placeholder::Generator;

/// A small deterministic xorshift: the cases are pseudo-random but the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Words that trigger no rule: padding around a secret on a long line.
fn filler(rng: &mut XorShift, bytes: usize) -> String {
    const WORDS: [&str; 6] = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur"];
    let mut s = String::with_capacity(bytes + 16);
    while s.len() < bytes {
        s.push_str(WORDS[rng.below(WORDS.len())]);
        s.push(' ');
    }
    s
}

/// One generated file: its content and the secret keyfence must find in it.
struct Case {
    content: String,
    secret: String,
    shape: usize,
}

/// A secret of a shape keyfence detects, of a random length, at a random offset of a long line.
fn case(rng: &mut XorShift, gen: &mut Generator, shape: usize) -> Case {
    let (n_before, n_after) = (rng.range(0, 30_000), rng.range(0, 20_000));
    let before = filler(rng, n_before);
    let after = filler(rng, n_after);
    let (secret, content) = match shape {
        // A PEM private key, multi-line, its BEGIN at the end of a long line.
        0 => {
            let body = gen.string(BASE64, rng.range(64, 4000));
            let lines: Vec<&str> = body
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let secret = lines.join("\n");
            let content = format!(
                "{before}-----BEGIN RSA PRIVATE KEY-----\n{secret}\n-----END RSA PRIVATE KEY-----\n{after}\n"
            );
            (secret, content)
        }
        // The same key as a JSON string on one long line (`\n` written as backslash-n).
        1 => {
            let body = gen.string(BASE64, rng.range(64, 4000));
            let content = format!(
                "{before}\"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\" {after}\n"
            );
            (body, content)
        }
        // An AWS session token of any length past the rule's minimum.
        2 => {
            let token = gen.aws_session_token();
            let extra = rng.range(0, 3700);
            let secret = format!("{token}{}", gen.string(BASE64, extra));
            let content = format!("{before}aws_session_token = {secret} {after}\n");
            (secret, content)
        }
        // A long generic secret assigned to a secret-ish name.
        3 => {
            let secret = gen.string(ALNUM, rng.range(24, 100));
            let content = format!("{before}secret_key = {secret}; {after}\n");
            (secret, content)
        }
        // A netrc password (in a `.netrc`): any non-space characters, 8 up to thousands.
        _ => {
            let secret = gen.string(ALNUM, rng.range(8, 4000));
            let content = format!("{before}\npassword {secret}\n{after}\n");
            (secret, content)
        }
    };
    Case {
        content,
        secret,
        shape,
    }
}

/// The 12-character pieces of a secret's middle (redaction shows its first and last 4), taken
/// only where they are plain token characters, so that an escaped newline in JSON or in the
/// text report cannot hide one from the search.
fn middle_windows(secret: &str) -> Vec<&str> {
    let b = secret.as_bytes();
    if b.len() < 4 + 12 + 4 {
        return Vec::new();
    }
    (4..=b.len() - 4 - 12)
        .map(|i| &secret[i..i + 12])
        .filter(|w| w.bytes().all(|c| BASE64.contains(&c) || c == b'='))
        .collect()
}

/// Every 12-byte window of `text`, for one lookup per secret window.
fn windows_of(text: &str) -> HashSet<&[u8]> {
    text.as_bytes().windows(12).collect()
}

fn run(repo: &Repo, args: &[&str]) -> Run {
    let run = repo.keyfence(args);
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    if args.windows(2).any(|w| w == ["--format", "sarif"]) {
        fixture::sarif::validated_sarif(&format!("{args:?}\n{}", run.stderr), &run.stdout);
    }
    run
}

/// Asserts that `out` holds no middle piece of any secret (`leak_ok` false), or every one of
/// them (`leak_ok` true, the `--no-redact` control that keeps the check from being vacuous).
fn check(label: &str, run: &Run, cases: &[Case], no_redact: bool) {
    assert_eq!(run.code, 1, "{label}: exit code\nstderr:\n{}", run.stderr);
    let all = format!("{}\n{}", run.stdout, run.stderr);
    let seen = windows_of(&all);
    for c in cases {
        let windows = middle_windows(&c.secret);
        let shown: Vec<&&str> = windows
            .iter()
            .filter(|w| seen.contains(w.as_bytes()))
            .collect();
        if no_redact {
            assert_eq!(
                shown.len(),
                windows.len(),
                "{label}: --no-redact should show the whole secret of shape {} and length {}",
                c.shape,
                c.secret.len()
            );
        } else {
            assert!(
                shown.is_empty(),
                "{label}: {} piece(s) of a {}-char secret of shape {} shown, e.g. {:?}",
                shown.len(),
                c.secret.len(),
                c.shape,
                shown.first()
            );
        }
    }
}

/// Random secrets of every detected shape and of lengths up to 4000, in long lines, through
/// `scan` and `history` in every format: nothing of a secret's middle is ever printed, while
/// `--no-redact` prints all of it. The commit summary carries one of the secrets too.
#[test]
fn long_secrets_are_redacted_in_every_format_and_field() {
    let sandbox = Sandbox::new();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut gen = Generator::new(4242);
    for batch in 0..4 {
        let repo = sandbox.repo(&format!("r{batch}"));
        let cases: Vec<Case> = (0..10)
            .map(|i| case(&mut rng, &mut gen, (batch * 10 + i) % 5))
            .collect();
        for (i, c) in cases.iter().enumerate() {
            // The netrc rule looks at .netrc files only.
            let name = if c.shape == 4 {
                format!("n{i}/.netrc")
            } else {
                format!("f{i}.txt")
            };
            repo.write(&name, &c.content);
        }
        // A secret pasted into the commit summary as well.
        let token = cases
            .iter()
            .find(|c| c.secret.starts_with("FwoG"))
            .expect("a session token in every batch");
        repo.commit(&format!("add aws_session_token = {} for ci", token.secret));
        assert!(cases.iter().any(|c| c.secret.len() > 600), "a long secret");

        for format in ["text", "json", "sarif"] {
            let r = run(&repo, &["scan", ".", "--format", format]);
            check(&format!("scan {format}"), &r, &cases, false);
            let r = run(&repo, &["history", "--format", format]);
            check(&format!("history {format}"), &r, &cases, false);
        }
        let r = run(&repo, &["scan", ".", "--format", "json", "--no-redact"]);
        check("scan --no-redact", &r, &cases, true);
        let r = run(&repo, &["history", "--format", "sarif", "--no-redact"]);
        check("history --no-redact", &r, &cases, true);
    }
}

/// The raw ESC (or BEL, or C1 CSI) bytes of a hostile name never reach the reader.
fn assert_no_control(label: &str, text: &str) {
    for c in ['\x1b', '\x07', '\u{9b}'] {
        assert!(!text.contains(c), "{label}: raw {:?} in output:\n{text}", c);
    }
}

/// File names that retitle the terminal or write its clipboard (OSC 52), an author and a commit
/// summary with escape sequences, and a config rule whose description and remediation carry
/// them: the text report shows them escaped; JSON and SARIF stay valid and keep the exact value.
#[test]
fn control_sequences_in_names_and_commits_are_shown_not_obeyed() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo("r");
    let title = "t\x1b]0;pwned\x07.env";
    let clip = "c\x1b]52;c;ZWNobyBoaQ==\x07\u{9b}2J.txt";
    repo.write(title, &format!("aws_access_key_id = {}\n", key(1)));
    repo.write(clip, &format!("id: {}\n", key(2)));
    repo.write(
        ".keyfence.toml",
        r#"
[[rules]]
id = "house-token"
description = "house token \u001b]52;c;aGk=\u0007"
regex = '''housetok_(?P<secret>[a-z0-9]{24})'''
keywords = ["housetok_"]
remediation = "rotate it \u001b[2J\u001b[H now"
"#,
    );
    repo.write("h.txt", "housetok_q8w7e6r5t4y3u2i1o9p0a8s7\n");
    repo.commit("fix \x1b]0;owned\x07 \x1b[2K summary");
    // The author too: name and email through the environment.
    let mut amend = repo.command("git");
    amend
        .args(["commit", "-q", "--amend", "--no-edit", "--reset-author"])
        .current_dir(&repo.path);
    amend
        .env("GIT_AUTHOR_NAME", "Mal \x1b]0;x\x07lory")
        .env("GIT_AUTHOR_EMAIL", "m\x1b[31m@e");
    assert!(amend.status().unwrap().success());
    let log = repo.git(&["log", "-1", "--format=%an|%ae|%s"]);
    assert!(
        log.contains('\x1b'),
        "the commit keeps its escapes: {log:?}"
    );

    for args in [
        &["scan", "."][..],
        &["history"][..],
        &["scan", ".", "--no-redact"][..],
    ] {
        let r = run(&repo, args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert_no_control(&format!("{args:?} stdout"), &r.stdout);
        assert_no_control(&format!("{args:?} stderr"), &r.stderr);
        assert!(r.stdout.contains("t\\x1b]0;pwned\\x07.env"), "{}", r.stdout);
        assert!(r.stdout.contains("\\x1b]52;c;ZWNobyBoaQ==\\x07\\u{9b}2J"));
        assert!(r.stdout.contains("house token \\x1b]52;c;aGk=\\x07"));
        assert!(r.stdout.contains("rotate it \\x1b[2J\\x1b[H now"));
        if args[0] == "history" {
            assert!(r.stdout.contains("Mal \\x1b]0;x\\x07lory <m\\x1b[31m@e>"));
            assert!(r.stdout.contains("fix \\x1b]0;owned\\x07 \\x1b[2K summary"));
        }
    }
    for format in ["json", "sarif"] {
        let r = run(&repo, &["history", "--format", format]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert_no_control(format, &r.stdout);
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("valid JSON");
        // Escaped by JSON, not lost: the parsed value is the exact name.
        let flat = doc.to_string();
        let parsed: serde_json::Value = serde_json::from_str(&flat).unwrap();
        let mut strings = Vec::new();
        collect_strings(&parsed, &mut strings);
        assert!(strings.iter().any(|s| s == title), "{format}: {strings:?}");
        assert!(strings.iter().any(|s| s.contains("Mal \x1b]0;x\x07lory")));
    }
    // A path from the command line, in an error message: escaped as well.
    let r = run(&repo, &["scan", "no\x1b]0;such\x07"]);
    assert_eq!(r.code, 2);
    assert_no_control("error", &r.stderr);
    assert!(r.stderr.contains("no\\x1b]0;such\\x07"), "{}", r.stderr);
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `--output` and `baseline` refuse a symlink at the destination (exit 2, the link's target
/// untouched), whatever it points to.
#[cfg(unix)]
#[test]
fn report_and_baseline_files_are_never_written_through_a_symlink() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo("r");
    repo.write("app.env", &format!("aws_access_key_id = {}\n", key(3)));
    let precious = sandbox.path().join("precious");
    std::fs::write(&precious, "keep me\n").unwrap();
    for (link, args) in [
        (
            "report.json",
            &[
                "scan",
                ".",
                "--format",
                "json",
                "--no-redact",
                "--output",
                "report.json",
            ][..],
        ),
        ("base.json", &["baseline", ".", "--output", "base.json"][..]),
        (".keyfence-baseline.json", &["baseline", "."][..]),
    ] {
        let at = repo.path.join(link);
        std::os::unix::fs::symlink(&precious, &at).unwrap();
        let r = run(&repo, args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me\n");
        assert!(std::fs::symlink_metadata(&at)
            .unwrap()
            .file_type()
            .is_symlink());
        std::fs::remove_file(&at).unwrap();
    }
    assert_no_temp_files(&repo.path);
}

fn assert_no_temp_files(dir: &std::path::Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temp files left behind: {left:?}");
}

/// A report with raw secrets is created owner-only (even over an existing world-readable file),
/// and a report replaces its destination by rename: a hard link to the old file keeps the old
/// bytes, so no reader ever saw the file half-written.
#[cfg(unix)]
#[test]
fn reports_are_replaced_atomically_and_raw_ones_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let repo = sandbox.repo("r");
    let id = key(4);
    repo.write("app.env", &format!("aws_access_key_id = {id}\n"));
    let out = repo.path.join("out.json");
    std::fs::write(&out, "old report\n").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    let old = sandbox.path().join("old-link");
    std::fs::hard_link(&out, &old).unwrap();

    let r = run(
        &repo,
        &["scan", ".", "--format", "json", "--output", "out.json"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "old report\n");
    let report = std::fs::read_to_string(&out).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 1);
    assert!(!report.contains(&id), "redacted by default");

    let r = run(
        &repo,
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--no-redact",
            "--output",
            "out.json",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(std::fs::read_to_string(&out).unwrap().contains(&id));
    assert_eq!(mode(&out), 0o600, "raw secrets: owner only");

    let r = run(&repo, &["baseline", ".", "--output", "base.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read_to_string(repo.path.join("base.json"))
        .unwrap()
        .contains("keyfence_baseline"));
    assert_no_temp_files(&repo.path);
}

/// `keyfence … | head` under `pipefail`: the reader closes early, the findings still exist, so
/// the exit code is 1, not 0 — in text and in JSON.
#[test]
fn a_reader_closing_early_does_not_turn_findings_into_success() {
    let dir = tempfile::tempdir().unwrap();
    let mut gen = Generator::new(77);
    for f in 0..5 {
        let body: String = (0..800)
            .map(|_| format!("aws_access_key_id = {}\n", gen.aws_key_id("AKIA")))
            .collect();
        std::fs::write(dir.path().join(format!("k{f}.env")), body).unwrap();
    }
    for format in ["text", "json"] {
        let mut child = fixture::command(BIN, &fixture::test_home())
            .args(["scan", ".", "--format", format])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 64];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "{format}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
