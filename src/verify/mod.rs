//! Is a found AWS key live? Offline signals (always on: an impossible account, a known canary)
//! and, only with `--verify`, one STS `GetCallerIdentity` call per unique credential. Without
//! `--verify` nothing here touches the network.

pub(crate) mod sts;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::aws::{KeyType, KEY_ID_RULE, PAIR_RULE, PAIR_WINDOW_LINES};
use crate::finding::Finding;
use crate::rules::Severity;

/// Rules whose findings hold an STS session token (what an ASIA key needs beside its secret).
pub(crate) const TOKEN_RULES: &[&str] = &["aws-session-token", "aws-sts-token"];

/// AWS accounts that Thinkst's canarytokens.org issues its AWS canary keys from (public: listed
/// by open-source scanners that special-case them). Using such a key alerts whoever planted it.
const CANARY_ACCOUNTS: &[u64] = &[
    52_310_077_262,
    171_436_882_533,
    266_735_846_894,
    534_261_010_715,
    595_918_472_158,
    717_712_589_309,
    730_335_385_048,
    819_147_034_852,
    893_192_397_702,
    992_382_622_183,
];

/// What STS said about a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    /// STS accepted it: anyone holding it can act as the identity in `arn`.
    Live,
    /// `InvalidClientTokenId`: AWS does not know the key ID (deleted, deactivated, or never real).
    InvalidKeyId,
    /// `SignatureDoesNotMatch`: the key ID exists, but this is not its secret.
    WrongSecret,
    /// `ExpiredToken`: a temporary key whose session is over.
    InactiveOrExpired,
    /// No answer to go by (network error, 5xx, not checkable): never read as "not live".
    Unknown,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::InvalidKeyId => "invalid key id",
            Status::WrongSecret => "wrong secret",
            Status::InactiveOrExpired => "inactive/expired",
            Status::Unknown => "unknown",
        }
    }
}

/// The outcome of verifying one credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Verification {
    pub(crate) status: Status,
    /// The caller's ARN (live keys only).
    pub(crate) arn: Option<String>,
    pub(crate) account: Option<String>,
    /// `user NAME`, `role NAME` or `root`, from the ARN.
    pub(crate) user: Option<String>,
    /// Why, in words (the STS error code, the network error).
    pub(crate) detail: Option<String>,
}

impl Verification {
    fn unknown(detail: impl Into<String>) -> Self {
        Verification {
            status: Status::Unknown,
            arn: None,
            account: None,
            user: None,
            detail: Some(detail.into()),
        }
    }

    /// One line for people: `live: arn:aws:iam::…:user/ci (account …, user ci)`.
    pub(crate) fn line(&self) -> String {
        let mut s = format!("verified with STS: {}", self.status.as_str());
        match self.status {
            Status::Live => {
                s.push_str(" — anyone holding it can act as ");
                s.push_str(self.arn.as_deref().unwrap_or("this identity"));
            }
            Status::InvalidKeyId => s.push_str(
                " — AWS does not accept this key ID (deleted, deactivated, or never issued)",
            ),
            Status::WrongSecret => s.push_str(" — the key ID exists, but this is not its secret"),
            Status::InactiveOrExpired => s.push_str(" — the session has expired"),
            Status::Unknown => s.push_str(" — could not tell; treat it as live"),
        }
        if let Some(d) = &self.detail {
            s.push_str(&format!(" ({d})"));
        }
        s
    }
}

/// An offline fact about an access key ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Signal {
    /// The key ID decodes to an account ID of more than 12 digits: AWS never issued it.
    ImpossibleAccount,
    /// The account is a known canary-token account.
    Canary,
}

impl Signal {
    pub(crate) fn line(self) -> &'static str {
        match self {
            Signal::ImpossibleAccount => {
                "the key ID decodes to a 13-digit account ID, so AWS never issued it: not a real key \
                 (severity lowered)"
            }
            Signal::Canary => {
                "a canary (canarytokens.org account): using it alerts whoever planted it; do not \
                 test it, remove it"
            }
        }
    }
}

/// Verdicts for a run, keyed by finding fingerprint (the same credential has the same
/// fingerprint wherever it was found). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Verdicts(Arc<HashMap<String, Verdict>>);

#[derive(Debug, Clone, Default)]
pub(crate) struct Verdict {
    pub(crate) verification: Option<Verification>,
    pub(crate) signal: Option<Signal>,
}

impl Verdicts {
    pub(crate) fn get(&self, f: &Finding) -> Option<&Verdict> {
        self.0.get(&f.fingerprint)
    }
    pub(crate) fn verification(&self, f: &Finding) -> Option<&Verification> {
        self.get(f).and_then(|v| v.verification.as_ref())
    }
    pub(crate) fn signal(&self, f: &Finding) -> Option<Signal> {
        self.get(f).and_then(|v| v.signal)
    }
}

