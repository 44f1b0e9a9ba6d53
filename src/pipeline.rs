//! One blob through the engine: decode, match, place, filter inline allows, build findings.
//! Every source (directory, staged index, history) goes through here, so they agree.
//!
//! After the plain scan, three refinements run on the matches of one blob: encoded runs (base64,
//! percent-encoding) are decoded and scanned with the same engine, Terraform findings are named
//! after their enclosing block, and AWS key IDs are paired with the secret keys next to them.

use std::borrow::Cow;
use std::ops::Range;

use crate::blob::{self, BinaryText, Content, Intervals, Locator, Position};
use crate::compose;
use crate::engine::decode::decode_spans;
use crate::engine::{line_around, At, Engine};
use crate::filters;
use crate::finding::{cap_str, fingerprint, redact_spans, Finding, SourceKind};

/// Longest match text kept on a finding; a regex spanning a block need not copy the block. The
/// cap applies after redaction (see [`redact_spans`]), never before.
pub(crate) const MATCH_CAP: usize = 512;
/// Longest source line kept on a finding (after its secrets are redacted).
pub(crate) const LINE_CAP: usize = 200;
/// Encodings nested deeper than this are not decoded (base64 of base64 is depth 2).
pub(crate) const MAX_DECODE_DEPTH: usize = 2;
/// Decoded bytes scanned per blob, at most: a file of base64 cannot cost more than this.
pub(crate) const MAX_DECODED_BYTES: usize = 1 << 20;
/// Bytes of the line before and after an encoded run scanned with its decoded text, so that a
/// decoded value keeps the name it was assigned to (`aws_secret_access_key: <base64>`).
const CONTEXT: usize = 256;

/// Most findings kept from one blob where every finding is reported (`scan`, `history`). A file
/// of a million generated keys is a dump or an attack, not a million separate leaks: past this the
/// blob is reported as truncated (and still fails the run), so memory and report size stay
/// bounded. Gates that keep only added lines (`protect`, ranges) scan uncapped: a cap before that
/// filter could drop the one new key behind a thousand old ones.
pub(crate) const MAX_FINDINGS_PER_BLOB: usize = 1000;

/// What scanning one blob produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub binary: bool,
    /// Findings dropped past the cap of [`scan_bytes_capped`].
    pub truncated: usize,
}

/// Scans raw bytes as found on disk or in git. `path` is the display path (also used for rule
/// `paths` and path allowlists).
pub fn scan_bytes(engine: &Engine, raw: &[u8], path: Option<&str>, source: SourceKind) -> Outcome {
    scan_bytes_capped(engine, raw, path, source, usize::MAX)
}

/// [`scan_bytes`], keeping the first `cap` findings and counting the rest in `truncated`.
pub(crate) fn scan_bytes_capped(
    engine: &Engine,
    raw: &[u8],
    path: Option<&str>,
    source: SourceKind,
    cap: usize,
) -> Outcome {
    scan_raw(engine, raw, path, source, cap, None, false)
}

/// [`scan_bytes_capped`] counting only findings whose (first, last) line `lines` accepts: gates
/// that report added lines only rescan a truncated blob this way, so the cap cannot hide a new
/// key behind a thousand old ones.
pub(crate) fn scan_bytes_where(
    engine: &Engine,
    raw: &[u8],
    path: Option<&str>,
    source: SourceKind,
    cap: usize,
    lines: &dyn Fn(usize, usize) -> bool,
) -> Outcome {
    scan_raw(engine, raw, path, source, cap, Some(lines), false)
}

/// Scans `raw` as if it could sit at any path (every rule runs, no path allowlist applies),
/// keeping at most `cap` findings: which blobs are worth placing in history before their paths
/// are known. The findings have no path; the blob is scanned again at each path it appears at.
pub(crate) fn scan_any_path(engine: &Engine, raw: &[u8], cap: usize) -> Outcome {
    scan_raw(engine, raw, None, SourceKind::History, cap, None, true)
}

