//! Offline validators a rule can name with `validate = "…"`: checks on the secret's own structure
//! (checksums, encodings) that a regex cannot express.

use super::decode::{decode_base64, is_mostly_text};

/// A named check on a candidate secret; `false` drops the match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Validator {
    /// An AWS access key ID whose 16 characters after the prefix are valid base32.
    AwsKeyId,
    /// An AWS secret access key: 30 random bytes in base64, so not the base64 of text (a
    /// 30-character password or word under a `secretKey:` name in a Kubernetes Secret).
    AwsSecret,
    /// GitHub's (and npm's) token format: `prefix_` + 30 base62 characters + the base62 CRC32 of
    /// those 30 characters, left-padded with `0` to 6 characters.
    Crc32Base62,
    /// A JWT whose header decodes to a JSON object naming an `alg` other than `none`, with a
    /// non-empty signature.
    SignedJwt,
    /// A [`Validator::SignedJwt`] that can still be used: its payload's claims do not say it has
    /// expired (`exp` in the past), nor that it was minted for tests (an issuer, audience or
    /// subject naming example, test, localhost, fake, dummy, sample, mock), nor is it jwt.io's
    /// sample token that tutorials and framework test suites copy.
    LiveJwt,
    /// An OpenSSH private key (`openssh-key-v1`) whose cipher is `none`.
    OpensshPlain,
    /// An OpenSSH private key encrypted with a passphrase (cipher other than `none`).
    OpensshEncrypted,
    /// HTTP Basic credentials: base64 of `user:password` with a non-empty password.
    BasicAuth,
    /// A PyPI API token: `pypi-` and the base64url of a version-2 macaroon whose location is
    /// `pypi.org` or `test.pypi.org` and which ends in a 32-byte signature field.
    PypiMacaroon,
    /// A bech32 string (age's `AGE-SECRET-KEY-1…`) whose 6-character checksum holds.
    Bech32,
    /// A random (version 4, RFC 4122 variant) UUID somewhere in the secret, as Consul, Nomad and
    /// other HashiCorp tools mint their ACL tokens.
    UuidV4,
}

impl Validator {
    /// Every name [`Validator::by_name`] accepts, for error messages.
    pub(crate) const NAMES: &[&'static str] = &[
        "aws-key-id",
        "aws-secret",
        "crc32-base62",
        "signed-jwt",
        "live-jwt",
        "openssh-plain",
        "openssh-encrypted",
        "basic-auth",
        "pypi-macaroon",
        "bech32",
        "uuid-v4",
    ];

    pub(crate) fn by_name(name: &str) -> Option<Validator> {
        match name {
            "aws-key-id" => Some(Validator::AwsKeyId),
            "aws-secret" => Some(Validator::AwsSecret),
            "crc32-base62" => Some(Validator::Crc32Base62),
            "signed-jwt" => Some(Validator::SignedJwt),
            "live-jwt" => Some(Validator::LiveJwt),
            "openssh-plain" => Some(Validator::OpensshPlain),
            "openssh-encrypted" => Some(Validator::OpensshEncrypted),
            "basic-auth" => Some(Validator::BasicAuth),
            "pypi-macaroon" => Some(Validator::PypiMacaroon),
            "bech32" => Some(Validator::Bech32),
            "uuid-v4" => Some(Validator::UuidV4),
            _ => None,
        }
    }

    pub(crate) fn check(self, secret: &[u8]) -> bool {
        match self {
            Validator::AwsKeyId => {
                secret.len() == 20
                    && secret[4..]
                        .iter()
                        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(b))
            }
            Validator::AwsSecret => !decode_base64(secret).is_some_and(|d| is_mostly_text(&d)),
            Validator::Crc32Base62 => crc32_base62_ok(secret),
            Validator::SignedJwt => signed_jwt(secret),
            Validator::LiveJwt => signed_jwt(secret) && !jwt_claims_say_test_or_expired(secret),
            Validator::OpensshPlain => openssh_cipher(secret).is_some_and(|c| c == b"none"),
            Validator::OpensshEncrypted => openssh_cipher(secret).is_some_and(|c| c != b"none"),
            Validator::PypiMacaroon => pypi_macaroon(secret),
            Validator::Bech32 => bech32_ok(secret),
            Validator::UuidV4 => uuid_v4(secret),
            Validator::BasicAuth => decode_base64(secret).is_some_and(|d| {
                d.iter().all(|b| (0x20..0x7f).contains(b))
                    && d.iter()
                        .position(|&b| b == b':')
                        .is_some_and(|p| p > 0 && p + 1 < d.len())
            }),
        }
    }
}

/// The shape of an AWS secret access key (a named `requires.shape`, and the pairing of key IDs
/// with secrets): 40 base64 characters mixing upper case, lower case and
/// digits, at most 3 slashes (a path has more), not hex, with the entropy of random data.
pub(crate) fn aws_secret_shaped(s: &[u8]) -> bool {
    s.len() == 40
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'/' || *b == b'+')
        && s.iter().any(u8::is_ascii_uppercase)
        && s.iter().any(u8::is_ascii_lowercase)
        && s.iter().any(u8::is_ascii_digit)
        && s.iter().filter(|&&b| b == b'/').count() <= 3
        && !s.iter().all(u8::is_ascii_hexdigit)
        && super::entropy::shannon(s) >= 4.2
        && !s.to_ascii_lowercase().windows(7).any(|w| w == b"example")
}

