//! One config model for every command: `.keyfence.toml` at the repository root, globs relative
//! to that root; rule allowlist overrides extend the shipped ones; the whole config is bounded;
//! config errors list field names in full and never echo the file's values.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fixture::*;

/// (repository-relative path, rule) of every finding; `prefix` maps a path shown relative to a
/// subdirectory back to the repository root.
fn decisions(run: &Run, prefix: &str) -> BTreeSet<(String, String)> {
    run.json()
        .iter()
        .map(|f| {
            (
                format!("{prefix}{}", f["file"].as_str().expect("a file")),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const MODEL_CONFIG: &str = r#"
[allowlist]
paths = ["modules/legacy/**"]

[[rules]]
id = "aws-access-key-id"
paths = ["modules/app/**", "modules/legacy/**"]
"#;

/// The same config gives the same decisions in `scan DIR`, `scan .` from the root and from a
/// subdirectory, `scan FILE`, `protect --staged` and `history`.
#[test]
fn one_config_gives_the_same_decisions_in_every_command() {
    let sb = Sandbox::new();
    let repo = sb.repo("r");
    repo.write(".keyfence.toml", MODEL_CONFIG);
    repo.write("modules/app/main.tf", &format!("key = {}\n", key(1)));
    repo.write("modules/legacy/old.txt", &format!("key = {}\n", key(2)));
    repo.write("modules/other/x.txt", &format!("key = {}\n", key(3)));
    let want: BTreeSet<(String, String)> =
        [("modules/app/main.tf".to_string(), AKID.to_string())].into();

    let modules = repo.path.join("modules");
    let fmt = ["--format", "json"];
    let scans: Vec<(&str, Run, &str)> = vec![
        (
            "scan modules/ from the root",
            repo.keyfence(&["scan", "modules/", fmt[0], fmt[1]]),
            "",
        ),
        (
            "scan . from the root",
            repo.keyfence(&["scan", ".", fmt[0], fmt[1]]),
            "",
        ),
        (
            "scan . from modules/",
            repo.keyfence_in(&modules, &["scan", ".", fmt[0], fmt[1]], None),
            "modules/",
        ),
        (
            "scan of each file from modules/",
            repo.keyfence_in(
                &modules,
                &[
                    "scan",
                    "app/main.tf",
                    "legacy/old.txt",
                    "other/x.txt",
                    fmt[0],
                    fmt[1],
                ],
                None,
            ),
            "modules/",
        ),
    ];
    for (what, run, prefix) in &scans {
        run.expect(1);
        assert_eq!(decisions(run, prefix), want, "{what}:\n{}", run.stderr);
    }
    // The report keeps the path as the user gave it.
    assert_eq!(scans[2].1.json()[0]["file"], "app/main.tf");

    repo.git(&["add", "-A"]);
    let staged = repo.keyfence(&["protect", "--staged", fmt[0], fmt[1]]);
    staged.expect(1);
    assert_eq!(decisions(&staged, ""), want, "protect:\n{}", staged.stderr);

    repo.commit("add");
    let history = repo.keyfence(&["history", fmt[0], fmt[1]]);
    history.expect(1);
    assert_eq!(
        decisions(&history, ""),
        want,
        "history:\n{}",
        history.stderr
    );
}

/// `rules test` run in a subdirectory uses the repository root's config, as `scan .` does.
#[test]
fn rules_test_in_a_subdirectory_uses_the_root_config() {
    let sb = Sandbox::new();
    let repo = sb.repo("r");
    repo.write(
        ".keyfence.toml",
        "[[rules]]\nid = \"root-only-rule\"\ndescription = \"d\"\nregex = '''ROOT-[0-9]{8}'''\nkeywords = [\"root-\"]\nexamples = [\"ROOT-12345678\"]\n",
    );
    std::fs::create_dir_all(repo.path.join("deep/er")).unwrap();
    let run = repo.keyfence_in(&repo.path.join("deep/er"), &["rules", "list"], None);
    run.expect(0);
    assert!(run.stdout.contains("root-only-rule"), "{}", run.stdout);
}

// ---- rule allowlist overrides ----

fn tree(config: &str, files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".keyfence.toml"), config).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn run_at(dir: &Path, args: &[&str]) -> Run {
    let out = command(BIN, &test_home())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let run = Run::from(out);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

#[test]
fn a_rule_allowlist_override_extends_the_shipped_one() {
    let mine = key(10);
    let other = key(11);
    let config = format!(
        "[[rules]]\nid = \"aws-access-key-id\"\n[rules.allowlist]\nregexes = ['''^{mine}$''']\n"
    );
    let dir = tree(
        &config,
        &[
            (
                "docs.md",
                "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n".into(),
            ),
            ("mine.txt", format!("key = {mine}\n")),
            ("other.txt", format!("key = {other}\n")),
        ],
    );
    let run = run_at(dir.path(), &["scan", ".", "--format", "json"]);
    run.expect(1);
    assert_eq!(
        decisions(&run, ""),
        [("other.txt".to_string(), AKID.to_string())].into(),
        "{}",
        run.stderr
    );
    let test = run_at(dir.path(), &["rules", "test", "--config", ".keyfence.toml"]);
    test.expect(0);
    assert!(test.stdout.contains(": 0 failure(s)"), "{}", test.stdout);
}

#[test]
fn replace_allowlist_drops_the_shipped_allowlist() {
    let config = "[[rules]]\nid = \"aws-access-key-id\"\nreplace_allowlist = true\n[rules.allowlist]\nstopwords = [\"nothing-like-this\"]\n";
    let dir = tree(
        config,
        &[(
            "docs.md",
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n".into(),
        )],
    );
    let run = run_at(dir.path(), &["scan", ".", "--format", "json"]);
    run.expect(1);
    assert_eq!(
        decisions(&run, ""),
        [("docs.md".to_string(), AKID.to_string())].into()
    );
}

/// Every ```toml block of README.md loads, passes `rules test` and scans a clean tree cleanly.
/// Packs a snippet names are the reader's own files: they are created empty.
#[test]
fn every_toml_snippet_in_the_readme_works() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```toml" {
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            blocks.push(body.join("\n"));
        }
    }
    assert!(!blocks.is_empty(), "README has no toml snippet");
    for (i, block) in blocks.iter().enumerate() {
        let dir = tree(block, &[("clean.txt", "nothing to see\n".into())]);
        let spec: toml::Value = toml::from_str(block).expect("README snippet is TOML");
        for pack in spec
            .get("packs")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            let p = dir.path().join(pack.as_str().unwrap());
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let test = run_at(dir.path(), &["rules", "test", "--config", ".keyfence.toml"]);
        assert_eq!(
            test.code, 0,
            "README snippet {i}:\n{block}\nstdout:\n{}\nstderr:\n{}",
            test.stdout, test.stderr
        );
        let scan = run_at(dir.path(), &["scan", ".", "--config", ".keyfence.toml"]);
        assert_eq!(scan.code, 0, "README snippet {i} scan:\n{}", scan.stderr);
    }
}

// ---- bounded config ----

/// The config error of a scan in `dir`, with how long it took.
fn config_error(dir: &Path) -> (Run, Duration) {
    let started = Instant::now();
    let run = run_at(dir, &["scan", "."]);
    let took = started.elapsed();
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    (run, took)
}

#[test]
fn many_heavy_rules_are_refused_quickly() {
    // Each pattern is valid and under the per-regex limit (about 2.7 MB compiled); 700 of them
    // used to take gigabytes.
    let mut config = String::new();
    for i in 0..700 {
        config.push_str(&format!(
            "[[rules]]\nid = \"heavy-{i}\"\ndescription = \"d\"\nregex = '''x{i}\\w{{150}}'''\n\n"
        ));
    }
    assert!(config.len() < 70_000);
    let dir = tree(&config, &[("a.txt", "hi\n".into())]);
    let (run, took) = config_error(dir.path());
    assert!(
        run.stderr.contains(".keyfence.toml:")
            && run
                .stderr
                .contains("exceed the total compiled-size limit of 64 MiB"),
        "{}",
        run.stderr
    );
    // A bound against a blow-up (the old code took minutes and gigabytes), not a speed target.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn two_hundred_thousand_globs_are_refused() {
    let mut config = String::from("[allowlist]\npaths = [\n");
    for i in 0..200_000 {
        config.push_str(&format!("  \"d{i}/**\",\n"));
    }
    config.push_str("]\n");
    let dir = tree(&config, &[("a.txt", "hi\n".into())]);
    let (run, took) = config_error(dir.path());
    assert!(
        run.stderr.contains(".keyfence.toml: too many path globs")
            && run.stderr.contains("200000")
            && run.stderr.contains("limit of 10000"),
        "{}",
        run.stderr
    );
    // A bound against a blow-up (the old code took minutes and gigabytes), not a speed target.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn limits_count_packs_and_config_together() {
    // Each file alone is under the limit of 2000 rules; together they are not.
    let rules = |prefix: &str| {
        (0..1500)
            .map(|i| {
                format!("[[rules]]\nid = \"{prefix}-{i}\"\ndescription = \"d\"\nregex = 'a{i}'\n")
            })
            .collect::<String>()
    };
    let dir = tree(
        &format!("packs = [\"more.toml\"]\n{}", rules("mine")),
        &[("more.toml", rules("pack"))],
    );
    let (run, _) = config_error(dir.path());
    assert!(
        run.stderr.contains(".keyfence.toml: too many rules: 3000")
            && run.stderr.contains("limit of 2000"),
        "{}",
        run.stderr
    );
}

// ---- config error messages ----

/// Runs a scan with `config` and expects a config error.
fn bad_config(config: &str) -> Run {
    let dir = tree(config, &[("a.txt", "hi\n".into())]);
    config_error(dir.path()).0
}

fn assert_says(run: &Run, needles: &[&str], secret: &str) {
    for n in needles {
        assert!(run.stderr.contains(n), "want {n:?} in:\n{}", run.stderr);
    }
    assert!(
        !run.stderr.contains(secret),
        "the value is echoed:\n{}",
        run.stderr
    );
}

#[test]
fn unknown_rule_field_lists_every_field_in_full() {
    let secret = key(20);
    let run = bad_config(&format!(
        "[[rules]]\nid = \"my-rule\"\ndescription = \"d\"\ntokn = \"{secret}\"\n"
    ));
    assert_says(
        &run,
        &[
            ".keyfence.toml:4: invalid TOML: unknown field `tokn`",
            "`description`",
            "`negative_examples`",
            "`example_path`",
            "`replace_allowlist`",
            "`remediation`",
        ],
        &secret,
    );
}

#[test]
fn unknown_top_level_and_allowlist_fields_list_every_field_in_full() {
    let secret = key(21);
    let run = bad_config(&format!("extend_defaults = \"{secret}\"\n"));
    assert_says(
        &run,
        &[
            ".keyfence.toml:1: invalid TOML: unknown field `extend_defaults`",
            "`extend_default`",
            "`disabled_rules`",
        ],
        &secret,
    );
    let run = bad_config(&format!("[allowlist]\n\nregex = [\"{secret}\"]\n"));
    assert_says(
        &run,
        &[
            ".keyfence.toml:3: invalid TOML: unknown field `regex`",
            "`regex_target`",
            "`stopwords`",
        ],
        &secret,
    );
}

#[test]
fn invalid_allowlist_glob_names_field_and_index_not_the_glob() {
    let secret = key(22);
    let run = bad_config(&format!(
        "# ours\n[allowlist]\npaths = [\"ok/**\", \"{secret}[\"]\n"
    ));
    assert_says(
        &run,
        &[".keyfence.toml:2: allowlist paths[1]: invalid glob: unclosed character class"],
        &secret,
    );
    let run = bad_config(&format!(
        "[[rules]]\nid = \"aws-access-key-id\"\n[rules.allowlist]\npaths = [\"{secret}{{\"]\n"
    ));
    assert_says(
        &run,
        &[".keyfence.toml:1: rule `aws-access-key-id`: allowlist paths[0]: invalid glob"],
        &secret,
    );
}

#[test]
fn invalid_rule_paths_glob_names_rule_and_index_not_the_glob() {
    let secret = key(23);
    let run = bad_config(&format!(
        "\n[[rules]]\nid = \"aws-access-key-id\"\npaths = [\"a/**\", \"b/**\", \"{secret}[\"]\n"
    ));
    assert_says(
        &run,
        &[".keyfence.toml:2: rule `aws-access-key-id`: paths[2]: invalid glob"],
        &secret,
    );
}

#[test]
fn an_id_that_is_not_kebab_case_is_described_not_echoed() {
    let secret = key(24);
    let run = bad_config(&format!(
        "[[rules]]\nid = \"{secret}\"\ndescription = \"d\"\nregex = 'x'\n"
    ));
    assert_says(
        &run,
        &[
            ".keyfence.toml:1: rule `id` must be kebab-case",
            "20 characters",
        ],
        &secret,
    );
    let run = bad_config(&format!("disabled_rules = [\"{secret}\"]\n"));
    assert_says(
        &run,
        &[".keyfence.toml:1: `disabled_rules` holds a value that is not a rule id"],
        &secret,
    );
}

#[test]
fn a_missing_pack_is_named_by_index_not_path() {
    let secret = key(25);
    let run = bad_config(&format!(
        "\npacks = [\"rules.toml\", \"{secret}/x.toml\"]\n"
    ));
    // The first pack is missing too: reported by its index.
    assert_says(
        &run,
        &[".keyfence.toml:2: packs[0]: cannot read: No such file"],
        &secret,
    );
    let dir = tree(
        &format!("packs = [\n  \"ok.toml\",\n  \"{secret}/x.toml\",\n]\n"),
        &[("ok.toml", String::new())],
    );
    let run = config_error(dir.path()).0;
    assert_says(&run, &[".keyfence.toml:3: packs[1]: cannot read"], &secret);
}

#[test]
fn an_unknown_validator_lists_the_valid_ones_not_the_value() {
    let secret = key(26);
    let run = bad_config(&format!(
        "[[rules]]\nid = \"aws-access-key-id\"\nvalidate = \"{secret}\"\n"
    ));
    assert_says(
        &run,
        &[
            ".keyfence.toml:1: rule `aws-access-key-id`: unknown `validate` value; expected one of `aws-key-id`",
            "`basic-auth`",
        ],
        &secret,
    );
}

// ---- a config from text (e.g. read from a commit) ----

#[test]
fn load_text_reads_a_config_and_refuses_packs_when_told() {
    let name = Path::new("HEAD:.keyfence.toml");
    let set = keyfence::config::load_text(
        name,
        "disabled_rules = [\"aws-access-key-id\"]\n",
        &[],
        false,
    )
    .unwrap();
    assert!(set.get(AKID).is_none());
    assert!(set.get("aws-secret-access-key").is_some());

    let err = keyfence::config::load_text(name, "\npacks = [\"p.toml\"]\n", &[], false)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "HEAD:.keyfence.toml:2: a config read from a commit cannot load packs from disk; give \
         the operator's config with --config"
    );
}
