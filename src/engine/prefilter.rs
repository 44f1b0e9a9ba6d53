//! The keyword prefilter: says where keywords occur in a blob, so that only the rules owning
//! them run their regex, and only around those places.
//!
//! Keywords match ASCII case-insensitively. With hundreds of keywords an Aho-Corasick DFA is
//! bound by its state chain (each byte's next state waits for the last one: about 0.6 GB/s on
//! the moby tree with 390 keywords) and SIMD (Teddy) searchers lose their selectivity. Instead
//! each keyword is anchored on its three-byte substring least common in source code plus the
//! byte after it (a keyword of three bytes on itself); one pass hashes every window of the blob
//! (case-folded) into bit tables that fit the L1 cache, and only where a bit is set are the
//! keywords anchored there compared. The windows do not depend on each other, so the CPU works
//! on several at once, and the blob is neither copied nor lowercased.

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

/// Bits of the window hash: 2^17 bits (16 KiB) keep hash collisions near 0.3% of the windows
/// for 400 keywords while the table stays in the L1 cache.
const BITS: u32 = 17;

/// The most common lowercase three-byte sequences of ordinary source code, most common first, 20
/// to a line ended by `|` (built by `bench/trigrams.py` from equal parts of Rust crates, Python's
/// standard library and HashiCorp's Nomad in Go, not from the benchmark trees). A keyword anchored on a rare sequence is compared
/// at few places: with the first three bytes as anchors instead, scanning the moby tree took 2.4
/// times as long.
const COMMON: &str = include_str!("trigrams.txt");

#[derive(Debug)]
pub(crate) struct Prefilter {
    patterns: Vec<Vec<u8>>,
    /// Built on first use, so that a command that scans nothing pays nothing.
    built: OnceLock<Built>,
}

#[derive(Debug)]
struct Built {
    /// Keywords of four bytes or more, anchored on four bytes: a three-byte anchor rare in the
    /// code the trigram list was built from can still be common elsewhere (`cen` of `tencent` in
    /// every "License" header of Go code), and the fourth byte cuts the comparisons that fail by
    /// about four times on the moby tree.
    four: Table,
    /// Keywords of three bytes, anchored on all of them.
    three: Option<Table>,
    /// Keywords shorter than a window, searched on their own (there are few or none).
    short: Option<(AhoCorasick, Vec<usize>)>,
    /// The 64-windows-at-once first pass over the anchors' first three bytes, where the CPU has
    /// it.
    #[cfg(target_arch = "x86_64")]
    wide: Option<wide::Bloom>,
}

/// Anchors by the hash of their bytes.
#[derive(Debug)]
struct Table {
    /// Bit `h` set when some keyword's anchor hashes to `h`.
    bits: Box<[u64]>,
    /// Set bits of `bits` before each of its words: with a popcount inside the word, the rank
    /// of a set bit, which numbers the buckets without an array as large as the hash space.
    ranks: Box<[u32]>,
    /// Keywords anchored in the bucket of rank `r`: `anchored[starts[r]..starts[r + 1]]`.
    starts: Box<[u32]>,
    anchored: Box<[Anchor]>,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    pattern: u32,
    /// Where the anchor sits inside the keyword.
    offset: u32,
}

/// Hashes the low three bytes of `window`, folded first: ORing 0x20 maps `A`..`Z` onto
/// `a`..`z` (and merges a few other byte pairs, which only costs a comparison that fails), so
/// the blob needs no lowercase copy.
#[inline(always)]
fn hash3(window: u32) -> u32 {
    ((window & 0x00ff_ffff) | 0x0020_2020).wrapping_mul(0x9e37_79b1) >> (32 - BITS)
}

/// [`hash3`] of all four bytes of `window`.
#[inline(always)]
fn hash4(window: u32) -> u32 {
    (window | 0x2020_2020).wrapping_mul(0x9e37_79b1) >> (32 - BITS)
}

