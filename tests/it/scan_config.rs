//! `.keyfence.toml`: adding, overriding and disabling rules, allowlists, inline allows, and clear
//! errors (file, line, rule) for bad config.

use crate::fixture::*;

const ID: &str = "aws-access-key-id";

fn tree_with_key(seed: u64) -> (tempfile::TempDir, Keys) {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(seed);
    write(dir.path(), "src/app.txt", format!("key = {}\n", k.id));
    (dir, k)
}

#[test]
fn invalid_regex_names_rule_file_and_line() {
    let (dir, _) = tree_with_key(3);
    write(
        dir.path(),
        "extra.toml",
        "# my rules\n\n[[rules]]\nid = \"broken-rule\"\ndescription = \"x\"\nregex = '''(unclosed'''\n",
    );
    let run = scan_json(dir.path(), &["--config", "extra.toml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("extra.toml:6: rule `broken-rule`: invalid regex"),
        "{}",
        run.stderr
    );
}

#[test]
fn disabled_rule_that_does_not_exist_is_an_error() {
    let (dir, _) = tree_with_key(4);
    write(
        dir.path(),
        ".keyfence.toml",
        "disabled_rules = [\"aws-acess-key-id\"]\n",
    );
    let run = scan_json(dir.path(), &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains(".keyfence.toml:1: rule `aws-acess-key-id`"),
        "{}",
        run.stderr
    );
}

#[test]
fn add_override_and_disable_rules() {
    let (dir, k) = tree_with_key(5);
    let d = dir.path();
    write(
        d,
        "src/tokens.txt",
        "internal token: ACME-7f3a9c2e5b1d8f46\n",
    );
    write(
        d,
        ".keyfence.toml",
        r#"
[[rules]]
id = "acme-internal-token"
description = "ACME internal token"
regex = '''ACME-(?P<secret>[0-9a-f]{16})'''
keywords = ["acme-"]
severity = "medium"
examples = ["ACME-{{hex:16}}"]
negative_examples = ["ACME-{{upper:16}}"]

[[rules]]
id = "aws-access-key-id"
severity = "low"
"#,
    );
    let run = scan_json(d, &[]);
    let got = run.json();
    assert_eq!(got.len(), 2, "{}", run.stdout);
    assert_eq!(got[0]["rule_id"], ID);
    assert_eq!(got[0]["severity"], "low");
    assert_eq!(got[1]["rule_id"], "acme-internal-token");
    assert_eq!(got[1]["line"], 1);
    assert_eq!(got[1]["column"], 22);

    write(
        d,
        ".keyfence.toml",
        "disabled_rules = [\"aws-access-key-id\"]\n",
    );
    let no_aws = |run: Run| !run.json().iter().any(|f| f["rule_id"] == ID);
    assert!(no_aws(scan_json(d, &[])));
    write(
        d,
        ".keyfence.toml",
        "[[rules]]\nid = \"aws-access-key-id\"\nenabled = false\n",
    );
    assert!(no_aws(scan_json(d, &[])));
    let _ = k;
}

#[test]
fn extend_default_false_starts_empty() {
    let (dir, _) = tree_with_key(6);
    let d = dir.path();
    write(d, "n.txt", "order number ORD-12345678\n");
    write(
        d,
        "only.toml",
        "extend_default = false\n[[rules]]\nid = \"order\"\ndescription = \"order\"\nregex = '''ORD-(?P<secret>[0-9]{8})'''\n",
    );
    let run = scan_json(d, &["--config", "only.toml"]);
    assert_eq!(run.places(), vec![("n.txt".into(), 1, 18, "order".into())]);
}

#[test]
fn allowlists_paths_regexes_stopwords_and_inline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b, c, e, f) = (keys(7), keys(8), keys(9), keys(10), keys(11));
    write(d, "vendor/lib/a.txt", format!("k={}\n", a.id));
    write(d, "b.txt", format!("k={}\n", b.id));
    write(
        d,
        "c.txt",
        format!("k={} # keyfence:allow\nk2={}\n", c.id, e.id),
    );
    write(d, "f.txt", format!("k={}\n", f.id));
    let stop = &b.id[8..16];
    write(
        d,
        ".keyfence.toml",
        format!(
            "[allowlist]\npaths = [\"vendor/**\"]\nstopwords = [\"{}\"]\n\n[[rules]]\nid = \"aws-access-key-id\"\n[rules.allowlist]\nregexes = ['''^{}$''']\n",
            stop.to_lowercase(),
            f.id
        ),
    );
    let run = scan_json(d, &[]);
    assert_eq!(run.places(), vec![("c.txt".into(), 2, 4, ID.into())]);
}

#[test]
fn rules_test_reports_failing_examples_by_rule() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pack.toml",
        "[[rules]]\nid = \"weak-rule\"\ndescription = \"w\"\nregex = '''TOK-[0-9]{4}'''\nkeywords = [\"tok-\"]\nexamples = [\"TOK-12\"]\nnegative_examples = [\"TOK-1234\"]\n",
    );
    let run = run_in(dir.path(), &["rules", "test", "pack.toml"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("FAIL weak-rule: example not detected: \"TOK-12\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("FAIL weak-rule: negative example detected"),
        "{}",
        run.stdout
    );

    let ok = run_in(dir.path(), &["rules", "test"]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(ok.stdout.contains("0 failure(s)"));
}
