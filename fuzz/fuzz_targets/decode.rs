//! The decoding layer before the engine: base64 and percent decoders and the run finders that
//! feed them, BOM/UTF-16 transcoding, the binary sniff and the offset → line/column locator.
#![no_main]

use keyfence::blob::{self, Content, Locator};
use keyfence::engine::decode;
use libfuzzer_sys::fuzz_target;

fn decoders(data: &[u8]) {
    // Round trips: what we encode, we decode.
    if !data.is_empty() {
        let enc = decode::encode_base64(data);
        assert_eq!(decode::decode_base64(enc.as_bytes()).as_deref(), Some(data));
        let url = decode::encode_base64url(data);
        assert_eq!(decode::decode_base64(url.as_bytes()).as_deref(), Some(data));
    }
    // Arbitrary input: never panics, never grows.
    if let Some(out) = decode::decode_base64(data) {
        assert!(out.len() <= data.len());
    }
    if let Some(out) = decode::decode_percent(data) {
        assert!(out.len() <= data.len());
    }
    for r in decode::base64_runs(data) {
        assert!(r.start < r.end && r.end <= data.len());
        assert!(r.len() >= decode::MIN_BASE64_RUN && r.len() <= decode::MAX_BASE64_RUN + 2);
    }
    for r in decode::percent_runs(data, 16) {
        assert!(r.start < r.end && r.end <= data.len());
    }
    let budget_in = (data.len() / 2).max(1);
    let mut budget = budget_in;
    let spans = decode::decode_spans(data, &mut budget);
    let used: usize = spans.iter().map(|d| d.bytes.len()).sum();
    assert_eq!(
        used,
        budget_in - budget,
        "the budget accounts for every decoded byte"
    );
    for d in &spans {
        assert!(d.span.end <= data.len());
    }
}

fuzz_target!(|data: &[u8]| {
    decoders(data);
    if let Some(utf8) = blob::transcode_utf16(data) {
        assert!(
            std::str::from_utf8(&utf8).is_ok(),
            "transcoding yields UTF-8"
        );
    }
    let text = match blob::prepare(data) {
        Content::Text(t) => t,
        Content::Binary => return,
    };
    // Offsets forward, backward and past the end; positions never go back going forward.
    let mut loc = Locator::new(&text);
    let step = (data.first().copied().unwrap_or(1) as usize).max(1);
    let mut last = (0, 0);
    let mut at = 0;
    while at <= text.len() + 1 {
        let p = loc.position(at);
        assert!(p.line >= 1 && p.column >= 1);
        assert!((p.line, p.column) >= last, "{p:?} after {last:?}");
        last = (p.line, p.column);
        at += step;
    }
    let mid = loc.position(text.len() / 2);
    let again = Locator::new(&text).position(text.len() / 2);
    assert_eq!(
        mid, again,
        "walking back gives the same answer as a fresh walk"
    );
});
