//! README.md is executed, not trusted: every command line of its ```sh blocks runs (with `keyfence`
//! being the binary cargo built) in a fixture repository with generated keys and a bare remote, and
//! must exit as README promises; commands that cannot run here are listed below with the reason.
//! Its "Text output" and "JSON output" samples are the binary's real output on a fixed fixture, and
//! its JSON field list is exactly the set of fields the binary emits.
//!
//! After a deliberate change to the output, `KEYFENCE_README_BLESS=1 cargo test --test it readme::`
//! rewrites the two samples in README.md from the binary.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::fixture::{self, isolate, path_with_keyfence, Repo, Sandbox, BIN};
use keyfence::rules::placeholder::Generator;
use serde_json::Value;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");

/// Where a README command runs.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// The fixture work tree (a git repository with keys, `origin` = the bare remote).
    Work,
    /// The bare remote, as on a server.
    Server,
}

/// README commands that run, where, and the exit status README promises for them.
const RUN: &[(&str, Place, i32)] = &[
    ("keyfence scan .", Place::Work, 1),
    ("keyfence install", Place::Work, 0),
    ("keyfence scan", Place::Work, 1),
    ("keyfence scan infra/ main.tf", Place::Work, 1),
    ("cat creds.txt | keyfence scan -", Place::Work, 1),
    (
        "keyfence scan . --format json --output findings.json",
        Place::Work,
        1,
    ),
    ("keyfence install --pre-commit", Place::Work, 0),
    ("keyfence install --pre-receive", Place::Server, 0),
    ("keyfence baseline --history", Place::Work, 0),
    ("git add .keyfence-baseline.json", Place::Work, 0),
    (
        "keyfence history --baseline .keyfence-baseline.json --report-unused",
        Place::Work,
        0,
    ),
    ("keyfence init", Place::Work, 0),
    ("keyfence uninstall", Place::Work, 0),
    ("keyfence completions bash > keyfence.bash", Place::Work, 0),
    ("keyfence man > keyfence.1", Place::Work, 0),
    ("keyfence rules list", Place::Work, 0),
    ("keyfence rules test", Place::Work, 0),
];

const NO_ENGINE: &str = "needs a container engine, which CI here lacks; \
                         .ci/dockerfile-check.py checks the Dockerfile instead";
const BENCH: &str = "a benchmark: minutes of work, a release build and the peer scanners in \
                     /opt/peers/bin; run by hand, never in CI";

/// README commands that are not run, and why.
const NOT_RUN: &[(&str, &str)] = &[
    (
        "pipx install keyfence-scanner",
        "installs from PyPI: needs the network and the published wheel; \
         .ci/wheel-check.sh installs a locally built wheel instead",
    ),
    ("docker build -t keyfence:0.1.0 .", NO_ENGINE),
    (
        "docker run --rm -v \"$PWD:/repo\" keyfence:0.1.0 scan .",
        NO_ENGINE,
    ),
    (
        "cargo install --path .",
        "a second release build of this crate into ~/.cargo/bin; this test runs the binary \
         cargo just built instead",
    ),
    ("bench/run", BENCH),
    ("bench/foundation", BENCH),
    ("bench/git_gates.sh", BENCH),
];

/// Whole ```sh blocks that are scripts (start with `#!`): installed as this hook of the server.
const SCRIPTS: &[(&str, &str)] = &[("#!/bin/sh\nexec keyfence hook pre-receive\n", "pre-receive")];

pub(crate) fn readme() -> String {
    std::fs::read_to_string(README).unwrap()
}

/// Every fenced block as (language, body).
pub(crate) fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => open = Some((lang.trim().to_string(), String::new())),
            (Some(_), Some(_)) => out.push(open.take().unwrap()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md has an unclosed code block");
    out
}

