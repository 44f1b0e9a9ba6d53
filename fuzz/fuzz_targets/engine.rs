//! Arbitrary bytes through the whole per-blob pipeline with every shipped rule: decode (UTF-16,
//! BOM, binary sniff), prefilter, regexes, entropy, allowlists, inline allows, line/column.
#![no_main]

use std::sync::OnceLock;

use keyfence::engine::Engine;
use keyfence::finding::SourceKind;
use keyfence::pipeline;
use keyfence::rules::RuleSet;
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(RuleSet::defaults().expect("shipped packs load")))
}

fuzz_target!(|data: &[u8]| {
    let engine = engine();
    // With a path (rules restricted by `paths`, e.g. tfstate, take part) and without.
    for path in [Some("terraform.tfstate"), None] {
        let out = pipeline::scan_bytes(engine, data, path, SourceKind::File);
        if out.binary {
            assert!(out.findings.is_empty());
        }
        for f in &out.findings {
            assert!(f.line >= 1 && f.column >= 1, "positions are 1-based: {f:?}");
            assert!(
                (f.line, f.column) <= (f.end_line, f.end_column),
                "a finding ends after it starts: {f:?}"
            );
            assert!(!f.secret.is_empty());
            assert_eq!(f.fingerprint.len(), 64);
        }
    }
});
