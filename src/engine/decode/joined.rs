//! Secrets split or escaped inside source text, put back together: base64 tokens with JSON string
//! escapes in them, and literals split into pieces joined by an operator or a line continuation.

use std::ops::Range;

use super::base64::{is_base64_byte, MAX_BASE64_RUN};

/// Shortest unescaped token worth rescanning: shorter ones hold no secret a rule knows.
const MIN_ESCAPED_TOKEN: usize = 16;

/// The escapes that can sit inside a base64 token, and the byte each stands for.
const TOKEN_ESCAPES: &[(&[u8], u8)] = &[
    // Escaped twice: JSON inside a source string (`"{\\"k\\":\\"ab\\\\/cd\\"}"`).
    (b"\\\\/", b'/'),
    (b"\\/", b'/'),
    (b"\\u002F", b'/'),
    (b"\\u002f", b'/'),
    (b"\\u002B", b'+'),
    (b"\\u002b", b'+'),
    (b"\\u003D", b'='),
    (b"\\u003d", b'='),
    // HTML character references: a credentials file shown in a rendered page or a wiki export.
    (b"&#x2F;", b'/'),
    (b"&#x2f;", b'/'),
    (b"&#47;", b'/'),
    (b"&#x2B;", b'+'),
    (b"&#x2b;", b'+'),
    (b"&#43;", b'+'),
    (b"&#x3D;", b'='),
    (b"&#x3d;", b'='),
    (b"&#61;", b'='),
];

/// The escape starting at `i`, as (its length, the byte it stands for).
fn token_escape_at(text: &[u8], i: usize) -> Option<(usize, u8)> {
    if !matches!(text.get(i), Some(b'\\' | b'&')) {
        return None;
    }
    TOKEN_ESCAPES
        .iter()
        .find(|(e, _)| text[i..].starts_with(e))
        .map(|(e, b)| (e.len(), *b))
}

/// Where the token holding the escape at `p` starts: walks back over token bytes and escapes.
/// A backslash escape ends in `/`, `F`, `B`, `D` or digits, all token bytes, so walking back by
/// bytes and then checking is enough; a character reference ends in `;`, so it is recognised by
/// its whole text ending right there.
fn token_start(text: &[u8], p: usize) -> usize {
    let mut start = p;
    while start > 0 {
        let b = text[start - 1];
        if is_base64_byte(b) || (b == b'\\' && token_escape_at(text, start - 1).is_some()) {
            start -= 1;
        } else if let Some((e, _)) = TOKEN_ESCAPES
            .iter()
            .find(|(e, _)| e.ends_with(b";") && text[..start].ends_with(e))
        {
            start -= e.len();
        } else {
            break;
        }
    }
    start
}

/// Tokens of base64 bytes with JSON string escapes or HTML character references inside
/// (`wJal\/K7M…`, `wJal&#x2F;K7M…`), unescaped: the span of the escaped token and its plain bytes.
pub(crate) fn escaped_runs(text: &[u8]) -> Vec<(Range<usize>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = memchr::memchr2(b'\\', b'&', &text[from..]).map(|p| from + p) {
        if token_escape_at(text, p).is_none() {
            from = p + 1;
            continue;
        }
        let start = token_start(text, p);
        let mut plain = Vec::new();
        let mut i = start;
        let mut escapes = 0;
        while i < text.len() {
            if let Some((len, b)) = token_escape_at(text, i) {
                plain.push(b);
                escapes += 1;
                i += len;
            } else if is_base64_byte(text[i]) {
                plain.push(text[i]);
                i += 1;
            } else {
                break;
            }
        }
        while i < text.len() && text[i] == b'=' && plain.len() % 4 != 0 {
            plain.push(b'=');
            i += 1;
        }
        if escapes > 0 && plain.len() >= MIN_ESCAPED_TOKEN && plain.len() <= MAX_BASE64_RUN {
            out.push((start..i, plain));
        }
        from = i.max(p + 1);
    }
    out
}

/// Longest joined literal kept: secrets are short, a long concatenation is prose or data.
const MAX_CONCAT: usize = 400;

