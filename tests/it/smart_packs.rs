//! End-to-end checks of the smart layers (Terraform, AWS pairing and account decoding, decoding of
//! encoded secrets, checksums) through the real binary on real files. Every key is generated here.

use crate::fixture::{self, sarif};

use std::path::Path;

use keyfence::engine::decode::encode_base64;
use keyfence::rules::placeholder::Generator;
use serde_json::Value;

/// Runs `keyfence scan --format json` on `dir` and returns the findings.
fn scan(dir: &Path, extra: &[&str]) -> Vec<Value> {
    let out = fixture::keyfence()
        .current_dir(dir)
        .args([
            "scan",
            ".",
            "--format",
            "json",
            "--no-redact",
            "--quiet",
            "--no-ignore",
        ])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let findings = v.as_array().unwrap().clone();
    assert_eq!(code == 1, !findings.is_empty());
    findings
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn rule_ids(findings: &[Value]) -> Vec<&str> {
    findings
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect()
}

#[test]
fn tfstate_secret_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(101);
    let secret = g.aws_secret();
    let state = format!(
        r#"{{
  "version": 4,
  "resources": [
    {{
      "type": "aws_iam_access_key",
      "name": "ci",
      "instances": [
        {{
          "attributes": {{
            "id": "ci-key",
            "secret": "{secret}",
            "user": "ci"
          }}
        }}
      ]
    }}
  ]
}}
"#
    );
    write(dir.path(), "terraform.tfstate", &state);
    let f = scan(dir.path(), &[]);
    assert_eq!(rule_ids(&f), ["aws-iam-secret-tfstate"]);
    assert_eq!(f[0]["file"], "terraform.tfstate");
    assert_eq!(f[0]["line"], 11);
    assert_eq!(f[0]["secret"], secret.as_str());
}

#[test]
fn tfstate_key_and_secret_pair_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(102);
    let id = g.aws_key_id_for_account("AKIA", 314_159_265_358);
    let secret = g.aws_secret();
    let state = format!(
        "{{\"resources\": [{{\"type\": \"aws_iam_access_key\", \"instances\": [{{\"attributes\": {{\n  \"id\": \"{id}\",\n  \"secret\": \"{secret}\",\n  \"ses_smtp_password_v4\": null\n}}}}]}}]}}\n"
    );
    write(dir.path(), "prod.tfstate.backup", &state);
    let f = scan(dir.path(), &[]);
    assert_eq!(rule_ids(&f), ["aws-credential-pair"]);
    assert_eq!(f[0]["line"], 3);
    assert_eq!(f[0]["related"][0]["line"], 2);
    assert_eq!(f[0]["account_id"], "314159265358");
}

#[test]
fn terraform_references_are_not_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        r#"provider "aws" {
  region     = "us-east-1"
  access_key = var.access_key
  secret_key = local.secret_key
  token      = data.vault_generic_secret.aws.data["token"]
}

terraform {
  backend "s3" {
    access_key = "${var.backend_key}"
    secret_key = "${var.backend_secret}"
  }
}
"#,
    );
    assert!(scan(dir.path(), &[]).is_empty());
}

#[test]
fn pair_in_provider_block_is_one_finding_with_account_and_block() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(103);
    let account = 123_456_789_012u64;
    let id = g.aws_key_id_for_account("AKIA", account);
    let secret = g.aws_secret();
    let tf = format!(
        r#"terraform {{
  required_version = ">= 1.5"
}}

