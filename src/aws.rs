//! AWS-specific intelligence on top of plain matches: the account an access key ID belongs to
//! (decoded offline), whether the key is long-term or temporary, and pairing an access key ID with
//! the secret key found next to it into one `aws-credential-pair` finding.

use serde::Serialize;

use crate::finding::{fingerprint, Finding, Related};

/// Rule id of a key ID finding, of the secrets that pair with one, and of the pair itself.
pub const KEY_ID_RULE: &str = "aws-access-key-id";
pub const SECRET_RULES: &[&str] = &["aws-secret-access-key", "aws-iam-secret-tfstate"];
pub const PAIR_RULE: &str = "aws-credential-pair";
/// The catch-all rule: its finding pairs too when its value has the exact shape of a secret key
/// (`password = <40 base64>` two lines below an access key ID is that key's secret).
pub const GENERIC_RULE: &str = "generic-secret-assignment";

/// Decodings that keep the text where it was (the finding sits on the encoded run itself), so a
/// decoded secret can pair with a clear key ID: `%2F` in a URL, `\/` in JSON, `"ab" + "cd"`.
const PAIRABLE_DECODINGS: &[&str] = &["percent", "unescape", "concat"];

fn pairable(f: &Finding) -> bool {
    f.decoded
        .as_deref()
        .is_none_or(|d| PAIRABLE_DECODINGS.contains(&d))
}

/// The shape of a secret access key: 40 base64 characters mixing upper case, lower case and
/// digits, at most 3 slashes (a path has more), not hex, with the entropy of random data.
pub fn secret_shaped(s: &[u8]) -> bool {
    s.len() == 40
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'/' || *b == b'+')
        && s.iter().any(u8::is_ascii_uppercase)
        && s.iter().any(u8::is_ascii_lowercase)
        && s.iter().any(u8::is_ascii_digit)
        && s.iter().filter(|&&b| b == b'/').count() <= 3
        && !s.iter().all(u8::is_ascii_hexdigit)
        && crate::engine::entropy::shannon(s) >= 4.2
        && !s.to_ascii_lowercase().windows(7).any(|w| w == b"example")
}

/// At most this many lines between a key ID and its secret.
pub const PAIR_WINDOW_LINES: usize = 10;

/// What an access key ID's prefix says about its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    /// `AKIA`: an IAM user's (or root's) key; valid until deleted.
    LongTerm,
    /// `ASIA` (STS) and `ABIA` (STS service bearer): expire on their own, within hours.
    Temporary,
    /// `ACCA`, `A3T…`: context-specific or legacy.
    Other,
}

impl KeyType {
    pub fn of(key_id: &str) -> Option<KeyType> {
        let p = key_id.get(..4)?;
        Some(match p {
            "AKIA" => KeyType::LongTerm,
            "ASIA" | "ABIA" => KeyType::Temporary,
            _ if p == "ACCA" || p.starts_with("A3T") => KeyType::Other,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::LongTerm => "long-term",
            KeyType::Temporary => "temporary",
            KeyType::Other => "other",
        }
    }
}

/// The 12-digit AWS account ID encoded in an access key ID (offline, no API call): base32-decode
/// the 16 characters after the 4-letter prefix, take the first 6 bytes big-endian, mask with
/// `0x7fff_ffff_ff80` and shift right by 7.
pub fn account_id(key_id: &str) -> Option<u64> {
    let body = key_id.as_bytes().get(4..20)?;
    if key_id.len() != 20 {
        return None;
    }
    let mut acc: u128 = 0;
    for &c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u128::from(v);
    }
    // 16 × 5 = 80 bits = 10 bytes; the first 6 bytes are the top 48 bits.
    let head = (acc >> 32) as u64;
    Some((head & 0x7fff_ffff_ff80) >> 7)
}

/// Fills `account_id` and `key_type` of findings that carry an access key ID.
pub fn annotate(f: &mut Finding) {
    let key_id = if f.rule_id == KEY_ID_RULE {
        Some(f.secret.clone())
    } else if f.rule_id == PAIR_RULE {
        f.related
            .iter()
            .find(|r| r.rule_id == KEY_ID_RULE)
            .map(|r| r.secret.clone())
    } else {
        None
    };
    if let Some(id) = key_id {
        if KeyType::of(&id).is_some() {
            f.account_id = account_id(&id);
            f.key_type = KeyType::of(&id);
        }
    }
}

/// A finding with the byte span it covers in the scanned text, for pairing.
pub struct Placed {
    pub span: std::ops::Range<usize>,
    pub finding: Finding,
}

