//! The keyword prefilter: says which keywords occur in a blob, so that only the rules owning
//! them run their regex.
//!
//! Keywords match ASCII case-insensitively. Rather than a case-insensitive automaton (which rules
//! out the SIMD "packed" searcher and walks every byte through a state machine), the blob is
//! lowercased into a reused buffer and searched case-sensitively with Teddy, one pass per group
//! of keywords (a DFA when Teddy is unavailable). Each pass is leftmost and non-overlapping, so a
//! keyword hidden under an overlapping match of another (`"secret"` under `secret`) is checked
//! right there, at the few offsets where it could sit (precomputed per keyword pair): every
//! occurrence is either reported or overlaps a reported match.

use std::cell::RefCell;

use aho_corasick::packed;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Searches a lowercased haystack for lowercase keywords.
#[derive(Debug)]
enum Finder {
    /// SIMD (Teddy) searchers over groups of keywords, each group small enough for Teddy; each
    /// group's pattern ids map back to keyword indices. A few SIMD passes beat one DFA pass,
    /// which walks every byte through a state table.
    Packed(Vec<(packed::Searcher, Vec<usize>)>),
    Automaton(AhoCorasick),
}

/// Keywords per Teddy group: few enough that Teddy's buckets stay selective.
const GROUP: usize = 48;

/// Most Teddy groups before one DFA pass is cheaper than several SIMD passes (measured on the
/// moby tree with 390 keywords: eight Teddy passes 0.54 s of CPU, one DFA pass 0.40 s; with
/// three groups or fewer Teddy wins).
const MAX_GROUPS: usize = 3;

#[derive(Debug)]
pub struct Prefilter {
    patterns: Vec<Vec<u8>>,
    /// The automaton, built on first use by an input too large to search keyword by keyword:
    /// building it for hundreds of keywords costs more than a pre-commit gate's whole scan.
    built: std::sync::OnceLock<Built>,
}

#[derive(Debug)]
struct Built {
    finder: Finder,
    /// For each pattern `p`, the other patterns `q` that can overlap an occurrence of `p`, with
    /// each offset (from the start of `p`'s occurrence) where `q` could then start.
    overlaps: Vec<Vec<(usize, isize)>>,
}

/// Inputs up to this size are searched one keyword at a time (memmem), without the automaton.
const SMALL: usize = 4096;

/// Bytes lowercased at a time (see [`Prefilter::for_each_present_in_chunks`]).
const CHUNK: usize = 4 << 20;

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
        Some(Prefilter {
            patterns,
            built: std::sync::OnceLock::new(),
        })
    }

    fn built(&self) -> &Built {
        self.built.get_or_init(|| Built::new(&self.patterns))
    }
}

impl Built {
    fn new(patterns: &[Vec<u8>]) -> Built {
        // Group long keywords with long ones: Teddy fingerprints as many leading bytes as its
        // shortest pattern has (up to 4), so a two-byte keyword would blur the whole group.
        let mut order: Vec<usize> = (0..patterns.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(patterns[i].len()));
        let packed: Option<Vec<(packed::Searcher, Vec<usize>)>> = (patterns.len()
            <= GROUP * MAX_GROUPS)
            .then_some(())
            .and_then(|()| {
                order
                    .chunks(GROUP)
                    .map(|ids| {
                        let searcher = packed::Config::new()
                            .match_kind(packed::MatchKind::LeftmostFirst)
                            .builder()
                            .extend(ids.iter().map(|&i| &patterns[i]))
                            .build()?;
                        Some((searcher, ids.to_vec()))
                    })
                    .collect()
            });
        let finder = match packed {
            Some(groups) => Finder::Packed(groups),
            None => Finder::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(patterns)
                    .expect("keywords are plain literals"),
            ),
        };
        // The DFA reports overlapping matches itself; only the leftmost Teddy passes need the
        // offsets (quadratic in the keywords, so not worth computing for hundreds of them).
        let overlaps = match finder {
            Finder::Packed(_) => (0..patterns.len())
                .map(|p| {
                    (0..patterns.len())
                        .filter(|&q| q != p)
                        .flat_map(|q| {
                            overlap_offsets(&patterns[p], &patterns[q]).map(move |d| (q, d))
                        })
                        .collect()
                })
                .collect(),
            Finder::Automaton(_) => vec![Vec::new(); patterns.len()],
        };
        Built { finder, overlaps }
    }
}

