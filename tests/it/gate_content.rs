//! Content every gate must see through: keys in binary and BOM-less UTF-16 blobs, a tree entry
//! that names a tree, and hostile sizes (a line of 40,000 keys, a message of 20,000 key pairs).
//! Moved from gate_holes.rs, assertions unchanged.

use crate::fixture::{bare_server, key, sources, Sandbox, AKID};
use keyfence::rules::placeholder::Generator;

// 5. Binary content holds keys too.

fn binary_with(k: &str) -> Vec<u8> {
    let mut bytes = vec![0u8, 1, 2, 3, 0xff, 0xfe, 0, 0];
    bytes.extend_from_slice(format!("aws_access_key_id={k}").as_bytes());
    bytes.extend_from_slice(&[0, 0, 7, 0x80, 0x81]);
    bytes
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

#[test]
fn keys_in_binary_and_bomless_utf16_content_are_found_at_every_gate() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("README", "hi\n");
    r.commit("init");
    r.write_bytes("tool.bin", &binary_with(&key(50)));
    r.git(&["add", "tool.bin"]);
    let run = r.keyfence(&["protect", "--staged", "--format", "json"]);
    run.expect(1);
    let found = sources(&run);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0.as_deref(), Some("tool.bin"));
    assert_eq!(found[0].2, AKID);
    r.git(&["reset", "-q"]);
    std::fs::remove_file(r.path.join("tool.bin")).unwrap();

    // UTF-16LE without a BOM.
    r.write_bytes(
        "creds.ini",
        &utf16le(&format!("[default]\r\naws_access_key_id = {}\r\n", key(51))),
    );
    let run = r.keyfence(&["scan", "creds.ini", "--format", "json"]);
    run.expect(1);
    assert!(
        sources(&run)
            .iter()
            .any(|f| f.0.as_deref().is_some_and(|p| p.ends_with("creds.ini")) && f.2 == AKID),
        "{}",
        run.stdout
    );
    r.git(&["add", "creds.ini"]);
    r.keyfence(&["protect", "--staged"]).expect(1);
    r.git(&["reset", "-q"]);
    std::fs::remove_file(r.path.join("creds.ini")).unwrap();

    // Pushed to a server: rejected.
    let server = bare_server(&sb, "server.git", &[]);
    r.git(&["remote", "add", "origin", server.path.to_str().unwrap()]);
    assert!(r.push(&["-q", "origin", "main"]).0);
    r.write_bytes("tool.bin", &binary_with(&key(52)));
    r.commit("binary");
    let (ok, said) = r.push(&["origin", "main"]);
    assert!(!ok, "{said}");
    assert!(said.contains("tool.bin"), "{said}");
}

// 6. A tree entry that names a tree as a file: damaged, not clean.

#[test]
fn a_file_entry_naming_a_tree_is_an_error_not_a_pass() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("README", "hi\n");
    let base = r.commit("init");
    let tree = r.git(&["rev-parse", "HEAD^{tree}"]);
    // `git mktree` refuses this, so the tree object is written by hand.
    let mut raw = b"100644 x\0".to_vec();
    raw.extend((0..20).map(|i| u8::from_str_radix(&tree[2 * i..2 * i + 2], 16).unwrap()));
    let file = sb.path().join("tree.raw");
    std::fs::write(&file, &raw).unwrap();
    let bad_tree = r.git(&[
        "hash-object",
        "-t",
        "tree",
        "--literally",
        "-w",
        file.to_str().unwrap(),
    ]);
    let bad = r.git(&["commit-tree", &bad_tree, "-p", &base, "-m", "damaged"]);
    r.git(&["update-ref", "refs/heads/main", &bad]);

    let run = r.keyfence(&["history"]);
    run.expect(2);
    assert!(run.stderr.contains("is a tree"), "{}", run.stderr);
    let range = format!("{base}..{bad}");
    let run = r.keyfence(&["history", &range, "--added-only"]);
    run.expect(2);
    assert!(run.stderr.contains("damaged"), "{}", run.stderr);
    let input = format!("{base} {bad} refs/heads/main\n");
    r.keyfence_in(&r.path, &["hook", "pre-receive"], Some(&input))
        .expect(2);
}

// 7, 8. Hostile lines and messages finish, capped.

/// 40 000 key IDs on one line (a handful of generated keys, repeated).
fn hostile_line() -> String {
    let keys: Vec<String> = (0..8).map(|i| key(60 + i)).collect();
    let mut line = String::from("keys = ");
    for i in 0..40_000 {
        line.push_str(&keys[i % keys.len()]);
        line.push(if i % 2 == 0 { ',' } else { ' ' });
    }
    line.push('\n');
    line
}

#[test]
fn one_line_of_forty_thousand_keys_is_scanned_and_capped() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("README", "hi\n");
    r.commit("init");
    r.write("hostile.txt", &hostile_line());
    let run = r.keyfence(&["scan", "hostile.txt", "--format", "json"]);
    run.expect(1);
    assert_eq!(run.json().len(), 1000);
    assert!(run.stderr.contains("over 1000 findings"), "{}", run.stderr);

    let server = bare_server(&sb, "server.git", &[]);
    r.git(&["remote", "add", "origin", server.path.to_str().unwrap()]);
    assert!(r.push(&["-q", "origin", "main"]).0);
    r.commit("hostile");
    let (ok, said) = r.push(&["origin", "main"]);
    assert!(!ok, "{said}");
    assert!(said.contains("hostile.txt:1"), "{said}");
}

#[test]
fn a_commit_message_of_twenty_thousand_key_pairs_is_capped() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    let mut gen = Generator::new(77);
    let mut msg = String::from("hostile\n\n");
    for _ in 0..20_000 {
        let id = gen.aws_key_id("AKIA");
        let secret = gen.aws_secret();
        msg.push_str(&format!(
            "aws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
        ));
    }
    let file = sb.path().join("msg.txt");
    std::fs::write(&file, &msg).unwrap();
    r.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-F",
        file.to_str().unwrap(),
    ]);
    let run = r.keyfence(&["history", "--format", "json"]);
    run.expect(1);
    let n = run
        .json()
        .iter()
        .filter(|f| f["source"] == "commit-message")
        .count();
    assert!(n > 0 && n <= 1000, "{n} findings in the message");
    assert!(run.stderr.contains("over 1000 findings"), "{}", run.stderr);
}

#[test]
fn a_staged_file_over_the_findings_cap_whose_kept_findings_are_all_allowed_fails_closed() {
    // 1,000 pairs whose key-ID lines carry an inline marker fill the per-blob findings cap (the
    // secret halves count; each pair is then allowed by its marker), so the unmarked pair after
    // them is only counted, never judged: the gate must not pass the file.
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("README", "hi\n");
    r.commit("init");
    let mut text = String::new();
    for seed in 0..1_000 {
        let k = crate::fixture::keys(10_000 + seed);
        text.push_str(&format!(
            "aws_access_key_id = {} # keyfence:allow\naws_secret_access_key = {}\n",
            k.id, k.secret
        ));
    }
    let new = crate::fixture::keys(99);
    text.push_str(&format!(
        "aws_access_key_id = {}\naws_secret_access_key = {}\n",
        new.id, new.secret
    ));
    r.write("fixtures/many.env", &text);
    r.git(&["add", "fixtures/many.env"]);
    let run = r.keyfence(&["protect", "--staged"]);
    run.expect(2);
    assert!(
        run.stderr.contains("fixtures/many.env: over 1000 matches")
            && run.stderr.contains("cannot vouch"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&new.secret) && !run.stdout.contains(&new.secret));
}