/// A ```sh block's command lines: continuations joined, comments and blank lines dropped,
/// trailing comments cut, whitespace collapsed.
fn commands(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in body.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let code = match full.find(" #") {
            Some(at) => &full[..at],
            None => &full,
        };
        let code = code.split_whitespace().collect::<Vec<_>>().join(" ");
        if !code.is_empty() && !code.starts_with('#') {
            out.push(code);
        }
    }
    out
}

/// The README's code blocks use only languages something checks: `sh` (run here), `yaml` (hook ids
/// checked here), `toml`
/// (loaded by `tests/it/config_model.rs`), `json` and bare blocks (the samples, compared here).
#[test]
fn every_code_block_has_a_language_this_suite_checks() {
    for (lang, body) in blocks(&readme()) {
        assert!(
            ["sh", "yaml", "toml", "json", ""].contains(&lang.as_str()),
            "README block ```{lang} is neither run nor checked:\n{body}"
        );
    }
}

/// The fixture the commands run in: `work` (a repository whose committed files hold generated
/// keys, with the `infra/`, `main.tf` and `creds.txt` the README names) and `server.git`, its bare
/// `origin`, which already has `main`.
struct Fixture {
    sb: Sandbox,
    work: Repo,
    server: Repo,
}

fn fixture() -> Fixture {
    let sb = Sandbox::new();
    let work = sb.repo("work");
    work.write("infra/main.tf", &terraform(1));
    let mut g = Generator::new(2);
    work.write(
        "main.tf",
        &format!(
            "variable \"key\" {{\n  default = \"{}\"\n}}\n",
            g.aws_key_id("AKIA")
        ),
    );
    let mut g = Generator::new(3);
    work.write(
        "creds.txt",
        &format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            g.aws_key_id("AKIA"),
            g.aws_secret()
        ),
    );
    work.commit("infrastructure");
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    let server = sb.at("server.git");
    work.git(&["remote", "add", "origin", "../server.git"]);
    work.git(&["push", "-q", "origin", "main"]);
    Fixture { sb, work, server }
}

/// A Terraform provider block holding the key pair of `seed`.
fn terraform(seed: u64) -> String {
    let mut g = Generator::new(seed);
    let (id, secret) = (g.aws_key_id("AKIA"), g.aws_secret());
    format!(
        "provider \"aws\" {{\n  region     = \"eu-west-1\"\n  access_key = \"{id}\"\n  \
         secret_key = \"{secret}\"\n}}\n"
    )
}

/// Runs one command line with `sh -c`, `keyfence` first on PATH, in the isolated environment.
fn sh(cwd: &Path, home: &Path, line: &str) -> (i32, String) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(line).current_dir(cwd);
    isolate(&mut cmd, home);
    cmd.env("PATH", path_with_keyfence()).stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!said.contains("panicked"), "`{line}` panicked:\n{said}");
    (out.status.code().unwrap_or(-1), said)
}