/// The one way raw bytes are scanned; `lines: None` keeps every line.
fn scan_raw(
    engine: &Engine,
    raw: &[u8],
    path: Option<&str>,
    source: SourceKind,
    cap: usize,
    lines: Option<&dyn Fn(usize, usize) -> bool>,
    any_path: bool,
) -> Outcome {
    // Keys hide in binaries too (a SQLite file, a compiled tool, UTF-16 without a BOM): the
    // text in them is scanned with the rules distinctive enough there.
    let (content, hidden) = match blob::prepare(raw) {
        Content::Binary => (None, Some(BinaryText::extract(raw))),
        Content::Text(text) => (Some(text), None),
    };
    let scope = Scope {
        cap,
        lines,
        binary: hidden.as_ref().map(|h| (h, raw)),
        any_path,
    };
    let text = match (&content, &hidden) {
        (Some(text), _) => text.as_ref(),
        (None, Some(h)) if !h.text.is_empty() => &h.text,
        _ => {
            return Outcome {
                binary: true,
                ..Outcome::default()
            }
        }
    };
    let (findings, truncated) = scan_text_in(engine, text, path, source, &scope);
    Outcome {
        findings,
        binary: hidden.is_some(),
        truncated,
    }
}

/// Rules run on the text found inside binary content: shapes that random bytes do not make.
pub(crate) fn is_binary_rule(rule: &crate::rules::Rule) -> bool {
    const IDS: &[&str] = &[
        "private-key",
        "openssh-private-key",
        "pgp-private-key",
        "putty-private-key",
    ];
    rule.id.starts_with("aws-") || IDS.contains(&rule.id.as_str())
}

/// What of a blob's matches become findings.
struct Scope<'s> {
    /// Most findings kept; the rest are counted.
    cap: usize,
    /// Which (first, last) lines count; `None`: all of them.
    lines: Option<&'s dyn Fn(usize, usize) -> bool>,
    /// Set when the text was extracted from binary content: where its runs are in the original.
    binary: Option<(&'s BinaryText, &'s [u8])>,
    /// Run every rule as if the content could be at any path (see [`candidate`]).
    any_path: bool,
}

/// A match before it becomes a finding: where it is in the blob, and its bytes (borrowed from the
/// blob, or owned when they came out of a decoder).
struct Hit<'a> {
    rule: usize,
    /// Location in the blob: the secret, or the encoded run that decoded to it.
    at: Range<usize>,
    secret: Cow<'a, [u8]>,
    /// The whole match, uncapped: capped only once its secrets are redacted.
    matched: Cow<'a, [u8]>,
    /// The secret's bytes within `matched`.
    secret_in_match: Range<usize>,
    /// Where `matched` starts in the blob; `None` when it comes out of a decoder's buffer.
    match_start: Option<usize>,
    entropy: f64,
    decoded: Option<String>,
}

/// Scans bytes already decoded to text.
pub(crate) fn scan_text(
    engine: &Engine,
    text: &[u8],
    path: Option<&str>,
    source: SourceKind,
) -> Vec<Finding> {
    let scope = Scope {
        cap: usize::MAX,
        lines: None,
        binary: None,
        any_path: false,
    };
    scan_text_in(engine, text, path, source, &scope).0
}

/// Scans text, keeping the first `scope.cap` findings (by position) on lines that `scope.lines`
/// accepts and counting the rest.
fn scan_text_in(
    engine: &Engine,
    text: &[u8],
    path: Option<&str>,
    source: SourceKind,
    scope: &Scope<'_>,
) -> (Vec<Finding>, usize) {
    let at_path = if scope.any_path {
        At::AnyPath
    } else {
        At::from(path)
    };
    let hits = blob_hits(engine, text, at_path, scope.binary.is_some());
    if hits.is_empty() {
        return (Vec::new(), 0);
    }
    // Inline markers, when the text has any: a marked match is placed too (up to the cap of its
    // own), so that pairing sees it and its marker allows the whole pair; dropped after pairing.
    let mut marks = filters::Marks::find(engine.inline_allow(), text);
    let (placed, dropped) = place_hits(engine, text, path, source, scope, hits, &mut marks);
    let allowed = |f: &Finding, start: usize| marks.as_ref().is_some_and(|m| m.allows(f, start));
    (
        compose::finish(text, placed, engine.rule_set(), allowed),
        dropped,
    )
}

