//! The composite step, run on one blob's placed matches after the engine: composite rules (a rule
//! with `requires`, see [`crate::rules::requires`]) turn a secret half and the nearest match of
//! the rule they require into one finding, then domain annotators ([`crate::annotate`]) attach
//! their details. Nothing here names a rule: which rules pair, how far apart and with what shape
//! all come from the packs (`aws-credential-pair` in `rules/aws.toml`).

use std::ops::Range;

use crate::annotate;
use crate::finding::{fingerprint, Finding, Related};
use crate::rules::requires::Requires;
use crate::rules::{Rule, RuleSet};

/// A finding with the byte span it covers in the scanned text, and the named block it sits in.
pub(crate) struct Placed {
    span: Range<usize>,
    finding: Finding,
    block: Option<String>,
}

impl Placed {
    /// `finding` at `span` of `text`, with its enclosing block looked up.
    pub(crate) fn new(text: &[u8], span: Range<usize>, finding: Finding) -> Placed {
        let block = annotate::block(text, finding.file.as_deref(), span.start);
        Placed {
            span,
            finding,
            block,
        }
    }
}

/// Builds the findings of every enabled composite rule from `placed`, drops those `allowed` says
/// (given a finding and where it starts: an inline marker on either half allows a whole pair, so
/// it is asked after pairing), then annotates the rest.
pub(crate) fn finish(
    text: &[u8],
    mut placed: Vec<Placed>,
    rules: &RuleSet,
    allowed: impl Fn(&Finding, usize) -> bool,
) -> Vec<Finding> {
    if placed.is_empty() {
        return Vec::new();
    }
    for rule in &rules.rules {
        if let Some(req) = &rule.requires {
            pair(text, &mut placed, rule, req);
        }
    }
    let annotator = annotate::Annotator::new(rules);
    placed
        .into_iter()
        .filter(|p| !allowed(&p.finding, p.span.start))
        .map(|p| {
            let mut f = p.finding;
            annotator.annotate(&mut f, p.block);
            f
        })
        .collect()
}

/// Decodings that keep the text where it was (the finding sits on the encoded run itself), so a
/// decoded secret can pair with a clear match: `%2F` in a URL, `\/` in JSON, `"ab" + "cd"`.
const PAIRABLE_DECODINGS: &[&str] = &["percent", "unescape", "concat"];

fn pairable(f: &Finding) -> bool {
    f.decoded
        .as_deref()
        .is_none_or(|d| PAIRABLE_DECODINGS.contains(&d))
}

/// Each secret half considers only this many required matches written closest before it and
/// as many after: pairing every one with every other was quadratic (a hostile commit message of
/// 20,000 pairs took 8 s).
const NEIGHBOURS: usize = 4;

/// Merges each secret half with the nearest match of the required rule in its neighbourhood
/// into one finding of `rule` at the secret's location, naming the other half in `related`. A
/// required match left alone takes a token of the rule's `shape` nearby, if it has one.
fn pair(text: &[u8], placed: &mut Vec<Placed>, rule: &Rule, req: &Requires) {
    let mut ids: Vec<usize> = (0..placed.len())
        .filter(|&i| placed[i].finding.rule_id == req.rule && pairable(&placed[i].finding))
        .collect();
    if ids.is_empty() {
        return;
    }
    let secrets: Vec<usize> = (0..placed.len())
        .filter(|&i| {
            let f = &placed[i].finding;
            req.is_secret_half(&rule.id, &f.rule_id, f.secret.as_bytes()) && pairable(f)
        })
        .collect();
    ids.sort_by_key(|&i| placed[i].span.start);
    let mut used = vec![false; placed.len()];
    let mut drop = vec![false; placed.len()];
    for (s, i) in matches(text, placed, &ids, &secrets, req) {
        if used[s] || used[i] {
            continue;
        }
        used[s] = true;
        used[i] = true;
        drop[i] = true;
        let id = placed[i].finding.clone();
        merge(&mut placed[s].finding, &id, rule);
    }
    let mut loose = Vec::new();
    if let Some(shape) = req.shape {
        for &i in &ids {
            if used[i] || placed[i].finding.decoded.is_some() {
                continue;
            }
            if let Some(p) = loose_secret(text, &placed[i], placed, rule, req, shape) {
                drop[i] = true;
                // A finding on a piece of the token it took says less about the same secret.
                for (j, q) in placed.iter().enumerate() {
                    if overlaps(&q.span, &p.span)
                        && is_piece(&q.finding, p.finding.secret.as_bytes())
                    {
                        drop[j] = true;
                    }
                }
                loose.push(p);
            }
        }
    }
    let mut k = 0;
    placed.retain(|_| {
        k += 1;
        !drop[k - 1]
    });
    placed.extend(loose);
}

