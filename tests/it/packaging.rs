//! The packaging files agree with the crate: one version everywhere (Cargo.toml, the thin root
//! pyproject's pin on the wheel, the container hook's image tag, the Action's default), and every
//! hook in .pre-commit-hooks.yaml runs a command the binary has.

use std::path::Path;

use crate::fixture;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

#[test]
fn one_version_everywhere() {
    let v = env!("CARGO_PKG_VERSION");
    let root: toml::Value = toml::from_str(&read("pyproject.toml")).unwrap();
    assert_eq!(root["project"]["version"].as_str(), Some(v));
    let deps = root["project"]["dependencies"].as_array().unwrap();
    assert_eq!(
        deps[0].as_str(),
        Some(format!("keyfence-scanner=={v}").as_str())
    );
    let wheel: toml::Value = toml::from_str(&read("python/pyproject.toml")).unwrap();
    assert_eq!(wheel["project"]["name"].as_str(), Some("keyfence-scanner"));
    assert_eq!(wheel["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    assert_eq!(
        wheel["tool"]["maturin"]["manifest-path"].as_str(),
        Some("../Cargo.toml")
    );
    assert!(read(".pre-commit-hooks.yaml").contains(&format!("entry: keyfence:{v} ")));
    assert!(read("action.yml").contains(&format!("default: \"{v}\"")));
    assert!(read("ci/gitlab-ci.yml").contains(&format!("KEYFENCE_VERSION: \"{v}\"")));
    assert!(read("CHANGELOG.md").contains(&format!("## {v}")));
}

#[test]
fn every_hook_entry_is_a_command_the_binary_accepts() {
    let hooks = read(".pre-commit-hooks.yaml");
    let entries: Vec<&str> = hooks
        .lines()
        .filter_map(|l| l.trim().strip_prefix("entry: "))
        .collect();
    assert!(entries.len() >= 7, "{entries:?}");
    for entry in entries {
        // `keyfence:0.1.0 protect --staged` (an image) runs the same arguments.
        let args: Vec<&str> = entry.split_whitespace().skip(1).collect();
        let out = fixture::command(fixture::BIN, &fixture::test_home())
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "`{entry}` is not a keyfence command");
    }
}
