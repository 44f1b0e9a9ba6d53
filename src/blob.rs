//! What a source hands to the engine: bytes, decoded to scannable text, and a cheap way to turn
//! byte offsets into line and column numbers once a match needs them.

use std::borrow::Cow;
use std::ops::Range;

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

pub(crate) fn is_binary(bytes: &[u8]) -> bool {
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

/// Shortest printable run kept from binary content: an AWS key ID is 20 characters.
const MIN_RUN: usize = 16;

/// The text hidden in binary content (a SQLite file, a compiled tool, UTF-16 without a BOM):
/// its printable ASCII runs and its UTF-16LE/BE ASCII runs, one run per line, with a map from
/// each run back to its offset in the original bytes so findings are placed where they are.
#[derive(Debug, Default)]
pub(crate) struct BinaryText {
    pub(crate) text: Vec<u8>,
    /// (offset in `text`, offset in the original, bytes per character there), sorted by both.
    runs: Vec<(usize, usize, usize)>,
}

fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r')
}

impl BinaryText {
    /// Extracts the runs of `bytes`: single-byte runs first pass, then two-byte (UTF-16) runs.
    /// Linear in the input; most binary data yields little text.
    pub(crate) fn extract(bytes: &[u8]) -> BinaryText {
        let mut out = BinaryText::default();
        let mut found: Vec<(usize, usize, usize)> = Vec::new(); // (start, chars, stride)
        let mut i = 0;
        while i < bytes.len() {
            if !printable(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && printable(bytes[i]) {
                i += 1;
            }
            if i - start >= MIN_RUN {
                found.push((start, i - start, 1));
            }
        }
        // UTF-16: a printable byte next to a NUL, repeated; either byte order.
        for phase in 0..2 {
            let mut j = phase;
            while j + 1 < bytes.len() {
                let (lo, hi) = (bytes[j], bytes[j + 1]);
                let ch = if hi == 0 && printable(lo) {
                    Some(lo)
                } else if lo == 0 && printable(hi) {
                    Some(hi)
                } else {
                    None
                };
                if ch.is_none() {
                    j += 2;
                    continue;
                }
                let le = hi == 0;
                let start = j;
                while j + 1 < bytes.len() {
                    let (a, b) = (bytes[j], bytes[j + 1]);
                    let ok = if le {
                        b == 0 && printable(a)
                    } else {
                        a == 0 && printable(b)
                    };
                    if !ok {
                        break;
                    }
                    j += 2;
                }
                if (j - start) / 2 >= MIN_RUN {
                    found.push((start, (j - start) / 2, 2));
                }
                if j == start {
                    j += 2;
                }
            }
        }
        found.sort_unstable();
        for (start, chars, stride) in found {
            out.runs.push((out.text.len(), start, stride));
            if stride == 1 {
                out.text.extend_from_slice(&bytes[start..start + chars]);
            } else {
                let le = bytes[start + 1] == 0;
                for k in 0..chars {
                    let at = start + 2 * k;
                    out.text.push(if le { bytes[at] } else { bytes[at + 1] });
                }
            }
            out.text.push(b'\n');
        }
        out
    }

    /// The offset in the original bytes of offset `at` in [`BinaryText::text`].
    pub(crate) fn original_offset(&self, at: usize) -> usize {
        let i = self.runs.partition_point(|r| r.0 <= at).saturating_sub(1);
        match self.runs.get(i) {
            Some(&(text_start, orig_start, stride)) => orig_start + (at - text_start) * stride,
            None => at,
        }
    }
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
    /// Characters from `line_start` to `offset`: the column is counted incrementally too, so
    /// many matches on one long line cost one pass over it, not one pass each.
    chars: usize,
}

impl<'a> Locator<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Locator {
            bytes,
            offset: 0,
            line: 1,
            line_start: 0,
            chars: 0,
        }
    }

    pub fn position(&mut self, offset: usize) -> Position {
        let offset = offset.min(self.bytes.len());
        if offset < self.offset {
            *self = Locator::new(self.bytes);
        }
        let chunk = &self.bytes[self.offset..offset];
        let mut from = self.offset;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            self.line += 1;
            self.line_start = self.offset + nl + 1;
            self.chars = 0;
            from = self.line_start;
        }
        self.chars += count_chars(&self.bytes[from..offset]);
        self.offset = offset;
        Position {
            line: self.line,
            column: self.chars + 1,
        }
    }
}