provider "aws" {{
  alias      = "prod"
  region     = "eu-west-1"
  access_key = "{id}"
  secret_key = "{secret}"
}}
"#
    );
    write(dir.path(), "providers.tf", &tf);
    let f = scan(dir.path(), &[]);
    assert_eq!(rule_ids(&f), ["aws-credential-pair"], "{f:#?}");
    let p = &f[0];
    assert_eq!(p["severity"], "critical");
    assert_eq!(p["line"], 9);
    assert_eq!(p["secret"], secret.as_str());
    assert_eq!(p["account_id"], format!("{account:012}"));
    assert_eq!(p["key_type"], "long-term");
    assert_eq!(p["block"], r#"provider "aws" (alias prod)"#);
    assert_eq!(p["related"][0]["rule_id"], "aws-access-key-id");
    assert_eq!(p["related"][0]["line"], 8);
    assert_eq!(p["related"][0]["secret"], id.as_str());
    assert_eq!(p["decoded"], Value::Null);

    // The text report names the block, the account and what to do about Terraform.
    let out = fixture::keyfence()
        .current_dir(dir.path())
        .args(["scan", ".", "--quiet", "--no-color"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#"in provider "aws" (alias prod)"#), "{text}");
    assert!(text.contains("AWS account 123456789012"), "{text}");
    assert!(text.contains("paired with aws-access-key-id"), "{text}");
    assert!(text.contains("What to do now — Terraform"), "{text}");
    assert!(!text.contains(&secret), "secret must be redacted");

    // SARIF carries the key ID as a related location.
    let out = fixture::keyfence()
        .current_dir(dir.path())
        .args(["scan", ".", "--quiet", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif =
        sarif::validated_sarif("scan --format sarif", &String::from_utf8_lossy(&out.stdout));
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(
        result["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
        8
    );
    assert_eq!(result["properties"]["account_id"], "123456789012");
}

#[test]
fn unpaired_temporary_key_is_marked_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(104);
    let id = g.aws_key_id_for_account("ASIA", 987_654_321_098);
    write(
        dir.path(),
        "env.sh",
        &format!("#!/bin/sh\nexport AWS_ACCESS_KEY_ID={id}\n"),
    );
    let f = scan(dir.path(), &[]);
    assert_eq!(rule_ids(&f), ["aws-access-key-id"]);
    assert_eq!(f[0]["line"], 2);
    assert_eq!(f[0]["key_type"], "temporary");
    assert_eq!(f[0]["account_id"], "987654321098");
    assert_eq!(f[0]["related"], Value::Array(vec![]));
}

#[test]
fn base64_secret_in_kubernetes_secret_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(105);
    let secret = g.aws_secret();
    let token = g.crc_token("ghp", true);
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci\ntype: Opaque\ndata:\n  region: ZXUtd2VzdC0x\n  AWS_SECRET_ACCESS_KEY: {}\n  github: {}\n",
        encode_base64(secret.as_bytes()),
        encode_base64(format!("x-access-token:{token}").as_bytes()),
    );
    write(dir.path(), "secret.yaml", &manifest);
    let f = scan(dir.path(), &[]);
    assert_eq!(
        rule_ids(&f),
        ["aws-secret-access-key", "github-pat"],
        "{f:#?}"
    );
    assert_eq!(f[0]["line"], 8);
    assert_eq!(f[0]["column"], 26);
    assert_eq!(f[0]["decoded"], "base64");
    assert_eq!(f[0]["secret"], secret.as_str());
    assert_eq!(f[1]["line"], 9);
    assert_eq!(f[1]["decoded"], "base64");
    assert_eq!(f[1]["secret"], token.as_str());
}

#[test]
fn github_checksum_decides() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(106);
    let good = g.crc_token("ghp", true);
    let bad = g.crc_token("ghp", false);
    write(dir.path(), "good.env", &format!("GH_TOKEN={good}\n"));
    write(dir.path(), "bad.env", &format!("GH_TOKEN={bad}\n"));
    let f = scan(dir.path(), &[]);
    assert_eq!(rule_ids(&f), ["github-pat"]);
    assert_eq!(f[0]["file"], "good.env");
    assert_eq!(f[0]["account_id"], Value::Null);
}

#[test]
fn extra_pack_adds_rules_and_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "acme.toml",
        r#"[[rules]]
id = "acme-token"
description = "ACME token"
regex = '''acme_[a-z0-9]{20}'''
keywords = ["acme_"]
severity = "low"
examples = ["acme_{{lowernum:20}}"]
negative_examples = ["acme_{{lowernum:5}}"]
"#,
    );
    let mut g = Generator::new(107);
    write(
        dir.path(),
        "app.cfg",
        &format!("t = acme_{}\n", g.string(b"abc123", 20)),
    );
    let f = scan(dir.path(), &["--rules-dir", "acme.toml"]);
    assert_eq!(rule_ids(&f), ["acme-token"]);
    let out = fixture::keyfence()
        .current_dir(dir.path())
        .args(["rules", "list", "--rules-dir", "acme.toml"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let line = list.lines().find(|l| l.starts_with("acme-token")).unwrap();
    assert!(line.contains("low") && line.contains("acme.toml") && line.contains("ACME token"));
    assert!(list
        .lines()
        .any(|l| l.starts_with("github-pat") && l.contains("vcs.toml")));
    fixture::keyfence()
        .current_dir(dir.path())
        .args(["rules", "test", "acme.toml"])
        .assert()
        .success();
}