/// How to reach STS.
#[derive(Debug, Clone)]
pub(crate) struct VerifyOptions {
    pub(crate) timeout: Duration,
    /// At most this many requests in flight.
    pub(crate) concurrency: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            timeout: Duration::from_secs(10),
            concurrency: 4,
        }
    }
}

/// The access key ID a finding carries: its own secret, or the key ID paired with it.
pub(crate) fn key_id_of(f: &Finding) -> Option<&str> {
    let id = if f.rule_id == KEY_ID_RULE {
        Some(f.secret.as_str())
    } else {
        f.related
            .iter()
            .find(|r| r.rule_id == KEY_ID_RULE)
            .map(|r| r.secret.as_str())
    }?;
    KeyType::of(id).map(|_| id)
}

/// The offline signal of a key ID, if any.
pub(crate) fn signal_of(key_id: &str) -> Option<Signal> {
    let account = crate::aws::account_id(key_id)?;
    if account > 999_999_999_999 {
        Some(Signal::ImpossibleAccount)
    } else if CANARY_ACCOUNTS.contains(&account) {
        Some(Signal::Canary)
    } else {
        None
    }
}

/// One credential to ask STS about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Credential {
    pub(crate) key_id: String,
    pub(crate) secret: String,
    pub(crate) token: Option<String>,
}

/// Applies the offline signals (always) and, with `verify`, STS's verdicts; raises a live key to
/// critical and moves live keys to the front (stable otherwise). Returns the verdicts the report
/// shows.
pub(crate) fn annotate(findings: &mut [Finding], verify: Option<&VerifyOptions>) -> Verdicts {
    let mut map: HashMap<String, Verdict> = HashMap::new();
    for f in findings.iter_mut() {
        let Some(id) = key_id_of(f) else { continue };
        if let Some(sig) = signal_of(id) {
            if sig == Signal::ImpossibleAccount {
                f.severity = Severity::Low;
            }
            map.entry(f.fingerprint.clone()).or_default().signal = Some(sig);
        }
    }
    if let Some(opts) = verify {
        verify_pairs(findings, opts, &mut map);
    }
    Verdicts(Arc::new(map))
}

/// A pair finding's fingerprint and the credential it asks about (an index), or why it asks none.
type Ask = (String, Result<usize, Verification>);

/// What each pair finding asks STS: the unique credentials, each asked once, and by fingerprint
/// the credential to ask (its index) or why it is not asked.
fn credentials(findings: &[Finding]) -> (Vec<Credential>, Vec<Ask>) {
    let mut creds: Vec<Credential> = Vec::new();
    let mut by_fp: Vec<Ask> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        if f.rule_id != PAIR_RULE {
            continue;
        }
        let Some(id) = key_id_of(f) else { continue };
        let outcome = if signal_of(id) == Some(Signal::Canary) {
            Err(Verification::unknown(
                "not sent: a canary key alerts its owner when used",
            ))
        } else {
            let token = if KeyType::of(id) == Some(KeyType::Temporary) {
                session_token_near(findings, i)
            } else {
                None
            };
            if KeyType::of(id) == Some(KeyType::Temporary) && token.is_none() {
                Err(Verification::unknown(
                    "temporary key without its session token nearby: not checkable",
                ))
            } else {
                let c = Credential {
                    key_id: id.to_string(),
                    secret: f.secret.clone(),
                    token,
                };
                let at = creds.iter().position(|x| *x == c).unwrap_or_else(|| {
                    creds.push(c);
                    creds.len() - 1
                });
                Ok(at)
            }
        };
        by_fp.push((f.fingerprint.clone(), outcome));
    }
    (creds, by_fp)
}

