//! `keyfence history` (full audits and `--added-only` ranges) on real repositories.

use crate::fixture::{self, at, key, Sandbox, AKID};

const JSON: &[&str] = &["history", "--format", "json"];

fn history(r: &fixture::Repo, extra: &[&str]) -> fixture::Run {
    let mut args = JSON.to_vec();
    args.extend_from_slice(extra);
    r.keyfence(&args)
}

#[test]
fn secret_added_then_removed_is_found_in_the_commit_that_added_it() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "x\n");
    r.commit("init");
    r.write("a.txt", &format!("x\nk = {}\n", key(1)));
    let added = r.commit("add");
    r.write("a.txt", "x\n");
    r.commit("remove");
    let run = history(&r, &[]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("a.txt", 2, Some(&added))]);
    let f = &run.json()[0];
    assert_eq!(f["source"], "history");
    assert_eq!(f["message"], "add");
    assert_eq!(f["author"], "t");
    assert!(f["date"].as_str().unwrap().len() >= 25);
}

#[test]
fn side_branch_secret_is_attributed_to_the_side_commit_not_the_merge() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "x\n");
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("s.txt", &format!("k = {}\n", key(2)));
    let side = r.commit("side adds");
    r.git(&["checkout", "-q", "main"]);
    r.write("m.txt", "main\n");
    r.commit("main moves");
    r.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    r.git(&["branch", "-D", "side"]);
    let run = history(&r, &[]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("s.txt", 1, Some(&side))]);
}

#[test]
fn deleted_and_renamed_files_and_commit_messages() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("gone.txt", &format!("k = {}\n", key(3)));
    let c1 = r.commit("add gone");
    r.git(&["rm", "-q", "gone.txt"]);
    r.commit("delete");
    r.write("old.txt", &format!("a\nk = {}\n", key(4)));
    let c3 = r.commit("add old");
    r.git(&["mv", "old.txt", "new.txt"]);
    let c4 = r.commit("rename");
    r.write("n.txt", "n\n");
    let c5 = r.commit(&format!("tidy\n\nused {} for testing\n", key(5)));
    let run = history(&r, &[]);
    run.expect(1);
    // Same blob at two paths: one finding per path, each at the commit that put it there.
    assert_eq!(
        run.seen(),
        vec![
            (None, 3, AKID.to_string(), Some(c5)),
            at("gone.txt", 1, Some(&c1)),
            at("new.txt", 2, Some(&c4)),
            at("old.txt", 2, Some(&c3)),
        ]
    );
    let msg = run
        .json()
        .into_iter()
        .find(|f| f["file"].is_null())
        .unwrap();
    assert_eq!(msg["source"], "commit-message");
}

#[test]
fn the_same_blob_in_many_commits_is_one_finding() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    let leaky = format!("k = {}\n", key(6));
    r.write("a.txt", &leaky);
    let first = r.commit("add");
    for i in 0..3 {
        r.write("a.txt", &format!("clean {i}\n"));
        r.commit("clean");
        r.write("a.txt", &leaky);
        r.commit("back");
    }
    // The same secret in a different file (different blob) is a second finding.
    r.write("b.txt", &format!("other\nk = {}\n", key(6)));
    let b = r.commit("copy");
    let run = history(&r, &[]);
    run.expect(1);
    assert_eq!(
        run.seen(),
        vec![at("a.txt", 1, Some(&first)), at("b.txt", 2, Some(&b))]
    );
    let a = run
        .json()
        .into_iter()
        .find(|f| f["file"] == "a.txt")
        .unwrap();
    // Three more introductions at a.txt, and one at b.txt: each an occurrence of the secret.
    assert_eq!(a["other_occurrences"], 4);
    assert_eq!(a["occurrences"].as_array().unwrap().len(), 5);
}