#[test]
fn every_readme_command_runs_as_promised_or_is_listed_with_a_reason() {
    let text = readme();
    let f = fixture();
    let home = f.sb.path().to_path_buf();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut ran = 0;
    for (lang, body) in blocks(&text) {
        if lang != "sh" {
            continue;
        }
        if body.starts_with("#!") {
            let (_, hook) = SCRIPTS
                .iter()
                .find(|(script, _)| *script == body)
                .unwrap_or_else(|| panic!("README script not known to this test:\n{body}"));
            seen.insert(hook);
            pre_receive_script_rejects_a_pushed_key(&f, hook, &body);
            ran += 1;
            continue;
        }
        for line in commands(&body) {
            if let Some((cmd, place, code)) = RUN.iter().find(|(c, _, _)| *c == line) {
                seen.insert(cmd);
                let cwd = match place {
                    Place::Work => &f.work.path,
                    Place::Server => &f.server.path,
                };
                let (got, said) = sh(cwd, &home, &line);
                assert_eq!(
                    got, *code,
                    "README: `{line}` in {place:?} exited {got}:\n{said}"
                );
                after(&f, &line, &said);
                ran += 1;
            } else if let Some((cmd, why)) = NOT_RUN.iter().find(|(c, _)| *c == line) {
                seen.insert(cmd);
                assert!(!why.is_empty());
                // A repository script that is not run must at least exist and be executable.
                let first = line.split_whitespace().next().unwrap();
                if first.contains('/') {
                    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(first);
                    assert!(
                        is_executable(&p),
                        "README names {first}, not in the repository"
                    );
                }
            } else {
                panic!(
                    "README command `{line}` is neither run by this test (RUN) nor listed with a \
                     reason (NOT_RUN) in tests/it/readme.rs"
                );
            }
        }
    }
    // No stale entries: everything listed is still in README.
    for c in RUN.iter().map(|r| r.0).chain(NOT_RUN.iter().map(|n| n.0)) {
        assert!(
            seen.contains(c),
            "tests/it/readme.rs lists `{c}`, README no longer has it"
        );
    }
    for (_, hook) in SCRIPTS {
        assert!(
            seen.contains(hook),
            "README no longer has the {hook} script"
        );
    }
    assert!(ran >= RUN.len(), "ran {ran} commands");
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What README says a command leaves behind, checked after it ran.
fn after(f: &Fixture, line: &str, said: &str) {
    let hooks = f.work.path.join(".git/hooks");
    let work = |rel: &str| f.work.path.join(rel);
    match line {
        "keyfence scan . --format json --output findings.json" => {
            let v: Value =
                serde_json::from_str(&std::fs::read_to_string(work("findings.json")).unwrap())
                    .unwrap();
            assert!(!v.as_array().unwrap().is_empty(), "no findings written");
        }
        "keyfence scan infra/ main.tf" => {
            assert!(
                said.contains("infra/main.tf:") && said.contains("main.tf:2:"),
                "{said}"
            );
        }
        "keyfence install" => {
            for h in ["pre-commit", "pre-merge-commit", "commit-msg", "pre-push"] {
                assert!(hooks.join(h).is_file(), "{h} not installed");
            }
            // The installed commit hook refuses a staged key.
            f.work.write("staged.tf", &terraform(5));
            f.work.git(&["add", "staged.tf"]);
            let (code, said) = sh(&f.work.path, f.sb.path(), "git commit -q -m key");
            assert_ne!(code, 0, "a staged key was committed:\n{said}");
            f.work.git(&["rm", "-q", "--cached", "staged.tf"]);
            std::fs::remove_file(work("staged.tf")).unwrap();
        }
        "keyfence install --pre-receive" => {
            assert!(f.server.path.join("hooks/pre-receive").is_file());
        }
        "keyfence baseline --history" => {
            let b = std::fs::read_to_string(work(".keyfence-baseline.json")).unwrap();
            assert!(b.contains("aws-credential-pair"), "{b}");
        }
        "keyfence init" => assert!(work(".keyfence.toml").is_file()),
        "keyfence uninstall" => assert!(!hooks.join("pre-commit").exists()),
        "keyfence completions bash > keyfence.bash" => {
            assert!(std::fs::read_to_string(work("keyfence.bash"))
                .unwrap()
                .contains("keyfence"));
        }
        "keyfence man > keyfence.1" => {
            assert!(std::fs::read_to_string(work("keyfence.1"))
                .unwrap()
                .starts_with(".ie"));
        }
        _ => {}
    }
}

/// The README's server script as the server's hook: a clean push passes, a key is rejected.
fn pre_receive_script_rejects_a_pushed_key(f: &Fixture, hook: &str, script: &str) {
    let path = f.server.path.join("hooks").join(hook);
    std::fs::write(&path, script).unwrap();
    fixture::make_executable(&path);
    let push = |msg: &str| {
        f.work.git(&["add", "-A", "deploy"]);
        f.work.git(&["commit", "-q", "--no-verify", "-m", msg]);
        sh(
            &f.work.path,
            f.sb.path(),
            "git push --no-verify origin HEAD:main",
        )
    };
    f.work.write("deploy/readme.txt", "clean\n");
    let (code, said) = push("clean");
    assert_eq!(code, 0, "a clean push was rejected:\n{said}");
    f.work.write("deploy/main.tf", &terraform(4));
    let (code, said) = push("key");
    assert_ne!(code, 0, "the server accepted a key:\n{said}");
    assert!(said.contains("deploy/main.tf"), "{said}");
    f.work.git(&["reset", "-q", "--hard", "HEAD~1"]);
}

// ---- samples ----

/// The fixture of the samples: `infra/main.tf` with the key pair of seed 1, scanned with
/// `keyfence scan .`. Returns (text output: stdout then stderr, JSON output).
fn sample_runs() -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("infra")).unwrap();
    std::fs::write(dir.path().join("infra/main.tf"), terraform(1)).unwrap();
    let run = |extra: &[&str]| {
        let out = fixture::command(BIN, &fixture::test_home())
            .args(["scan", "."])
            .args(extra)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "the sample has findings");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (stdout, stderr) = run(&[]);
    let (json, _) = run(&["--format", "json"]);
    (format!("{stdout}{stderr}"), json)
}

