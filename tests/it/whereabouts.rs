//! History audits report a secret once per path, at the commit that introduced it there, with every
//! later version as an occurrence, and say where it has been since: still in HEAD or removed (and
//! where), which refs reach it, and whether a remote-tracking ref does (already published).

use crate::fixture::{self, Repo, Sandbox};
use keyfence::rules::placeholder::Generator;
use serde_json::Value;

const PAIR: &str = "aws-credential-pair";

/// A generated AWS key ID and its secret.
pub(crate) struct Pair {
    pub(crate) id: String,
    pub(crate) secret: String,
}

pub(crate) fn pair(seed: u64) -> Pair {
    let mut g = Generator::new(seed);
    Pair {
        id: g.aws_key_id("AKIA"),
        secret: g.aws_secret(),
    }
}

/// A Terraform AWS provider block holding `p`, then `extra`.
pub(crate) fn tf(p: &Pair, extra: &str) -> String {
    format!(
        "provider \"aws\" {{\n  access_key = \"{}\"\n  secret_key = \"{}\"\n}}\n{extra}\n",
        p.id, p.secret
    )
}

/// The history of the scenario, with each commit the tests name.
struct Scenario {
    sb: Sandbox,
    r: Repo,
    leaked: Pair,
    kept: Pair,
    /// Introduces `leaked` in a.tf; the next three commits change a.tf around it.
    intro: String,
    versions: Vec<String>,
    removed: String,
    kept_at: String,
    feature: String,
}

fn scenario() -> Scenario {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    let (leaked, kept) = (pair(11), pair(12));
    r.write("README.md", "hello\n");
    r.commit("init");
    r.write("a.tf", &tf(&leaked, "x = 1"));
    let intro = r.commit("add a.tf");
    let mut versions = vec![intro.clone()];
    for n in 2..=4 {
        r.write("a.tf", &tf(&leaked, &format!("x = {n}")));
        versions.push(r.commit(&format!("x = {n}")));
    }
    r.write("keep.tf", &tf(&kept, ""));
    let kept_at = r.commit("add keep.tf");
    r.write("a.tf", "x = 5\n");
    let removed = r.commit("remove the key from a.tf");
    // main is pushed to a bare remote and fetched back: origin/main exists.
    sb.git(&["init", "-q", "--bare", "-b", "main", "origin.git"]);
    let remote = sb.path().join("origin.git");
    r.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    r.git(&["push", "-q", "origin", "main"]);
    r.git(&["fetch", "-q", "origin"]);
    // The same key again, on a branch that is never pushed.
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("b.tf", &tf(&leaked, ""));
    let feature = r.commit("re-add the key on feature");
    r.git(&["checkout", "-q", "main"]);
    Scenario {
        sb,
        r,
        leaked,
        kept,
        intro,
        versions,
        removed,
        kept_at,
        feature,
    }
}

fn pairs_at<'a>(found: &'a [Value], file: &str) -> Vec<&'a Value> {
    found
        .iter()
        .filter(|f| f["rule_id"] == PAIR && f["file"] == file)
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn check_audit(s: &Scenario, found: &[Value]) {
    // a.tf: four blob versions hold the key, one finding at the commit that introduced it.
    let a = pairs_at(found, "a.tf");
    assert_eq!(a.len(), 1, "{found:#?}");
    let a = a[0];
    assert_eq!(a["commit"], s.intro.as_str());
    let occ = a["occurrences"].as_array().unwrap();
    let at_a: Vec<&str> = occ
        .iter()
        .filter(|o| o["file"] == "a.tf")
        .map(|o| o["commit"].as_str().unwrap())
        .collect();
    assert_eq!(
        at_a,
        s.versions.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        occ[0]["commit"],
        s.intro.as_str(),
        "the introducing one first"
    );
    assert_eq!(occ[0]["line"], 3);
    // The other path of the same secret is an occurrence too.
    assert!(occ
        .iter()
        .any(|o| o["file"] == "b.tf" && o["commit"] == s.feature.as_str()));
    assert_eq!(occ.len(), 5);
    assert_eq!(a["other_occurrences"], 4);
    assert_eq!(a["present_at_head"], false);
    assert_eq!(a["head_paths"], Value::Array(vec![]));
    assert_eq!(a["removed_in"], s.removed.as_str());
    let reach = strs(&a["reachable_from"]);
    assert!(reach.contains(&"main".to_string()), "{reach:?}");
    assert!(reach.contains(&"origin/main".to_string()), "{reach:?}");
    assert!(reach.contains(&"feature".to_string()), "{reach:?}");
    assert_eq!(a["published"], true);

    // b.tf: re-added on an unpushed branch.
    let b = pairs_at(found, "b.tf");
    assert_eq!(b.len(), 1, "{found:#?}");
    let b = b[0];
    assert_eq!(b["commit"], s.feature.as_str());
    assert_eq!(b["occurrences"][0]["commit"], s.feature.as_str());
    assert_eq!(b["occurrences"].as_array().unwrap().len(), 5);
    assert_eq!(b["present_at_head"], false);
    assert_eq!(b["removed_in"], Value::Null, "never on HEAD's line");
    assert_eq!(strs(&b["reachable_from"]), vec!["feature".to_string()]);
    assert_eq!(b["published"], false);

    // keep.tf: still at HEAD.
    let k = pairs_at(found, "keep.tf");
    assert_eq!(k.len(), 1, "{found:#?}");
    let k = k[0];
    assert_eq!(k["commit"], s.kept_at.as_str());
    assert_eq!(k["present_at_head"], true);
    assert_eq!(strs(&k["head_paths"]), vec!["keep.tf".to_string()]);
    assert_eq!(k["removed_in"], Value::Null);
    assert_eq!(k["published"], true);
    assert_eq!(k["other_occurrences"].as_u64().unwrap_or(0), 0);
}