/// The three bytes at the start of `gram`, little-endian.
fn window3(gram: &[u8]) -> u32 {
    u32::from(gram[0]) | (u32::from(gram[1]) << 8) | (u32::from(gram[2]) << 16)
}

/// The four bytes at the start of `gram`, little-endian.
fn window4(gram: &[u8]) -> u32 {
    u32::from_le_bytes(gram[..4].try_into().expect("four bytes"))
}

impl Prefilter {
    /// `None` when there are no keywords.
    pub(crate) fn new(keywords: &[String]) -> Option<Prefilter> {
        if keywords.is_empty() {
            return None;
        }
        let patterns: Vec<Vec<u8>> = keywords
            .iter()
            .map(|k| k.as_bytes().to_ascii_lowercase())
            .collect();
        Some(Prefilter {
            patterns,
            built: OnceLock::new(),
        })
    }

    fn built(&self) -> &Built {
        self.built.get_or_init(|| Built::new(&self.patterns, true))
    }
}

/// How common each sequence of [`COMMON`] is: higher is more common, absent is rare.
fn commonness() -> HashMap<&'static [u8], u32> {
    let grams: Vec<&[u8]> = COMMON
        .lines()
        .flat_map(|line| {
            line.strip_suffix('|')
                .unwrap_or(line)
                .as_bytes()
                .chunks_exact(3)
        })
        .collect();
    let n = grams.len() as u32;
    grams
        .into_iter()
        .zip((1..=n).rev())
        .collect::<HashMap<_, _>>()
}

/// Where `pattern` (four bytes or more) is anchored: the four bytes whose first three, which the
/// first pass sees, are least common, then whose last three are (the first on ties).
fn anchor_of(pattern: &[u8], common: &HashMap<&'static [u8], u32>) -> usize {
    let rank = |i: usize| common.get(&pattern[i..i + 3]).copied().unwrap_or(0);
    (0..=pattern.len() - 4)
        .min_by_key(|&i| (rank(i), rank(i + 1)))
        .unwrap_or(0)
}

impl Built {
    /// `wide`: whether to use the AVX-512 first pass where the CPU has it (tests turn it off to
    /// check the portable path on the same machine).
    fn new(patterns: &[Vec<u8>], wide: bool) -> Built {
        let common = commonness();
        let (mut four, mut three, mut short) = (Vec::new(), Vec::new(), Vec::new());
        for (p, pat) in patterns.iter().enumerate() {
            match pat.len() {
                0..=2 => short.push(p),
                3 => three.push((hash3(window3(pat)), Anchor::at(p, 0))),
                _ => {
                    let offset = anchor_of(pat, &common);
                    four.push((hash4(window4(&pat[offset..])), Anchor::at(p, offset)));
                }
            }
        }
        let short = (!short.is_empty()).then(|| {
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(short.iter().map(|&p| &patterns[p]))
                .expect("keywords are plain literals");
            (ac, short)
        });
        #[cfg(target_arch = "x86_64")]
        let wide = wide
            .then(|| {
                wide::Bloom::new(four.iter().chain(&three).map(|&(_, a)| {
                    let (p, o) = (a.pattern as usize, a.offset as usize);
                    &patterns[p][o..o + 3]
                }))
            })
            .flatten();
        #[cfg(not(target_arch = "x86_64"))]
        let _ = wide;
        Built {
            four: Table::new(four),
            three: (!three.is_empty()).then(|| Table::new(three)),
            short,
            #[cfg(target_arch = "x86_64")]
            wide,
        }
    }
}

impl Anchor {
    fn at(pattern: usize, offset: usize) -> Anchor {
        Anchor {
            pattern: pattern as u32,
            offset: offset as u32,
        }
    }
}

