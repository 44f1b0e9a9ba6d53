//! The keyword prefilter (a hashed three-byte window pass, with an AVX-512 first pass where the
//! CPU has one) must pick exactly the rules whose keywords occur: checked through the real binary
//! against a naive search, one keyword at a time, on generated files full of every shipped
//! keyword in mixed case, cut up, glued to each other and placed across 64-byte block edges.
//! Speed is measured by `bench/packs.sh`, never asserted here.

use std::collections::BTreeSet;
use std::path::Path;

/// Every keyword of the shipped packs, lowercase, without repeats.
fn shipped_keywords() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let rules = keyfence::rules::RuleSet::defaults().expect("the shipped packs load");
    for rule in &rules.rules {
        for kw in &rule.keywords {
            let kw = kw.to_ascii_lowercase();
            if !out.contains(&kw) {
                out.push(kw);
            }
        }
    }
    out
}

/// True when an occurrence of `a` and one of `b` could share bytes, or one hold the other: such
/// keywords go to different runs, since overlapping matches of two rules are reported once.
fn can_overlap(a: &[u8], b: &[u8]) -> bool {
    let (la, lb) = (a.len() as isize, b.len() as isize);
    (1 - lb..la).any(|d| {
        let (lo, hi) = (d.max(0), (d + lb).min(la));
        (lo..hi).all(|i| a[i as usize] == b[(i - d) as usize])
    })
}

/// Keywords split into groups whose members never overlap one another.
fn batches(keywords: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for kw in keywords {
        let fits = |b: &Vec<String>| b.iter().all(|o| !can_overlap(kw.as_bytes(), o.as_bytes()));
        match out.iter_mut().find(|b| fits(b)) {
            Some(b) => b.push(kw.clone()),
            None => out.push(vec![kw.clone()]),
        }
    }
    out
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A file of keywords (whole or cut), in random case, glued directly or with separators; its
/// length lands on and around the 64-byte steps of the wide pass.
fn generated_file(rng: &mut Rng, keywords: &[String]) -> Vec<u8> {
    let target = [0, 2, 3, 63, 64, 65, 66, 67, 129, 130, 131, 700, 3000][rng.below(13)];
    let mut out = Vec::new();
    while out.len() < target {
        let kw = keywords[rng.below(keywords.len())].as_bytes();
        let piece = match rng.below(4) {
            0 => &kw[..rng.below(kw.len() + 1)],
            1 => &kw[rng.below(kw.len() + 1)..],
            _ => kw,
        };
        out.extend(piece.iter().map(|&b| match rng.below(3) {
            0 => b.to_ascii_uppercase(),
            _ => b,
        }));
        match rng.below(6) {
            0 => out.push(b' '),
            1 => out.push(b'\n'),
            2 => {
                let glue = b"_-.:=\"'~*@`\x7f";
                out.push(glue[rng.below(glue.len())]);
            }
            _ => {}
        }
    }
    out.truncate(target);
    out
}

/// The config of one run: one rule per keyword, whose regex is the keyword itself.
fn config(batch: &[String]) -> String {
    let mut out = String::from("extend_default = false\n");
    for (i, kw) in batch.iter().enumerate() {
        let regex = format!("(?i){}", regex::escape(kw));
        out.push_str(&format!(
            "[[rules]]\nid = \"kw-{i}\"\ndescription = \"keyword {i}\"\nseverity = \"low\"\n\
             regex = {}\nkeywords = [{}]\n",
            toml::Value::String(regex),
            toml::Value::String(kw.clone())
        ));
    }
    out
}

fn found_by_keyfence(dir: &Path, config: &Path) -> BTreeSet<(String, String)> {
    let out = crate::fixture::keyfence()
        .args(["scan", ".", "--format", "json", "--no-progress", "--config"])
        .arg(config)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let file = file.trim_start_matches("./").to_string();
            (file, f["rule_id"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn every_shipped_keyword_is_found_exactly_where_a_naive_search_finds_it() {
    let keywords = shipped_keywords();
    assert!(keywords.len() > 300, "{} keywords", keywords.len());
    let tree = tempfile::tempdir().unwrap();
    let files = tree.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let mut rng = Rng(0x005e_ed0f_7e57_ab1e);
    let contents: Vec<(String, Vec<u8>)> = (0..120)
        .map(|n| (format!("f{n:03}.txt"), generated_file(&mut rng, &keywords)))
        .collect();
    for (name, bytes) in &contents {
        std::fs::write(files.join(name), bytes).unwrap();
    }
    let groups = batches(&keywords);
    let mut checked = 0;
    for (g, batch) in groups.iter().enumerate() {
        let cfg = tree.path().join(format!("batch{g}.toml"));
        std::fs::write(&cfg, config(batch)).unwrap();
        let mut want = BTreeSet::new();
        for (name, bytes) in &contents {
            let lower = bytes.to_ascii_lowercase();
            for (i, kw) in batch.iter().enumerate() {
                if memchr::memmem::find(&lower, kw.as_bytes()).is_some() {
                    want.insert((name.clone(), format!("kw-{i}")));
                }
            }
        }
        checked += want.len();
        assert_eq!(
            found_by_keyfence(&files, &cfg),
            want,
            "batch {g}: {batch:?}"
        );
    }
    // The generated files hold most keywords somewhere, so the comparison is not vacuous.
    assert!(checked > 1000, "only {checked} (file, keyword) pairs");
}
