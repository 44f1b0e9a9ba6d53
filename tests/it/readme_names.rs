//! What README names must exist: every pre-commit hook id and every repository path it mentions.
//! Moved from readme.rs, assertions unchanged.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::readme::{blocks, readme};

/// Every hook id a README `yaml` block names exists in .pre-commit-hooks.yaml, and so does every
/// `keyfence-…` hook variant the prose names.
#[test]
fn readme_names_only_hooks_that_exist() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let hooks = std::fs::read_to_string(root.join(".pre-commit-hooks.yaml")).unwrap();
    let ids: BTreeSet<String> = hooks
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- id: "))
        .map(|s| s.trim().to_string())
        .collect();
    let text = readme();
    let mut named = BTreeSet::new();
    for (lang, body) in blocks(&text) {
        if lang == "yaml" {
            for l in body.lines() {
                if let Some(rest) = l.trim().strip_prefix("- id: ") {
                    named.insert(rest.split_whitespace().next().unwrap().to_string());
                }
            }
        }
    }
    let prose = regex::Regex::new(r"`(keyfence(?:-[a-z]+)+)`").unwrap();
    for c in prose.captures_iter(&text) {
        let id = &c[1];
        // Not hooks: a finding's rule id, a hook marker, the PyPI package.
        if ![
            "keyfence-config-change",
            "keyfence-managed-hook",
            "keyfence-scanner",
        ]
        .contains(&id)
        {
            named.insert(id.to_string());
        }
    }
    assert!(named.contains("keyfence-python"), "{named:?}");
    for id in &named {
        assert!(
            ids.contains(id),
            "README names hook `{id}`, not in .pre-commit-hooks.yaml"
        );
    }
}

/// Paths README names in backquotes under one of the repository's own top-level directories
/// (`src/`, `tests/`, `.ci/`, `bench/`…) exist: README never points at a file that is not there.
#[test]
fn readme_names_only_files_that_exist() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = readme();
    let path = regex::Regex::new(r"`((?:\.?[A-Za-z_-]+/)+[A-Za-z0-9_.-]*)`").unwrap();
    let mut checked = 0;
    for c in path.captures_iter(&text) {
        let p = &c[1];
        let top = p.split('/').next().unwrap();
        if top == ".git" || top == "target" || !root.join(top).is_dir() {
            continue;
        }
        assert!(
            root.join(p).exists(),
            "README names `{p}`, not in the repository"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} paths checked");
}