impl Table {
    fn new(mut by_hash: Vec<(u32, Anchor)>) -> Table {
        let mut bits = vec![0u64; 1 << (BITS - 6)].into_boxed_slice();
        for &(h, _) in &by_hash {
            bits[(h >> 6) as usize] |= 1 << (h & 63);
        }
        by_hash.sort_by_key(|&(h, a)| (h, a.pattern));
        let mut ranks = vec![0u32; bits.len()].into_boxed_slice();
        for w in 1..bits.len() {
            ranks[w] = ranks[w - 1] + bits[w - 1].count_ones();
        }
        let mut starts: Vec<u32> = (0..by_hash.len())
            .filter(|&n| n == 0 || by_hash[n - 1].0 != by_hash[n].0)
            .map(|n| n as u32)
            .collect();
        starts.push(by_hash.len() as u32);
        Table {
            bits,
            ranks,
            starts: starts.into_boxed_slice(),
            anchored: by_hash.into_iter().map(|(_, a)| a).collect(),
        }
    }

    #[inline(always)]
    fn has(&self, h: u32) -> bool {
        self.bits[(h >> 6) as usize] >> (h & 63) & 1 != 0
    }

    /// The keywords anchored at hash `h` (which is set in the table).
    fn bucket(&self, h: u32) -> &[Anchor] {
        let word = (h >> 6) as usize;
        let below = self.bits[word] & ((1u64 << (h & 63)) - 1);
        let r = (self.ranks[word] + below.count_ones()) as usize;
        &self.anchored[self.starts[r] as usize..self.starts[r + 1] as usize]
    }
}

impl Prefilter {
    /// Calls `hit(pattern, start)` for every occurrence of every keyword in `text`, in no
    /// particular order: the engine searches each rule's regex around its keywords' hits.
    pub(crate) fn for_each_hit(&self, text: &[u8], hit: impl FnMut(usize, usize)) {
        self.search(self.built(), text, hit)
    }

    fn search(&self, built: &Built, text: &[u8], mut hit: impl FnMut(usize, usize)) {
        if let Some((ac, ids)) = &built.short {
            for m in ac.find_overlapping_iter(text) {
                hit(ids[m.pattern().as_usize()], m.start());
            }
        }
        // The anchors that may start at `at`, compared where their table has the bit.
        let mut check = |at: usize| {
            if at + 4 <= text.len() {
                let h = hash4(window4(&text[at..]));
                if built.four.has(h) {
                    self.compare(&built.four, h, text, at, &mut hit);
                }
            }
            if let Some(three) = &built.three {
                let h = hash3(window3(&text[at..]));
                if three.has(h) {
                    self.compare(three, h, text, at, &mut hit);
                }
            }
        };
        let mut i = 0;
        #[cfg(target_arch = "x86_64")]
        if let Some(bloom) = &built.wide {
            // SAFETY: `Bloom::new` returns a filter only where the CPU has the features.
            unsafe { bloom.scan(text, &mut i, &mut check) };
        }
        // Eight bytes read at once hold the four-byte windows at five positions; their table
        // bits are collected first and the rare hits checked after, so the loop rarely branches.
        while i + 8 <= text.len() {
            let x = u64::from_le_bytes(text[i..i + 8].try_into().expect("eight bytes"));
            let mut hits = 0u32;
            for k in 0..5 {
                let w = (x >> (8 * k)) as u32;
                let three = built.three.as_ref().is_some_and(|t| t.has(hash3(w)));
                hits |= u32::from(built.four.has(hash4(w)) || three) << k;
            }
            while hits != 0 {
                let k = hits.trailing_zeros() as usize;
                hits &= hits - 1;
                check(i + k);
            }
            i += 5;
        }
        while i + 3 <= text.len() {
            check(i);
            i += 1;
        }
    }

    /// Compares the keywords of `table` anchored at hash `h` with the text where their anchor
    /// would start at `at`.
    #[inline(never)]
    fn compare(
        &self,
        table: &Table,
        h: u32,
        text: &[u8],
        at: usize,
        hit: &mut impl FnMut(usize, usize),
    ) {
        for a in table.bucket(h) {
            let p = a.pattern as usize;
            let pat = &self.patterns[p];
            let Some(start) = at.checked_sub(a.offset as usize) else {
                continue;
            };
            let here = text.get(start..start + pat.len());
            if here.is_some_and(|s| s.eq_ignore_ascii_case(pat)) {
                hit(p, start);
            }
        }
    }
}

