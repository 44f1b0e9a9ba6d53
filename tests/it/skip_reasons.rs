//! The scan summary counts every reason a file went unread (gitignored, allowlisted by path,
//! over --max-file-size, symlinks) and names binary files, so "0 findings" never hides a skipped
//! file; `-v` lists each skipped path with its reason. Real binary, real temp trees.

use std::path::Path;

use crate::fixture::*;

/// A tree where every key sits in a file the scan skips: under a gitignored directory (with many
/// files), in a gitignored `*.log`, under an allowlisted path, and in an oversize file. Plus a
/// binary file and one clean file.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let k = keys(1401);
    write(d, ".gitignore", "build/\n*.log\n");
    for i in 0..40 {
        write(d, &format!("build/out/{i}.txt"), format!("id = {}\n", k.id));
    }
    write(d, "app.log", format!("aws_access_key_id = {}\n", k.id));
    write(
        d,
        "vendor/keys.txt",
        format!("aws_access_key_id = {}\n", k.id),
    );
    write(
        d,
        ".keyfence.toml",
        "[allowlist]\npaths = [\"vendor/**\"]\n",
    );
    let mut big = format!("aws_access_key_id = {}\n", k.id).into_bytes();
    big.resize(4000, b'#');
    write(d, "big.txt", big);
    write(d, "logo.bin", b"\x00\x01\x02PNG-ish\x00");
    write(d, "main.tf", "variable \"region\" {}\n");
    dir
}

fn summary(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.contains("scanned "))
        .unwrap_or_else(|| panic!("no summary line:\n{stderr}"))
}

fn scan(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["scan", ".", "--no-progress", "--max-file-size", "1000"];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

#[test]
fn zero_findings_summary_counts_every_skip_reason() {
    let dir = tree();
    let run = scan(dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = summary(&run.stderr);
    assert!(line.contains(": 0 findings"), "{line}");
    // The ignored directory counts once, where the walk pruned it: its 40 files are never read.
    assert!(
        line.contains("skipped 2 gitignored, 1 allowlisted, 1 over --max-file-size"),
        "{line}"
    );
    assert!(
        line.contains("1 binary (scanned for AWS and private keys only)"),
        "{line}"
    );
    // .gitignore, .keyfence.toml, logo.bin, main.tf: the allowlisted file is not "scanned".
    assert!(line.contains("scanned 4 files"), "{line}");
    assert!(line.ends_with("(-v lists them)"), "{line}");
    // Without -v the paths are not listed.
    assert!(!run.stderr.contains("skipped build/"), "{}", run.stderr);
}

#[test]
fn verbose_lists_each_skipped_path_with_its_reason() {
    let dir = tree();
    for flag in ["-v", "--verbose"] {
        let run = scan(dir.path(), &[flag]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let err = &run.stderr;
        for want in [
            "skipped app.log: gitignored",
            "skipped build/: gitignored",
            "skipped vendor/keys.txt: allowlisted by path",
            "skipped big.txt: 4.0 KB is over --max-file-size",
            "binary logo.bin: scanned for AWS and private keys only",
        ] {
            assert!(err.contains(want), "{flag}: {want:?} missing:\n{err}");
        }
        // Only the pruned directory is named, not what is inside it.
        assert!(!err.contains("build/out"), "{err}");
        let skipped = err.lines().filter(|l| l.contains(": skipped ")).count();
        assert_eq!(skipped, 4, "{err}");
        assert!(!summary(err).contains("-v lists them"));
    }
}

#[test]
fn no_ignore_reads_the_ignored_files_and_counts_none() {
    let dir = tree();
    let run = scan(dir.path(), &["--no-ignore", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let files: Vec<String> = run.places().into_iter().map(|p| p.0).collect();
    assert!(files.iter().any(|f| f == "app.log"), "{files:?}");
    assert_eq!(files.iter().filter(|f| f.starts_with("build/")).count(), 40);
    let line = summary(&run.stderr);
    assert!(!line.contains("gitignored"), "{line}");
    assert!(line.contains("skipped 1 allowlisted, 1 over --max-file-size"));
}

#[test]
fn a_symlink_is_counted_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "nothing\n");
    std::os::unix::fs::symlink("a.txt", dir.path().join("link.txt")).unwrap();
    let run = scan(dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        summary(&run.stderr).contains("skipped 1 symlink or special file (-v lists them)"),
        "{}",
        run.stderr
    );
    let run = scan(dir.path(), &["-v"]);
    assert!(
        run.stderr
            .contains("skipped link.txt: symlink or special file"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_clean_tree_with_nothing_skipped_says_nothing_about_skips() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "nothing\n");
    write(dir.path(), "b/c.txt", "nothing\n");
    let run = scan(dir.path(), &["-v"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = summary(&run.stderr);
    assert!(!line.contains("skipped"), "{line}");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}
