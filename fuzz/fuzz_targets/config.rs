//! Arbitrary TOML text as a rule pack and as a user config on top of the shipped packs: loading
//! must give a rule set or a `ConfigError` naming a line, never a panic or an unbounded build.
#![no_main]

use std::path::PathBuf;

use keyfence::engine::Engine;
use keyfence::finding::SourceKind;
use keyfence::pipeline;
use keyfence::rules::{PackText, RuleSetBuilder};
use libfuzzer_sys::fuzz_target;

const PROBE: &[u8] = b"aws_access_key_id = AKIA2345ABCD6789WXYZ\nsecret = 'x'\ntoken: y\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pack = PackText {
        file: PathBuf::from("fuzz.toml"),
        text,
    };
    // Alone first: when that does not even parse, on top of the shipped packs it will not either.
    // Building the ~100 shipped rules costs ~0.3 s, so the input goes over them only when it
    // touches them (an override of a shipped id, or `disabled_rules`); else ~4 execs/s.
    let touches_defaults = text.contains("disabled_rules") || text.contains("aws-");
    for with_defaults in [false, true] {
        if with_defaults && !touches_defaults {
            return;
        }
        let mut builder = if with_defaults {
            RuleSetBuilder::with_defaults().unwrap()
        } else {
            RuleSetBuilder::default()
        };
        if let Err(e) = builder.add_pack(&pack) {
            let msg = e.to_string();
            assert!(
                msg.starts_with("fuzz.toml:"),
                "error names the file and line: {msg}"
            );
            return;
        }
        if let Ok(rules) = builder.build() {
            // Whatever compiled must also run.
            let engine = Engine::new(rules);
            let _ = pipeline::scan_bytes(&engine, PROBE, Some("a/b.tf"), SourceKind::File);
            let _ = pipeline::scan_bytes(&engine, text.as_bytes(), None, SourceKind::File);
        }
    }
});