/// Replaces what depends on the generated keys with fixed stand-ins (the README shows no real
/// key material and does not change when the generator does) and durations with `<time>`.
fn normalize(text: &str, json: &str) -> String {
    let v: Value = serde_json::from_str(json).unwrap();
    let f = &v[0];
    let mut out = text.to_string();
    for (value, stand_in) in [
        (f["secret"].as_str().unwrap(), "9fK2…r+Tw"),
        (f["related"][0]["secret"].as_str().unwrap(), "AKIA…MPLE"),
        (f["account_id"].as_str().unwrap(), "123456789012"),
        (f["fingerprint"].as_str().unwrap(), "5c1e…(64 hex digits)"),
    ] {
        out = out.replace(value, stand_in);
    }
    // Advice shows the full key ID (an identifier, pasted into commands): AWS's documentation
    // key stands in for it, which keyfence itself allowlists, so `keyfence scan .` stays clean.
    regex::Regex::new(r"\bA(?:KI|SI)A[A-Z2-7]{16}\b")
        .unwrap()
        .replace_all(&out, "AKIAIOSFODNN7EXAMPLE")
        .into_owned()
}

fn without_times(text: &str) -> String {
    regex::Regex::new(r"\b\d+\.\d+s\b")
        .unwrap()
        .replace_all(text, "<time>")
        .into_owned()
}

/// The body of the first block of language `lang` after `heading`, and its byte range in README.
fn block_after(text: &str, heading: &str, lang: &str) -> (String, std::ops::Range<usize>) {
    let at = text.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    let fence = format!("```{lang}\n");
    let start = at + text[at..].find(&fence).unwrap() + fence.len();
    let end = start + text[start..].find("```\n").unwrap();
    (text[start..end].to_string(), start..end)
}

fn bless_or_compare(heading: &str, lang: &str, real: &str) {
    let text = readme();
    let (shown, range) = block_after(&text, heading, lang);
    if without_times(&shown) == without_times(real) {
        return;
    }
    if std::env::var_os("KEYFENCE_README_BLESS").is_some() {
        let mut new = text.clone();
        new.replace_range(range, real);
        std::fs::write(README, new).unwrap();
        return;
    }
    panic!(
        "README's {heading} sample is not what the binary prints (rerun with \
         KEYFENCE_README_BLESS=1 to update it). The binary prints:\n{real}"
    );
}

#[test]
fn text_sample_is_the_binarys_output() {
    let (text, json) = sample_runs();
    let real = normalize(&text, &json);
    // The sample shows the line with the secret masked, and a singular summary.
    assert!(real.contains("secret_key = \"9fK2…r+Tw\""), "{real}");
    assert!(real.contains("scanned 1 file ("), "{real}");
    bless_or_compare("### Text output", "", &real);
}