/// Candidate (secret, required) index pairs within the window and neighbourhood, nearest first;
/// on a tie the required match written before its secret.
fn matches(
    text: &[u8],
    placed: &[Placed],
    ids: &[usize],
    secrets: &[usize],
    req: &Requires,
) -> Vec<(usize, usize)> {
    let mut candidates: Vec<(usize, bool, usize, usize)> = Vec::new();
    for &s in secrets {
        let at = ids.partition_point(|&i| placed[i].span.start < placed[s].span.start);
        let (lo, hi) = (
            at.saturating_sub(NEIGHBOURS),
            (at + NEIGHBOURS).min(ids.len()),
        );
        for &i in &ids[lo..hi] {
            let (a, b) = (&placed[i], &placed[s]);
            let dist = a.finding.line.abs_diff(b.finding.line);
            if dist > req.within_lines || (req.same_block && a.block != b.block) {
                continue;
            }
            let (lo, hi) = if a.span.start < b.span.start {
                (a.span.end, b.span.start)
            } else {
                (b.span.end, a.span.start)
            };
            // Overlapping spans: one decoded run (a percent-encoded URL) holds both.
            if req.same_block && lo < hi && !neighbours(text, lo, hi) {
                continue;
            }
            candidates.push((dist, a.span.start > b.span.start, s, i));
        }
    }
    candidates.sort_unstable();
    candidates.into_iter().map(|(_, _, s, i)| (s, i)).collect()
}

/// Turns the secret half `f` into `rule`'s finding, with `id` (the required match) as related.
fn merge(f: &mut Finding, id: &Finding, rule: &Rule) {
    f.rule_id = rule.id.clone();
    f.description = rule.description.clone();
    f.severity = rule.severity;
    f.fingerprint = fingerprint(&rule.id, &material(&id.secret, f.secret.as_bytes()));
    f.related = vec![related(id)];
}

/// What a composite finding's fingerprint hashes: both halves, so either changing is a new leak.
fn material(id: &str, secret: &[u8]) -> Vec<u8> {
    let mut m = id.as_bytes().to_vec();
    m.push(b':');
    m.extend_from_slice(secret);
    m
}

fn related(f: &Finding) -> Related {
    Related {
        rule_id: f.rule_id.clone(),
        line: f.line,
        column: f.column,
        end_line: f.end_line,
        end_column: f.end_column,
        secret: f.secret.clone(),
    }
}

