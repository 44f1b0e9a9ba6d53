//! Memory a scan needs is about the size of the largest file, not twice it: a 1 GB one-line file
//! took 2 GB (a read that grew by doubling, and a lowercased copy of the whole blob).

use crate::fixture::{self, BIN};

#[cfg(unix)]
#[test]
fn a_large_file_is_scanned_within_little_more_than_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.txt");
    let size: usize = 48 << 20;
    std::fs::write(&file, b"hello world ".repeat(size / 12)).unwrap();
    // Address space capped at ~2.2x the file: the old code needed over 2x plus the program.
    let limit_kib = (size / 1024) * 22 / 10;
    let out = fixture::command("sh", &fixture::test_home())
        .arg("-c")
        .arg(format!(
            "ulimit -v {limit_kib}; exec '{BIN}' scan '{}' --threads 1 --no-color",
            file.display()
        ))
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