/// The clear and decoded matches of a text, each once, sorted by position.
fn blob_hits<'t>(engine: &Engine, text: &'t [u8], at_path: At<'_>, binary: bool) -> Vec<Hit<'t>> {
    let matches = match binary {
        true => engine.scan_at(text, at_path, &is_binary_rule),
        false => engine.scan_at(text, at_path, &|_| true),
    };
    let mut hits: Vec<Hit<'_>> = matches
        .into_iter()
        .map(|m| Hit {
            rule: m.rule,
            at: m.secret.clone(),
            secret: Cow::Borrowed(&text[m.secret.clone()]),
            matched: Cow::Borrowed(&text[m.span.clone()]),
            secret_in_match: m.secret.start - m.span.start..m.secret.end - m.span.start,
            match_start: Some(m.span.start),
            entropy: m.entropy,
            decoded: None,
        })
        .collect();
    let mut decoded = Vec::new();
    let mut budget = if binary { 0 } else { MAX_DECODED_BYTES };
    let out = &mut decoded;
    decoded_hits(engine, text, at_path, 1, None, "", &mut budget, out);
    // A decoded secret and a clear-text match on the same span: the same rule found it twice
    // (keep the clear one); a lower-priority rule saw only the encoded text (keep the decoded one).
    // Interval lookups, not every pair: a blob with many clear and many decoded hits (a hostile
    // file, say 400k keys and 26k encoded ones) took 31 s pairwise and grew quadratically.
    if !decoded.is_empty() {
        let clear_by_rule = by_rule(&hits);
        decoded.retain(|d| {
            !clear_by_rule
                .get(&d.rule)
                .is_some_and(|iv| iv.overlaps(&d.at))
        });
        let any_decoded = Intervals::new(decoded.iter().map(|d| d.at.clone()).collect());
        let decoded_by_rule = by_rule(&decoded);
        hits.retain(|h| {
            // Most clear hits touch no encoded run at all: one lookup decides.
            !any_decoded.overlaps(&h.at)
                || !decoded_by_rule
                    .iter()
                    .any(|(&rule, iv)| rule < h.rule && iv.overlaps(&h.at))
        });
    }
    hits.extend(decoded);
    hits.sort_by_key(|h| (h.at.start, h.at.end, h.rule));
    hits.dedup_by(|later, first| {
        later.at == first.at && later.rule == first.rule && later.secret == first.secret
    });
    hits
}

/// Places hits (line and column) and builds their findings, up to the cap; returns them with
/// how many were counted but not built. A hit a marker allows is placed too (for pairing), and
/// remembered in `marks`.
fn place_hits<'e>(
    engine: &'e Engine,
    text: &'e [u8],
    path: Option<&str>,
    source: SourceKind,
    scope: &Scope<'_>,
    hits: Vec<Hit<'_>>,
    marks: &mut Option<filters::Marks<'e>>,
) -> (Vec<compose::Placed>, usize) {
    let cap = scope.cap;
    let secrets = BlobSecrets::new(&hits);
    let site = Site { path, source };
    let mut locator = Locator::new(scope.binary.map_or(text, |(_, raw)| raw));
    let place = |at: usize| scope.binary.map_or(at, |(b, _)| b.original_offset(at));
    let every_line = scope.lines.is_none();
    let mut placed = Vec::with_capacity(hits.len().min(cap));
    let (mut kept, mut marked, mut dropped) = (0, 0, 0);
    for h in hits {
        let rule = &engine.rules()[h.rule];
        if kept >= cap && every_line && marks.is_none() {
            // Past the cap on a scan that keeps every line: counted, never placed (placing
            // costs a walk over the line, and a hostile line holds tens of thousands of hits).
            dropped += 1;
            continue;
        }
        let start = locator.position(place(h.at.start));
        let allowed = marks
            .as_ref()
            .is_some_and(|m| m.check(&rule.id, h.at.start, &h.secret));
        if allowed && marked >= cap {
            continue;
        }
        marked += usize::from(allowed);
        let end = locator.position(place(h.at.end));
        if !allowed && scope.lines.is_some_and(|keep| !keep(start.line, end.line)) {
            continue;
        }
        if !allowed && kept >= cap {
            // Counted, not built: the caller only reports how many.
            dropped += 1;
            continue;
        }
        kept += usize::from(!allowed);
        if let Some(m) = marks.as_mut() {
            m.place((start.line, start.column), &rule.id, h.at.start, allowed);
        }
        let span = h.at.clone();
        let finding = build(rule, h, (start, end), text, &secrets, &site);
        placed.push(compose::Placed::new(text, span, finding));
    }
    (placed, dropped)
}

/// Where a blob's findings are reported: its path and the kind of source.
struct Site<'a> {
    path: Option<&'a str>,
    source: SourceKind,
}

