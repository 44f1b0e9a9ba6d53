//! "What to do now" differs by the gate that caught a key: before a commit (nothing has left the
//! machine), before a push (committed, not pushed), or in history (it may be public). Each text
//! report is compared with an expected file in tests/snapshots/ (generated keys, commit ids and
//! dates normalized); `KEYFENCE_UPDATE_SNAPSHOTS=1 cargo test --test it gate_advice::` rewrites them.
//! Also: the offline signals (impossible account, canary), `respond` and `explain`.

use std::path::Path;

use crate::fixture::{self, Repo, Sandbox};
use keyfence::finding::redact;
use keyfence::rules::placeholder::Generator;

const ZERO: &str = "0000000000000000000000000000000000000000";
const ACCOUNT: u64 = 210_987_654_321;

struct Pair {
    id: String,
    secret: String,
}

fn pair(prefix: &str, seed: u64) -> Pair {
    let mut g = Generator::new(seed);
    Pair {
        id: g.aws_key_id_for_account(prefix, ACCOUNT),
        secret: g.aws_secret(),
    }
}

fn provider(p: &Pair) -> String {
    format!(
        "provider \"aws\" {{\n  region     = \"eu-west-1\"\n  access_key = \"{}\"\n  secret_key = \"{}\"\n}}\n",
        p.id, p.secret
    )
}

/// The report with what changes from run to run replaced by names.
fn normalize(text: &str, p: &Pair) -> String {
    let mut t = text
        .replace(&p.id, "<KEY_ID>")
        .replace(&redact(&p.id), "<KEY_ID…>")
        .replace(&redact(&p.secret), "<SECRET…>");
    assert!(!t.contains(&p.secret), "the secret is never shown:\n{text}");
    let sha = regex::Regex::new(r"\b[0-9a-f]{40}\b").unwrap();
    t = sha.replace_all(&t, "<SHA>").into_owned();
    let short = regex::Regex::new(r"commit [0-9a-f]{7,12}\b").unwrap();
    t = short.replace_all(&t, "commit <SHORT>").into_owned();
    let short = regex::Regex::new(r"\\\([0-9a-f]{7}\[").unwrap();
    t = short.replace_all(&t, "\\(<SHORT>[").into_owned();
    let date = regex::Regex::new(r"\d{4}-\d\d-\d\dT[0-9:+\-Z]+").unwrap();
    date.replace_all(&t, "<DATE>").into_owned()
}

fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("KEYFENCE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (KEYFENCE_UPDATE_SNAPSHOTS=1 writes it)",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "{name}: the report differs from {}",
        path.display()
    );
}

fn staged(sb: &Sandbox, p: &Pair) -> Repo {
    let r = sb.repo("r");
    r.write("README", "hi\n");
    r.commit("init");
    r.write("infra/main.tf", &provider(p));
    r.git(&["add", "-A"]);
    r
}

