//! Composite rules and advice as data, and the text report's one block per secret.
//!
//! - A rule's `requires` (in a pack or a config) decides what pairs with what, how far apart:
//!   the shipped AWS pair follows it, and a config can change it or add its own composite rule.
//! - `[[advice]]` in a pack holds the Terraform remediation; a config can replace it, and its
//!   exposed-only steps drop out at a commit gate.
//! - History and range text reports group one secret's findings into one block that says where
//!   it is now and everywhere it has been, while JSON keeps every finding.
//!
//! Real git repositories in the shared fixture's sandbox (isolated from the user's git config), the
//! real binary, keys generated at test time.

use std::path::PathBuf;

use keyfence::finding::redact;
use keyfence::rules::placeholder::Generator;
use serde_json::Value;

use crate::fixture::{Repo, Run, Sandbox};
use crate::whereabouts::{pair, tf, Pair};

const PAIR: &str = "aws-credential-pair";

/// A sandbox `$HOME` holding one repository `r` (branch main): the shared fixture's.
struct Fixture {
    sandbox: Sandbox,
    r: Repo,
}

impl Fixture {
    fn new() -> Fixture {
        let sandbox = Sandbox::new();
        let r = sandbox.repo("r");
        Fixture { sandbox, r }
    }

    fn repo(&self) -> PathBuf {
        self.r.path.clone()
    }

    fn git(&self, args: &[&str]) -> String {
        self.r.git(args)
    }

    fn write(&self, rel: &str, text: &str) {
        self.r.write(rel, text);
    }

    fn commit(&self, msg: &str) -> String {
        self.r.commit(msg)
    }

    fn keyfence(&self, args: &[&str]) -> Run {
        self.r.keyfence(args)
    }
}

/// Key ID and secret key `gap` filler lines apart (each too long for the pair rule's own regex
/// to span), as an env file.
fn spread(p: &Pair, gap: usize) -> String {
    let filler = format!("# {}\n", "-".repeat(60)).repeat(gap);
    format!(
        "AWS_ACCESS_KEY_ID={}\n{filler}AWS_SECRET_ACCESS_KEY={}\n",
        p.id, p.secret
    )
}

fn rules_of(found: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = found
        .iter()
        .map(|f| format!("{}@{}", f["rule_id"].as_str().unwrap(), f["line"]))
        .collect();
    v.sort();
    v
}