/// Characters in UTF-8 bytes (an invalid byte counts as one).
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

/// Ranges sorted by start with a running maximum of their ends: "does any range overlap this
/// one?" in one binary search.
pub(crate) struct Intervals {
    ranges: Vec<Range<usize>>,
    max_end: Vec<usize>,
}

impl Intervals {
    pub(crate) fn new(mut ranges: Vec<Range<usize>>) -> Intervals {
        ranges.sort_by_key(|r| r.start);
        let mut max = 0;
        let max_end = ranges
            .iter()
            .map(|r| {
                max = max.max(r.end);
                max
            })
            .collect();
        Intervals { ranges, max_end }
    }

    /// The ranges that share a byte with `r`.
    pub(crate) fn overlapping<'s>(
        &'s self,
        r: &Range<usize>,
    ) -> impl Iterator<Item = &'s Range<usize>> + 's {
        let before_end = self.ranges.partition_point(|x| x.start < r.end);
        let start = r.start;
        (0..before_end)
            .rev()
            .take_while(move |&i| self.max_end[i] > start)
            .map(|i| &self.ranges[i])
            .filter(move |x| x.end > start)
    }

    /// True when some range shares a byte with `r`.
    pub(crate) fn overlaps(&self, r: &Range<usize>) -> bool {
        let before_end = self.ranges.partition_point(|x| x.start < r.end);
        before_end > 0 && self.max_end[before_end - 1] > r.start
    }
}

/// The line holding byte `at`, without its terminator; capped so a 50 MB line stays cheap.
pub(crate) fn line_around(bytes: &[u8], at: usize) -> &[u8] {
    const CAP: usize = 4096;
    let lo_bound = at.saturating_sub(CAP);
    let start = memchr::memrchr(b'\n', &bytes[lo_bound..at])
        .map(|i| lo_bound + i + 1)
        .unwrap_or(lo_bound);
    let hi_bound = (at + CAP).min(bytes.len());
    let end = memchr::memchr(b'\n', &bytes[at..hi_bound])
        .map(|i| at + i)
        .unwrap_or(hi_bound);
    let line = &bytes[start..end];
    line.strip_suffix(b"\r").unwrap_or(line)
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
    fn binary_text_keeps_ascii_and_utf16_runs_and_maps_offsets_back() {
        let mut bytes = vec![0u8, 1, 2, 3];
        let ascii = b"AKIAEXAMPLEEXAMPLEXX";
        bytes.extend_from_slice(ascii);
        bytes.extend_from_slice(&[0, 0xff, 7]);
        let wide_at = bytes.len();
        for &b in b"secret_key_in_utf16_le" {
            bytes.extend_from_slice(&[b, 0]);
        }
        bytes.extend_from_slice(&[9, 9, 0xfe]);
        let bt = BinaryText::extract(&bytes);
        let text = String::from_utf8(bt.text.clone()).unwrap();
        assert!(text.contains("AKIAEXAMPLEEXAMPLEXX\n"), "{text}");
        assert!(text.contains("secret_key_in_utf16_le\n"), "{text}");
        let at = text.find("AKIA").unwrap();
        assert_eq!(bt.original_offset(at), 4);
        let at = text.find("key_in").unwrap();
        assert_eq!(bt.original_offset(at), wide_at + 2 * "secret_".len());
    }

    #[test]
    fn many_matches_on_one_line_are_placed_incrementally() {
        let line = "é".repeat(10) + &"x".repeat(100);
        let mut loc = Locator::new(line.as_bytes());
        assert_eq!(loc.position(20).column, 11);
        assert_eq!(loc.position(25).column, 16);
        assert_eq!(loc.position(2).column, 2);
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
