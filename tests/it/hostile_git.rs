//! Awkward repositories: corrupt objects, a lost packfile, shallow clones, submodules, bare
//! repositories, an unborn HEAD, a detached HEAD, paths with spaces and non-ASCII characters.
//! Broken repositories fail closed (exit 2, naming what is wrong); odd but sound ones scan.

use crate::fixture::{at, key, Repo, Run, Sandbox};

fn json(r: &Repo, args: &[&str]) -> Run {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let run = r.keyfence(&a);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// A repository with a key in a.txt (first commit) and a clean second commit.
fn two_commits(sb: &Sandbox, name: &str, seed: u64) -> (Repo, String) {
    let r = sb.repo(name);
    r.write("a.txt", &format!("k = {}\n", key(seed)));
    let c1 = r.commit("one");
    r.write("b.txt", "b\n");
    r.commit("two");
    (r, c1)
}

#[test]
fn a_corrupt_loose_object_fails_closed_naming_it() {
    let sb = Sandbox::new();
    let (r, _) = two_commits(&sb, "r", 1);
    let blob = r.git(&["rev-parse", "HEAD:a.txt"]);
    let path = r
        .path
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(&path, b"not zlib at all").unwrap();
    let run = json(&r, &["history"]);
    run.expect(2);
    // Named before libgit2 reads it (a damaged loose object can hang libgit2).
    assert!(
        run.stderr.contains(&format!("object {blob} is damaged")),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn a_lost_packfile_fails_closed_instead_of_reporting_clean() {
    let sb = Sandbox::new();
    let (r, _) = two_commits(&sb, "r", 2);
    r.git(&["repack", "-q", "-a", "-d"]);
    for e in std::fs::read_dir(r.path.join(".git/objects/pack")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pack") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let run = json(&r, &["history"]);
    run.expect(2);
    assert!(
        run.stderr
            .contains("refs/heads/main points at an object missing from the repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_shallow_clone_scans_what_it_has_and_says_so() {
    let sb = Sandbox::new();
    let (r, _) = two_commits(&sb, "r", 3);
    let url = format!("file://{}", r.path.display());
    sb.git(&["clone", "-q", "--depth", "1", &url, "shallow"]);
    let sh = sb.at("shallow");
    let head = sh.head();
    let run = json(&sh, &["history"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("a.txt", 1, Some(&head))]);
    assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
}

#[test]
fn submodules_are_not_entered_by_history_but_their_checkout_is_scanned() {
    let sb = Sandbox::new();
    let (_, _) = two_commits(&sb, "sub", 4);
    let sup = sb.repo("sup");
    sup.write("x.txt", "x\n");
    sup.commit("x");
    sup.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        "../sub",
        "sm",
    ]);
    sup.commit("add submodule");
    // History: the superproject holds only a gitlink; the submodule is its own repository.
    let run = json(&sup, &["history"]);
    run.expect(0);
    // A directory scan sees the checked-out files.
    let run = json(&sup, &["scan", "."]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("sm/a.txt", 1, None)]);
    // The staged gitlink itself is no file to scan.
    let run = json(&sup, &["protect"]);
    run.expect(0);
}

#[test]
fn a_bare_repository_scans_and_protect_fails_closed() {
    let sb = Sandbox::new();
    let (r, c1) = two_commits(&sb, "r", 5);
    sb.git(&[
        "clone",
        "-q",
        "--bare",
        r.path.to_str().unwrap(),
        "bare.git",
    ]);
    let bare = sb.at("bare.git");
    let run = json(&bare, &["history"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("a.txt", 1, Some(&c1))]);
    let run = json(&bare, &["protect"]);
    run.expect(2);
}

#[test]
fn an_unborn_head_is_clean_history_and_a_staged_key_still_blocks() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    let run = json(&r, &["history"]);
    run.expect(0);
    r.write("a.txt", &format!("k = {}\n", key(6)));
    r.git(&["add", "a.txt"]);
    let run = json(&r, &["protect"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("a.txt", 1, None)]);
}

#[test]
fn a_detached_head_is_scanned_like_any_other() {
    let sb = Sandbox::new();
    let (r, c1) = two_commits(&sb, "r", 7);
    r.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    r.write("c.txt", &format!("z = {}\n", key(8)));
    let c3 = r.commit("detached work");
    r.git(&["checkout", "-q", "main"]);
    r.git(&["checkout", "-q", "--detach", &c3]);
    let run = json(&r, &["history"]);
    run.expect(1);
    assert_eq!(
        run.seen(),
        vec![at("a.txt", 1, Some(&c1)), at("c.txt", 1, Some(&c3))]
    );
    r.write("d.txt", &format!("z = {}\n", key(9)));
    r.git(&["add", "d.txt"]);
    let run = json(&r, &["protect"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("d.txt", 1, None)]);
}

#[test]
fn repository_paths_with_spaces_and_unicode() {
    let sb = Sandbox::new();
    let r = sb.repo("my repos/ünï cødé ✓");
    r.write(
        "dir with space/ключ.env",
        &format!("\nAWS_ACCESS_KEY_ID={}\n", key(10)),
    );
    let c = r.commit("add");
    let run = json(&r, &["history"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("dir with space/ключ.env", 2, Some(&c))]);
    let run = r.keyfence_in(
        sb.path(),
        &[
            "history",
            "--repo",
            "my repos/ünï cødé ✓",
            "--format",
            "json",
        ],
        None,
    );
    run.expect(1);
    let run = r.keyfence_in(
        sb.path(),
        &["scan", "my repos/ünï cødé ✓", "--format", "json"],
        None,
    );
    run.expect(1);
}

#[test]
fn a_new_key_behind_thousands_of_old_ones_is_not_hidden_by_the_cap() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    let mut gen = keyfence::rules::placeholder::Generator::new(11);
    let mut text = String::new();
    for _ in 0..1500 {
        text.push_str(&format!("k={}\n", gen.aws_key_id("AKIA")));
    }
    r.write("keys.txt", &text);
    r.commit("a dump of old keys");
    let new = gen.aws_key_id("AKIA");
    text.push_str(&format!("k={new}\n"));
    r.write("keys.txt", &text);
    r.git(&["add", "keys.txt"]);
    // Pre-commit: only the added line counts, however many old keys the file holds.
    let run = json(&r, &["protect"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("keys.txt", 1501, None)]);
    // The range gate likewise.
    let c = r.commit("one more");
    let run = json(&r, &["history", "HEAD~1..HEAD", "--added-only"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("keys.txt", 1501, Some(&c))]);
    // A full history scan keeps the first 1000 of each blob (two versions of keys.txt here),
    // and reports each secret once per path: both versions start with the same 1000 keys.
    let run = json(&r, &["history"]);
    run.expect(1);
    assert_eq!(run.json().len(), 1000);
    assert!(run.json().iter().all(|f| f["other_occurrences"] == 1));
    assert!(
        run.stderr
            .contains("2 blobs over 1000 findings, only their first 1000 reported"),
        "{}",
        run.stderr
    );
}