/// The finding of one placed hit (`at`: where it starts and ends).
fn build(
    rule: &crate::rules::Rule,
    h: Hit<'_>,
    at: (Position, Position),
    text: &[u8],
    secrets: &BlobSecrets,
    site: &Site<'_>,
) -> Finding {
    let (matched, matched_redacted) = secrets.snippets(&h);
    Finding {
        rule_id: rule.id.clone(),
        description: rule.description.clone(),
        severity: rule.severity,
        file: site.path.map(str::to_string),
        line: at.0.line,
        column: at.0.column,
        end_line: at.1.line,
        end_column: at.1.column,
        secret: String::from_utf8_lossy(&h.secret).into_owned(),
        matched,
        matched_redacted,
        line_text: secrets.masked_line(text, &h.at),
        entropy: (h.entropy * 1000.0).round() / 1000.0,
        fingerprint: fingerprint(&rule.id, &h.secret),
        commit: None,
        other_occurrences: 0,
        source: site.source,
        related: Vec::new(),
        details: Default::default(),
        decoded: h.decoded,
        occurrences: Vec::new(),
        whereabouts: None,
    }
}

/// Secret ranges up to this long are kept in a plain sorted list (see [`BlobSecrets`]).
const SHORT_SPAN: usize = 512;

/// Every secret of one blob's hits, so that a finding's match text can be shown with all of them
/// redacted, not only its own: a key ID inside its pair's match, a clear key beside a decoded one.
struct BlobSecrets {
    /// Blob ranges of the clear hits' secrets and of the encoded runs that decoded to one, up to
    /// [`SHORT_SPAN`] bytes long, sorted: those touching a match start at most that far before it.
    short: Vec<Range<usize>>,
    /// The longer ones (PEM bodies, large encoded runs): few, looked up with a running maximum.
    /// Split so that one huge range early in a blob cannot make every lookup walk every range.
    long: Intervals,
    /// The secrets' bytes (8 or more), for matches that come out of a decoder and have no place
    /// in the blob; built only when there is such a match.
    texts: Option<aho_corasick::AhoCorasick>,
}

impl BlobSecrets {
    fn new(hits: &[Hit<'_>]) -> BlobSecrets {
        let texts = hits
            .iter()
            .any(|h| h.match_start.is_none())
            .then(|| {
                let mut s: Vec<&[u8]> = hits
                    .iter()
                    .map(|h| h.secret.as_ref())
                    .filter(|s| s.len() >= 8)
                    .collect();
                s.sort_unstable();
                s.dedup();
                // Standard semantics: overlapping secrets are all found, and their union redacted.
                aho_corasick::AhoCorasick::new(s).ok()
            })
            .flatten();
        let mut all: Vec<Range<usize>> = hits.iter().map(|h| h.at.clone()).collect();
        all.sort_unstable_by_key(|r| (r.start, r.end));
        all.dedup();
        let (long, short) = all.into_iter().partition(|r| r.len() > SHORT_SPAN);
        BlobSecrets {
            short,
            long: Intervals::new(long),
            texts,
        }
    }

    /// The secret ranges of the blob that share a byte with `span`.
    fn in_blob(&self, span: Range<usize>) -> impl Iterator<Item = &Range<usize>> + '_ {
        let lo = self
            .short
            .partition_point(|x| x.start + SHORT_SPAN < span.start);
        let hi = self.short.partition_point(|x| x.start < span.end);
        let start = span.start;
        self.short[lo..hi.max(lo)]
            .iter()
            .filter(move |x| x.end > start)
            .chain(self.long.overlapping(&span))
    }

    /// The line holding `at` with every secret of the blob on it redacted, then cut to
    /// [`LINE_CAP`] (from a little before the secret when the line is long). A window never starts
    /// inside a secret: a cut secret's visible tail would show more than its redacted form does.
    fn masked_line(&self, text: &[u8], at: &Range<usize>) -> String {
        let line = line_around(text, at.start.min(text.len()));
        // line_around returns a subslice of `text`: its offset is recovered from the pointers.
        let start = line.as_ptr() as usize - text.as_ptr() as usize;
        let end = start + line.len();
        let spans: Vec<Range<usize>> = self
            .in_blob(start..end)
            .cloned()
            .chain(std::iter::once(at.clone()))
            .collect();
        let mut from = start;
        if end - start > LINE_CAP {
            from = at.start.saturating_sub(LINE_CAP / 4).max(start);
            while let Some(s) = spans.iter().find(|s| s.start < from && s.end > from) {
                from = s.start.max(start);
                if from == start {
                    break;
                }
            }
            while from > start && from < end && (text[from] & 0xC0) == 0x80 {
                from -= 1;
            }
        }
        let local: Vec<Range<usize>> = spans
            .iter()
            .map(|r| r.start.clamp(from, end) - from..r.end.clamp(from, end) - from)
            .collect();
        let shown = redact_spans(&text[from..end], &local, LINE_CAP);
        let shown = shown.trim();
        if from > start {
            format!("…{shown}")
        } else {
            shown.to_string()
        }
    }

