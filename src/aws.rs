//! AWS-specific intelligence on top of plain matches: the account an access key ID belongs to
//! (decoded offline), whether the key is long-term or temporary, and pairing an access key ID with
//! the secret key found next to it into one `aws-credential-pair` finding.

use serde::Serialize;

use crate::finding::{fingerprint, Finding, Related};

/// Rule id of a key ID finding, of the secrets that pair with one, and of the pair itself.
pub const KEY_ID_RULE: &str = "aws-access-key-id";
pub const SECRET_RULES: &[&str] = &["aws-secret-access-key", "aws-iam-secret-tfstate"];
pub const PAIR_RULE: &str = "aws-credential-pair";

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
        .filter(|&i| {
            placed[i].finding.rule_id == KEY_ID_RULE && placed[i].finding.decoded.is_none()
        })
        .collect();
    let secrets: Vec<usize> = (0..placed.len())
        .filter(|&i| {
            let r = placed[i].finding.rule_id.as_str();
            (SECRET_RULES.contains(&r) || r == PAIR_RULE) && placed[i].finding.decoded.is_none()
        })
        .collect();
    if ids.is_empty() || secrets.is_empty() {
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
            if lo > hi || !same_neighbourhood(&text[lo..hi]) {
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
    let mut k = 0;
    placed.retain(|_| {
        k += 1;
        !drop[k - 1]
    });
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
