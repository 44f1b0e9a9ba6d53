//! One scan path: a pair's inline marker (issue 12) and one fixture through every source
//! (issue 13). Self-contained: real git repositories in temp dirs, the real binary, keys made at
//! test time with the deterministic generator.

use keyfence::rules::placeholder::Generator;
use serde_json::Value;

use crate::fixture::{Repo, Sandbox};

/// A generated AWS key pair (never a literal key in this repository).
fn pair(seed: u64) -> (String, String) {
    let mut g = Generator::new(seed);
    (g.aws_key_id("AKIA"), g.aws_secret())
}

/// A sandbox `$HOME` with one git repository `repo` in it (the shared fixture's), and keyfence
/// runs that parse the JSON report.
struct Fixture {
    _sandbox: Sandbox,
    repo: Repo,
}

impl Fixture {
    fn new() -> Fixture {
        let sandbox = Sandbox::new();
        let repo = sandbox.repo("repo");
        Fixture {
            _sandbox: sandbox,
            repo,
        }
    }

    fn git(&self, args: &[&str]) -> String {
        self.repo.git(args)
    }

    fn write(&self, rel: &str, text: &str) {
        self.repo.write(rel, text);
    }

    fn commit(&self, msg: &str) -> String {
        self.repo.commit(msg)
    }

    /// Runs keyfence with `--format json`; (exit code, findings, stderr).
    fn run(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        let args = [args, &["--format", "json", "--no-progress"][..]].concat();
        let out = self.repo.keyfence(&args);
        assert!(!out.stderr.contains("panicked"), "panic: {}", out.stderr);
        let json: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stderr));
        let findings = json.as_array().expect("a JSON array").clone();
        (out.code, findings, out.stderr)
    }
}

/// (file, line, rule) of each finding, sorted.
fn places(findings: &[Value]) -> Vec<(String, u64, String)> {
    let mut v: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// A credentials file with the key ID on line 2 and the secret on line 3, with `id_tail` and
/// `secret_tail` appended to those lines.
fn credentials(seed: u64, id_tail: &str, secret_tail: &str) -> String {
    let (id, secret) = pair(seed);
    format!(
        "[default]\naws_access_key_id = {id}{id_tail}\naws_secret_access_key = {secret}{secret_tail}\n"
    )
}

/// The pair itself, unmarked: one finding, the pair, at the secret's line (the control for the
/// marker tests below: without it they would pass on a file keyfence does not see at all).
#[test]
fn an_unmarked_pair_is_one_pair_finding() {
    let fx = Fixture::new();
    fx.write("creds.ini", &credentials(1, "", ""));
    let (code, findings, _) = fx.run(&["scan", "."]);
    assert_eq!(code, 1);
    assert_eq!(
        places(&findings),
        vec![("creds.ini".into(), 3, "aws-credential-pair".into())]
    );
    assert_eq!(findings[0]["related"][0]["line"], 2);
}

/// Issue 12: one `keyfence:allow` on either line of a pair allows the whole pair, in a directory
/// scan and at the pre-commit gate. The old code honoured a marker per match before pairing, so
/// the unmarked half was still reported (paired with the secret beside it).
#[test]
fn one_marker_on_either_line_allows_the_whole_pair() {
    let cases = [
        ("  # keyfence:allow", ""),
        ("", "  # keyfence:allow"),
        ("  # keyfence:allow aws-access-key-id", ""),
        ("  # keyfence:allow aws-credential-pair", ""),
        ("", "  # keyfence:allow aws-credential-pair"),
    ];
    for (i, (id_tail, secret_tail)) in cases.iter().enumerate() {
        let fx = Fixture::new();
        fx.write(
            "creds.ini",
            &credentials(10 + i as u64, id_tail, secret_tail),
        );
        let (code, findings, stderr) = fx.run(&["scan", "."]);
        assert_eq!(
            (code, places(&findings)),
            (0, vec![]),
            "scan, marker {id_tail:?}/{secret_tail:?}: {stderr}"
        );
        fx.git(&["add", "creds.ini"]);
        let (code, findings, stderr) = fx.run(&["protect", "--staged"]);
        assert_eq!(
            (code, places(&findings)),
            (0, vec![]),
            "protect, marker {id_tail:?}/{secret_tail:?}: {stderr}"
        );
    }
}

/// A marker naming another rule, or on a line that holds neither half, allows nothing.
#[test]
fn a_marker_for_another_rule_or_line_keeps_the_pair() {
    let (id, secret) = pair(30);
    let text = format!(
        "[default]  # keyfence:allow\n\naws_access_key_id = {id}  # keyfence:allow github-pat\n\
         aws_secret_access_key = {secret}\n"
    );
    let fx = Fixture::new();
    fx.write("creds.ini", &text);
    let (code, findings, _) = fx.run(&["scan", "."]);
    assert_eq!(code, 1);
    assert_eq!(
        places(&findings),
        vec![("creds.ini".into(), 4, "aws-credential-pair".into())]
    );
}

/// Scanning a history: the marker on the key ID line of a committed pair allows it too.
#[test]
fn one_marker_allows_the_pair_in_history() {
    let fx = Fixture::new();
    fx.write("creds.ini", &credentials(40, "  # keyfence:allow", ""));
    fx.commit("add creds");
    let (code, findings, stderr) = fx.run(&["history"]);
    assert_eq!((code, places(&findings)), (0, vec![]), "{stderr}");
}

/// (file, line, column, rule, fingerprint) of each finding, sorted: what must not depend on the
/// source that read the content.
fn identities(findings: &[Value]) -> Vec<(String, u64, u64, String, String)> {
    let mut v: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Issue 13: one fixture through every source (directory, staged index, range, history) gives
/// the same findings, because every source hands its blobs to the one driver.
#[test]
fn one_fixture_gives_the_same_findings_through_every_source() {
    let (id, secret) = pair(50);
    let (lone_id, _) = pair(51);
    let fx = Fixture::new();
    fx.write("README.md", "nothing here\n");
    let base = fx.commit("base");
    fx.write("creds.ini", &credentials(52, "", ""));
    fx.write(
        "infra/main.tf",
        &format!("provider \"aws\" {{\n  access_key = \"{id}\"\n  secret_key = \"{secret}\"\n}}\n"),
    );
    fx.write("notes/ids.txt", &format!("one id alone: {lone_id}\n"));
    fx.git(&["add", "-A"]);

    let (code, staged, _) = fx.run(&["protect", "--staged"]);
    assert_eq!(code, 1);
    let (code, dir, _) = fx.run(&["scan", "."]);
    assert_eq!(code, 1);
    fx.commit("add credentials");
    let range = format!("{base}..HEAD");
    let (code, ranged, _) = fx.run(&["history", "--added-only", &range]);
    assert_eq!(code, 1);
    let (code, history, _) = fx.run(&["history"]);
    assert_eq!(code, 1);

    let expected = identities(&dir);
    let files: Vec<&str> = expected.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(files, ["creds.ini", "infra/main.tf", "notes/ids.txt"]);
    assert_eq!(identities(&staged), expected, "protect --staged");
    assert_eq!(identities(&ranged), expected, "history --added-only");
    assert_eq!(identities(&history), expected, "history");
}
