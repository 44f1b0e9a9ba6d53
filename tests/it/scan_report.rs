//! Report shapes: JSON fields of DESIGN.md, SARIF 2.1.0, `--output`, and redaction.

use crate::fixture::*;

fn one_finding_tree() -> (tempfile::TempDir, Keys) {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(21);
    write(
        dir.path(),
        "creds.ini",
        format!("[default]\naws_secret_access_key = {}\n", k.secret),
    );
    (dir, k)
}

#[test]
fn json_has_the_design_fields() {
    let (dir, k) = one_finding_tree();
    let run = scan_json(dir.path(), &[]);
    let f = &run.json()[0];
    let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
    for field in [
        "rule_id",
        "description",
        "severity",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "secret",
        "match",
        "entropy",
        "fingerprint",
        "commit",
        "author",
        "email",
        "date",
        "message",
        "source",
    ] {
        assert!(keys.contains(&field), "missing {field}");
    }
    assert_eq!(f["rule_id"], "aws-secret-access-key");
    assert_eq!(f["file"], "creds.ini");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(2), Some(25))
    );
    assert_eq!(
        (f["end_line"].as_u64(), f["end_column"].as_u64()),
        (Some(2), Some(65))
    );
    assert_eq!(f["source"], "file");
    assert!(f["commit"].is_null() && f["author"].is_null());
    assert_eq!(
        f["secret"],
        format!("{}…{}", &k.secret[..4], &k.secret[36..])
    );
    assert!(!run.stdout.contains(&k.secret));
    assert_eq!(
        f["fingerprint"],
        keyfence::finding::fingerprint("aws-secret-access-key", k.secret.as_bytes())
    );
}

#[test]
fn sarif_is_2_1_0_with_rules_results_and_regions() {
    let (dir, k) = one_finding_tree();
    let run = run_in(dir.path(), &["scan", ".", "--format", "sarif"]);
    assert_eq!(run.code, 1);
    let doc = sarif::validated_sarif("scan --format sarif", &run.stdout);
    assert_eq!(doc["version"], "2.1.0");
    let run0 = &doc["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "keyfence");
    assert_eq!(
        run0["tool"]["driver"]["rules"][0]["id"],
        "aws-secret-access-key"
    );
    let r = &run0["results"][0];
    assert_eq!(r["ruleId"], "aws-secret-access-key");
    assert_eq!(r["ruleIndex"], 0);
    assert_eq!(r["level"], "error");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "creds.ini");
    assert_eq!(loc["region"]["startLine"], 2);
    assert_eq!(loc["region"]["startColumn"], 25);
    assert!(r["partialFingerprints"]["keyfence/v1"].is_string());
    assert!(!run.stdout.contains(&k.secret));
}

#[test]
fn output_file_gets_the_report_and_raw_reports_are_private() {
    let (dir, k) = one_finding_tree();
    let run = run_in(
        dir.path(),
        &[
            "scan",
            "creds.ini",
            "--format",
            "json",
            "--output",
            "r.json",
        ],
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    let text = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    assert!(text.contains("aws-secret-access-key") && !text.contains(&k.secret));

    let raw = run_in(
        dir.path(),
        &[
            "scan",
            "creds.ini",
            "--format",
            "json",
            "--no-redact",
            "--output",
            "raw.json",
        ],
    );
    assert_eq!(raw.code, 1);
    let text = std::fs::read_to_string(dir.path().join("raw.json")).unwrap();
    assert!(text.contains(&k.secret));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("raw.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn clean_tree_exits_zero_with_empty_array() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.rs", "fn main() { println!(\"hello\"); }\n");
    let run = scan_json(dir.path(), &[]);
    assert_eq!(run.code, 0);
    assert!(run.json().is_empty());
}