#[test]
fn tags_only() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", "x\n");
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "rel"]);
    r.write("t.txt", &format!("k = {}\n", key(7)));
    let tagged = r.commit("tagged");
    r.git(&["tag", "-a", "v1", "-m", "v1"]);
    r.git(&["checkout", "-q", "main"]);
    r.git(&["branch", "-D", "rel"]);
    r.git(&["checkout", "-q", "-b", "wip"]);
    r.write("w.txt", &format!("k = {}\n", key(8)));
    let wip = r.commit("wip");
    let want_tag = vec![at("t.txt", 1, Some(&tagged))];
    assert_eq!(history(&r, &["v1"]).seen(), want_tag);
    assert_eq!(history(&r, &["--tags"]).seen(), want_tag);
    assert_eq!(
        history(&r, &[]).seen(),
        vec![at("t.txt", 1, Some(&tagged)), at("w.txt", 1, Some(&wip))]
    );
    assert_eq!(
        history(&r, &["v1..wip"]).seen(),
        vec![at("w.txt", 1, Some(&wip))]
    );
    assert_eq!(
        history(&r, &["wip", "^v1"]).seen(),
        vec![at("w.txt", 1, Some(&wip))]
    );
}

#[test]
fn bare_repositories_and_shallow_clones() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", &format!("k = {}\n", key(9)));
    let c1 = r.commit("one");
    r.write("b.txt", "b\n");
    r.commit("two");
    r.write("c.txt", &format!("k = {}\n", key(10)));
    let c3 = r.commit("three");

    sb.git(&["clone", "-q", "--bare", "r", "bare.git"]);
    let bare = sb.at("bare.git");
    let run = history(&bare, &[]);
    run.expect(1);
    assert_eq!(
        run.seen(),
        vec![at("a.txt", 1, Some(&c1)), at("c.txt", 1, Some(&c3))]
    );
    let run = r.keyfence_in(
        sb.path(),
        &["history", "--repo", "bare.git", "--format", "json"],
        None,
    );
    assert_eq!(run.seen().len(), 2);

    let url = format!("file://{}", r.path.display());
    sb.git(&["clone", "-q", "--depth", "1", &url, "shallow"]);
    let sh = sb.at("shallow");
    let run = history(&sh, &[]);
    run.expect(1);
    // Everything the boundary commit holds is attributed to it.
    assert_eq!(
        run.seen(),
        vec![at("a.txt", 1, Some(&c3)), at("c.txt", 1, Some(&c3))]
    );
    assert!(
        run.stderr.contains("shallow clone: history before"),
        "{}",
        run.stderr
    );
    // Ranges that need the missing history fail closed.
    let run = history(&sh, &["HEAD~1..HEAD", "--added-only"]);
    run.expect(2);
    assert!(run.stderr.contains("unknown revision"), "{}", run.stderr);
    let run = history(&sh, &["HEAD", "--added-only"]);
    run.expect(2);
    assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
}

/// main and side both change conf.txt; the merge resolves the conflict with a new secret.
fn conflict_resolved_with_a_secret(sb: &Sandbox) -> (fixture::Repo, String, String) {
    let r = sb.repo("r");
    r.write("conf.txt", "value = base\n");
    r.write("old.txt", &format!("k = {}\n", key(11)));
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("conf.txt", "value = side\n");
    r.commit("side");
    r.git(&["checkout", "-q", "main"]);
    r.write("conf.txt", "value = main\n");
    let before = r.commit("main");
    assert!(!r.git_output(&["merge", "-q", "side"]).status.success());
    r.write("conf.txt", &format!("value = merged\nkey = {}\n", key(12)));
    r.git(&["add", "conf.txt"]);
    r.git(&["commit", "-q", "--no-edit"]);
    let merge = r.head();
    (r, before, merge)
}

#[test]
fn a_secret_only_in_a_conflict_resolution_is_found() {
    let sb = Sandbox::new();
    let (r, before, merge) = conflict_resolved_with_a_secret(&sb);
    let base = r.git(&["rev-parse", "main~2"]);
    let run = history(&r, &[]);
    run.expect(1);
    assert_eq!(
        run.seen(),
        vec![
            at("conf.txt", 2, Some(&merge)),
            at("old.txt", 1, Some(&base))
        ]
    );
    // The range gate sees it too, and not the old secret.
    let run = history(&r, &[&format!("{before}..main"), "--added-only"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("conf.txt", 2, Some(&merge))]);
    assert_eq!(run.json()[0]["source"], "range");
}