/// Merges each AWS secret key with the nearest access key ID in the same neighbourhood (within
/// [`PAIR_WINDOW_LINES`] lines, same Terraform block, same INI section, same JSON/HCL object) into
/// one `aws-credential-pair` finding at the secret's location, naming the key ID's location in
/// `related`. A pair the pair rule's own regex already matched gets its key ID the same way.
/// `pair_rule` is the rule's description, severity and id, when the rule is enabled.
pub fn pair(
    text: &[u8],
    placed: &mut Vec<Placed>,
    pair_rule: Option<(&str, crate::rules::Severity)>,
) {
    let Some((description, severity)) = pair_rule else {
        return;
    };
    let ids: Vec<usize> = (0..placed.len())
        .filter(|&i| placed[i].finding.rule_id == KEY_ID_RULE && pairable(&placed[i].finding))
        .collect();
    let secrets: Vec<usize> = (0..placed.len())
        .filter(|&i| {
            let f = &placed[i].finding;
            let r = f.rule_id.as_str();
            (SECRET_RULES.contains(&r)
                || r == PAIR_RULE
                || (r == GENERIC_RULE && secret_shaped(f.secret.as_bytes())))
                && pairable(f)
        })
        .collect();
    if ids.is_empty() {
        return;
    }
    // Pairing every ID with every secret was quadratic (a hostile commit message of 20,000
    // pairs took 8 s).
    // Each secret considers the few key IDs written closest before and after it.
    const NEIGHBOURS: usize = 4;
    let mut ids = ids;
    ids.sort_by_key(|&i| placed[i].span.start);
    let mut candidates: Vec<(usize, bool, usize, usize)> = Vec::new();
    for &s in &secrets {
        let at = ids.partition_point(|&i| placed[i].span.start < placed[s].span.start);
        let (lo, hi) = (
            at.saturating_sub(NEIGHBOURS),
            (at + NEIGHBOURS).min(ids.len()),
        );
        for &i in &ids[lo..hi] {
            let (a, b) = (&placed[i], &placed[s]);
            let dist = a.finding.line.abs_diff(b.finding.line);
            if dist > PAIR_WINDOW_LINES || a.finding.block != b.finding.block {
                continue;
            }
            let (lo, hi) = if a.span.start < b.span.start {
                (a.span.end, b.span.start)
            } else {
                (b.span.end, a.span.start)
            };
            // Overlapping spans: one decoded run (a percent-encoded URL) holds both.
            if lo < hi && !neighbours(text, lo, hi) {
                continue;
            }
            // Nearest first; on a tie the key ID written before its secret.
            candidates.push((dist, a.span.start > b.span.start, s, i));
        }
    }
    candidates.sort_unstable();
    let mut used = vec![false; placed.len()];
    let mut drop = vec![false; placed.len()];
    for (_, _, s, i) in candidates {
        if used[s] || used[i] {
            continue;
        }
        used[s] = true;
        used[i] = true;
        drop[i] = true;
        let id = placed[i].finding.clone();
        let f = &mut placed[s].finding;
        let mut material = id.secret.clone().into_bytes();
        material.push(b':');
        material.extend_from_slice(f.secret.as_bytes());
        f.rule_id = PAIR_RULE.to_string();
        f.description = description.to_string();
        f.severity = severity;
        f.fingerprint = fingerprint(PAIR_RULE, &material);
        f.related = vec![Related {
            rule_id: id.rule_id,
            line: id.line,
            column: id.column,
            end_line: id.end_line,
            end_column: id.end_column,
            secret: id.secret,
        }];
    }
    // A key ID left alone: a secret-shaped value near it, under any name or none (`password:`,
    // `.abc…`, a split literal), is its secret.
    let mut loose = Vec::new();
    for &i in &ids {
        if used[i] || placed[i].finding.decoded.is_some() {
            continue;
        }
        if let Some(p) = loose_secret(text, &placed[i], placed, description, severity) {
            drop[i] = true;
            loose.push(p);
        }
    }
    let mut k = 0;
    placed.retain(|_| {
        k += 1;
        !drop[k - 1]
    });
    placed.extend(loose);
}

