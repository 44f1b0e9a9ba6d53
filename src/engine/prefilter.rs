//! The keyword prefilter: one pass over a blob that says which keywords occur, so that only the
//! rules owning them run their regex.
//!
//! Keywords match ASCII case-insensitively. Rather than a case-insensitive automaton (which rules
//! out the SIMD "packed" searcher and walks every byte through a state machine), the blob is
//! lowercased into a reused buffer and searched case-sensitively with Teddy where the keyword set
//! allows it, else with a DFA. That search is leftmost and non-overlapping, so a keyword hidden
//! under an overlapping match of another keyword (`"secret"` under `secret`) is checked right there
//! in a small window: every occurrence is either reported or overlaps a reported match.

use std::cell::RefCell;

use aho_corasick::packed;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Searches a lowercased haystack for lowercase keywords.
#[derive(Debug)]
enum Finder {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

#[derive(Debug)]
pub struct Prefilter {
    finder: Finder,
    patterns: Vec<Vec<u8>>,
    /// For each pattern, the other patterns that can overlap one of its occurrences.
    overlaps: Vec<Vec<usize>>,
}

thread_local! {
    static LOWER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Prefilter {
    /// `None` when there are no keywords.
    pub fn new(keywords: &[String]) -> Option<Prefilter> {
        if keywords.is_empty() {
            return None;
        }
        let patterns: Vec<Vec<u8>> = keywords
            .iter()
            .map(|k| k.as_bytes().to_ascii_lowercase())
            .collect();
        let packed = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(&patterns)
            .build();
        let finder = match packed {
            Some(s) => Finder::Packed(s),
            None => Finder::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&patterns)
                    .expect("keywords are plain literals"),
            ),
        };
        let overlaps = (0..patterns.len())
            .map(|p| {
                (0..patterns.len())
                    .filter(|&q| q != p && can_overlap(&patterns[p], &patterns[q]))
                    .collect()
            })
            .collect();
        Some(Prefilter {
            finder,
            patterns,
            overlaps,
        })
    }

    /// Calls `found(pattern)` once for each keyword that occurs in `text`. `found` returns `false`
    /// when nothing more is needed (every rule already picked), which ends the pass early.
    pub fn for_each_present(&self, text: &[u8], mut found: impl FnMut(usize) -> bool) {
        LOWER.with(|cell| {
            let mut lower = cell.borrow_mut();
            lower.clear();
            lower.extend(text.iter().map(u8::to_ascii_lowercase));
            let hay: &[u8] = &lower;
            let mut seen = vec![false; self.patterns.len()];
            let mut visit = |p: usize, start: usize, end: usize| -> bool {
                if !seen[p] {
                    seen[p] = true;
                    if !found(p) {
                        return false;
                    }
                }
                for &q in &self.overlaps[p] {
                    if seen[q] {
                        continue;
                    }
                    let pat = &self.patterns[q];
                    let lo = (start + 1).saturating_sub(pat.len());
                    let hi = (end + pat.len() - 1).min(hay.len());
                    if memchr::memmem::find(&hay[lo..hi], pat).is_some() {
                        seen[q] = true;
                        if !found(q) {
                            return false;
                        }
                    }
                }
                true
            };
            match &self.finder {
                Finder::Packed(s) => {
                    for m in s.find_iter(hay) {
                        if !visit(m.pattern().as_usize(), m.start(), m.end()) {
                            break;
                        }
                    }
                }
                Finder::Automaton(ac) => {
                    for m in ac.find_iter(hay) {
                        if !visit(m.pattern().as_usize(), m.start(), m.end()) {
                            break;
                        }
                    }
                }
            }
            // Do not pin a huge file's copy to the thread.
            if lower.capacity() > 16 << 20 {
                *lower = Vec::new();
            }
        });
    }
}

/// True when an occurrence of `a` and one of `b` can share bytes in some text: one contains the
/// other, or a suffix of one is a prefix of the other.
fn can_overlap(a: &[u8], b: &[u8]) -> bool {
    let contains = |x: &[u8], y: &[u8]| memchr::memmem::find(x, y).is_some();
    if contains(a, b) || contains(b, a) {
        return true;
    }
    let fix = |x: &[u8], y: &[u8]| (1..x.len().min(y.len())).any(|k| x[x.len() - k..] == y[..k]);
    fix(a, b) || fix(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn present(keywords: &[&str], text: &str) -> Vec<usize> {
        let kw: Vec<String> = keywords.iter().map(|s| s.to_string()).collect();
        let pf = Prefilter::new(&kw).unwrap();
        let mut out = Vec::new();
        pf.for_each_present(text.as_bytes(), |p| {
            out.push(p);
            true
        });
        out.sort();
        out
    }

    #[test]
    fn finds_keywords_hidden_under_overlapping_matches() {
        // `secret` is reported first (leftmost-first); `"secret"` and `cret"x` overlap it.
        assert_eq!(
            present(&["secret", "\"secret\"", "cret\"x"], "{\"SECRET\"x}"),
            vec![0, 1, 2]
        );
        assert_eq!(present(&["akia", "kiab"], "xAKIAB"), vec![0, 1]);
        assert_eq!(
            present(&["token", "session"], "nothing here"),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn matches_any_case() {
        assert_eq!(present(&["secret"], "AwsSeCrEtKey"), vec![0]);
    }
}
