//! Base64 runs in text (a hand-written scan: it looks at every byte of every blob) and their
//! decoding (the `base64` crate's).

use std::ops::Range;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

/// Shortest base64 run worth decoding (18 decoded bytes).
pub const MIN_BASE64_RUN: usize = 24;
/// Longest base64 run decoded; longer runs are images, archives or certificates.
pub const MAX_BASE64_RUN: usize = 16 * 1024;

const INVALID: u8 = 0xFF;

/// Maps a byte to its 6-bit value in either alphabet (`+/` and `-_` both accepted). Only for
/// finding runs ([`is_base64_byte`], on every byte of a blob); decoding is the `base64` crate's.
const fn b64_table() -> [u8; 256] {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
}

static B64: [u8; 256] = b64_table();

/// True for a byte that may appear inside a base64 run (either alphabet, not padding).
#[inline]
pub fn is_base64_byte(b: u8) -> bool {
    B64[b as usize] != INVALID
}

/// Decoding as found in the wild: padding optional (its length is checked by [`decode_base64`],
/// the crate's lenient mode takes a short one), and stray low bits in the last character
/// tolerated (encoders that build the string by hand leave them).
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes base64 in either alphabet, with or without `=` padding. `None` when the input holds a
/// foreign byte, mixes the two alphabets, or has an impossible length.
pub fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    if input.last() == Some(&b'=') && !input.len().is_multiple_of(4) {
        return None;
    }
    let url = input.iter().any(|&b| b == b'-' || b == b'_');
    let engine = if url { &URL_SAFE } else { &STANDARD };
    engine.decode(input).ok()
}