/// A token of `shape` within the window of the required match `id` and in its neighbourhood,
/// that no finding already covers, as a finding of `rule` at the token. Tokens are maximal runs
/// of base64 characters bounded by anything else but `=`, `_`, `-`, `%` (so `.abc…;` counts, a longer
/// run or an identifier does not), or split literals and JSON-escaped tokens, joined. The
/// nearest one wins.
fn loose_secret(
    text: &[u8],
    id: &Placed,
    placed: &[Placed],
    rule: &Rule,
    req: &Requires,
    shape: crate::rules::requires::Shape,
) -> Option<Placed> {
    let (lo, hi) = window(text, id.span.clone(), req.within_lines);
    let covered = |r: &Range<usize>, s: &[u8]| {
        placed
            .iter()
            .any(|p| overlaps(&p.span, r) && !is_piece(&p.finding, s))
    };
    let (at, secret) = tokens(text, lo, hi)
        .into_iter()
        .filter(|(r, s)| shape.fits(s) && !covered(r, s))
        .filter(|(r, _)| {
            let (a, b) = if r.start < id.span.start {
                (r.end, id.span.start)
            } else {
                (id.span.end, r.start)
            };
            a <= b && (!req.same_block || neighbours(text, a, b))
        })
        .min_by_key(|(r, _)| r.start.abs_diff(id.span.start))?;
    let f = &id.finding;
    let (line, column) = position(text, id, at.start);
    let span_text = &text[at.clone()];
    let end_nl = span_text.iter().filter(|&&b| b == b'\n').count();
    let end_column = match memchr::memrchr(b'\n', span_text) {
        None => column + span_text.len(),
        Some(p) => span_text.len() - p,
    };
    let shown = String::from_utf8_lossy(&span_text[..span_text.len().min(200)]).into_owned();
    let finding = Finding {
        rule_id: rule.id.clone(),
        description: rule.description.clone(),
        severity: rule.severity,
        line,
        column,
        end_line: line + end_nl,
        end_column,
        matched_redacted: crate::finding::redact(&shown),
        matched: shown,
        entropy: (crate::engine::entropy::shannon(&secret) * 1000.0).round() / 1000.0,
        fingerprint: fingerprint(&rule.id, &material(&f.secret, &secret)),
        secret: String::from_utf8_lossy(&secret).into_owned(),
        related: vec![related(f)],
        decoded: None,
        ..f.clone()
    };
    Some(Placed {
        span: at,
        finding,
        block: id.block.clone(),
    })
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// True when `f` caught only a piece of the split literal `joined` (a generic rule matching
/// `secret = "wJal…" +` on the first line): the joined token supersedes it.
fn is_piece(f: &Finding, joined: &[u8]) -> bool {
    f.secret.len() < joined.len() && memchr::memmem::find(joined, f.secret.as_bytes()).is_some()
}

/// True for a run of `len` token bytes at `at` that a compiled Python module (`.pyc`) holds as
/// a 40-byte string: the text of a binary blob is its printable runs one per line, and marshal
/// writes a short string as a type byte (printable `z`/`Z`, or not), its length (40 is `(`) and
/// the bytes, with the next object's type byte glued on (`F` for False, `N` for None).
fn marshalled(text: &[u8], at: usize, len: usize) -> bool {
    (41..=42).contains(&len)
        && at >= 1
        && text[at - 1] == b'('
        && (at == 1 || matches!(text[at - 2], b'\n' | b'z' | b'Z'))
}

/// The candidate tokens of `text[lo..hi]`: 40-character base64 runs, escaped and split literals.
fn tokens(text: &[u8], lo: usize, hi: usize) -> Vec<(Range<usize>, Vec<u8>)> {
    let region = &text[lo..hi];
    let mut cands: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    let is_tok = |b: u8| b.is_ascii_alphanumeric() || b == b'/' || b == b'+';
    let mut i = 0;
    while i < region.len() {
        if !is_tok(region[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < region.len() && is_tok(region[i]) {
            i += 1;
        }
        // Not after `%` either: `G%2fep9…` holds a 40-character run that is no secret.
        let bounded = |b: Option<&u8>| !b.is_some_and(|b| matches!(b, b'=' | b'_' | b'-' | b'%'));
        if i - start == 40
            && bounded(start.checked_sub(1).and_then(|p| region.get(p)))
            && bounded(region.get(i))
        {
            cands.push((lo + start..lo + i, region[start..i].to_vec()));
        } else if marshalled(text, lo + start, i - start) {
            cands.push((
                lo + start..lo + start + 40,
                region[start..start + 40].to_vec(),
            ));
        }
    }
    let strip = |b: Vec<u8>| -> Vec<u8> {
        b.into_iter()
            .filter(|c| !matches!(c, b'"' | b'\'' | b'='))
            .collect()
    };
    for (r, b) in crate::engine::decode::escaped_runs(region)
        .into_iter()
        .chain(crate::engine::decode::concat_runs(region))
    {
        cands.push((lo + r.start..lo + r.end, strip(b)));
    }
    cands
}

/// Line and column of byte `at`, counted from the required match's own (text is ASCII there).
fn position(text: &[u8], id: &Placed, at: usize) -> (usize, usize) {
    let f = &id.finding;
    if at >= id.span.start {
        let between = &text[id.span.start..at];
        let nl = between.iter().filter(|&&b| b == b'\n').count();
        match memchr::memrchr(b'\n', between) {
            None => (f.line, f.column + at - id.span.start),
            Some(p) => (f.line + nl, at - (id.span.start + p + 1) + 1),
        }
    } else {
        let between = &text[at..id.span.start];
        let nl = between.iter().filter(|&&b| b == b'\n').count();
        let line_start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |p| p + 1);
        (f.line - nl, at - line_start + 1)
    }
}

/// The byte range of `lines` lines before and after `span`.
fn window(text: &[u8], span: Range<usize>, lines: usize) -> (usize, usize) {
    let mut lo = span.start;
    for _ in 0..=lines {
        match memchr::memrchr(b'\n', &text[..lo]) {
            Some(p) => lo = p,
            None => {
                lo = 0;
                break;
            }
        }
    }
    if lo > 0 {
        lo += 1;
    }
    let mut hi = span.end;
    for _ in 0..=lines {
        match memchr::memchr(b'\n', &text[hi..]) {
            Some(p) if hi + p + 1 < text.len() => hi = hi + p + 1,
            _ => {
                hi = text.len();
                break;
            }
        }
    }
    (lo, hi)
}

/// [`same_neighbourhood`] for `text[lo..hi]`, where a `}` that closes a shell `${VAR:-…}` opened
/// earlier on the first line (`${AWS_ACCESS_KEY_ID:-AKIA…}`) does not end the object.
fn neighbours(text: &[u8], lo: usize, hi: usize) -> bool {
    let line_start = memchr::memrchr(b'\n', &text[..lo]).map_or(0, |p| p + 1);
    let before = &text[line_start..lo];
    let opened = before.windows(2).filter(|w| w == b"${").count();
    let closed = before.iter().filter(|&&b| b == b'}').count();
    let mut between = text[lo..hi].to_vec();
    let mut skip = opened.saturating_sub(closed);
    for b in between.iter_mut() {
        if skip == 0 || *b == b'\n' {
            break;
        }
        if *b == b'}' {
            *b = b' ';
            skip -= 1;
        }
    }
    same_neighbourhood(&between)
}

/// True when the text between two halves stays in one section: no INI `[section]` header, no
/// YAML document break, and no brace that closes the object holding the first of them.
fn same_neighbourhood(between: &[u8]) -> bool {
    let mut depth: i64 = 0;
    for &b in between {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    for line in between.split(|&b| b == b'\n').skip(1) {
        let t = line.trim_ascii_start();
        if t.starts_with(b"[") && !t.starts_with(b"[[") && line.trim_ascii_end().ends_with(b"]") {
            return false;
        }
        if t.starts_with(b"---") {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbourhoods() {
        assert!(same_neighbourhood(b"\",\n  \"secret\": \""));
        assert!(!same_neighbourhood(b"\n[prod]\naws_secret_access_key = "));
        assert!(!same_neighbourhood(b"\"}, {\"s\": \""));
    }
}
