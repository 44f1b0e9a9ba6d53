//! The fixture keeps the developer's environment out of every process a test starts: the tests
//! pass the same on a machine whose global git config ignores `*.env`, signs commits, runs global
//! hooks and names another default branch, with proxies, AWS endpoints and `PRE_COMMIT*` set.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::fixture::{command, make_executable, write, KEPT};

/// The variables the fixture sets; with the kept ones, nothing else may reach a child.
const SET: &[&str] = &[
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_TERMINAL_PROMPT",
    "LC_ALL",
    "NO_COLOR",
];
/// The environment `cmd` gives its child, as `env` prints it.
fn child_env(mut cmd: Command) -> BTreeMap<String, String> {
    let out = cmd.output().expect("env runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_child_gets_only_the_sandbox_home_and_the_kept_variables() {
    let home = tempfile::tempdir().unwrap();
    // Cargo runs this test with CARGO_* and whatever the developer's shell exports.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let env = child_env(command("env", home.path()));
    let stray: Vec<&String> = env
        .keys()
        .filter(|k| !SET.contains(&k.as_str()) && !KEPT.contains(&k.as_str()))
        .collect();
    assert!(stray.is_empty(), "leaked into a child: {stray:?}");
    let home = home.path().to_str().unwrap();
    for var in [
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "GIT_CONFIG_GLOBAL",
    ] {
        assert!(env[var].starts_with(home), "{var}={}", env[var]);
    }
    assert_eq!(env["GIT_CONFIG_NOSYSTEM"], "1");
}

/// A developer's home that breaks any test it reaches: global excludes hiding the fixtures' files,
/// a global hook refusing every commit, commit signing without a key, another default branch.
fn hostile_home(dir: &Path) {
    let d = dir.display();
    write(
        dir,
        ".gitconfig",
        format!(
            "[core]\n\texcludesFile = {d}/global-ignore\n\thooksPath = {d}/hooks\n\
             [init]\n\tdefaultBranch = trunk\n[user]\n\tname = Dev\n\temail = dev@example.com\n\
             [commit]\n\tgpgSign = true\n[color]\n\tui = always\n"
        ),
    );
    write(
        dir,
        "global-ignore",
        "*.env\n*.tf\n*.py\n*.txt\ncredentials\n",
    );
    write(dir, ".config/git/ignore", "*.bin\n*.toml\n");
    write(dir, "hooks/pre-commit", "#!/bin/sh\nexit 1\n");
    make_executable(&dir.join("hooks/pre-commit"));
}

/// Reruns some dir, staged, history and report tests of this binary (itself) inside a hostile
/// developer environment; each passes only if nothing of it reaches git or keyfence.
#[test]
fn tests_pass_in_a_hostile_developer_environment() {
    let hostile = tempfile::tempdir().unwrap();
    let h = hostile.path();
    hostile_home(h);
    let excludes = format!("'core.excludesfile'='{}/global-ignore'", h.display());
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["scan_aws::", "scan_config::", "git_staged::"])
        .args(["equivalence::", "report_snapshots::"])
        .args(["--test-threads", "2"])
        .env("HOME", h)
        .env("XDG_CONFIG_HOME", h.join(".config"))
        .env("GIT_CONFIG_GLOBAL", h.join(".gitconfig"))
        .env("GIT_CONFIG_PARAMETERS", excludes)
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "core.hooksPath")
        .env("GIT_CONFIG_VALUE_0", h.join("hooks"))
        .env("GIT_DIR", h.join("not-a-repository"))
        .env("GIT_INDEX_FILE", h.join("index"))
        .env("PRE_COMMIT", "1")
        .env("PRE_COMMIT_FROM_REF", "HEAD~9")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("LANG", "de_DE.UTF-8")
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env("INSTA_UPDATE", "no")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ran: u32 = said
        .lines()
        .find_map(|l| l.strip_prefix("test result: ok. "))
        .and_then(|l| l.split(' ').next()?.parse().ok())
        .expect("a libtest summary");
    assert!(ran >= 15, "only {ran} tests ran:\n{said}");
}