/// Maximal runs of base64 bytes (plus trailing `=` padding) at least [`MIN_BASE64_RUN`] long and
/// at most [`MAX_BASE64_RUN`], that look like encoded data rather than a word or a path: they mix
/// upper case, lower case and digits.
pub fn base64_runs(text: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let n = text.len();
    let mut i = 0;
    // Invariant: no qualifying run starts before `i` unless it was already handled. Probing the
    // last byte of a minimum-length window skips ahead a whole window whenever that byte cannot
    // belong to a run, so ordinary text is touched about once every MIN_BASE64_RUN bytes.
    while i + MIN_BASE64_RUN <= n {
        let probe = i + MIN_BASE64_RUN - 1;
        if !is_base64_byte(text[probe]) {
            i = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > i && is_base64_byte(text[start - 1]) {
            start -= 1;
        }
        let mut run_end = probe + 1;
        while run_end < n && is_base64_byte(text[run_end]) {
            run_end += 1;
        }
        let mut end = run_end;
        while end < n && end - run_end < 2 && text[end] == b'=' {
            end += 1;
        }
        let len = end - start;
        if (MIN_BASE64_RUN..=MAX_BASE64_RUN).contains(&len) && looks_encoded(&text[start..run_end])
        {
            out.push(start..end);
        }
        i = end.max(run_end);
    }
    out
}

/// Upper, lower and digits all present: an English word, an identifier or a path rarely is.
fn looks_encoded(run: &[u8]) -> bool {
    let (mut up, mut lo, mut dig) = (false, false, false);
    for &b in run {
        up |= b.is_ascii_uppercase();
        lo |= b.is_ascii_lowercase();
        dig |= b.is_ascii_digit();
    }
    up && lo && dig
}

/// Encodes bytes as standard padded base64 (for generators and tests).
pub fn encode_base64(input: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Encodes bytes as unpadded URL-safe base64 (JWT segments).
pub fn encode_base64url(input: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(input)
}

#[cfg(test)]
mod tests {
    /// The byte-at-a-time definition the skipping scanner must agree with.
    fn naive_runs(text: &[u8]) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let (mut i, n) = (0, text.len());
        while i < n {
            if !is_base64_byte(text[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < n && is_base64_byte(text[i]) {
                i += 1;
            }
            let mut end = i;
            while end < n && end - i < 2 && text[end] == b'=' {
                end += 1;
            }
            if (MIN_BASE64_RUN..=MAX_BASE64_RUN).contains(&(end - start))
                && looks_encoded(&text[start..i])
            {
                out.push(start..end);
            }
            i = end.max(i);
        }
        out
    }

    #[test]
    fn skipping_scanner_agrees_with_the_naive_definition() {
        let mut g = crate::rules::placeholder::Generator::new(3);
        let alphabet = b"aB3+/=_- \n:xyZ09";
        for round in 0..400 {
            let len = (g.next_u64() % 300) as usize;
            let mut text: Vec<u8> = (0..len)
                .map(|_| alphabet[(g.next_u64() % alphabet.len() as u64) as usize])
                .collect();
            if round % 3 == 0 {
                let at = (g.next_u64() as usize) % (text.len() + 1);
                let run = g.string(crate::rules::placeholder::BASE64, 20 + round % 40);
                text.splice(at..at, run.bytes());
            }
            assert_eq!(
                base64_runs(&text),
                naive_runs(&text),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    use super::*;

    /// The hand-written decoder keyfence had before the `base64` crate: the definition the
    /// crate-backed one must agree with, byte for byte, on valid and invalid input alike.
    fn reference_decode(input: &[u8]) -> Option<Vec<u8>> {
        let body = match input.iter().position(|&b| b == b'=') {
            Some(p) => {
                let pad = &input[p..];
                if pad.len() > 2 || pad.iter().any(|&b| b != b'=') || !input.len().is_multiple_of(4)
                {
                    return None;
                }
                &input[..p]
            }
            None => input,
        };
        if body.len() % 4 == 1 {
            return None;
        }
        let std = body.iter().any(|&b| b == b'+' || b == b'/');
        let url = body.iter().any(|&b| b == b'-' || b == b'_');
        if std && url {
            return None;
        }
        let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
        for &b in body {
            let v = B64[b as usize];
            if v == INVALID {
                return None;
            }
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Some(out)
    }

    #[test]
    fn crate_decoder_agrees_with_the_reference_on_valid_and_broken_input() {
        let mut g = crate::rules::placeholder::Generator::new(5);
        // Both alphabets, padding, a foreign byte: every way an input can be odd.
        let alphabet = b"aZ09+/-_=====.";
        let mut valid = 0;
        for round in 0..20_000 {
            let len = (g.next_u64() % 14) as usize;
            let text: Vec<u8> = if round % 2 == 0 {
                (0..len)
                    .map(|_| alphabet[(g.next_u64() % alphabet.len() as u64) as usize])
                    .collect()
            } else {
                // Well-formed encodings with their padding trimmed or extended.
                let data = g.bytes(len);
                let mut s = encode_base64(&data).into_bytes();
                match g.next_u64() % 4 {
                    0 => s.retain(|&b| b != b'='),
                    1 => s.push(b'='),
                    2 => s.truncate(s.len().saturating_sub(1)),
                    _ => {}
                }
                s
            };
            let want = reference_decode(&text);
            valid += usize::from(want.is_some());
            assert_eq!(
                decode_base64(&text),
                want,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
        assert!(valid > 5_000, "only {valid} valid inputs exercised");
    }

    #[test]
    fn base64_round_trips_in_both_alphabets() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(
                decode_base64(encode_base64(&data).as_bytes()).unwrap(),
                data
            );
            assert_eq!(
                decode_base64(encode_base64url(&data).as_bytes()).unwrap(),
                data
            );
        }
        assert!(decode_base64(b"ab=c").is_none());
        assert!(decode_base64(b"a").is_none());
        assert!(decode_base64(b"ab+_").is_none());
    }

    #[test]
    fn runs_need_length_and_mixed_classes() {
        let text =
            b"x: c2VjcmV0X2tleT1hYmNkZWZnaDEyMzQ1Njc4OQ== y\nsome/long/path/without/digits/at/all";
        let runs = base64_runs(text);
        assert_eq!(runs.len(), 1);
        assert_eq!(
            &text[runs[0].clone()],
            b"c2VjcmV0X2tleT1hYmNkZWZnaDEyMzQ1Njc4OQ=="
        );
    }
}
