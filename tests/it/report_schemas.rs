//! Every machine report validates against its published schema (vendored in tests/schemas):
//! SARIF 2.1.0 from several real scans (a file, stdin, an absolute path, a commit-message finding
//! from `history`, a key pair with a related location, a clean run), GitLab's secret-detection
//! report, and JUnit XML; and the SARIF carries what GitHub code scanning ranks by.

use crate::fixture::sarif::{schema_validator as schema, validated_sarif, validated_with};
use crate::fixture::{self, Repo, Run, Sandbox};
use keyfence::rules::placeholder::Generator;
use serde_json::Value;

/// Parses `run`'s stdout and validates it; panics with every schema error.
/// The flags that make a run write SARIF.
const SARIF: [&str; 3] = ["--format", "sarif", "--no-progress"];

fn validated(label: &str, validator: &jsonschema::Validator, run: &Run) -> Value {
    validated_with(
        &format!("{label}\nstderr: {}", run.stderr),
        validator,
        &run.stdout,
    )
}

/// The same for SARIF, plus the GitHub checks of `fixture::sarif`.
fn sarif_doc(label: &str, run: &Run) -> Value {
    validated_sarif(&format!("{label}\nstderr: {}", run.stderr), &run.stdout)
}

/// A repository with a Terraform key pair committed, and a key in a later commit's message.
fn fixture(sb: &Sandbox) -> (Repo, String, String) {
    let mut g = Generator::new(41);
    let (id, secret) = (g.aws_key_id("AKIA"), g.aws_secret());
    let repo = sb.repo("r");
    repo.write(
        "infra/main.tf",
        &format!(
            "provider \"aws\" {{\n  region     = \"us-east-1\"\n  access_key = \"{id}\"\n  secret_key = \"{secret}\"\n}}\n"
        ),
    );
    repo.write(
        "dir with space/notes#1.txt",
        &format!("key {}\n", g.aws_key_id("AKIA")),
    );
    repo.commit("add infra");
    let msg_key = g.aws_key_id("AKIA");
    repo.write("README", "docs\n");
    repo.commit(&format!("docs\n\nused {msg_key} to test"));
    (repo, id, secret)
}

fn results(doc: &Value) -> &Vec<Value> {
    doc["runs"][0]["results"].as_array().unwrap()
}