/// A secret-shaped token within [`PAIR_WINDOW_LINES`] lines of the key ID `id` and in its
/// neighbourhood, that no finding already covers, as a pair finding at the token. Tokens are
/// maximal runs of base64 characters bounded by anything else but `=`, `_`, `-` (so `.abc…;`
/// counts, a longer run or an identifier does not), or split literals and JSON-escaped tokens,
/// joined. The nearest one wins.
fn loose_secret(
    text: &[u8],
    id: &Placed,
    placed: &[Placed],
    description: &str,
    severity: crate::rules::Severity,
) -> Option<Placed> {
    let (lo, hi) = window(text, id.span.clone(), PAIR_WINDOW_LINES);
    let region = &text[lo..hi];
    let mut cands: Vec<(std::ops::Range<usize>, Vec<u8>)> = Vec::new();
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
        let bounded = |b: Option<&u8>| !b.is_some_and(|b| matches!(b, b'=' | b'_' | b'-'));
        if i - start == 40
            && bounded(start.checked_sub(1).and_then(|p| region.get(p)))
            && bounded(region.get(i))
        {
            cands.push((lo + start..lo + i, region[start..i].to_vec()));
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
    let covered = |r: &std::ops::Range<usize>| {
        placed
            .iter()
            .any(|p| p.span.start < r.end && r.start < p.span.end)
    };
    let (at, secret) = cands
        .into_iter()
        .filter(|(r, s)| secret_shaped(s) && !covered(r))
        .filter(|(r, _)| {
            let (a, b) = if r.start < id.span.start {
                (r.end, id.span.start)
            } else {
                (id.span.end, r.start)
            };
            a <= b && neighbours(text, a, b)
        })
        .min_by_key(|(r, _)| r.start.abs_diff(id.span.start))?;
    let f = &id.finding;
    // Line and column from the key ID's, counting lines between them (text is ASCII there).
    let (line, column) = if at.start >= id.span.start {
        let between = &text[id.span.start..at.start];
        let nl = between.iter().filter(|&&b| b == b'\n').count();
        match memchr::memrchr(b'\n', between) {
            None => (f.line, f.column + at.start - id.span.start),
            Some(p) => (f.line + nl, at.start - (id.span.start + p + 1) + 1),
        }
    } else {
        let between = &text[at.start..id.span.start];
        let nl = between.iter().filter(|&&b| b == b'\n').count();
        let line_start = memchr::memrchr(b'\n', &text[..at.start]).map_or(0, |p| p + 1);
        (f.line - nl, at.start - line_start + 1)
    };
    let span_text = &text[at.clone()];
    let end_nl = span_text.iter().filter(|&&b| b == b'\n').count();
    let end_column = match memchr::memrchr(b'\n', span_text) {
        None => column + span_text.len(),
        Some(p) => span_text.len() - p,
    };
    let secret_str = String::from_utf8_lossy(&secret).into_owned();
    let mut material = f.secret.clone().into_bytes();
    material.push(b':');
    material.extend_from_slice(&secret);
    let shown = String::from_utf8_lossy(&span_text[..span_text.len().min(200)]).into_owned();
    let finding = Finding {
        rule_id: PAIR_RULE.to_string(),
        description: description.to_string(),
        severity,
        line,
        column,
        end_line: line + end_nl,
        end_column,
        matched_redacted: crate::finding::redact(&shown),
        matched: shown,
        entropy: (crate::engine::entropy::shannon(&secret) * 1000.0).round() / 1000.0,
        fingerprint: fingerprint(PAIR_RULE, &material),
        secret: secret_str,
        related: vec![Related {
            rule_id: f.rule_id.clone(),
            line: f.line,
            column: f.column,
            end_line: f.end_line,
            end_column: f.end_column,
            secret: f.secret.clone(),
        }],
        decoded: None,
        ..f.clone()
    };
    Some(Placed { span: at, finding })
}

/// The byte range of `lines` lines before and after `span`.
fn window(text: &[u8], span: std::ops::Range<usize>, lines: usize) -> (usize, usize) {
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

/// True when the text between a key ID and a secret stays in one section: no INI `[section]`
/// header, no YAML document break, and no brace that closes the object holding the first of them.
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
    fn key_types() {
        assert_eq!(KeyType::of("AKIAXXXX"), Some(KeyType::LongTerm));
        assert_eq!(KeyType::of("ASIAXXXX"), Some(KeyType::Temporary));
        assert_eq!(KeyType::of("AIDAXXXX"), None);
    }

    #[test]
    fn account_of_generated_keys() {
        let mut g = crate::rules::placeholder::Generator::new(11);
        let id = g.aws_key_id_for_account("AKIA", 210_987_654_321);
        assert_eq!(account_id(&id), Some(210_987_654_321));
        assert_eq!(account_id("AKIA"), None);
    }

    #[test]
    fn neighbourhoods() {
        assert!(same_neighbourhood(b"\",\n  \"secret\": \""));
        assert!(!same_neighbourhood(b"\n[prod]\naws_secret_access_key = "));
        assert!(!same_neighbourhood(b"\"}, {\"s\": \""));
    }
}