/// A piece of a split literal and what may join two pieces, across at most one line break.
fn concat_regex() -> &'static regex::bytes::Regex {
    static RE: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        let piece = r#"(?:"[A-Za-z0-9+/=_\-]{1,200}"|'[A-Za-z0-9+/=_\-]{1,200}')"#;
        let join =
            r"[ \t]*(?:\+|\.\.|\.|&|\|\|)?[ \t]*(?:\\?\r?\n[ \t]*(?:\+|\.\.|\.|&|\|\|)?[ \t]*)?";
        regex::bytes::Regex::new(&format!("{piece}(?:{join}{piece})+"))
            .expect("the concatenation pattern compiles")
    })
}

/// A shell word split by backslash-newline continuations.
fn continuation_regex() -> &'static regex::bytes::Regex {
    static RE: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::Regex::new(r"[A-Za-z0-9+/]{2,200}(?:\\\r?\n[A-Za-z0-9+/=]{1,200})+")
            .expect("the continuation pattern compiles")
    })
}

/// Literals split into pieces (`"wJal" + "rXUt…"`, Python's implicit concatenation over two
/// lines, `abc\` newline `def` in a shell script), joined: the span from the first piece to the
/// last, and the joined text (quoted again when the pieces were, so `name = "…"` context holds).
pub(crate) fn concat_runs(text: &[u8]) -> Vec<(Range<usize>, Vec<u8>)> {
    let mut out = Vec::new();
    // Cheap gates first: no quote pair, no continuation, nothing to do.
    let quoted = memchr::memchr2(b'"', b'\'', text).is_some();
    if quoted {
        for m in concat_regex().find_iter(text) {
            let s = m.as_bytes();
            let quote = s[0];
            let mut joined = vec![quote];
            let mut inside = false;
            let mut pieces = 0;
            for &b in s {
                if b == b'"' || b == b'\'' {
                    inside = !inside;
                    pieces += usize::from(inside);
                } else if inside {
                    joined.push(b);
                }
            }
            joined.push(quote);
            if pieces >= 2 && (MIN_ESCAPED_TOKEN + 2..=MAX_CONCAT).contains(&joined.len()) {
                out.push((m.range(), joined));
            }
        }
    }
    if memchr::memmem::find(text, b"\\\n").is_some()
        || memchr::memmem::find(text, b"\\\r\n").is_some()
    {
        for m in continuation_regex().find_iter(text) {
            let joined: Vec<u8> = m
                .as_bytes()
                .iter()
                .copied()
                .filter(|b| !matches!(b, b'\\' | b'\n' | b'\r'))
                .collect();
            if (MIN_ESCAPED_TOKEN..=MAX_CONCAT).contains(&joined.len()) {
                out.push((m.range(), joined));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_json_slashes_in_tokens() {
        let t = br#"{"k": "abcDEF012\/ghiJKL345\u002Bmno"}"#;
        let runs = escaped_runs(t);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].1, b"abcDEF012/ghiJKL345+mno".to_vec());
        assert_eq!(&t[runs[0].0.clone()], br"abcDEF012\/ghiJKL345\u002Bmno");
        assert!(escaped_runs(br#"path: "a\/b""#).is_empty());
        let html = b"key = abcDEF012&#x2F;ghiJKL345&#43;mno&#47;pq</pre>";
        let runs = escaped_runs(html);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].1, b"abcDEF012/ghiJKL345+mno/pq".to_vec());
        assert_eq!(&html[runs[0].0.clone()], &html[6..html.len() - 6]);
        assert!(escaped_runs(b"Tom &amp; Jerry &#47; x").is_empty());
    }

    #[test]
    fn joins_split_literals() {
        let t = b"s = \"abcdEFGH12\" + \"ijklMNOP34\";\n";
        let runs = concat_runs(t);
        assert_eq!(runs[0].1, b"\"abcdEFGH12ijklMNOP34\"".to_vec());
        assert_eq!(runs[0].0.start, 4);
        let py = b"S = (\"abcdEFGH12\"\n     \"ijklMNOP34\")\n";
        assert_eq!(concat_runs(py)[0].1, b"\"abcdEFGH12ijklMNOP34\"".to_vec());
        let sh = b"export K=abcdEFGH12\\\nijklMNOP34\n";
        assert_eq!(concat_runs(sh)[0].1, b"abcdEFGH12ijklMNOP34".to_vec());
        assert!(concat_runs(b"f(\"abc\", \"def\")").is_empty());
        assert!(concat_runs(b"x = \"a\" + b + \"c\"").is_empty());
    }
}