#[test]
fn json_sample_is_the_binarys_output() {
    let (_, json) = sample_runs();
    bless_or_compare("### JSON output", "json", &normalize(&json, &json));
}

/// A history with a blob introduced twice and a key in a commit message, so that the optional
/// fields (`other_occurrences`) and commit-message findings appear too.
fn history_json() -> Vec<Value> {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.tf", &terraform(6));
    r.commit("add");
    r.git(&["rm", "-q", "a.tf"]);
    r.commit("remove");
    r.write("a.tf", &terraform(6));
    r.commit("add again");
    let id = Generator::new(7).aws_key_id("AKIA");
    r.commit(&format!("use {id}"));
    // A key ID that decodes to no real account (13 digits): the only kind with a `key_signal`.
    let impossible = (100..)
        .map(|seed| Generator::new(seed).aws_key_id("AKIA"))
        .find(|k| keyfence::aws::account_id(k).is_some_and(|a| a > 999_999_999_999))
        .unwrap();
    r.write("b.txt", &format!("id = {impossible}\n"));
    r.commit("impossible");
    let run = r.keyfence(&["history", "--format", "json"]);
    run.expect(1);
    let found = run.json();
    assert!(found.iter().any(|f| f.get("key_signal").is_some()));
    found
}

/// README's JSON field list: each `- ` item as (the field names before its first `: `, outside
/// parentheses; the item's whole text).
fn documented_fields(text: &str) -> Vec<(Vec<String>, String)> {
    let at = text.find("### JSON output").unwrap();
    let end = at + text[at..].find("\n## ").unwrap();
    let mut items: Vec<String> = Vec::new();
    for line in text[at..end].lines() {
        if let Some(rest) = line.strip_prefix("- `") {
            items.push(format!("`{rest}"));
        } else if let (Some(item), true) = (items.last_mut(), line.starts_with("  ")) {
            item.push_str(line);
        }
    }
    let parens = regex::Regex::new(r"\([^)]*\)").unwrap();
    let name = regex::Regex::new(r"`([a-z_]+)`").unwrap();
    items
        .into_iter()
        .map(|item| {
            let head = item.split(": ").next().unwrap();
            let head = parens.replace_all(head, "");
            let names = name.captures_iter(&head).map(|c| c[1].to_string());
            (names.collect(), item)
        })
        .collect()
}

#[test]
fn readme_lists_exactly_the_json_fields_the_binary_emits() {
    let (_, json) = sample_runs();
    let mut findings: Vec<Value> = serde_json::from_str(&json).unwrap();
    findings.extend(history_json());
    assert!(findings
        .iter()
        .any(|f| f.get("other_occurrences").is_some()));
    assert!(findings.iter().any(|f| f["source"] == "commit-message"));
    let emitted: BTreeSet<String> = findings
        .iter()
        .flat_map(|f| f.as_object().unwrap().keys().cloned())
        .collect();
    let related: BTreeSet<String> = findings
        .iter()
        .flat_map(|f| f["related"].as_array().unwrap().iter())
        .flat_map(|r| r.as_object().unwrap().keys().cloned())
        .collect();
    assert!(!related.is_empty(), "the fixtures yield a related location");

    let text = readme();
    let documented = documented_fields(&text);
    let names: BTreeSet<String> = documented.iter().flat_map(|(n, _)| n.clone()).collect();
    assert_eq!(
        names, emitted,
        "README's JSON field list (left) differs from the fields the binary emits (right)"
    );
    let related_item = &documented
        .iter()
        .find(|(n, _)| n.iter().any(|n| n == "related"))
        .unwrap()
        .1;
    for k in related {
        assert!(
            related_item.contains(&format!("`{k}`")),
            "README's `related` item does not name `{k}`"
        );
    }
}