    /// The match text of `h` (trimmed) raw and capped, and redacted then capped.
    fn snippets(&self, h: &Hit<'_>) -> (String, String) {
        let m = h.matched.as_ref();
        let lead = m.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let trail = m[lead..]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        let window = lead..m.len() - trail;
        let mut spans = vec![h.secret_in_match.clone()];
        match h.match_start {
            Some(start) => spans.extend(
                self.in_blob(start..start + m.len())
                    .map(|r| r.start.max(start) - start..r.end.min(start + m.len()) - start),
            ),
            None => {
                if let Some(ac) = &self.texts {
                    spans.extend(ac.find_overlapping_iter(m).map(|x| x.range()));
                }
            }
        }
        let spans: Vec<Range<usize>> = spans
            .into_iter()
            .map(|r| {
                r.start.clamp(window.start, window.end) - window.start
                    ..r.end.clamp(window.start, window.end) - window.start
            })
            .collect();
        let text = &m[window];
        let raw = cap_str(
            &String::from_utf8_lossy(&text[..text.len().min(MATCH_CAP + 4)]),
            MATCH_CAP,
        );
        (raw, redact_spans(text, &spans, MATCH_CAP))
    }
}

/// The hits' ranges, grouped by rule.
fn by_rule(hits: &[Hit<'_>]) -> std::collections::HashMap<usize, Intervals> {
    let mut groups: std::collections::HashMap<usize, Vec<Range<usize>>> = Default::default();
    for h in hits {
        groups.entry(h.rule).or_default().push(h.at.clone());
    }
    groups
        .into_iter()
        .map(|(rule, ranges)| (rule, Intervals::new(ranges)))
        .collect()
}

/// Decodes the encoded runs of `text` and scans each with the line around it, recursing into the
/// decoded bytes up to [`MAX_DECODE_DEPTH`]. Hits are placed at the outermost encoded run.
#[allow(clippy::too_many_arguments)]
fn decoded_hits(
    engine: &Engine,
    text: &[u8],
    at_path: At<'_>,
    depth: usize,
    outer: Option<&Range<usize>>,
    marker: &str,
    budget: &mut usize,
    out: &mut Vec<Hit<'static>>,
) {
    if depth > MAX_DECODE_DEPTH {
        return;
    }
    for d in decode_spans(text, budget) {
        let at = outer.cloned().unwrap_or_else(|| d.span.clone());
        let mark = if marker.is_empty() {
            d.encoding.as_str().to_string()
        } else {
            format!("{marker}+{}", d.encoding.as_str())
        };
        let lo = d.span.start.saturating_sub(CONTEXT);
        let line_start = memchr::memrchr(b'\n', &text[lo..d.span.start]).map_or(lo, |p| lo + p + 1);
        let hi = (d.span.end + CONTEXT).min(text.len());
        let line_end = memchr::memchr(b'\n', &text[d.span.end..hi]).map_or(hi, |p| d.span.end + p);
        let mut buf = Vec::with_capacity(line_end - line_start - d.span.len() + d.bytes.len());
        buf.extend_from_slice(&text[line_start..d.span.start]);
        let region = buf.len()..buf.len() + d.bytes.len();
        buf.extend_from_slice(&d.bytes);
        buf.extend_from_slice(&text[d.span.end..line_end]);
        for m in engine.scan_at(&buf, at_path, &|_| true) {
            if m.secret.start < region.start || m.secret.end > region.end {
                continue;
            }
            out.push(Hit {
                rule: m.rule,
                at: at.clone(),
                secret: Cow::Owned(buf[m.secret.clone()].to_vec()),
                matched: Cow::Owned(buf[m.span.clone()].to_vec()),
                secret_in_match: m.secret.start - m.span.start..m.secret.end - m.span.start,
                match_start: None,
                entropy: m.entropy,
                decoded: Some(mark.clone()),
            });
        }
        decoded_hits(
            engine,
            &d.bytes,
            at_path,
            depth + 1,
            Some(&at),
            &mark,
            budget,
            out,
        );
    }
}
