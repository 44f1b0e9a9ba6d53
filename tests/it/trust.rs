//! Who decides what a gate allows: a CI range gate takes config and baseline from the range's
//! base commit, a server takes them only from `$GIT_DIR`, and inline `keyfence:allow` markers
//! (written by whoever wrote the content) count only where the operator says so. A change
//! that weakens the gate is reported, not obeyed. Real repositories, the real binary.

use crate::fixture::{self, at, key, write_hook, Repo, Sandbox, BIN};

const CONFIG_CHANGE: &str = "keyfence-config-change";

/// The (file, rule) of every finding of a JSON run, sorted.
fn rules(run: &fixture::Run) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = run
        .json()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap_or("").to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// A repository whose base commit has an ordinary `.keyfence.toml`; returns (repo, base).
fn base_repo(sb: &Sandbox) -> (Repo, String) {
    let r = sb.repo("r");
    r.write(
        ".keyfence.toml",
        "# keyfence settings\ndisabled_rules = []\n",
    );
    r.write("README", "hi\n");
    let base = r.commit("base");
    (r, base)
}

fn range_gate(r: &Repo, base: &str, tip: &str, extra: &[&str]) -> fixture::Run {
    let range = format!("{base}..{tip}");
    let mut args = vec![
        "history",
        range.as_str(),
        "--added-only",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    r.keyfence(&args)
}

#[test]
fn a_change_cannot_allowlist_its_own_key_through_the_config() {
    for weakened in [
        "[allowlist]\npaths = [\"**\"]\n",
        "extend_default = false\n",
        "disabled_rules = [\"aws-access-key-id\"]\n",
    ] {
        let sb = Sandbox::new();
        let (r, base) = base_repo(&sb);
        r.write("app.txt", &format!("k = {}\n", key(1)));
        r.write(".keyfence.toml", weakened);
        let tip = r.commit("a key, and a config that hides it");
        // The working tree's config would hide it: it is not what the gate uses.
        r.keyfence(&["scan", "app.txt"]).expect(0);
        for extra in [&[][..], &["--config", ".keyfence.toml"][..]] {
            let run = range_gate(&r, &base, &tip, extra);
            run.expect(1);
            assert_eq!(
                rules(&run),
                vec![
                    (".keyfence.toml".to_string(), CONFIG_CHANGE.to_string()),
                    ("app.txt".to_string(), fixture::AKID.to_string()),
                ],
                "config {weakened:?}, args {extra:?}"
            );
        }
        // An operator's config outside the checkout is the operator's to give.
        let ops = sb.path().join("ops.toml");
        std::fs::write(&ops, "[allowlist]\npaths = [\"app.txt\"]\n").unwrap();
        let run = range_gate(&r, &base, &tip, &["--config", ops.to_str().unwrap()]);
        assert_eq!(
            rules(&run),
            vec![(".keyfence.toml".to_string(), CONFIG_CHANGE.to_string())]
        );
    }
}

#[test]
fn a_change_cannot_baseline_its_own_key() {
    let sb = Sandbox::new();
    let (r, base) = base_repo(&sb);
    r.write("app.txt", &format!("k = {}\n", key(2)));
    r.keyfence(&["baseline", "app.txt", "-o", ".keyfence-baseline.json"])
        .expect(0);
    // The baseline really accepts the key.
    r.keyfence(&["scan", "app.txt", "--baseline", ".keyfence-baseline.json"])
        .expect(0);
    let tip = r.commit("a key and its baseline entry");
    for extra in [&[][..], &["--baseline", ".keyfence-baseline.json"][..]] {
        let run = range_gate(&r, &base, &tip, extra);
        run.expect(1);
        assert_eq!(
            rules(&run),
            vec![
                (
                    ".keyfence-baseline.json".to_string(),
                    CONFIG_CHANGE.to_string()
                ),
                ("app.txt".to_string(), fixture::AKID.to_string()),
            ],
            "args {extra:?}"
        );
    }
    // A baseline the base commit already has is honoured: the same key again passes.
    r.write("app2.txt", &format!("k = {}\n", key(2)));
    let again = r.commit("the accepted key again");
    range_gate(&r, &tip, &again, &[]).expect(0);
    let run = range_gate(&r, &base, &again, &[]);
    run.expect(1);
    assert!(rules(&run).contains(&("app2.txt".to_string(), fixture::AKID.to_string())));
}

#[test]
fn a_base_config_that_disables_every_rule_fails_the_gate() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write(".keyfence.toml", "extend_default = false\n");
    let base = r.commit("no rules");
    r.write("app.txt", &format!("k = {}\n", key(3)));
    let tip = r.commit("key");
    let run = range_gate(&r, &base, &tip, &[]);
    run.expect(2);
    assert!(run.stderr.contains("no rules"), "{}", run.stderr);
}

