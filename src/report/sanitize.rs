//! Text that reaches a terminal: file names, commit authors and summaries, rule descriptions and
//! matched text come from the content being scanned (or from a repository's config), and a
//! crafted one must not drive the terminal — retitle it, erase lines, write the clipboard (OSC 52),
//! also on a pusher's terminal through a server hook's stderr.

use std::borrow::Cow;

/// `s` with every control character made visible: C0 (tab as `\t`, newline as `\n`, carriage
/// return as `\r`, ESC as `\x1b`, …), DEL as `\x7f`, C1 as `\u{9b}`, and the bidirectional
/// overrides and isolates (which reorder what a reader sees) as `\u{202e}`. Borrowed when there is
/// nothing to escape, which is nearly always.
pub(crate) fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_c0_del_c1_and_bidi_and_keeps_the_rest() {
        assert!(matches!(escape_control("src/a b.rs ü…"), Cow::Borrowed(_)));
        assert_eq!(
            escape_control("a\x1b]0;t\x07b\tc\x7f\u{9b}2J\u{202e}"),
            "a\\x1b]0;t\\x07b\\tc\\x7f\\u{9b}2J\\u{202e}"
        );
        assert_eq!(escape_control("x\r\ny"), "x\\r\\ny");
    }
}