/// CRC-32 (IEEE 802.3, as zlib's `crc32`).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base62, left-padded with `0` to 6 characters (a u32 needs at most 6).
pub(crate) fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// The checksum of GitHub-style tokens: body after the last `_` is 30 characters of entropy and 6
/// of checksum.
fn crc32_base62_ok(secret: &[u8]) -> bool {
    let Some(us) = secret.iter().rposition(|&b| b == b'_') else {
        return false;
    };
    let body = &secret[us + 1..];
    if body.len() != 36 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    base62_6(crc32(&body[..30])) == body[30..]
}

fn signed_jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let (Some(header), Some(payload), Some(sig)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if parts.next().is_some() || sig.len() < 16 || payload.is_empty() {
        return false;
    }
    let Some(json) = decode_base64(header) else {
        return false;
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(&json)
    else {
        return false;
    };
    match map.get("alg") {
        Some(serde_json::Value::String(alg)) => !alg.eq_ignore_ascii_case("none"),
        _ => false,
    }
}

/// See [`Validator::PypiMacaroon`].
fn pypi_macaroon(secret: &[u8]) -> bool {
    let Some(body) = secret.strip_prefix(b"pypi-") else {
        return false;
    };
    let Some(bytes) = decode_base64(body) else {
        return false;
    };
    let located = bytes.starts_with(b"\x02\x01\x08pypi.org")
        || bytes.starts_with(b"\x02\x01\x0dtest.pypi.org");
    let n = bytes.len();
    located && n > 34 + 12 && bytes[n - 34] == 0x06 && bytes[n - 33] == 0x20
}

const BECH32_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// The bech32 checksum (BIP 173) over the human-readable part and the data.
pub(crate) fn bech32_polymod(hrp: &[u8], data: &[u8]) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    let values = hrp
        .iter()
        .map(|c| u32::from(c >> 5))
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|c| u32::from(c & 31)))
        .chain(data.iter().map(|&d| u32::from(d)));
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ v;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// See [`Validator::Bech32`]; case-insensitive, split at the last `1`.
fn bech32_ok(secret: &[u8]) -> bool {
    let lower = secret.to_ascii_lowercase();
    let Some(sep) = lower.iter().rposition(|&b| b == b'1') else {
        return false;
    };
    let (hrp, data) = (&lower[..sep], &lower[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 {
        return false;
    }
    let Some(values) = data
        .iter()
        .map(|c| BECH32_CHARSET.iter().position(|x| x == c).map(|v| v as u8))
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    bech32_polymod(hrp, &values) == 1
}

/// See [`Validator::UuidV4`].
fn uuid_v4(secret: &[u8]) -> bool {
    secret.windows(36).any(|w| {
        w.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        }) && w[14] == b'4'
            && matches!(w[19].to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b')
    })
}

/// Words in `iss`, `aud` or `sub` that mark a token minted for tests or documentation.
const TEST_CLAIM_WORDS: &[&str] = &[
    "example",
    "test",
    "localhost",
    "fake",
    "dummy",
    "sample",
    "mock",
    "foo.bar",
];

/// True when a JWT's payload shows it is not a usable credential: expired, made for tests, or
/// the jwt.io sample (`sub` 1234567890, `name` John Doe, `iat` 1516239022).
fn jwt_claims_say_test_or_expired(jwt: &[u8]) -> bool {
    let Some(payload) = jwt.split(|&b| b == b'.').nth(1) else {
        return false;
    };
    let Some(json) = decode_base64(payload) else {
        return false;
    };
    let Ok(serde_json::Value::Object(claims)) = serde_json::from_slice::<serde_json::Value>(&json)
    else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(exp) = claims.get("exp").and_then(serde_json::Value::as_f64) {
        if exp < now as f64 {
            return true;
        }
    }
    let says_test = |v: &serde_json::Value| {
        let texts: Vec<String> = match v {
            serde_json::Value::String(s) => vec![s.to_ascii_lowercase()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_ascii_lowercase))
                .collect(),
            _ => Vec::new(),
        };
        texts
            .iter()
            .any(|t| TEST_CLAIM_WORDS.iter().any(|w| t.contains(w)))
    };
    if ["iss", "aud", "sub"]
        .iter()
        .any(|k| claims.get(*k).is_some_and(says_test))
    {
        return true;
    }
    claims.get("sub").and_then(|v| v.as_str()) == Some("1234567890")
        && claims.get("name").and_then(|v| v.as_str()) == Some("John Doe")
}

/// The cipher name of an `openssh-key-v1` blob, given the PEM text (header line, base64 body).
fn openssh_cipher(pem: &[u8]) -> Option<Vec<u8>> {
    // The first 64 base64 characters of the body hold magic, cipher length and cipher name. The
    // body may be escaped into a string (`\n` written as backslash, n).
    let body_start = memchr::memmem::find(pem, b"KEY-----")? + 8;
    let mut b64 = Vec::with_capacity(64);
    let mut rest = pem[body_start..].iter();
    while let Some(&b) = rest.next() {
        if b == b'\\' {
            rest.next();
        } else if !b.is_ascii_whitespace() {
            b64.push(b);
            if b64.len() == 64 {
                break;
            }
        }
    }
    let bytes = decode_base64(&b64[..b64.len() / 4 * 4])?;
    let rest = bytes.strip_prefix(b"openssh-key-v1\0")?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    rest.get(4..4 + len).map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
    }

    #[test]
    fn bech32_matches_bip173_vectors() {
        assert!(bech32_ok(b"A12UEL5L"));
        assert!(bech32_ok(b"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"));
        assert!(!bech32_ok(b"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx"));
    }
}