impl Prefilter {
    /// Calls `found(pattern)` once for each keyword that occurs in `text`. `found` returns `false`
    /// when nothing more is needed (every rule already picked), which ends the pass early.
    pub fn for_each_present(&self, text: &[u8], mut found: impl FnMut(usize) -> bool) {
        // Until some larger input has paid for the automaton, small ones go keyword by keyword.
        if text.len() <= SMALL && self.built.get().is_none() {
            self.search_small(text, &mut found);
            return;
        }
        self.for_each_present_in_chunks(text, CHUNK, found)
    }

    /// [`Prefilter::for_each_present`], lowercasing at most `chunk` bytes (plus an overlap that
    /// holds any keyword starting in the chunk, and any keyword hidden under it) at a time: a
    /// copy of a whole 1 GB blob doubled the memory a scan needs.
    fn for_each_present_in_chunks(
        &self,
        text: &[u8],
        chunk: usize,
        mut found: impl FnMut(usize) -> bool,
    ) {
        let longest = self.patterns.iter().map(Vec::len).max().unwrap_or(0);
        let overlap = 2 * longest + 1;
        let mut seen = vec![false; self.patterns.len()];
        let mut start = 0;
        loop {
            let end = (start + chunk + overlap).min(text.len());
            if !self.search(&text[start..end], &mut seen, &mut found) || end == text.len() {
                return;
            }
            start += chunk;
        }
    }

    /// A small input, one keyword at a time: no automaton to build, and every occurrence is
    /// found however keywords overlap.
    fn search_small(&self, text: &[u8], found: &mut impl FnMut(usize) -> bool) {
        let lower = text.to_ascii_lowercase();
        for (p, pat) in self.patterns.iter().enumerate() {
            if memchr::memmem::find(&lower, pat).is_some() && !found(p) {
                return;
            }
        }
    }

    /// One lowercased window; returns `false` when `found` asked to stop.
    fn search(
        &self,
        text: &[u8],
        seen: &mut [bool],
        found: &mut impl FnMut(usize) -> bool,
    ) -> bool {
        let built = self.built();
        LOWER.with(|cell| {
            let mut lower = cell.borrow_mut();
            lower.clear();
            lower.extend(text.iter().map(u8::to_ascii_lowercase));
            let hay: &[u8] = &lower;
            let mut go_on = true;
            let mut visit = |p: usize, start: usize| -> bool {
                if !seen[p] {
                    seen[p] = true;
                    if !found(p) {
                        return false;
                    }
                }
                for &(q, d) in &built.overlaps[p] {
                    if seen[q] {
                        continue;
                    }
                    let pat = &self.patterns[q];
                    let Some(at) = start.checked_add_signed(d) else {
                        continue;
                    };
                    if hay.get(at..at + pat.len()) == Some(pat.as_slice()) {
                        seen[q] = true;
                        if !found(q) {
                            return false;
                        }
                    }
                }
                true
            };
            match &built.finder {
                Finder::Packed(groups) => {
                    'groups: for (searcher, ids) in groups {
                        for m in searcher.find_iter(hay) {
                            if !visit(ids[m.pattern().as_usize()], m.start()) {
                                go_on = false;
                                break 'groups;
                            }
                        }
                    }
                }
                Finder::Automaton(ac) => {
                    // Standard semantics, every match including overlapping ones.
                    for m in ac.find_overlapping_iter(hay) {
                        if !visit(m.pattern().as_usize(), m.start()) {
                            go_on = false;
                            break;
                        }
                    }
                }
            }
            // Do not pin a huge window to the thread.
            if lower.capacity() > 2 * CHUNK {
                *lower = Vec::new();
            }
            go_on
        })
    }
}

