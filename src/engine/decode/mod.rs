//! Pure decoders for secrets hidden behind an encoding: base64 (standard and URL-safe, padded or
//! not), percent-encoding, and (in `joined`) escaped or split literals. No I/O, no allocation
//! beyond the output, bounded by the input: these functions are fuzzed, so every index is checked.

use std::ops::Range;

mod base64;
mod joined;
pub use self::base64::{
    base64_runs, decode_base64, encode_base64, encode_base64url, is_base64_byte, MAX_BASE64_RUN,
    MIN_BASE64_RUN,
};
pub(crate) use joined::{concat_runs, escaped_runs};

/// True when decoded bytes are text worth scanning: at least 90% printable ASCII or whitespace.
pub(crate) fn is_mostly_text(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let printable = bytes
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t')
        .count();
    printable * 10 >= bytes.len() * 9
}

/// Bytes that may appear in a percent-encoded token (RFC 3986 unreserved, `%`, and sub-delims
/// commonly left unescaped).
#[inline]
fn is_url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'%' | b'-' | b'_' | b'.' | b'~' | b'+' | b'&' | b'=')
}

/// Runs of URL bytes holding at least one `%XX` escape of a byte that matters for secrets
/// (anything but a plain space), at least `min_len` long.
pub fn percent_runs(text: &[u8], min_len: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = memchr::memchr(b'%', &text[from..]).map(|p| from + p) {
        let mut start = p;
        while start > 0 && is_url_byte(text[start - 1]) {
            start -= 1;
        }
        let mut end = p;
        while end < text.len() && is_url_byte(text[end]) {
            end += 1;
        }
        let run = &text[start..end];
        let escapes = run
            .windows(3)
            .filter(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
            .count();
        if escapes > 0 && run.len() >= min_len {
            out.push(start..end);
        }
        from = end.max(p + 1);
    }
    out
}

/// Decodes `%XX` escapes (and `+` as space is left alone: secrets do not contain spaces). `None`
/// when nothing was escaped.
pub fn decode_percent(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut changed = false;
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex_val(input[i + 1]), hex_val(input[i + 2])) {
                out.push(h << 4 | l);
                changed = true;
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    changed.then_some(out)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(decode_percent(b"a%2Fb%3d").unwrap(), b"a/b=");
        assert!(decode_percent(b"abc").is_none());
        assert_eq!(decode_percent(b"%4").as_deref(), None);
        assert_eq!(decode_percent(b"%%41").unwrap(), b"%A");
        let runs = percent_runs(b"u = p%40ss%2Fw0rd&x=1 other", 8);
        assert_eq!(runs, vec![4..21]);
    }
}

/// An encoding keyfence looks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base64,
    Percent,
    /// JSON/JavaScript string escapes inside a token: `\/`, `\u002F`, `\u002B` (Slack and Teams
    /// exports, PHP's and .NET's JSON encoders).
    Unescape,
    /// A literal split into pieces joined by `+`, `.`, `&`, `..`, juxtaposition (Python, C) or a
    /// shell line continuation; the pieces are joined and reported at the first one.
    Concat,
}

impl Encoding {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Percent => "percent",
            Encoding::Unescape => "unescape",
            Encoding::Concat => "concat",
        }
    }
}

/// A span of the input that decodes to text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub encoding: Encoding,
    pub span: Range<usize>,
    pub bytes: Vec<u8>,
}

/// Every base64 run and percent-encoded run of `text` that decodes to mostly-text bytes, in order
/// of position, stopping once `budget` decoded bytes have been produced (the budget is decreased).
pub fn decode_spans(text: &[u8], budget: &mut usize) -> Vec<Decoded> {
    let mut out = Vec::new();
    for span in base64_runs(text) {
        if *budget == 0 {
            return out;
        }
        let Some(bytes) = decode_base64(&text[span.clone()]) else {
            continue;
        };
        if !is_mostly_text(&bytes) || bytes.len() > *budget {
            continue;
        }
        *budget -= bytes.len();
        out.push(Decoded {
            encoding: Encoding::Base64,
            span,
            bytes,
        });
    }
    for (encoding, span, bytes) in escaped_runs(text)
        .into_iter()
        .map(|(s, b)| (Encoding::Unescape, s, b))
        .chain(
            concat_runs(text)
                .into_iter()
                .map(|(s, b)| (Encoding::Concat, s, b)),
        )
    {
        if bytes.len() > *budget {
            continue;
        }
        *budget -= bytes.len();
        out.push(Decoded {
            encoding,
            span,
            bytes,
        });
    }
    for span in percent_runs(text, 16) {
        let Some(bytes) = decode_percent(&text[span.clone()]) else {
            continue;
        };
        if !is_mostly_text(&bytes) || bytes.len() > *budget {
            continue;
        }
        *budget -= bytes.len();
        out.push(Decoded {
            encoding: Encoding::Percent,
            span,
            bytes,
        });
    }
    out
}