#[test]
fn sarif_from_real_scans_validates_against_the_sarif_2_1_0_schema() {
    let sb = Sandbox::new();
    let (repo, id, secret) = fixture(&sb);
    let doc = dir_scan_sarif(&repo, &id, &secret);
    rules_rank_on_github(&doc);
    absolute_paths_sarif(&sb, &repo);
    stdin_and_history_sarif(&repo);

    // A clean run is a valid, empty log.
    let clean = sb.repo("clean");
    clean.write("a.txt", "nothing here\n");
    let run = clean.keyfence(&[&["scan", "."][..], &SARIF[..]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = sarif_doc("clean", &run);
    assert!(results(&doc).is_empty());
}

/// A directory scan: relative URIs, percent-encoded, the pair's key ID as a related location.
fn dir_scan_sarif(repo: &Repo, id: &str, secret: &str) -> Value {
    // A directory scan: relative URIs under %SRCROOT%, percent-encoded, one pair with its key ID
    // as a related location.
    let run = repo.keyfence(&[&["scan", "."][..], &SARIF[..]].concat());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = sarif_doc("scan .", &run);
    let uris: Vec<&str> = results(&doc)
        .iter()
        .map(|r| {
            let a = &r["locations"][0]["physicalLocation"]["artifactLocation"];
            assert_eq!(a["uriBaseId"], "%SRCROOT%", "{a}");
            a["uri"].as_str().unwrap()
        })
        .collect();
    assert!(uris.contains(&"infra/main.tf"), "{uris:?}");
    assert!(
        uris.contains(&"dir%20with%20space/notes%231.txt"),
        "{uris:?}"
    );
    let pair = results(&doc)
        .iter()
        .find(|r| r["ruleId"] == "aws-credential-pair")
        .expect("a pair finding");
    let related = &pair["relatedLocations"][0]["physicalLocation"];
    assert_eq!(related["artifactLocation"]["uri"], "infra/main.tf");
    assert_eq!(related["region"]["startLine"], 3);
    assert!(!run.stdout.contains(secret) && !run.stdout.contains(id));
    doc
}

/// What GitHub ranks on: severity, tags, names, help and the location-free fingerprint.
fn rules_rank_on_github(doc: &Value) {
    // GitHub's ranking: security-severity, tags, a human name distinct from the id, help text,
    // and the location-free fingerprint.
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for rule in rules {
        let sev: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&sev), "{rule}");
        assert_ne!(rule["name"], rule["id"], "{rule}");
        assert!(rule["help"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(rule["shortDescription"]["text"].is_string());
        assert!(rule["fullDescription"]["text"].is_string());
        let tags = rule["properties"]["tags"].as_array().unwrap();
        assert!(tags.iter().any(|t| t == "security"), "{rule}");
    }
    let pair_rule = rules
        .iter()
        .find(|r| r["id"] == "aws-credential-pair")
        .unwrap();
    assert_eq!(pair_rule["properties"]["security-severity"], "9.5");
    assert_eq!(pair_rule["name"], "AwsCredentialPair");
    for r in results(doc) {
        assert_eq!(
            r["partialFingerprints"]["keyfence/v1"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
    }
}

/// Absolute scan paths, inside the current directory and outside it.
fn absolute_paths_sarif(sb: &Sandbox, repo: &Repo) {
    // An absolute scan path inside the current directory: still relative.
    let abs = repo.path.join("infra").canonicalize().unwrap();
    let run = repo.keyfence(&[&["scan", abs.to_str().unwrap()][..], &SARIF[..]].concat());
    let doc = sarif_doc("scan ABSOLUTE", &run);
    for r in results(&doc) {
        let a = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(a["uri"], "infra/main.tf", "{a}");
        assert_eq!(a["uriBaseId"], "%SRCROOT%");
    }
    // Outside the current directory: an absolute file URI, never a bare path.
    let elsewhere = sb.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let run = repo.keyfence_in(
        &elsewhere,
        &[&["scan", abs.to_str().unwrap()][..], &SARIF[..]].concat(),
        None,
    );
    let doc = sarif_doc("scan ABSOLUTE elsewhere", &run);
    let uri = results(&doc)[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        uri.starts_with("file:///") && uri.ends_with("/infra/main.tf"),
        "{uri}"
    );
}

/// Standard input and history: described artifacts for what has no file.
fn stdin_and_history_sarif(repo: &Repo) {
    // stdin: no invented file name, a described artifact instead.
    let text = std::fs::read_to_string(repo.path.join("infra/main.tf")).unwrap();
    let run = repo.keyfence_in(
        &repo.path,
        &[&["scan", "-"][..], &SARIF[..]].concat(),
        Some(&text),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = sarif_doc("scan -", &run);
    let a = &results(&doc)[0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert!(a.get("uri").is_none(), "{a}");
    assert_eq!(a["description"]["text"], "standard input");

    // history: file findings with commits, and a finding in a commit message.
    let run = repo.keyfence(&[&["history"][..], &SARIF[..]].concat());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = sarif_doc("history", &run);
    let msg = results(&doc)
        .iter()
        .find(|r| r["properties"]["source"] == "commit-message")
        .expect("a commit-message finding");
    let a = &msg["locations"][0]["physicalLocation"]["artifactLocation"];
    assert!(a["description"]["text"]
        .as_str()
        .unwrap()
        .starts_with("message of commit "));
    assert!(results(&doc)
        .iter()
        .any(|r| r["properties"]["commit"].is_string() && r["properties"]["source"] == "history"));
}

#[test]
fn gitlab_report_validates_against_gitlabs_secret_detection_schema() {
    let v = schema("secret-detection-report-format-15.2.5.json");
    let sb = Sandbox::new();
    let (repo, id, secret) = fixture(&sb);
    for args in [
        &["scan", ".", "--format", "gitlab"][..],
        &["history", "--format", "gitlab"][..],
    ] {
        let run = repo.keyfence(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        let doc = validated(&format!("{args:?}"), &v, &run);
        assert_eq!(doc["scan"]["type"], "secret_detection");
        let vulns = doc["vulnerabilities"].as_array().unwrap();
        assert!(!vulns.is_empty());
        let mut ids: Vec<&str> = vulns.iter().map(|x| x["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), vulns.len(), "vulnerability ids must be unique");
        let pair = vulns
            .iter()
            .find(|x| x["identifiers"][0]["value"] == "aws-credential-pair")
            .unwrap();
        assert_eq!(pair["severity"], "Critical");
        assert_eq!(pair["location"]["file"], "infra/main.tf");
        assert!(!run.stdout.contains(&secret) && !run.stdout.contains(&id));
        if args[0] == "history" {
            assert_eq!(
                pair["location"]["commit"]["sha"].as_str().unwrap().len(),
                40
            );
        }
    }
    let clean = sb.repo("clean");
    let run = clean.keyfence(&["scan", ".", "--format", "gitlab"]);
    assert_eq!(run.code, 0);
    validated("clean", &v, &run);
}

#[test]
fn junit_has_one_failing_case_per_finding_and_a_passing_case_when_clean() {
    let sb = Sandbox::new();
    let (repo, id, secret) = fixture(&sb);
    let run = repo.keyfence(&["scan", ".", "--format", "junit"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let out = &run.stdout;
    assert!(
        out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{out}"
    );
    let cases = out.matches("<testcase ").count();
    let failures = out.matches("<failure ").count();
    assert_eq!(cases, failures);
    assert!(failures >= 2, "{out}");
    assert!(out.contains(&format!("failures=\"{failures}\"")));
    // Markup in content is escaped: the Terraform quotes appear as entities.
    assert!(out.contains("provider &quot;aws&quot;"), "{out}");
    assert!(
        out.contains("name=\"aws-credential-pair at infra/main.tf:4:"),
        "{out}"
    );
    assert!(!out.contains(&secret) && !out.contains(&id));
    assert_eq!(out.matches("<testsuite ").count(), 1);
    assert!(out.trim_end().ends_with("</testsuites>"));

    let clean = sb.repo("clean");
    let run = clean.keyfence(&["scan", ".", "--format", "junit"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("failures=\"0\""));
    assert_eq!(run.stdout.matches("<testcase ").count(), 1);
}

/// The validator is not vacuous: the defects the old SARIF had are caught.
#[test]
fn the_schema_check_rejects_what_code_scanning_rejects() {
    let v = fixture::sarif::sarif_validator();
    let doc = |uri: &str, level: &str| {
        serde_json::json!({
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": { "name": "keyfence" } },
                "results": [{
                    "message": { "text": "m" },
                    "level": level,
                    "locations": [{ "physicalLocation": { "artifactLocation": { "uri": uri } } }]
                }]
            }]
        })
    };
    assert!(v.is_valid(&doc("a/b.tf", "error")));
    assert!(
        !v.is_valid(&doc("a/b.tf", "critical")),
        "bad level accepted"
    );
    assert!(
        !v.is_valid(&doc("<stdin>", "error")),
        "`<stdin>` is not a URI"
    );
    assert!(!v.is_valid(&doc("dir with space/a.tf", "error")));
    assert!(v.is_valid(&doc("dir%20with%20space/a.tf", "error")));
    let gl = schema("secret-detection-report-format-15.2.5.json");
    assert!(!gl.is_valid(&serde_json::json!({ "version": "15.2.5", "vulnerabilities": [] })));
}
