//! The template fixtures in `fixtures/`, filled with generated keys: every planted key is found
//! exactly once at its place, and the clean set yields nothing.

use std::path::Path;

use crate::fixture::*;
use keyfence::rules::placeholder::{fill, Generator};

/// Rule expected for each placeholder kind that plants a credential.
fn rule_for(body: &str, file: &str) -> Option<&'static str> {
    match body.split(':').next().unwrap() {
        "aws_key_id" => Some("aws-access-key-id"),
        "aws_secret" if file.ends_with(".tfstate") => Some("aws-iam-secret-tfstate"),
        "aws_secret" => Some("aws-secret-access-key"),
        "aws_session_token" => Some("aws-session-token"),
        _ => None,
    }
}

/// Fills each template of `fixtures/<set>` into `out`, one placeholder at a time so that each
/// planted value's place is known; returns the expected (file, line, column, rule) list.
fn materialize(set: &str, out: &Path) -> Vec<(String, u64, u64, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(set);
    let mut expected = Vec::new();
    let mut gen = Generator::new(42);
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut text = std::fs::read_to_string(&path).unwrap();
        let mut cursor = 0;
        let mut pending_id: Option<u64> = None;
        while let Some(found) = text[cursor..].find("{{") {
            let start = cursor + found;
            let end = start + text[start..].find("}}").unwrap() + 2;
            if text[start + 2..].starts_with(' ') {
                // `{{ x }}` is template syntax the fixture keeps literally.
                cursor = end;
                continue;
            }
            let body = text[start + 2..end - 2].to_string();
            let value = fill(&text[start..end], &mut gen).unwrap();
            if let Some(mut rule) = rule_for(&body, &name) {
                let (line, column) = pos(&format!("{}\u{0}", &text[..start]), "\u{0}");
                // A secret right after its key ID (same block, profile, row) is one pair finding
                // at the secret, in place of the key ID's own.
                if rule == "aws-secret-access-key" && pending_id.take().is_some() {
                    expected.pop();
                    rule = "aws-credential-pair";
                }
                if rule == "aws-access-key-id" {
                    pending_id = Some(line);
                }
                expected.push((name.clone(), line, column, rule.to_string()));
            }
            text.replace_range(start..end, &value);
            cursor = start + value.len();
        }
        assert!(
            !text.contains("{{hex") && !text.contains("{{aws"),
            "unfilled: {name}"
        );
        write(out, &name, text);
    }
    expected.sort();
    expected
}

#[test]
fn every_planted_key_is_found_once_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let expected = materialize("leaks", dir.path());
    assert!(
        expected.len() >= 9,
        "fixtures plant {} keys",
        expected.len()
    );
    let run = scan_json(dir.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.places(), expected);
}

#[test]
fn clean_fixtures_report_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let expected = materialize("clean", dir.path());
    assert!(expected.is_empty());
    let run = scan_json(dir.path(), &[]);
    assert_eq!(run.json(), Vec::<serde_json::Value>::new());
    assert_eq!(run.code, 0);
}