/// Asks STS about each unique pair credential once, records every answer in `map`, raises live
/// keys to critical and moves them to the front (stable otherwise).
fn verify_pairs(
    findings: &mut [Finding],
    opts: &VerifyOptions,
    map: &mut HashMap<String, Verdict>,
) {
    let (creds, by_fp) = credentials(findings);
    let results = verify_all(&creds, opts);
    let mut live_ids: HashMap<String, Verification> = HashMap::new();
    for (fp, outcome) in by_fp {
        let v = match outcome {
            Ok(at) => {
                let v = results[at].clone();
                if v.status == Status::Live {
                    live_ids.insert(creds[at].key_id.clone(), v.clone());
                }
                v
            }
            Err(v) => v,
        };
        // The same credential found twice (one copy with its session token, one without)
        // keeps the most telling answer.
        let slot = &mut map.entry(fp).or_default().verification;
        if slot
            .as_ref()
            .is_none_or(|old| rank(v.status) < rank(old.status))
        {
            *slot = Some(v);
        }
    }
    // A key ID found on its own elsewhere is the same live key.
    for f in findings.iter() {
        if f.rule_id == KEY_ID_RULE {
            if let Some(v) = live_ids.get(&f.secret) {
                map.entry(f.fingerprint.clone()).or_default().verification = Some(v.clone());
            }
        }
    }
    for f in findings.iter_mut() {
        let live = map
            .get(&f.fingerprint)
            .and_then(|v| v.verification.as_ref())
            .is_some_and(|v| v.status == Status::Live);
        if live {
            f.severity = Severity::Critical;
        }
    }
    // Live keys lead the report; the order among the rest is kept.
    findings.sort_by_key(|f| {
        !map.get(&f.fingerprint)
            .and_then(|v| v.verification.as_ref())
            .is_some_and(|v| v.status == Status::Live)
    });
}

/// Live first, then a definite "not live", then unknown.
fn rank(s: Status) -> u8 {
    match s {
        Status::Live => 0,
        Status::Unknown => 2,
        _ => 1,
    }
}

/// The session token found closest to pair finding `i` (same file and commit, within the
/// pairing window), for an ASIA key.
fn session_token_near(findings: &[Finding], i: usize) -> Option<String> {
    let f = &findings[i];
    let commit = f.commit.as_ref().map(|c| &c.id);
    findings
        .iter()
        .filter(|t| {
            TOKEN_RULES.contains(&t.rule_id.as_str())
                && t.file == f.file
                && t.commit.as_ref().map(|c| &c.id) == commit
                && t.line.abs_diff(f.line) <= PAIR_WINDOW_LINES
        })
        .min_by_key(|t| t.line.abs_diff(f.line))
        .map(|t| t.secret.clone())
}

/// Asks STS about every credential, at most `opts.concurrency` at a time.
fn verify_all(creds: &[Credential], opts: &VerifyOptions) -> Vec<Verification> {
    if creds.is_empty() {
        return Vec::new();
    }
    let endpoint = sts::Endpoint::from_env();
    let client = match sts::Client::new(&endpoint, opts.timeout) {
        Ok(c) => c,
        Err(e) => {
            return creds
                .iter()
                .map(|_| Verification::unknown(e.clone()))
                .collect()
        }
    };
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<Verification>>> = Mutex::new(vec![None; creds.len()]);
    let workers = opts.concurrency.clamp(1, creds.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = creds.get(i) else { break };
                let v = client.get_caller_identity(c);
                if let Ok(mut o) = out.lock() {
                    o[i] = Some(v);
                }
            });
        }
    });
    out.into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.unwrap_or_else(|| Verification::unknown("no answer")))
        .collect()
}

/// `arn:aws:iam::123:user/path/ci` → `user ci`; `…:assumed-role/R/s` → `role R`; `…:root` → `root`.
pub(crate) fn principal(arn: &str) -> Option<String> {
    let resource = arn.splitn(6, ':').nth(5)?;
    if resource == "root" {
        return Some("root".into());
    }
    if let Some(rest) = resource.strip_prefix("user/") {
        return rest.rsplit('/').next().map(|n| format!("user {n}"));
    }
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        return rest.split('/').next().map(|n| format!("role {n}"));
    }
    if let Some(rest) = resource.strip_prefix("federated-user/") {
        return Some(format!("federated user {rest}"));
    }
    Some(resource.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals() {
        assert_eq!(
            principal("arn:aws:iam::123456789012:user/team/ci").as_deref(),
            Some("user ci")
        );
        assert_eq!(
            principal("arn:aws:sts::123456789012:assumed-role/Deploy/s1").as_deref(),
            Some("role Deploy")
        );
        assert_eq!(
            principal("arn:aws:iam::123456789012:root").as_deref(),
            Some("root")
        );
    }

    #[test]
    fn signals_from_the_account() {
        let mut g = crate::rules::placeholder::Generator::new(3);
        let canary = g.aws_key_id_for_account("AKIA", 717_712_589_309);
        assert_eq!(signal_of(&canary), Some(Signal::Canary));
        let plain = g.aws_key_id_for_account("AKIA", 123_456_789_012);
        assert_eq!(signal_of(&plain), None);
        let impossible = g.aws_key_id_for_account("AKIA", 1_000_000_000_001);
        assert_eq!(signal_of(&impossible), Some(Signal::ImpossibleAccount));
    }
}
