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

/// Writes `value` as pretty JSON with C1 controls and bidi overrides escaped too (`\u009b`):
/// serde escapes C0 only, and a terminal showing a JSON report may obey a raw C1 CSI.
pub(crate) fn write_json<T: serde::Serialize + ?Sized>(
    out: &mut dyn std::io::Write,
    value: &T,
) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, SafeJson::default());
    value.serialize(&mut ser).map_err(std::io::Error::from)
}

/// serde_json's pretty layout, with [`escape_control`]'s extra characters escaped in strings.
#[derive(Default)]
struct SafeJson(serde_json::ser::PrettyFormatter<'static>);

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + std::io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
            self.0.$name(w $(, $arg)*)
        }
    )*};
}

impl serde_json::ser::Formatter for SafeJson {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if needs_escape(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
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

    #[test]
    fn json_escapes_c1_and_bidi_and_stays_the_same_value() {
        let v = vec!["a\u{9b}2J\u{202e}b\x1bc".to_string()];
        let mut out = Vec::new();
        write_json(&mut out, &v).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("a\\u009b2J\\u202eb\\u001bc"), "{text}");
        assert_eq!(serde_json::from_str::<Vec<String>>(&text).unwrap(), v);
    }
}
