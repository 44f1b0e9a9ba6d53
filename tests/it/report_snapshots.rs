//! The text, JSON and SARIF reports of the planted fixture, compared with the snapshots in
//! tests/it/snapshots (insta). Keys come from the deterministic generator and the scan runs in the
//! fixture's root with relative paths, so only the temp dir and the timing need filtering. After a
//! deliberate output change, `INSTA_UPDATE=always cargo test --test it report_snapshots::` (or
//! `cargo insta review`) rewrites them.

use crate::fixture::planted;
use crate::fixture::{Repo, Run, Sandbox};

/// The planted tree with its config, in a fresh repository (nothing committed).
fn planted_repo(sb: &Sandbox) -> Repo {
    let r = sb.repo("r");
    planted::configure(&r);
    planted::plant(&r);
    r
}

/// `scan . --format FORMAT` in the planted tree; exit 1 (it has findings).
fn report(format: &str) -> (Run, Sandbox) {
    let sb = Sandbox::new();
    let r = planted_repo(&sb);
    let run = r.keyfence(&["scan", ".", "--format", format, "--no-progress"]);
    run.expect(1);
    (run, sb)
}

/// Compares `body` with the snapshot `name`, with the generated AWS key IDs (shown in full in
/// the advice, and no secret), the run time and the crate version replaced by names.
fn assert_report(name: &str, body: &str) {
    let version = regex::escape(env!("CARGO_PKG_VERSION"));
    insta::with_settings!({
        filters => vec![
            (r"\bA(KIA|SIA)[A-Z2-7]{16}\b", "[KEY ID]"),
            (r"\bin \d+\.\d+s\b", "in [TIME]"),
            (version.as_str(), "[VERSION]"),
        ],
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, body);
    });
}

#[test]
fn text_report_of_the_planted_tree() {
    let (run, _sb) = report("text");
    assert_report(
        "scan_text",
        &format!("{}\n--- stderr ---\n{}", run.stdout, run.stderr),
    );
}

#[test]
fn json_report_of_the_planted_tree() {
    let (run, _sb) = report("json");
    assert_eq!(run.json().len(), 7, "the seven planted findings");
    assert_report("scan_json", &run.stdout);
}

#[test]
fn sarif_report_of_the_planted_tree() {
    let (run, _sb) = report("sarif");
    crate::fixture::sarif::validated_sarif("scan --format sarif", &run.stdout);
    assert_report("scan_sarif", &run.stdout);
}