/// A first pass over 64 windows at a time with AVX-512 (VBMI): three Bloom filters of 2048
/// bits each, addressed by tabulation hashes of the window's three (folded) bytes and held in
/// registers, so that no window needs a memory access. About 0.5% of the windows of source code
/// pass all three and go on to the table.
#[cfg(target_arch = "x86_64")]
mod wide {
    use std::arch::x86_64::*;

    /// Filters ANDed together.
    const FILTERS: usize = 3;

    #[derive(Debug)]
    pub(super) struct Bloom {
        /// Per filter and window byte: the byte's part of the filter's byte index (XORed).
        index: [[[u8; 128]; 3]; FILTERS],
        /// Per window byte: its part of the bit within the byte (0..8; XORs stay in 0..8),
        /// shared by the filters.
        bit: [[u8; 128]; 3],
        /// The filters' bits.
        bits: [[u8; 256]; FILTERS],
    }

    impl Bloom {
        /// `None` when the CPU lacks AVX-512 VBMI.
        pub(super) fn new<'a>(anchors: impl Iterator<Item = &'a [u8]>) -> Option<Bloom> {
            if !(std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vbmi"))
            {
                return None;
            }
            let mut state = 0x9e37_79b9_7f4a_7c15u64;
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            };
            let mut b = Bloom {
                index: [[[0; 128]; 3]; FILTERS],
                bit: [[0; 128]; 3],
                bits: [[0; 256]; FILTERS],
            };
            for table in b.index.iter_mut().flatten().chain(&mut b.bit) {
                table.iter_mut().for_each(|v| *v = next());
            }
            b.bit.iter_mut().flatten().for_each(|v| *v &= 7);
            for anchor in anchors {
                for f in 0..FILTERS {
                    let (i, k) = b.address(f, anchor);
                    b.bits[f][i] |= 1 << k;
                }
            }
            Some(b)
        }

        /// Byte and bit of a window in filter `f`, as the vector code computes them: from each
        /// byte folded with `| 0x20`, of which the permutes read the low seven bits.
        fn address(&self, f: usize, w: &[u8]) -> (usize, u8) {
            let (mut i, mut k) = (0, 0);
            for (j, &b) in w.iter().take(3).enumerate() {
                let v = usize::from((b | 0x20) & 0x7f);
                i ^= self.index[f][j][v];
                k ^= self.bit[j][v];
            }
            (usize::from(i), k)
        }

