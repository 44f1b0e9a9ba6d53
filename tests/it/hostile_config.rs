//! Broken and hostile rule packs and configs: each is exit 2 with a message naming the file, the
//! line and (where there is one) the rule — and never echoing what may be a secret.

use crate::fixture::*;

/// Runs `scan .` in a tree holding a key, with `config` as `.keyfence.toml` (as a scanned
/// repository would carry it).
fn scan_with_config(config: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", format!("k={}\n", keys(1).id));
    write(dir.path(), ".keyfence.toml", config);
    let run = scan_json(dir.path(), &[]);
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.is_empty(),
        "no report on a config error: {}",
        run.stdout
    );
    run
}

fn assert_has(run: &Run, needle: &str) {
    assert!(
        run.stderr.contains(needle),
        "want {needle:?} in:\n{}",
        run.stderr
    );
}

#[test]
fn invalid_toml_names_file_and_line() {
    let run = scan_with_config("[[rules]]\nid = \"x\"\ndescription = \"unterminated\n");
    assert_has(&run, ".keyfence.toml:3: invalid TOML");
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let run =
        scan_with_config("[allowlist]\npaths = []\n\n[[rules]]\nid = \"x\"\ncolour = \"red\"\n");
    assert_has(
        &run,
        ".keyfence.toml:6: invalid TOML: unknown field `colour`",
    );
}

#[test]
fn invalid_regex_names_rule_and_the_regex_line() {
    let run = scan_with_config(
        "# mine\n[[rules]]\nid = \"my-rule\"\ndescription = \"d\"\n\nregex = '''tok_(unclosed'''\n",
    );
    assert_has(
        &run,
        ".keyfence.toml:6: rule `my-rule`: invalid regex: unclosed group",
    );
    assert_has(&run, "at character 5 of the pattern");
}

#[test]
fn regex_over_the_size_limit_is_a_clear_error() {
    let run = scan_with_config(
        "[[rules]]\nid = \"huge\"\ndescription = \"d\"\nregex = '''\\w{1000}{1000}'''\n",
    );
    assert_has(
        &run,
        ".keyfence.toml:4: rule `huge`: invalid regex: compiled size exceeds the limit of 8 MiB",
    );
}

#[test]
fn regex_whose_lazy_dfa_would_blow_up_still_scans_within_limits() {
    // Compiles under the size limit, but its DFA is exponential: the lazy DFA's cache is capped
    // (DFA_SIZE_LIMIT) and the regex crate falls back to slower engines, not to more memory.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("line {i} ab{}\n", "ab".repeat(40)));
    }
    write(dir.path(), "a.txt", &text);
    write(
        dir.path(),
        ".keyfence.toml",
        "[[rules]]\nid = \"dfa\"\ndescription = \"d\"\nregex = '''[ab]*a[ab]{18}x'''\n",
    );
    let run = scan_json(dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn duplicate_rule_ids_in_one_pack_name_both_lines() {
    let run = scan_with_config(
        "[[rules]]\nid = \"twice\"\ndescription = \"a\"\nregex = 'a'\n\n[[rules]]\nid = \"twice\"\ndescription = \"b\"\nregex = 'b'\n",
    );
    assert_has(
        &run,
        ".keyfence.toml:6: rule `twice`: duplicate rule id (first defined on line 1)",
    );
}

#[test]
fn invalid_allowlist_regex_is_located_and_not_echoed() {
    let key = keys(2).id;
    let run = scan_with_config(&format!(
        "# allow our test key\n[allowlist]\nregexes = ['''ok''', '''{key}(''']\n"
    ));
    assert_has(
        &run,
        ".keyfence.toml:2: allowlist regexes[1]: invalid regex: unclosed group",
    );
    assert!(
        !run.stderr.contains(&key),
        "the key is echoed:\n{}",
        run.stderr
    );
}

#[test]
fn invalid_rule_allowlist_regex_names_the_rule() {
    let key = keys(3).id;
    let run = scan_with_config(&format!(
        "[[rules]]\nid = \"aws-access-key-id\"\n[rules.allowlist]\nregexes = ['''[{key}''']\n"
    ));
    assert_has(
        &run,
        ".keyfence.toml:1: rule `aws-access-key-id`: allowlist regexes[0]: invalid regex",
    );
    assert!(
        !run.stderr.contains(&key),
        "the key is echoed:\n{}",
        run.stderr
    );
}

#[test]
fn a_key_pasted_into_a_typed_field_is_redacted_in_the_error() {
    let key = keys(4).id;
    let run = scan_with_config(&format!(
        "[[rules]]\nid = \"aws-access-key-id\"\nenabled = \"{key}\"\n"
    ));
    assert_has(
        &run,
        ".keyfence.toml:3: invalid TOML: invalid type: string \"AKIA…",
    );
    assert!(
        !run.stderr.contains(&key),
        "the key is echoed:\n{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_config_that_is_a_fifo_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("cfg.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let run = run_in(dir.path(), &["scan", ".", "--config", "cfg.toml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cfg.toml: not a regular file"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_huge_config_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join("big.toml")).unwrap();
    f.set_len(64 << 20).unwrap();
    let run = run_in(dir.path(), &["scan", "--config", "big.toml", "big.toml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("big.toml: larger than 8 MiB"),
        "{}",
        run.stderr
    );
}

/// A keyword longer than any match of its rule (a new rule's, or one a config adds to a shipped
/// rule) crashed the windowed search (exit 101) wherever that keyword occurred; its hits can
/// never be inside a match, so they are ignored and the scan goes on.
#[test]
fn a_keyword_longer_than_any_match_of_its_rule_neither_crashes_nor_hides_a_match() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".keyfence.toml",
        "[[rules]]\nid = \"layout-key\"\ndescription = \"x\"\nregex = '''key[0-9]{4}'''\n\
         keywords = [\"key\", \"keyboard_layout_name\"]\nseverity = \"low\"\n\n\
         [[rules]]\nid = \"aws-access-key-id\"\nkeywords = [\"akia\", \"asia\", \"abia\", \"acca\", \
         \"a3t\", \"aws_access_key_id_for_prod\"]\n",
    );
    write(
        dir.path(),
        "notes.txt",
        "xx keyboard_layout_name yy key1234\nAWS_ACCESS_KEY_ID_FOR_PROD=1\n",
    );
    let run = run_in(
        dir.path(),
        &["scan", ".", "--format", "json", "--no-redact"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found: Vec<String> = run
        .json()
        .iter()
        .map(|f| format!("{} {}", f["rule_id"], f["secret"]))
        .collect();
    assert_eq!(found, ["\"layout-key\" \"key1234\""], "{}", run.stderr);
}
