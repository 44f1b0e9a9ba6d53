//! Directory-scan behaviour over awkward real input: encodings, line endings, long lines, binary,
//! ignore files, hidden files, `.git/`, stdin and size limits.

use crate::fixture::*;

const ID: &str = "aws-access-key-id";

#[test]
fn crlf_lines_report_right_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(1);
    let text = format!("a = 1\r\nb = 2\r\n  aws_access_key_id = {}\r\n", k.id);
    write(dir.path(), "c.ini", &text);
    let run = scan_json(dir.path(), &[]);
    assert_eq!(run.places(), vec![("c.ini".into(), 3, 23, ID.into())]);
    let f = &run.json()[0];
    assert_eq!(f["end_column"], 43);
}

#[test]
fn non_utf8_content_is_scanned_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(3);
    let mut bytes = b"caf\xe9 \xff\xfe\xfd latin-1 text\n".to_vec();
    bytes.extend(format!("id={}\n", k.id).as_bytes());
    write(dir.path(), "latin1.txt", bytes);
    let run = scan_json(dir.path(), &[]);
    assert_eq!(run.places(), vec![("latin1.txt".into(), 2, 4, ID.into())]);
}

#[test]
fn a_ten_megabyte_single_line_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(4);
    let mut line = "var a=function(){return 1};".repeat(400_000);
    let col = line.chars().count() as u64 + 1;
    line.push_str(&k.id);
    line.push_str(";var b=2;");
    assert!(line.len() > 10_000_000);
    write(dir.path(), "bundle.min.js", &line);
    let run = scan_json(dir.path(), &[]);
    assert_eq!(
        run.places(),
        vec![("bundle.min.js".into(), 1, col, ID.into())]
    );
}

#[test]
fn binary_files_are_scanned_for_keys_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(5);
    let mut bin = vec![0u8, 1, 2, 3, 0, 0];
    bin.extend(k.id.as_bytes());
    write(dir.path(), "image.bin", bin);
    write(dir.path(), "ok.txt", "nothing here\n");
    let run = scan_json(dir.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = run.json();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["file"], "image.bin");
    assert_eq!(found[0]["rule_id"], "aws-access-key-id");
    assert!(run.stderr.contains("scanned 2 files"), "{}", run.stderr);
    assert!(run.stderr.contains("1 binary"), "{}", run.stderr);
}

#[test]
fn gitignored_files_are_skipped_unless_no_ignore_hidden_files_are_scanned_git_dir_never() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b, c, e) = (keys(6), keys(7), keys(8), keys(9));
    write(d, ".gitignore", "build/\n*.log\n");
    write(d, "build/out.txt", format!("k={}\n", a.id));
    write(d, "debug.log", format!("k={}\n", b.id));
    write(d, ".env", format!("AWS_ACCESS_KEY_ID={}\n", c.id));
    write(d, ".git/config", format!("k={}\n", e.id));
    write(d, ".git/objects/ab/cdef", format!("k={}\n", e.id));
    let run = scan_json(d, &[]);
    assert_eq!(run.places(), vec![(".env".into(), 1, 19, ID.into())]);

    let all = scan_json(d, &["--no-ignore"]);
    assert_eq!(
        all.places(),
        vec![
            (".env".into(), 1, 19, ID.into()),
            ("build/out.txt".into(), 1, 3, ID.into()),
            ("debug.log".into(), 1, 3, ID.into()),
        ]
    );

    write(d, ".ignore", ".env\n");
    assert!(scan_json(d, &[]).json().is_empty());
}

#[test]
fn single_files_stdin_and_several_paths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b) = (keys(10), keys(11));
    write(d, "one/a.txt", format!("k={}\n", a.id));
    write(d, "two/b.txt", format!("\nk={}\n", b.id));
    let run = run_in(d, &["scan", "one/a.txt", "two", "--format", "json"]);
    assert_eq!(
        run.places(),
        vec![
            ("one/a.txt".into(), 1, 3, ID.into()),
            ("two/b.txt".into(), 2, 3, ID.into())
        ]
    );

    let out = keyfence()
        .current_dir(d)
        .args(["scan", "-", "--format", "json"])
        .write_stdin(format!("x\ny\n  {}\n", a.id))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["file"], "<stdin>");
    assert_eq!(v[0]["line"], 3);
    assert_eq!(v[0]["column"], 3);
}

#[test]
fn max_file_size_skips_and_lists_with_verbose() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(12);
    write(
        dir.path(),
        "big.txt",
        format!("{}\nk={}\n", "x".repeat(5000), k.id),
    );
    write(dir.path(), "small.txt", format!("k={}\n", k.id));
    let run = scan_json(dir.path(), &["--max-file-size", "1K", "--verbose"]);
    assert_eq!(run.places(), vec![("small.txt".into(), 1, 3, ID.into())]);
    assert!(
        run.stderr.contains("1 over --max-file-size"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("skipped big.txt"), "{}", run.stderr);
}

#[test]
fn missing_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &["scan", "nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("nope: no such file or directory"),
        "{}",
        run.stderr
    );
}