#[test]
fn the_pair_rules_requires_decides_how_far_apart_halves_pair() {
    let fx = Fixture::new();
    let p = pair(21);
    fx.write("deploy.env", &spread(&p, 5));
    // Shipped: within 10 lines, one pair at the secret naming the key ID.
    let run = fx.keyfence(&["scan", ".", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = run.json();
    assert_eq!(rules_of(&found), [format!("{PAIR}@7")], "{found:#?}");
    assert_eq!(found[0]["related"][0]["rule_id"], "aws-access-key-id");
    assert_eq!(found[0]["related"][0]["line"], 1);
    // A config narrows the window to 2 lines: the halves stay apart.
    fx.write(
        ".keyfence.toml",
        "[[rules]]\nid = \"aws-credential-pair\"\n[rules.requires]\nrule = \"aws-access-key-id\"\n\
         within_lines = 2\nsame_block = true\nsecrets = [\"aws-secret-access-key\"]\n",
    );
    let run = fx.keyfence(&["scan", ".", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = run.json();
    assert_eq!(
        rules_of(&found),
        ["aws-access-key-id@1", "aws-secret-access-key@7"],
        "{found:#?}"
    );
    assert!(found.iter().all(|f| f["related"] == Value::Array(vec![])));
    assert!(!run.stdout.contains(&p.secret) && !run.stdout.contains(&p.id));
}

#[test]
fn a_config_composite_rule_pairs_its_own_halves() {
    let fx = Fixture::new();
    let mut g = Generator::new(33);
    let id = format!("ACME{}", g.string(b"0123456789ABCDEF", 16));
    let secret = g.string(b"abcdefghijklmnopqrstuvwxyz0123456789", 32);
    fx.write(
        ".keyfence.toml",
        r#"
[[rules]]
id = "acme-client-id"
description = "Acme client ID"
regex = '''acme_id = (?P<secret>ACME[0-9A-F]{16})'''
keywords = ["acme_id"]
[[rules]]
id = "acme-client-secret"
description = "Acme client secret"
regex = '''acme_key = (?P<secret>[a-z0-9]{32})'''
keywords = ["acme_key"]
[[rules]]
id = "acme-credential-pair"
description = "Acme client ID and secret together"
regex = '''acme_pair = (?P<secret>[a-z0-9]{32})'''
keywords = ["acme_pair"]
severity = "critical"
[rules.requires]
rule = "acme-client-id"
within_lines = 3
secrets = ["acme-client-secret"]
"#,
    );
    let far = "x\n".repeat(4);
    fx.write(
        "app.cfg",
        &format!(
            "acme_id = {id}\nacme_key = {secret}\n{far}acme_id = {id}\n{far}acme_key = {secret}\n"
        ),
    );
    let run = fx.keyfence(&["scan", "app.cfg", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = run.json();
    // Lines 1-2 pair; the ID on line 7 and the secret on line 12 are 5 lines apart: alone.
    assert_eq!(
        rules_of(&found),
        [
            "acme-client-id@7",
            "acme-client-secret@12",
            "acme-credential-pair@2"
        ],
        "{found:#?}"
    );
    let pair = found
        .iter()
        .find(|f| f["rule_id"] == "acme-credential-pair")
        .unwrap();
    assert_eq!(pair["severity"], "critical");
    assert_eq!(pair["related"][0]["rule_id"], "acme-client-id");
    assert_eq!(pair["related"][0]["line"], 1);
    assert_eq!(pair["related"][0]["secret"], redact(&id));
    // Not an AWS key: no AWS details.
    assert_eq!(pair["account_id"], Value::Null);
    assert_eq!(pair["key_type"], Value::Null);
}

#[test]
fn a_requires_with_an_unknown_shape_is_a_config_error() {
    let fx = Fixture::new();
    fx.write(
        ".keyfence.toml",
        "[[rules]]\nid = \"aws-credential-pair\"\n[rules.requires]\nrule = \"aws-access-key-id\"\n\
         within_lines = 3\nshape = \"round\"\n",
    );
    fx.write("a.txt", "nothing\n");
    let run = fx.keyfence(&["scan", "."]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("aws-credential-pair"), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown `requires.shape`"),
        "{}",
        run.stderr
    );
}

#[test]
fn terraform_advice_is_pack_data_a_config_can_replace() {
    let fx = Fixture::new();
    let p = pair(41);
    fx.write("README", "hi\n");
    fx.commit("init");
    fx.write("main.tf", &tf(&p, ""));
    let run = fx.keyfence(&["scan", "main.tf"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "What to do now — Terraform\n  Credentials in Terraform configuration end up in git"
        ),
        "{}",
        run.stdout
    );
    fx.write(
        ".keyfence.toml",
        "[[advice]]\nid = \"terraform\"\ntitle = \"Terraform (team policy)\"\n\
         exposed_only_steps = [1]\ntext = '''\n1. Rotate it.\n   Today.\n2. Use the vault module.'''\n",
    );
    // The config's advice, from its heading on, and the whole report.
    let advice = |args: &[&str]| {
        let run = fx.keyfence(args);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let tail = run
            .stdout
            .split("What to do now — Terraform (team policy)\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{}", run.stdout))
            .to_string();
        (tail, run.stdout)
    };
    // An audit (exposed): every step.
    let (tail, all) = advice(&["scan", "main.tf"]);
    assert!(
        tail.starts_with("  1. Rotate it.\n     Today.\n  2. Use the vault module.\n"),
        "{tail}"
    );
    assert!(!all.contains("Credentials in Terraform configuration"));
    // Before a commit: the exposed-only step drops out, the rest renumbered.
    fx.git(&["add", "main.tf"]);
    let (tail, all) = advice(&["protect"]);
    assert!(tail.starts_with("  1. Use the vault module.\n"), "{tail}");
    assert!(!all.contains("Rotate it."), "{all}");
}

/// The history the snapshot tells: a key added in a.tf and changed there, moved to
/// infra/main.tf, removed, pushed; then re-added on an unpushed branch; a second key that stays.
struct Story {
    fx: Fixture,
    leaked: Pair,
    kept: Pair,
    /// Commit ids and the names the snapshot shows for them.
    names: Vec<(String, &'static str)>,
}

fn story() -> Story {
    let fx = Fixture::new();
    let (leaked, kept) = (pair(51), pair(52));
    let mut names = Vec::new();
    fx.write("README", "hi\n");
    fx.commit("init");
    fx.write("a.tf", &tf(&leaked, "x = 1"));
    names.push((fx.commit("add a.tf"), "<ADDED>"));
    fx.write("a.tf", &tf(&leaked, "x = 2"));
    names.push((fx.commit("change a.tf"), "<CHANGED>"));
    std::fs::create_dir_all(fx.repo().join("infra")).unwrap();
    fx.git(&["mv", "a.tf", "infra/main.tf"]);
    names.push((fx.commit("move to infra/"), "<MOVED>"));
    fx.write("keep.tf", &tf(&kept, ""));
    names.push((fx.commit("add keep.tf"), "<KEPT>"));
    fx.write("infra/main.tf", "x = 3\n");
    names.push((fx.commit("remove the key"), "<REMOVED>"));
    let bare = fx.sandbox.path().join("origin.git");
    fx.sandbox
        .git(&["init", "-q", "--bare", "-b", "main", "origin.git"]);
    fx.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    fx.git(&["push", "-q", "origin", "main"]);
    fx.git(&["fetch", "-q", "origin"]);
    fx.git(&["checkout", "-q", "-b", "feature"]);
    fx.write("b.tf", &tf(&leaked, ""));
    names.push((fx.commit("re-add on feature"), "<FEATURE>"));
    fx.git(&["checkout", "-q", "main"]);
    Story {
        fx,
        leaked,
        kept,
        names,
    }
}

/// The report with keys, commit ids and dates replaced by stable names; panics if a secret shows.
fn normalize(s: &Story, text: &str) -> String {
    let mut t = text.to_string();
    for (p, name) in [(&s.leaked, "LEAKED"), (&s.kept, "KEPT")] {
        assert!(!t.contains(&p.secret), "a secret is shown:\n{text}");
        t = t
            .replace(&p.id, &format!("<{name}_ID>"))
            .replace(&redact(&p.id), &format!("<{name}_ID…>"))
            .replace(&redact(&p.secret), &format!("<{name}_SECRET…>"));
    }
    for (id, name) in &s.names {
        t = t.replace(id.as_str(), name).replace(&id[..12], name);
    }
    let account = regex::Regex::new(r"account \d{12}").unwrap();
    t = account.replace_all(&t, "account <ACCOUNT>").into_owned();
    let date = regex::Regex::new(r"\d{4}-\d\d-\d\dT[0-9:+\-Z]+").unwrap();
    date.replace_all(&t, "<DATE>").into_owned()
}

/// The findings list of the history text (before the first "What to do now").
const HISTORY_BLOCKS: &str = r#"a.tf:3:17  critical  aws-credential-pair  <LEAKED_SECRET…>
       3 | secret_key = "<LEAKED_SECRET…>"
    AWS access key ID and secret access key together (a usable credential)
    AWS account <ACCOUNT>; long-term key (AKIA): valid until deleted; in provider "aws"
    paired with aws-access-key-id <LEAKED_ID…> at line 2:17
    commit <ADDED>  t <t@e>  <DATE>  add a.tf
    where it is now: not in HEAD; published (a remote-tracking ref reaches it)
    where it has been:
      a.tf:3:17  commit <ADDED>  add a.tf  (2 versions): removed in <MOVED>; reachable from feature, main, origin/main (published)
      b.tf:3:17  commit <FEATURE>  re-add on feature: not in HEAD; reachable from feature
      infra/main.tf:3:17  commit <MOVED>  move to infra/: removed in <REMOVED>; reachable from feature, main, origin/main (published)
keep.tf:3:17  critical  aws-credential-pair  <KEPT_SECRET…>
       3 | secret_key = "<KEPT_SECRET…>"
    AWS access key ID and secret access key together (a usable credential)
    AWS account <ACCOUNT>; long-term key (AKIA): valid until deleted; in provider "aws"
    paired with aws-access-key-id <KEPT_ID…> at line 2:17
    commit <KEPT>  t <t@e>  <DATE>  add keep.tf
    still in HEAD at keep.tf; reachable from feature, main, origin/main (published)
"#;

#[test]
fn history_text_is_one_block_per_secret_and_json_keeps_every_finding() {
    let s = story();
    let run = s.fx.keyfence(&["history", "--no-color"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = normalize(&s, &run.stdout);
    let blocks = t.split("\nWhat to do now").next().unwrap();
    assert_eq!(
        blocks, HISTORY_BLOCKS,
        "the history text differs; got:\n{t}"
    );
    // JSON: the leaked secret is three findings (one per path), each with every occurrence.
    let run = s.fx.keyfence(&["history", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = run.json();
    let mut leaked: Vec<&str> = found
        .iter()
        .filter(|f| f["rule_id"] == PAIR && f["file"] != "keep.tf")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    leaked.sort_unstable();
    assert_eq!(leaked, ["a.tf", "b.tf", "infra/main.tf"], "{found:#?}");
    for f in found.iter().filter(|f| f["file"] != "keep.tf") {
        assert_eq!(f["occurrences"].as_array().unwrap().len(), 4, "{f:#}");
    }
}

#[test]
fn a_range_groups_one_secret_added_at_two_paths() {
    let fx = Fixture::new();
    let p = pair(61);
    fx.write("README", "hi\n");
    let base = fx.commit("init");
    fx.write("one.tf", &tf(&p, ""));
    let first = fx.commit("one");
    fx.write("two.tf", &tf(&p, ""));
    let second = fx.commit("two");
    let range = format!("{base}..main");
    let run = fx.keyfence(&["history", &range, "--added-only", "--no-color"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let header = format!("critical  {PAIR}  {}", redact(&p.secret));
    assert_eq!(run.stdout.matches(&header).count(), 1, "{}", run.stdout);
    let has = |s: &str| assert!(run.stdout.contains(s), "{s:?} in:\n{}", run.stdout);
    has("    where it has been:\n");
    has(&format!(
        "      one.tf:3:17  commit {}  one\n",
        &first[..12]
    ));
    has(&format!(
        "      two.tf:3:17  commit {}  two\n",
        &second[..12]
    ));
    assert!(!run.stdout.contains("where it is now"), "{}", run.stdout);
    let run = fx.keyfence(&["history", &range, "--added-only", "--format", "json"]);
    assert_eq!(run.json().len(), 2, "JSON keeps both findings");
}
