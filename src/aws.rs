//! AWS-specific intelligence on top of plain matches: the account an access key ID belongs to
//! (decoded offline), whether the key is long-term or temporary, and the shape of a secret access
//! key. Pairing a key ID with its secret is data (`requires` in `rules/aws.toml`), done by
//! [`crate::compose`].

use serde::Serialize;

use crate::finding::{detail, Detail};

/// Rule id of a key ID finding and of the pair (for verification and the runbook).
pub(crate) const KEY_ID_RULE: &str = "aws-access-key-id";
pub(crate) const PAIR_RULE: &str = "aws-credential-pair";

/// At most this many lines between a key ID and its session token (as between a key ID and its
/// secret: `within_lines` of the pair rule).
pub(crate) const PAIR_WINDOW_LINES: usize = 10;

/// What an access key ID's prefix says about its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum KeyType {
    /// `AKIA`: an IAM user's (or root's) key; valid until deleted.
    LongTerm,
    /// `ASIA` (STS) and `ABIA` (STS service bearer): expire on their own, within hours.
    Temporary,
    /// `ACCA`, `A3T…`: context-specific or legacy.
    Other,
}

impl KeyType {
    pub(crate) fn of(key_id: &str) -> Option<KeyType> {
        let p = key_id.get(..4)?;
        Some(match p {
            "AKIA" => KeyType::LongTerm,
            "ASIA" | "ABIA" => KeyType::Temporary,
            _ if p == "ACCA" || p.starts_with("A3T") => KeyType::Other,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyType::LongTerm => "long-term",
            KeyType::Temporary => "temporary",
            KeyType::Other => "other",
        }
    }

    /// What the type means, for people.
    fn sentence(self) -> &'static str {
        match self {
            KeyType::LongTerm => "long-term key (AKIA): valid until deleted",
            KeyType::Temporary => "temporary key (STS): expires on its own",
            KeyType::Other => "key type: other",
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

/// The details an access key ID gives a finding: the account it belongs to and its type.
pub(crate) fn details(key_id: &str) -> Vec<Detail> {
    let Some(kind) = KeyType::of(key_id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(a) = account_id(key_id) {
        out.push(Detail {
            key: detail::ACCOUNT_ID,
            value: format!("{a:012}"),
            text: format!("AWS account {a:012}"),
        });
    }
    out.push(Detail {
        key: detail::KEY_TYPE,
        value: kind.as_str().to_string(),
        text: kind.sentence().to_string(),
    });
    out
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
}