#[test]
fn pre_commit_says_unstage_and_move_it_without_an_incident() {
    let sb = Sandbox::new();
    let p = pair("AKIA", 1);
    let r = staged(&sb, &p);
    let run = r.keyfence(&["protect", "--no-color"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = normalize(&run.stdout, &p);
    snapshot("gate_commit", &t);
    assert!(t.contains("git restore --staged -- infra/main.tf"), "{t}");
    assert!(
        t.contains("--access-key-id <KEY_ID>"),
        "the full key ID, to paste: {t}"
    );
    assert!(
        !t.contains("CloudTrail") && !t.contains("EVERY region"),
        "{t}"
    );
    assert!(!t.contains("temporary (ASIA)"), "{t}");
    assert!(t.contains("git commit --no-verify"), "{t}");
    assert!(t.contains("keyfence:allow aws-credential-pair"), "{t}");
    assert!(t.contains("keyfence baseline"), "{t}");
}

#[test]
fn pre_commit_of_a_temporary_key_says_so() {
    let sb = Sandbox::new();
    let p = pair("ASIA", 2);
    let r = staged(&sb, &p);
    let run = r.keyfence(&["protect", "--no-color"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = normalize(&run.stdout, &p);
    snapshot("gate_commit_asia", &t);
    assert!(
        t.contains("A temporary (ASIA) key expires on its own"),
        "{t}"
    );
    assert!(!t.contains("update-access-key"), "{t}");
}

#[test]
fn pre_push_says_how_to_drop_it_from_unpushed_commits() {
    let sb = Sandbox::new();
    let p = pair("AKIA", 3);
    let r = staged(&sb, &p);
    let base = r.git(&["rev-parse", "HEAD"]);
    r.git(&["update-ref", "refs/remotes/origin/main", &base]);
    let leak = r.commit("add provider");
    let input = format!("refs/heads/main {leak} refs/heads/main {base}\n");
    let run = r.keyfence_in(
        &r.path,
        &["hook", "pre-push", "origin", "url", "--no-color"],
        Some(&input),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = normalize(&run.stdout, &p);
    snapshot("gate_push", &t);
    assert!(t.contains("committed, not pushed"), "{t}");
    assert!(
        run.stdout.contains(&format!("git rebase -i {leak}^")),
        "the exact commit: {}",
        run.stdout
    );
    assert!(
        t.contains("git add -- infra/main.tf && git commit --amend --no-edit"),
        "{t}"
    );
    assert!(t.contains("git push --no-verify"), "{t}");
    assert!(!t.contains("CloudTrail"), "{t}");
    let _ = ZERO;
}

#[test]
fn history_gives_the_incident_steps_with_the_full_key_id() {
    let sb = Sandbox::new();
    let p = pair("AKIA", 4);
    let r = staged(&sb, &p);
    r.commit("add provider");
    let run = r.keyfence(&["history", "--no-color"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = normalize(&run.stdout, &p);
    snapshot("gate_history", &t);
    assert!(t.contains("it is, or may be, public"), "{t}");
    assert!(
        t.contains("aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=<KEY_ID>"),
        "{t}"
    );
    assert!(t.contains("keyfence respond --key-id <KEY_ID>"), "{t}");
    assert!(
        !t.contains("--no-verify"),
        "no bypass advice in an audit: {t}"
    );
}

#[test]
fn an_impossible_account_lowers_severity_and_a_canary_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(5);
    let impossible = g.aws_key_id_for_account("AKIA", 1_099_000_000_000);
    let canary = g.aws_key_id_for_account("AKIA", 717_712_589_309);
    std::fs::write(dir.path().join("a.txt"), format!("id = {impossible}\n")).unwrap();
    std::fs::write(dir.path().join("b.txt"), format!("id = {canary}\n")).unwrap();
    let run = |args: &[&str]| {
        let out = fixture::command(fixture::BIN, &fixture::test_home())
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let json: Vec<serde_json::Value> =
        serde_json::from_str(&run(&["scan", ".", "--format", "json"])).unwrap();
    let by = |f: &str| json.iter().find(|x| x["file"] == f).unwrap().clone();
    assert_eq!(by("a.txt")["key_signal"], "impossible-account");
    assert_eq!(by("a.txt")["severity"], "low");
    assert_eq!(by("b.txt")["key_signal"], "canary");
    assert_ne!(by("b.txt")["severity"], "low");
    let text = run(&["scan", ".", "--no-color"]);
    assert!(text.contains("decodes to a 13-digit account ID"), "{text}");
    assert!(
        text.contains("a canary (canarytokens.org account): using it alerts whoever planted it"),
        "{text}"
    );
}

#[test]
fn respond_for_a_key_id_is_a_checklist_with_every_region_and_the_purge_recipe() {
    let p = pair("AKIA", 6);
    let out = fixture::command(fixture::BIN, &fixture::test_home())
        .args(["respond", "--key-id", &p.id, "--format", "markdown"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let t = String::from_utf8_lossy(&out.stdout);
    for needle in [
        &format!("# Incident: leaked AWS key {}, account {ACCOUNT}", p.id) as &str,
        &format!("aws iam update-access-key --user-name \"$USER_NAME\" --access-key-id {} --status Inactive", p.id),
        &format!("aws iam get-access-key-last-used --access-key-id {}", p.id),
        "aws ec2 describe-regions",
        "aws ec2 describe-spot-instance-requests",
        "aws lambda list-functions",
        "aws rds describe-db-instances",
        "aws iam get-login-profile",
        "AccountAccessKeysPresent",
        "Do NOT close the account before every resource is terminated",
        "enable MFA on the root user",
        "update-account-password-policy",
        "--is-multi-region-trail",
        &format!("aws budgets create-budget --account-id {ACCOUNT}"),
        "billing adjustment",
        "f=$(mktemp) && chmod 600 \"$f\"",
        "git filter-repo --replace-text \"$f\"",
        "rm -f \"$f\"",
        "git push --force --all",
        "re-clones",
        "purging does not un-leak a pushed key",
        "- [ ] ",
    ] {
        assert!(t.contains(needle), "missing {needle:?}:\n{t}");
    }
    assert!(!t.contains("temporary (ASIA) key cannot be deactivated"));
    let asia = pair("ASIA", 7);
    let out = fixture::command(fixture::BIN, &fixture::test_home())
        .args(["respond", "--key-id", &asia.id])
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.contains("A temporary (ASIA) key cannot be deactivated"),
        "{t}"
    );
    let bad = fixture::command(fixture::BIN, &fixture::test_home())
        .args(["respond", "--key-id", "not-a-key"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn explain_prints_description_generated_examples_and_remediation() {
    let out = fixture::command(fixture::BIN, &fixture::test_home())
        .args(["explain", "aws-credential-pair"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.starts_with("aws-credential-pair  (critical)"), "{t}");
    assert!(t.contains("Found, e.g. (generated, not real):"), "{t}");
    assert!(
        !t.contains("{{aws_key_id}}"),
        "placeholders are filled: {t}"
    );
    assert!(t.contains("What to do about a finding:"), "{t}");
    assert!(t.contains("keyfence respond --key-id"), "{t}");
    let unknown = fixture::command(fixture::BIN, &fixture::test_home())
        .args(["explain", "no-such-rule"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}