#[test]
fn inline_allow_markers_count_only_where_the_operator_says() {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "--bare", "-b", "main", "server.git"]);
    let server = sb.at("server.git");
    let (r, base) = base_repo(&sb);
    r.git(&["remote", "add", "origin", server.path.to_str().unwrap()]);
    // The base (with its config) is there before the hook: pushing a config is itself reported.
    assert!(r.push(&["-q", "origin", "main"]).0);
    write_hook(
        &server.path,
        "pre-receive",
        &format!("exec '{BIN}' hook pre-receive"),
    );

    r.write("app.txt", &format!("k = {}  # keyfence:allow\n", key(4)));
    r.git(&["add", "app.txt"]);
    // The developer's own gate honours the developer's marker.
    r.keyfence(&["protect", "--staged"]).expect(0);
    r.keyfence(&["protect", "--staged", "--inline-allow", "off"])
        .expect(1);
    let tip = r.commit("allowed inline");
    let run = range_gate(&r, &base, &tip, &[]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("app.txt", 1, Some(&tip))]);
    range_gate(&r, &base, &tip, &["--inline-allow", "on"]).expect(0);
    let (ok, said) = r.push(&["origin", "main"]);
    assert!(!ok, "{said}");
    assert!(said.contains("app.txt:1"), "{said}");
    // The server operator turns markers on.
    write_hook(
        &server.path,
        "pre-receive",
        &format!("exec '{BIN}' hook pre-receive --inline-allow on"),
    );
    let (ok, said) = r.push(&["origin", "main"]);
    assert!(ok, "{said}");

    // A marker naming another rule allows nothing, even when markers count.
    r.write(
        "app.txt",
        &format!("k = {}  # keyfence:allow github-pat\n", key(5)),
    );
    r.git(&["add", "app.txt"]);
    r.keyfence(&["protect", "--staged"]).expect(1);
    let next = r.commit("marker for another rule");
    let run = range_gate(&r, &tip, &next, &["--inline-allow", "on"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("app.txt", 1, Some(&next))]);
    let (ok, said) = r.push(&["origin", "main"]);
    assert!(!ok, "{said}");
}

#[test]
fn a_non_bare_server_takes_config_only_from_its_git_dir() {
    let sb = Sandbox::new();
    // A server with a work tree whose config allowlists everything (as an earlier push with
    // `updateInstead` would have checked out).
    let server = sb.repo("server");
    server.write(".keyfence.toml", "[allowlist]\npaths = [\"**\"]\n");
    server.write("README", "hi\n");
    server.commit("server work tree");
    server.git(&["config", "receive.denyCurrentBranch", "updateInstead"]);
    write_hook(
        &server.path.join(".git"),
        "pre-receive",
        &format!("exec '{BIN}' hook pre-receive"),
    );
    sb.git(&["clone", "-q", "server", "client"]);
    let c = sb.at("client");
    c.write("app.txt", &format!("k = {}\n", key(6)));
    c.commit("key");
    let (ok, said) = c.push(&["origin", "main"]);
    assert!(!ok, "the work tree's config must not decide:\n{said}");
    assert!(said.contains("app.txt:1"), "{said}");
    assert!(!server.path.join("app.txt").exists());

    // The operator's config in $GIT_DIR decides.
    server.write(
        ".git/.keyfence.toml",
        "[allowlist]\npaths = [\"fixtures/**\"]\n",
    );
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    c.write("fixtures/app.txt", &format!("k = {}\n", key(7)));
    c.commit("fixture key");
    let (ok, said) = c.push(&["origin", "main"]);
    assert!(ok, "{said}");
    assert!(server.path.join("fixtures/app.txt").exists());

    // A push that changes the config is reported for review.
    c.write(
        ".keyfence.toml",
        "[allowlist]\npaths = [\"**\", \"more/**\"]\n",
    );
    c.commit("widen");
    let (ok, said) = c.push(&["origin", "main"]);
    assert!(!ok, "{said}");
    assert!(said.contains(CONFIG_CHANGE), "{said}");
}