#[test]
fn added_only_reports_lines_commits_add_not_old_ones() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", &format!("old = {}\n", key(13)));
    let base = r.commit("old");
    r.write("a.txt", &format!("old = {}\nmore\n", key(13)));
    r.commit("touch");
    r.write("b.txt", &format!("x\ny\nnew = {}\n", key(14)));
    let c3 = r.commit("new");
    let run = history(&r, &[&format!("{base}..HEAD"), "--added-only"]);
    run.expect(1);
    assert_eq!(run.seen(), vec![at("b.txt", 3, Some(&c3))]);
    // Commit messages in the range are scanned too.
    r.write("c.txt", "c\n");
    let c4 = r.commit(&format!("msg\n{}\n", key(15)));
    let run = history(&r, &[&format!("{c3}..HEAD"), "--added-only"]);
    assert_eq!(run.seen(), vec![(None, 2, AKID.to_string(), Some(c4))]);
}

#[test]
fn fail_closed_and_limits() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", &format!("k = {}\n{}\n", key(16), "z".repeat(2000)));
    r.commit("big");
    let run = history(&r, &["nope"]);
    run.expect(2);
    assert!(run.stderr.contains("unknown revision `nope`"));
    history(&r, &["HEAD..HEAD", "--added-only"]).expect(2);
    history(&r, &["HEAD..HEAD", "--added-only", "--allow-empty"]).expect(0);
    let run = history(&r, &["--max-file-size", "1K"]);
    run.expect(0);
    assert!(
        run.stderr.contains("1 over --max-file-size"),
        "{}",
        run.stderr
    );
    history(&r, &["--since", "2999-01-01"]).expect(0);
    history(&r, &["--since", "2000-01-01"]).expect(1);
    history(&r, &["--since", "someday"]).expect(2);
    let run = r.keyfence_in(
        sb.path(),
        &["history", "--repo", sb.path().to_str().unwrap()],
        None,
    );
    run.expect(2);
}

#[test]
fn history_baseline_and_unused_entries() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    r.write("a.txt", &format!("k = {}\n", key(17)));
    r.write("b.txt", &format!("k = {}\n", key(18)));
    r.commit("two");
    let base = sb.path().join("base.json");
    let b = base.to_str().unwrap();
    r.keyfence(&["baseline", "--history", "--output", b])
        .expect(0);
    let text = std::fs::read_to_string(&base).unwrap();
    assert!(
        !text.contains(&key(17)) && !text.contains("AKIA"),
        "no secrets in a baseline"
    );
    assert_eq!(text.matches("fingerprint").count(), 2);
    // Writing it again gives the same bytes.
    r.keyfence(&["baseline", "--history", "--output", b])
        .expect(0);
    assert_eq!(std::fs::read_to_string(&base).unwrap(), text);
    history(&r, &["--baseline", b]).expect(0);
    // A fixed secret leaves an unused entry; a new one is reported.
    r.write("b.txt", "clean\n");
    r.write("c.txt", &format!("k = {}\n", key(19)));
    let c = r.commit("fix b, add c");
    let run = r.keyfence(&[
        "scan",
        ".",
        "--format",
        "json",
        "--baseline",
        b,
        "--report-unused",
    ]);
    run.expect(1);
    assert_eq!(
        run.seen(),
        vec![(Some("c.txt".into()), 1, AKID.into(), None)]
    );
    assert_eq!(
        run.stderr.matches("unused baseline entry").count(),
        1,
        "{}",
        run.stderr
    );
    let run = history(&r, &["--baseline", b]);
    assert_eq!(run.seen(), vec![at("c.txt", 1, Some(&c))]);
}