/// The offsets `d` (relative to the start of an occurrence of `a`) at which an occurrence of
/// `b` would share at least one byte with it and agree with `a` on every shared byte.
fn overlap_offsets<'a>(a: &'a [u8], b: &'a [u8]) -> impl Iterator<Item = isize> + 'a {
    let (la, lb) = (a.len() as isize, b.len() as isize);
    (1 - lb..la).filter(move |&d| {
        let lo = d.max(0);
        let hi = (d + lb).min(la);
        (lo..hi).all(|i| a[i as usize] == b[(i - d) as usize])
    })
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
        // The automaton (used for inputs over `SMALL`) agrees with the small-input search.
        let mut auto = Vec::new();
        pf.for_each_present_in_chunks(text.as_bytes(), CHUNK, |p| {
            auto.push(p);
            true
        });
        auto.sort();
        auto.dedup();
        assert_eq!(out, auto, "{text}");
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
    fn overlap_offsets_are_where_the_patterns_agree() {
        let offs =
            |a: &str, b: &str| overlap_offsets(a.as_bytes(), b.as_bytes()).collect::<Vec<_>>();
        assert_eq!(offs("secret", "\"secret\""), vec![-1]);
        assert_eq!(offs("akia", "abia"), vec![-3, 3]);
        assert_eq!(offs("aa", "a"), vec![0, 1]);
        assert!(offs("token", "xyz").is_empty());
    }

    #[test]
    fn agrees_with_a_naive_search_on_pseudorandom_text() {
        let kws = ["ab", "aba", "bab", "abba", "b\"a", "key", "ey_", "y_i"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let text: Vec<u8> = (0..24)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    b"abBkey_i\""[(state % 9) as usize]
                })
                .collect();
            let lower = text.to_ascii_lowercase();
            let want: Vec<usize> = (0..kws.len())
                .filter(|&i| lower.windows(kws[i].len()).any(|w| w == kws[i].as_bytes()))
                .collect();
            assert_eq!(present(&kws, std::str::from_utf8(&text).unwrap()), want);
        }
    }

    #[test]
    fn small_windows_find_what_one_pass_finds() {
        let kws = ["ab", "aba", "bab", "abba", "b\"a", "key", "ey_", "y_i"];
        let kw: Vec<String> = kws.iter().map(|s| s.to_string()).collect();
        let pf = Prefilter::new(&kw).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..500 {
            let text: Vec<u8> = (0..200)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    b"abBkey_i\"xyzw"[(state % 13) as usize]
                })
                .collect();
            for chunk in [1, 3, 7, 64] {
                let mut got = Vec::new();
                pf.for_each_present_in_chunks(&text, chunk, |p| {
                    got.push(p);
                    true
                });
                got.sort();
                let lower = text.to_ascii_lowercase();
                let want: Vec<usize> = (0..kws.len())
                    .filter(|&i| lower.windows(kws[i].len()).any(|w| w == kws[i].as_bytes()))
                    .collect();
                assert_eq!(got, want, "chunk {chunk}");
            }
        }
    }

    #[test]
    fn many_keywords_take_the_dfa_and_agree_with_a_naive_search() {
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let kws: Vec<String> = (0..200)
            .map(|_| {
                (0..3 + next() % 3)
                    .map(|_| b"abcd_\"x"[(next() % 7) as usize] as char)
                    .collect()
            })
            .collect();
        let pf = Prefilter::new(&kws).unwrap();
        assert!(matches!(pf.built().finder, Finder::Automaton(_)));
        for _ in 0..300 {
            let text: Vec<u8> = (0..120)
                .map(|_| b"aBcD_\"xy"[(next() % 8) as usize])
                .collect();
            let mut got = Vec::new();
            pf.for_each_present_in_chunks(&text, CHUNK, |p| {
                got.push(p);
                true
            });
            got.sort();
            got.dedup();
            let lower = text.to_ascii_lowercase();
            let want: Vec<usize> = (0..kws.len())
                .filter(|&i| lower.windows(kws[i].len()).any(|w| w == kws[i].as_bytes()))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn matches_any_case() {
        assert_eq!(present(&["secret"], "AwsSeCrEtKey"), vec![0]);
    }
}
