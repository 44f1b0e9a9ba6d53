//! The lines people read first: summaries say "1 file", never "1 files", keep a separator between
//! the duration and the count, and a dumb terminal gets no escape sequences at all.

use crate::fixture::{self, Sandbox, BIN};
use keyfence::rules::placeholder::Generator;

fn one_key_line(seed: u64) -> String {
    format!(
        "access_key = \"{}\"\n",
        Generator::new(seed).aws_key_id("AKIA")
    )
}

/// `… in 0.01s: 1 finding`: a duration, a colon, then the count.
fn separated(summary: &str) -> bool {
    regex::Regex::new(r"in \d+\.\d+s: \d+ findings?\b")
        .unwrap()
        .is_match(summary)
}

#[test]
fn summaries_of_one_say_so_in_the_singular_with_a_separator() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("main.tf", &one_key_line(1));
    r.commit("one");

    let scan = r.keyfence(&["scan", "."]);
    scan.expect(1);
    assert!(scan.stderr.contains("scanned 1 file ("), "{}", scan.stderr);
    assert!(separated(&scan.stderr), "{}", scan.stderr);
    assert!(scan.stderr.contains(": 1 finding\n"), "{}", scan.stderr);

    let history = r.keyfence(&["history"]);
    history.expect(1);
    assert!(
        history.stderr.contains("scanned 1 commit and 1 blob ("),
        "{}",
        history.stderr
    );
    assert!(separated(&history.stderr), "{}", history.stderr);

    r.write("b.tf", &one_key_line(2));
    r.git(&["add", "b.tf"]);
    let staged = r.keyfence(&["protect", "--staged"]);
    staged.expect(1);
    assert!(
        staged.stderr.contains("scanned 1 file staged ("),
        "{}",
        staged.stderr
    );
    assert!(separated(&staged.stderr), "{}", staged.stderr);
}

/// `history -v` counted "2 blob with findingss".
#[test]
fn verbose_history_counts_blobs_with_findings_in_plain_english() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.tf", &one_key_line(3));
    r.write("b.tf", &one_key_line(4));
    r.commit("two");
    let run = r.keyfence(&["history", "-v", "--object-stream"]);
    run.expect(1);
    assert!(
        run.stderr
            .contains("placed 2 blobs with findings in history"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("findingss"), "{}", run.stderr);
}

/// Runs `keyfence scan .` in `dir` under a pseudo-terminal (util-linux `script`) with `TERM` set;
/// None when `script` is not installed.
fn scan_in_a_terminal(dir: &std::path::Path, term: &str) -> Option<String> {
    let line = format!("cd '{}' && '{BIN}' scan .", dir.display());
    let out = fixture::command("script", &fixture::test_home())
        .args(["-qec", &line, "/dev/null"])
        .env("TERM", term)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_dumb_terminal_gets_no_colour_and_no_progress_redraws() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), one_key_line(5)).unwrap();
    let Some(xterm) = scan_in_a_terminal(dir.path(), "xterm-256color") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    // The harness gives a real terminal: there, the report is coloured.
    assert!(xterm.contains("main.tf:1:"), "{xterm}");
    assert!(
        xterm.contains("\x1b["),
        "no colour on a terminal: {xterm:?}"
    );
    let dumb = scan_in_a_terminal(dir.path(), "dumb").unwrap();
    assert!(dumb.contains("main.tf:1:"), "{dumb}");
    assert!(
        !dumb.contains('\x1b'),
        "escape sequences on TERM=dumb: {dumb:?}"
    );
}
