//! What a source hands to the engine: bytes, decoded to scannable text, and a cheap way to turn
//! byte offsets into line and column numbers once a match needs them.

use std::borrow::Cow;

/// How many leading bytes are inspected to call a blob binary (as git does).
const BINARY_SNIFF: usize = 8000;

/// Bytes ready for the engine, or the reason they are not scanned.
#[derive(Debug)]
pub enum Content<'a> {
    Text(Cow<'a, [u8]>),
    Binary,
}

/// Decodes raw bytes for scanning: UTF-16 with a BOM is transcoded to UTF-8; anything else with a
/// NUL byte near the start is binary. Other bytes, valid UTF-8 or not, are scanned as they are.
pub fn prepare(bytes: &[u8]) -> Content<'_> {
    if let Some(text) = transcode_utf16(bytes) {
        return Content::Text(Cow::Owned(text));
    }
    if is_binary(bytes) {
        return Content::Binary;
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Keep offsets meaningful: a UTF-8 BOM is three bytes before column 1.
    if body.len() != bytes.len() {
        return Content::Text(Cow::Owned(body.to_vec()));
    }
    Content::Text(Cow::Borrowed(bytes))
}

pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF)]).is_some()
}

/// UTF-16LE/BE with a byte-order mark → UTF-8 (unpaired surrogates become U+FFFD).
pub fn transcode_utf16(bytes: &[u8]) -> Option<Vec<u8>> {
    let (le, body) = match bytes {
        [0xFF, 0xFE, rest @ ..] => (true, rest),
        [0xFE, 0xFF, rest @ ..] => (false, rest),
        _ => return None,
    };
    let units = body.chunks_exact(2).map(|c| {
        if le {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some(s.into_bytes())
}

/// A 1-based line and column (column counted in characters, invalid bytes count one each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Turns offsets into positions, walking forward from the previous answer, so a blob with many
/// matches is traversed about once and a blob with none is never traversed at all.
pub struct Locator<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> Locator<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Locator {
            bytes,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    pub fn position(&mut self, offset: usize) -> Position {
        let offset = offset.min(self.bytes.len());
        if offset < self.offset {
            *self = Locator::new(self.bytes);
        }
        let chunk = &self.bytes[self.offset..offset];
        for nl in memchr::memchr_iter(b'\n', chunk) {
            self.line += 1;
            self.line_start = self.offset + nl + 1;
        }
        self.offset = offset;
        let column = self.bytes[self.line_start..offset]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count()
            + 1;
        Position {
            line: self.line,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_chars() {
        let text = "ab\r\nçd X\n".as_bytes();
        let mut loc = Locator::new(text);
        assert_eq!(loc.position(0), Position { line: 1, column: 1 });
        let x = text.iter().position(|&b| b == b'X').unwrap();
        assert_eq!(loc.position(x), Position { line: 2, column: 4 });
        assert_eq!(loc.position(1), Position { line: 1, column: 2 });
    }

    #[test]
    fn utf16_is_transcoded_and_nul_is_binary() {
        let mut le = vec![0xFF, 0xFE];
        for u in "hi".encode_utf16() {
            le.extend(u.to_le_bytes());
        }
        assert!(matches!(prepare(&le), Content::Text(t) if &*t == b"hi"));
        assert!(matches!(prepare(b"a\0b"), Content::Binary));
    }
}
