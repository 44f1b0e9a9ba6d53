//! git's hook input (pre-push and pre-receive stdin) through the pure parsers: any text either
//! parses into updates with well-formed object ids or gives an error naming a line of the input.
#![no_main]

use keyfence::hook::{parse_pre_push, parse_pre_receive, Action};
use libfuzzer_sys::fuzz_target;

fn check_error_line(text: &str, line: usize) {
    assert!(
        line >= 1 && line <= text.lines().count().max(1),
        "line {line} is in the input"
    );
}

fuzz_target!(|data: &[u8]| {
    // git writes ASCII; the command reads stdin as UTF-8 and rejects anything else before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_pre_push(text) {
        Ok(updates) => {
            for u in &updates {
                assert!(matches!(u.local.as_str().len(), 40 | 64));
                assert!(matches!(u.remote.as_str().len(), 40 | 64));
                if let Action::Range { base, tip } = u.action() {
                    assert!(!base.is_zero() && !tip.is_zero());
                }
            }
        }
        Err(e) => check_error_line(text, e.line),
    }
    match parse_pre_receive(text) {
        Ok(updates) => {
            for u in &updates {
                assert!(matches!(u.old.as_str().len(), 40 | 64));
                assert!(!u.refname.is_empty());
                let _ = u.action();
            }
        }
        Err(e) => check_error_line(text, e.line),
    }
});
