//! Shared helpers for the scan tests: generated keys, temp trees, and running the real binary.
#![allow(dead_code)]

use std::path::Path;

use assert_cmd::Command;
use keyfence::rules::placeholder::Generator;
use serde_json::Value;

/// A generated AWS key pair; never a literal key in this repository.
pub struct Keys {
    pub id: String,
    pub secret: String,
    pub token: String,
}

pub fn keys(seed: u64) -> Keys {
    let mut g = Generator::new(seed);
    Keys {
        id: g.aws_key_id("AKIA"),
        secret: g.aws_secret(),
        token: g.aws_session_token(),
    }
}

pub fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

pub fn keyfence() -> Command {
    let mut cmd = Command::cargo_bin("keyfence").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Output of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Vec<Value> {
        serde_json::from_str::<Value>(&self.stdout)
            .unwrap_or_else(|e| {
                panic!("not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
            })
            .as_array()
            .expect("a JSON array")
            .clone()
    }

    /// (file, line, column, rule) of each finding, sorted.
    pub fn places(&self) -> Vec<(String, u64, u64, String)> {
        let mut v: Vec<_> = self
            .json()
            .iter()
            .map(|f| {
                (
                    f["file"].as_str().unwrap_or("").to_string(),
                    f["line"].as_u64().unwrap(),
                    f["column"].as_u64().unwrap(),
                    f["rule_id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    }
}

pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let out = keyfence().current_dir(dir).args(args).output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    run
}

/// `keyfence scan . --format json` in `dir`.
pub fn scan_json(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["scan", ".", "--format", "json"];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

/// 1-based (line, column) of the first occurrence of `needle` in `text`.
pub fn pos(text: &str, needle: &str) -> (u64, u64) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in text"));
    let before = &text[..at];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() as u64 + 1)
}

pub fn place(file: &str, text: &str, needle: &str, rule: &str) -> (String, u64, u64, String) {
    let (l, c) = pos(text, needle);
    (file.to_string(), l, c, rule.to_string())
}

/// SARIF schema validation and GitHub checks (the same file as tests/common/sarif.rs).
#[path = "../common/sarif.rs"]
pub mod sarif;
