//! One fixture through every gate: the same planted tree scanned as a directory (`scan`), as
//! staged changes (`protect --staged`), as a commit range (`history BASE..HEAD --added-only`) and
//! as full history (`history`, by commit walk and by object stream) yields the same findings:
//! rule, file, line and fingerprint. Each gate reads its input its own way (work-tree files, index
//! blobs, commit diffs, unique blobs), so any difference is a gate that sees other content or
//! filters it otherwise.

use crate::fixture::planted::{self, Expected};
use crate::fixture::{Run, Sandbox};

/// (rule, file, line, fingerprint) of one finding.
type Identity = (String, String, u64, String);

/// Every finding of a JSON report as its identity, sorted (duplicates kept, so a gate reporting
/// one finding twice differs too).
fn identities(run: &Run) -> Vec<Identity> {
    let mut v: Vec<Identity> = run
        .json()
        .iter()
        .map(|f| {
            let text = |k: &str| {
                f[k].as_str()
                    .unwrap_or_else(|| panic!("finding without `{k}`: {f}"))
                    .to_string()
            };
            (
                text("rule_id"),
                text("file"),
                f["line"].as_u64().expect("a line"),
                text("fingerprint"),
            )
        })
        .collect();
    v.sort();
    v
}

/// The (file, line, rule) part, to compare with what the fixture planted.
fn places(found: &[Identity]) -> Expected {
    let mut v: Expected = found
        .iter()
        .map(|(rule, file, line, _)| (file.clone(), *line, rule.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn dir_staged_range_and_history_report_the_same_findings() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("LICENSE", "MIT\n");
    planted::configure(&r);
    let base = r.commit("base");
    let expected = planted::plant(&r);
    r.git(&["add", "-A"]);

    let json = ["--format", "json", "--no-progress"];
    let dir = r.keyfence(&[&["scan", "."][..], &json].concat());
    let staged = r.keyfence(&[&["protect", "--staged"][..], &json].concat());
    r.commit("planted");
    let range = format!("{base}..HEAD");
    let range = r.keyfence(&[&["history", &range, "--added-only"][..], &json].concat());
    let history = r.keyfence(&[&["history"][..], &json].concat());
    let stream = r.keyfence(&[&["history", "--object-stream"][..], &json].concat());

    let dir_found = identities(dir.expect(1));
    assert_eq!(
        places(&dir_found),
        expected,
        "scan . against the planted tree"
    );
    for (gate, run) in [
        ("protect --staged", &staged),
        ("history BASE..HEAD --added-only", &range),
        ("history", &history),
        ("history --object-stream", &stream),
    ] {
        assert_eq!(
            identities(run.expect(1)),
            dir_found,
            "{gate} differs from scan ."
        );
    }
}