fn no_secret(s: &Scenario, run: &fixture::Run) {
    for secret in [&s.leaked.secret, &s.kept.secret] {
        assert!(!run.stdout.contains(secret.as_str()), "{}", run.stdout);
        assert!(!run.stderr.contains(secret.as_str()), "{}", run.stderr);
    }
}

#[test]
fn full_audit_reports_each_secret_once_per_path_with_its_whereabouts() {
    let s = scenario();
    let run =
        s.r.keyfence(&["history", "--object-stream", "--format", "json"]);
    run.expect(1);
    no_secret(&s, &run);
    check_audit(&s, &run.json());
}

#[test]
fn the_default_commit_walk_finds_the_same_as_the_object_stream() {
    let s = scenario();
    let run = s.r.keyfence(&["history", "--format", "json"]);
    run.expect(1);
    no_secret(&s, &run);
    check_audit(&s, &run.json());
    s.r.keyfence(&["history", "main", "--object-stream"])
        .expect(2);
}

#[test]
fn audit_of_named_revisions_groups_the_same_way() {
    // Revisions given: the commit walk (not the object stream) scans them.
    let s = scenario();
    let run =
        s.r.keyfence(&["history", "main", "feature", "--format", "json"]);
    run.expect(1);
    no_secret(&s, &run);
    check_audit(&s, &run.json());
}

#[test]
fn text_report_has_one_whereabouts_line_per_finding() {
    let s = scenario();
    let run = s.r.keyfence(&["history"]);
    run.expect(1);
    no_secret(&s, &run);
    let removed: String = s.removed.chars().take(12).collect();
    assert!(
        run.stdout.contains(&format!(
            "removed in {removed}; reachable from feature, main, origin/main (published)"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "still in HEAD at keep.tf; reachable from feature, main, origin/main (published)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("not in HEAD; reachable from feature\n"),
        "{}",
        run.stdout
    );
    // SARIF carries them as a property.
    let run = s.r.keyfence(&["history", "--format", "sarif"]);
    run.expect(1);
    no_secret(&s, &run);
    assert!(run.stdout.contains("\"whereabouts\""), "{}", run.stdout);
    assert!(run.stdout.contains("\"removed_in\""), "{}", run.stdout);
}

#[test]
fn range_gates_keep_one_finding_per_commit_and_no_whereabouts() {
    let s = scenario();
    let range = format!("{}..main", s.versions[0]);
    let run =
        s.r.keyfence(&["history", &range, "--added-only", "--format", "json"]);
    run.expect(1);
    for f in run.json() {
        assert!(f.get("occurrences").is_none(), "{f:#}");
        assert!(f.get("present_at_head").is_none(), "{f:#}");
        assert!(f.get("reachable_from").is_none(), "{f:#}");
    }
    // The range from before the key: only its introduction adds it to a.tf.
    let range = format!("{}~1..main", s.intro);
    let run =
        s.r.keyfence(&["history", &range, "--added-only", "--format", "json"]);
    run.expect(1);
    let found = run.json();
    assert_eq!(pairs_at(&found, "a.tf").len(), 1);
    let _ = &s.sb;
}
