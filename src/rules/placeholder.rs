//! Deterministic fake credentials for rule examples and tests.
//!
//! Rule packs and fixtures hold `{{aws_key_id}}`-style placeholders instead of keys, so that this
//! repository never contains anything a scanner (ours or a code host's push protection) would
//! flag; the values are generated when examples are checked.
//!
//! For examples, `explain` and tests only: nothing on the scan path may use it.

use crate::engine::decode::{encode_base64 as b64, encode_base64url as b64url};
use crate::error::UnknownPlaceholder;

/// Alphabets of common token formats.
pub const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const HEX: &[u8] = b"0123456789abcdef";
pub const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
pub const DIGITS: &[u8] = b"0123456789";
pub const UPPERNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const LOWERNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A small deterministic PRNG (SplitMix64): same seed, same keys, on every machine.
#[derive(Debug, Clone)]
pub struct Generator {
    state: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            state: seed ^ 0x6b65_7966_656e_6365,
        }
    }

    /// Seeds from a string, e.g. a rule id plus an example index.
    pub fn from_label(label: &str) -> Self {
        // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in label.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Generator::new(h)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `n` characters drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next_u64() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    /// An access key ID: a 4-letter prefix (AKIA, ASIA, …) and 16 base32 characters.
    pub fn aws_key_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.string(BASE32, 16))
    }

    /// A 40-character secret access key.
    pub fn aws_secret(&mut self) -> String {
        self.string(BASE64, 40)
    }

    /// An STS session token: the usual base64 lead-in and a long base64 body.
    pub fn aws_session_token(&mut self) -> String {
        format!("FwoGZXIvYXdzE{}", self.string(BASE64, 280))
    }

    /// An access key ID that encodes `account` (the 12-digit AWS account ID): the 16 characters
    /// after the prefix are the base32 of 10 bytes whose first 6, big-endian, hold the account
    /// shifted left by 7 (the low 7 bits and the last 4 bytes are random).
    pub fn aws_key_id_for_account(&mut self, prefix: &str, account: u64) -> String {
        let head = ((account << 7) & 0x7fff_ffff_ff80) | (self.next_u64() & 0x7f);
        let mut bytes = [0u8; 10];
        bytes[..6].copy_from_slice(&head.to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&(self.next_u64() as u32).to_be_bytes());
        format!("{prefix}{}", base32(&bytes))
    }

    /// A GitHub-style token (`ghp_`, `gho_`, `npm_`, …): 30 base62 characters and their CRC32
    /// checksum; `valid = false` spoils the checksum.
    pub fn crc_token(&mut self, prefix: &str, valid: bool) -> String {
        let body = self.string(ALNUM, 30);
        let mut sum =
            crate::engine::validate::base62_6(crate::engine::validate::crc32(body.as_bytes()));
        if !valid {
            sum[5] = if sum[5] == b'0' { b'1' } else { b'0' };
        }
        format!("{prefix}_{body}{}", String::from_utf8_lossy(&sum))
    }

    /// A JWT with a JSON header naming `alg` and a random signature.
    pub fn jwt(&mut self, alg: &str) -> String {
        self.jwt_with(alg, "")
    }

    /// A JWT whose payload also holds `extra` claims (JSON members, e.g. `"exp":1500000000`).
    pub fn jwt_with(&mut self, alg: &str, extra: &str) -> String {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let sep = if extra.is_empty() { "" } else { "," };
        let payload = format!(
            r#"{{"sub":"{}","name":"{}","iat":{}{sep}{extra}}}"#,
            self.string(DIGITS, 10),
            self.string(LOWER, 8),
            1_600_000_000 + self.next_u64() % 100_000_000
        );
        format!(
            "{}.{}.{}",
            b64url(header.as_bytes()),
            b64url(payload.as_bytes()),
            self.string(BASE64URL, 43)
        )
    }

    /// A PyPI API token: `pypi-` and the base64url (unpadded) of a version-2 macaroon located at
    /// `location`, with a random identifier and a 32-byte signature.
    pub fn pypi_token(&mut self, location: &str) -> String {
        let mut m = vec![0x02, 0x01, location.len() as u8];
        m.extend(location.as_bytes());
        let id = format!(r#"{{"nonce": "{}", "version": 1}}"#, self.string(HEX, 20));
        m.extend([0x02, id.len() as u8]);
        m.extend(id.as_bytes());
        m.push(0x00);
        m.push(0x00);
        m.extend([0x06, 0x20]);
        m.extend(self.bytes(32));
        let b64 = b64url(&m);
        format!("pypi-{}", b64.trim_end_matches('='))
    }

    /// An age secret key: bech32 of 32 random bytes under `age-secret-key-`, upper case.
    pub fn age_key(&mut self, valid: bool) -> String {
        const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        let bytes = self.bytes(32);
        let mut data = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for b in bytes {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                data.push(((acc >> bits) & 31) as u8);
            }
        }
        if bits > 0 {
            data.push(((acc << (5 - bits)) & 31) as u8);
        }
        let hrp = b"age-secret-key-";
        let mut with = data.clone();
        with.extend([0u8; 6]);
        let pm = crate::engine::validate::bech32_polymod(hrp, &with) ^ 1;
        let mut sum: Vec<u8> = (0..6).map(|i| ((pm >> (5 * (5 - i))) & 31) as u8).collect();
        if !valid {
            sum[5] ^= 1;
        }
        data.extend(sum);
        let body: String = data.iter().map(|&d| CHARSET[d as usize] as char).collect();
        format!("AGE-SECRET-KEY-1{}", body.to_uppercase())
    }

    /// A PEM private key block of `kind`: RSA, EC, DSA, PKCS8, ENCRYPTED (PKCS#8 encrypted),
    /// RSA-ENC (legacy Proc-Type encrypted), OPENSSH, OPENSSH-ENC, PGP.
    pub fn pem(&mut self, kind: &str) -> Option<String> {
        let dash = "-----";
        let (label, prelude, blob) = match kind {
            "RSA" | "EC" | "DSA" => (
                format!("{kind} PRIVATE KEY"),
                String::new(),
                self.bytes(600),
            ),
            "PKCS8" => ("PRIVATE KEY".to_string(), String::new(), self.bytes(600)),
            "ENCRYPTED" => (
                "ENCRYPTED PRIVATE KEY".to_string(),
                String::new(),
                self.bytes(600),
            ),
            "RSA-ENC" => (
                "RSA PRIVATE KEY".to_string(),
                format!(
                    "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{}\n\n",
                    self.string(HEX, 32).to_uppercase()
                ),
                self.bytes(600),
            ),
            "OPENSSH" | "OPENSSH-ENC" => {
                let cipher: &[u8] = if kind == "OPENSSH" {
                    b"none"
                } else {
                    b"aes256-ctr"
                };
                let mut blob = b"openssh-key-v1\0".to_vec();
                blob.extend((cipher.len() as u32).to_be_bytes());
                blob.extend(cipher);
                blob.extend(self.bytes(400));
                ("OPENSSH PRIVATE KEY".to_string(), String::new(), blob)
            }
            "PGP" => (
                "PGP PRIVATE KEY BLOCK".to_string(),
                "\n".to_string(),
                self.bytes(600),
            ),
            _ => return None,
        };
        let b64 = b64(&blob);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        Some(format!(
            "{dash}BEGIN {label}{dash}\n{prelude}{}\n{dash}END {label}{dash}",
            lines.join("\n")
        ))
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// A random UUID-shaped string (lowercase hex).
    pub fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-a{}-{}",
            self.string(HEX, 8),
            self.string(HEX, 4),
            self.string(HEX, 3),
            self.string(HEX, 3),
            self.string(HEX, 12)
        )
    }

    /// Expands one placeholder body such as `aws_key_id:ASIA` or `hex:40`.
    pub fn expand(&mut self, body: &str) -> Option<String> {
        let (kind, arg) = match body.split_once(':') {
            Some((k, a)) => (k.trim(), Some(a.trim())),
            None => (body.trim(), None),
        };
        let len = |default: usize| arg.and_then(|a| a.parse().ok()).unwrap_or(default);
        let s = match kind {
            "aws_key_id" => self.aws_key_id(arg.unwrap_or("AKIA")),
            "aws_secret" => self.aws_secret(),
            "aws_session_token" => self.aws_session_token(),
            "aws_key_id_for_account" => {
                let account = arg.and_then(|a| a.parse().ok()).unwrap_or(123_456_789_012);
                self.aws_key_id_for_account("AKIA", account)
            }
            "crc_token" => self.crc_token(arg.unwrap_or("ghp"), true),
            "crc_token_bad" => self.crc_token(arg.unwrap_or("ghp"), false),
            "github_pat" => format!(
                "github_pat_{}_{}",
                self.string(ALNUM, 22),
                self.string(ALNUM, 59)
            ),
            "jwt" => self.jwt(arg.unwrap_or("HS256")),
            // JWTs whose claims say expired, long-lived, or minted by a test issuer.
            "jwt_expired" => self.jwt_with("HS256", r#""exp":1500000000"#),
            "jwt_live" => {
                self.jwt_with("RS256", r#""exp":4102444800,"iss":"https://auth.acme.io""#)
            }
            "jwt_iss" => {
                let iss = arg.unwrap_or("https://example.com");
                self.jwt_with("HS256", &format!(r#""iss":"{iss}""#))
            }
            "pem" => self.pem(arg.unwrap_or("RSA"))?,
            // A PEM block as it appears inside a JSON string (newlines written as `\n`).
            "pem_json" => self.pem(arg.unwrap_or("PKCS8"))?.replace('\n', "\\n"),
            "uuid" => self.uuid(),
            "pypi_token" => self.pypi_token(arg.unwrap_or("pypi.org")),
            "age_key" => self.age_key(true),
            "age_key_bad" => self.age_key(false),
            // An HTTP Basic credential: base64 of `user:password`.
            "basic_auth" => {
                let creds = format!("{}:{}", self.string(LOWER, 8), self.string(ALNUM, 20));
                b64(creds.as_bytes())
            }
            // The base64 of plain text (dashed lowercase words): 40 characters for 30 bytes, the
            // length of an AWS secret, yet no secret.
            "b64_text" => {
                let text = self.string(b"abcdefghijklmnopqrstuvwxyz----", len(30));
                b64(text.as_bytes())
            }
            "hexup" => self.string(HEX, len(32)).to_uppercase(),
            "hex" => self.string(HEX, len(40)),
            "base32" => self.string(BASE32, len(32)),
            "b64" => self.string(BASE64, len(40)),
            "b64url" => self.string(BASE64URL, len(40)),
            "alnum" => self.string(ALNUM, len(32)),
            "upper" => self.string(UPPER, len(16)),
            "lower" => self.string(LOWER, len(16)),
            "digits" => self.string(DIGITS, len(12)),
            "uppernum" => self.string(UPPERNUM, len(16)),
            "lowernum" => self.string(LOWERNUM, len(16)),
            _ => return None,
        };
        Some(s)
    }
}

/// RFC 4648 base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Replaces every `{{…}}` placeholder in `template`. Unknown placeholders are an error so that a
/// typo in a pack cannot turn a positive example into a silently vacuous one.
pub fn fill(template: &str, gen: &mut Generator) -> Result<String, UnknownPlaceholder> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let body = &rest[start + 2..start + 2 + len];
        // `{{ x }}` with spaces is template syntax that examples quote literally (e.g. Jinja).
        if body.starts_with(' ') || body.is_empty() {
            out.push_str(&rest[..start + 4 + len]);
            rest = &rest[start + 4 + len..];
            continue;
        }
        let value = gen
            .expand(body)
            .ok_or_else(|| UnknownPlaceholder(body.to_string()))?;
        out.push_str(&rest[..start]);
        out.push_str(&value);
        rest = &rest[start + 4 + len..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_placeholders_deterministically() {
        let a = fill("k={{aws_key_id}} s={{aws_secret}}", &mut Generator::new(1)).unwrap();
        let b = fill("k={{aws_key_id}} s={{aws_secret}}", &mut Generator::new(1)).unwrap();
        assert_eq!(a, b);
        let key = &a[2..22];
        assert!(key.starts_with("AKIA"));
        assert!(key[4..].bytes().all(|c| BASE32.contains(&c)));
        assert_eq!(a[25..].len(), 40);
    }

    #[test]
    fn key_for_account_decodes_back() {
        let mut g = Generator::new(7);
        for account in [0u64, 1, 123_456_789_012, 999_999_999_999] {
            let id = g.aws_key_id_for_account("ASIA", account);
            assert_eq!(id.len(), 20);
            assert_eq!(crate::aws::account_id(&id), Some(account));
        }
    }

    #[test]
    fn crc_tokens_and_jwts_validate() {
        use crate::engine::validate::Validator;
        let mut g = Generator::new(3);
        assert!(Validator::Crc32Base62.check(g.crc_token("ghp", true).as_bytes()));
        assert!(!Validator::Crc32Base62.check(g.crc_token("ghp", false).as_bytes()));
        assert!(Validator::SignedJwt.check(g.jwt("RS256").as_bytes()));
        assert!(!Validator::SignedJwt.check(g.jwt("none").as_bytes()));
        assert!(Validator::OpensshPlain.check(g.pem("OPENSSH").unwrap().as_bytes()));
        assert!(Validator::OpensshEncrypted.check(g.pem("OPENSSH-ENC").unwrap().as_bytes()));
        assert!(!Validator::OpensshPlain.check(g.pem("OPENSSH-ENC").unwrap().as_bytes()));
        assert!(Validator::PypiMacaroon.check(g.pypi_token("pypi.org").as_bytes()));
        assert!(Validator::PypiMacaroon.check(g.pypi_token("test.pypi.org").as_bytes()));
        assert!(Validator::Bech32.check(g.age_key(true).as_bytes()));
        assert!(!Validator::Bech32.check(g.age_key(false).as_bytes()));
        assert!(Validator::UuidV4.check(g.uuid().as_bytes()));
    }

    #[test]
    fn keeps_template_syntax_with_spaces_and_rejects_unknown() {
        let s = fill("v = {{ x }}", &mut Generator::new(1)).unwrap();
        assert_eq!(s, "v = {{ x }}");
        assert!(fill("{{nope}}", &mut Generator::new(1)).is_err());
    }
}
