//! The suite stays one binary: a test file dropped into tests/ would be a second binary that
//! relinks libgit2, and one dropped into tests/it/ without a `mod` line would never compile or run.

use std::path::Path;

fn rust_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_test_file_is_a_module_of_the_one_binary() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    assert_eq!(
        rust_files(&tests),
        Vec::<String>::new(),
        "move each into tests/it/ and add `mod NAME;` to tests/it/main.rs"
    );
    let main = std::fs::read_to_string(tests.join("it/main.rs")).unwrap();
    for file in rust_files(&tests.join("it")) {
        let name = file.trim_end_matches(".rs");
        if name != "main" {
            assert!(
                main.lines().any(|l| l == format!("mod {name};")),
                "tests/it/{file} is not declared in tests/it/main.rs, so it never runs"
            );
        }
    }
}