        /// Calls `hit(at)` for every window start `at` (from `*i` on, in steps of 64 while 66
        /// bytes remain) that passes every filter, and leaves `*i` where it stopped; returns
        /// `true` when `hit` returned `false`.
        ///
        /// # Safety
        /// Only on a `Bloom` that [`Bloom::new`] returned (the CPU has the features).
        #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
        pub(super) unsafe fn scan(&self, text: &[u8], i: &mut usize, mut hit: impl FnMut(usize)) {
            // SAFETY (all loads below): each reads 64 bytes inside its array or inside text.
            let load = |t: &[u8]| unsafe { _mm512_loadu_si512(t.as_ptr().cast()) };
            let pair = |t: &[u8]| (load(&t[..64]), load(&t[64..128]));
            let index: [[(__m512i, __m512i); 3]; FILTERS] =
                std::array::from_fn(|f| std::array::from_fn(|j| pair(&self.index[f][j])));
            let bit: [(__m512i, __m512i); 3] = std::array::from_fn(|j| pair(&self.bit[j]));
            let bits: [[(__m512i, __m512i); 2]; FILTERS] =
                std::array::from_fn(|f| [pair(&self.bits[f][..128]), pair(&self.bits[f][128..])]);
            let one_hot = _mm512_broadcast_i32x4(_mm_setr_epi8(
                1, 2, 4, 8, 16, 32, 64, -128, 0, 0, 0, 0, 0, 0, 0, 0,
            ));
            let fold = _mm512_set1_epi8(0x20);
            let look = |t: (__m512i, __m512i), v: __m512i| _mm512_permutex2var_epi8(t.0, v, t.1);
            let xor3 = |a, b, c| _mm512_ternarylogic_epi64::<0x96>(a, b, c);
            while *i + 66 <= text.len() {
                let v: [__m512i; 3] =
                    std::array::from_fn(|j| _mm512_or_si512(load(&text[*i + j..]), fold));
                let k = xor3(look(bit[0], v[0]), look(bit[1], v[1]), look(bit[2], v[2]));
                let mask = _mm512_shuffle_epi8(one_hot, k);
                let mut pass = u64::MAX;
                for f in 0..FILTERS {
                    let ix = xor3(
                        look(index[f][0], v[0]),
                        look(index[f][1], v[1]),
                        look(index[f][2], v[2]),
                    );
                    // Bit 7 of the index picks the upper half of the 256 bytes.
                    let upper = _mm512_movepi8_mask(ix);
                    let byte =
                        _mm512_mask_blend_epi8(upper, look(bits[f][0], ix), look(bits[f][1], ix));
                    pass &= _mm512_test_epi8_mask(byte, mask);
                }
                while pass != 0 {
                    let k = pass.trailing_zeros() as usize;
                    pass &= pass - 1;
                    hit(*i + k);
                }
                *i += 64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keywords of `keywords` that occur in `text`, by the prefilter; every hit (keyword
    /// and start) is checked against a naive search, one keyword at a time, over a lowercased
    /// copy, and against the portable path (no AVX-512 first pass).
    fn present(keywords: &[&str], text: &[u8]) -> Vec<usize> {
        let kw: Vec<String> = keywords.iter().map(|s| s.to_string()).collect();
        let pf = Prefilter::new(&kw).unwrap();
        let mut got = Vec::new();
        pf.for_each_hit(text, |p, start| got.push((p, start)));
        got.sort();
        assert_eq!(
            got,
            naive(keywords, text),
            "{:?}",
            String::from_utf8_lossy(text)
        );
        // The portable path too, whatever this CPU has: the other machines run it.
        let mut portable = Vec::new();
        pf.search(&Built::new(&pf.patterns, false), text, |p, start| {
            portable.push((p, start))
        });
        portable.sort();
        assert_eq!(
            portable,
            got,
            "portable path: {:?}",
            String::from_utf8_lossy(text)
        );
        let mut present: Vec<usize> = got.into_iter().map(|(p, _)| p).collect();
        present.dedup();
        present
    }

    /// Every (keyword, start) where the keyword occurs, overlapping occurrences included.
    fn naive(keywords: &[&str], text: &[u8]) -> Vec<(usize, usize)> {
        let lower = text.to_ascii_lowercase();
        let mut hits = Vec::new();
        for (i, k) in keywords.iter().enumerate() {
            let k = k.to_ascii_lowercase();
            hits.extend(
                (0..lower.len())
                    .filter(|&at| lower[at..].starts_with(k.as_bytes()))
                    .map(|at| (i, at)),
            );
        }
        hits.sort();
        hits
    }

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn finds_overlapping_keywords_in_any_case() {
        assert_eq!(
            present(&["secret", "\"secret\"", "cret\"x"], b"{\"SECRET\"x}"),
            vec![0, 1, 2]
        );
        assert_eq!(present(&["akia", "kiab"], b"xAKIAB"), vec![0, 1]);
        assert_eq!(present(&["secret"], b"AwsSeCrEtKey"), vec![0]);
        assert!(present(&["token", "session"], b"nothing here").is_empty());
    }

    #[test]
    fn keywords_at_the_edges_and_shorter_than_a_window() {
        // First and last bytes, texts shorter than the eight-byte step, one- and two-byte
        // keywords (searched apart from the table).
        assert_eq!(present(&["abc", "xyz"], b"ABCdefghijklmnXYZ"), vec![0, 1]);
        assert_eq!(present(&["abc"], b"abc"), vec![0]);
        assert_eq!(present(&["abcd"], b"abc"), Vec::<usize>::new());
        assert_eq!(present(&["=", "k:", "key"], b"K:v"), vec![1]);
        assert_eq!(present(&["=", "k:"], b""), Vec::<usize>::new());
    }

    #[test]
    fn bytes_that_fold_alike_are_told_apart() {
        // The hash folds with `| 0x20`, so `_` and DEL, `\n` and `*`, `@` and `` ` `` share a
        // window hash; the comparison must still reject them.
        assert!(present(&["a_b"], b"xx a\x7fb xx").is_empty());
        assert!(present(&["a*b"], b"xx a\nb xx").is_empty());
        assert!(present(&["`ab"], b"xx @AB xx").is_empty());
        assert_eq!(present(&["a_b"], b"xx A_B xx"), vec![0]);
    }

    #[test]
    fn reports_every_occurrence_where_it_starts() {
        let kw: Vec<String> = ["one", "ne t", "o"].map(String::from).to_vec();
        let pf = Prefilter::new(&kw).unwrap();
        let mut hits = Vec::new();
        pf.for_each_hit(b"one two ONE tone", |p, at| hits.push((p, at)));
        hits.sort();
        let want = [
            (0, 0),
            (0, 8),
            (0, 13),
            (1, 1),
            (1, 9),
            (2, 0),
            (2, 6),
            (2, 8),
            (2, 13),
        ];
        assert_eq!(hits, want);
    }

    #[test]
    fn agrees_with_a_naive_search_on_pseudorandom_text() {
        let kws = ["ab", "aba", "bab", "abba", "b\"a", "key", "ey_", "y_i", "k"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in [0, 1, 2, 3, 7, 8, 9, 24, 65, 66, 67, 200, 1000] {
            for _ in 0..400 {
                let text: Vec<u8> = (0..len)
                    .map(|_| b"abBkKey_i\"\x7f\nA"[(xorshift(&mut state) % 13) as usize])
                    .collect();
                present(&kws, &text);
            }
        }
    }

    #[test]
    fn hundreds_of_keywords_share_buckets_and_agree_with_a_naive_search() {
        // 3000 keywords over a small alphabet: many share an anchor or collide in the table.
        let mut state = 0x1234_5678_9abc_def1u64;
        let owned: Vec<String> = (0..3000)
            .map(|_| {
                let len = 3 + xorshift(&mut state) % 4;
                (0..len)
                    .map(|_| b"abcd_\"x"[(xorshift(&mut state) % 7) as usize] as char)
                    .collect()
            })
            .collect();
        let kws: Vec<&str> = owned.iter().map(String::as_str).collect();
        for _ in 0..100 {
            let text: Vec<u8> = (0..120)
                .map(|_| b"aBcD_\"xy"[(xorshift(&mut state) % 8) as usize])
                .collect();
            present(&kws, &text);
        }
    }

    #[test]
    fn anchors_avoid_common_sequences() {
        let common = commonness();
        assert_eq!(common.len(), 4000);
        // "secret" is anchored on "ecre": "ecr" is rarer in source than "sec" and "cre";
        // "password" on "sswo", "ssw" not being in the list at all; "<server>" on "<ser", not on
        // "ver>" (the first pass sees "ver", which Go code is full of).
        assert!(common[&b"sec"[..]] > common[&b"ecr"[..]]);
        assert!(common.contains_key(&b"ver"[..]));
        assert_eq!(anchor_of(b"secret", &common), 1);
        assert_eq!(anchor_of(b"password", &common), 2);
        assert_eq!(anchor_of(b"<server>", &common), 0);
        assert_eq!(anchor_of(b"abcd", &common), 0);
    }
}
