//! Searching a rule only around its keywords' hits must find exactly what searching the whole
//! blob finds (see `rules::reach`): checked on every shipped rule's examples, joined and cut up
//! every way the windows could get wrong (one line, many lines, glued together, CRLF, cut in the
//! middle, keywords repeated around them).

use super::{At, Engine, Match};
use crate::rules::RuleSet;
use crate::selftest::{materialize, ExampleKind};

fn engines() -> (Engine, Engine) {
    let windowed = Engine::new(RuleSet::defaults().unwrap());
    let whole = Engine::new(RuleSet::defaults().unwrap()).searching_whole_blobs();
    (windowed, whole)
}

/// Every shipped example, positive and negative, filled in; and every keyword.
fn pieces(engine: &Engine) -> (Vec<String>, Vec<String>) {
    let mut examples = Vec::new();
    let mut keywords = Vec::new();
    for rule in engine.rules() {
        for (kind, list) in [
            (ExampleKind::Positive, &rule.examples),
            (ExampleKind::Negative, &rule.negative_examples),
        ] {
            for (i, t) in list.iter().enumerate() {
                examples.push(materialize(&rule.id, kind, i, t).unwrap());
            }
        }
        keywords.extend(rule.keywords.iter().cloned());
    }
    (examples, keywords)
}

fn scan(engine: &Engine, text: &[u8]) -> Vec<Match> {
    engine.scan_at(text, At::AnyPath, &|_| true)
}

/// Both engines agree on `text`; returns how many matches they found.
fn agree(windowed: &Engine, whole: &Engine, text: &[u8], what: &str) -> usize {
    let got = scan(windowed, text);
    let want = scan(whole, text);
    assert_eq!(got, want, "{what}: windowed and whole-blob searches differ");
    got.len()
}

#[test]
fn windowed_searches_find_what_whole_blob_searches_find() {
    let (windowed, whole) = engines();
    let (examples, keywords) = pieces(&windowed);
    let mut found = 0;
    for sep in ["\n", "\r\n", " ", "", "\n\n\n", "\t;\n"] {
        let text = examples.join(sep);
        found += agree(
            &windowed,
            &whole,
            text.as_bytes(),
            &format!("joined by {sep:?}"),
        );
    }
    // Keywords around every example, so windows overlap and merge.
    let noisy: String = examples
        .iter()
        .zip(keywords.iter().cycle())
        .map(|(e, k)| format!("{k} {e} {k}\n{k}"))
        .collect();
    found += agree(&windowed, &whole, noisy.as_bytes(), "among keywords");
    assert!(
        found > examples.len() / 2,
        "only {found} matches: the check would prove nothing"
    );
}

#[test]
fn windowed_searches_agree_on_cut_and_shuffled_examples() {
    let (windowed, whole) = engines();
    let (examples, keywords) = pieces(&windowed);
    let mut state = 0x5eed_0f11_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut found = 0;
    for round in 0..300 {
        let mut text = Vec::new();
        for _ in 0..12 {
            let piece = match next(3) {
                0 => keywords[next(keywords.len())].as_bytes(),
                _ => examples[next(examples.len())].as_bytes(),
            };
            // A piece, whole or cut at either end, glued or after a separator.
            let (a, b) = (
                next(piece.len() / 4 + 1),
                piece.len() - next(piece.len() / 4 + 1),
            );
            let piece = if next(2) == 0 {
                piece
            } else {
                &piece[a..b.max(a)]
            };
            text.extend_from_slice([&b""[..], b"\n", b" ", b"\r\n", b"="][next(5)]);
            text.extend_from_slice(piece);
        }
        found += agree(&windowed, &whole, &text, &format!("round {round}"));
    }
    assert!(
        found > 300,
        "only {found} matches: the check would prove nothing"
    );
}
