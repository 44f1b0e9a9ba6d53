//! A finding: a match placed in its file (and commit), identified by a location-free
//! fingerprint, carrying its secret redacted unless the user asked otherwise.

use std::ops::Range;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rules::Severity;

/// Where a finding was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    File,
    Staged,
    History,
    Range,
    CommitMessage,
    TagMessage,
}

/// Git provenance of a finding, when it comes from a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Commit {
    pub(crate) id: String,
    pub(crate) author: String,
    pub(crate) email: String,
    /// RFC 3339.
    pub(crate) date: String,
    /// First line of the commit message.
    pub(crate) summary: String,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule_id: String,
    pub(crate) description: String,
    pub(crate) severity: Severity,
    pub(crate) file: Option<String>,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// The raw secret; rendered through [`redact`] unless `--no-redact`.
    pub secret: String,
    /// The raw text of the whole match, capped: shown only with `--no-redact`.
    pub(crate) matched: String,
    /// The match as shown with redaction on: every secret in it (its own, and the other matches'
    /// of the same blob) redacted *before* the cap was applied; see [`redact_spans`].
    pub(crate) matched_redacted: String,
    /// The source line of the finding with every secret on it redacted, then capped: what a
    /// reader sees in the text report (empty where there is no line, e.g. a config change).
    pub(crate) line_text: String,
    pub(crate) entropy: f64,
    pub fingerprint: String,
    pub(crate) commit: Option<Commit>,
    /// How many other (commit, path) places hold the same blob (history scans).
    pub(crate) other_occurrences: usize,
    pub(crate) source: SourceKind,
    /// Other parts of the same credential found elsewhere in the blob (the access key ID of an
    /// `aws-credential-pair`).
    pub(crate) related: Vec<Related>,
    /// What domain annotators know about it (an AWS account, a key type, the enclosing
    /// Terraform block), as generic facts that reporters print without knowing the domain.
    pub(crate) details: Details,
    /// How the secret was encoded where it was found (`base64`, `percent`, `base64+base64`, …);
    /// the location is then the encoded span.
    pub(crate) decoded: Option<String>,
    /// Audits: every (commit, path, line) where this secret was found, this finding's own place
    /// first; empty elsewhere.
    pub(crate) occurrences: Vec<Occurrence>,
    /// Audits: where the secret is now and who has it; `None` for scans and gates.
    pub(crate) whereabouts: Option<Whereabouts>,
}

/// A fact a domain annotator attached to a finding: `key` is its JSON field name, `value` what
/// machines get, `text` the words people read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detail {
    pub(crate) key: &'static str,
    pub(crate) value: String,
    pub(crate) text: String,
}

/// The JSON field names of the details that reports show, in their order.
pub(crate) mod detail {
    /// The 12-digit account an access key belongs to.
    pub(crate) const ACCOUNT_ID: &str = "account_id";
    /// `long-term` | `temporary` | `other`.
    pub(crate) const KEY_TYPE: &str = "key_type";
    /// The enclosing named block (`provider "aws" (alias prod)`).
    pub(crate) const BLOCK: &str = "block";
    /// Every key above, in the order text shows them.
    pub(crate) const ORDER: &[&str] = &[ACCOUNT_ID, KEY_TYPE, BLOCK];
}

/// A finding's details, and the pack-level advice texts (by id) that apply to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Details {
    items: Vec<Detail>,
    advice: Vec<&'static str>,
}

impl Details {
    /// Adds or replaces the detail with `d.key`.
    pub(crate) fn set(&mut self, d: Detail) {
        match self.items.iter_mut().find(|x| x.key == d.key) {
            Some(x) => *x = d,
            None => self.items.push(d),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Detail> {
        self.items.iter().find(|d| d.key == key)
    }

    /// The value of `key`, when set.
    pub(crate) fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|d| d.value.as_str())
    }

    /// The details in the order of [`detail::ORDER`], then any others as added.
    pub(crate) fn ordered(&self) -> impl Iterator<Item = &Detail> {
        let rank = |d: &Detail| {
            detail::ORDER
                .iter()
                .position(|k| *k == d.key)
                .unwrap_or(usize::MAX)
        };
        let mut v: Vec<&Detail> = self.items.iter().collect();
        v.sort_by_key(|d| rank(d));
        v.into_iter()
    }

    /// Names a pack-level advice text (`[[advice]] id`) that applies.
    pub(crate) fn advise(&mut self, id: &'static str) {
        if !self.advice.contains(&id) {
            self.advice.push(id);
        }
    }

    pub(crate) fn advice(&self) -> &[&'static str] {
        &self.advice
    }
}

/// One place in history where a secret was introduced.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct Occurrence {
    pub(crate) commit: String,
    pub(crate) file: String,
    pub(crate) line: usize,
}

/// Where an audited secret has been: still in HEAD or removed, and which refs (so which
/// clones, when remote-tracking) hold the commit that introduced it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Whereabouts {
    /// The secret is in the tree of HEAD (the default branch, as HEAD names it).
    pub(crate) present_at_head: bool,
    /// The paths in HEAD's tree that hold it.
    pub(crate) head_paths: Vec<String>,
    /// The first commit on HEAD's first-parent line after the introduction where this finding's
    /// path no longer holds the secret; `None` when it is still there or never reached HEAD.
    pub(crate) removed_in: Option<String>,
    /// Local branches, tags and remote-tracking refs whose tips reach the introducing commit.
    pub(crate) reachable_from: Vec<String>,
    /// A remote-tracking ref reaches it: the secret has already been pushed.
    pub(crate) published: bool,
}

impl Whereabouts {
    /// The text report's emphasis: bold while the secret is at HEAD or published, dim otherwise.
    pub(crate) fn emphasis(&self) -> &'static str {
        if self.present_at_head || self.published {
            "1"
        } else {
            "2"
        }
    }

    /// The one-line summary of the text report (paths not yet escaped).
    pub(crate) fn line(&self) -> String {
        let mut s = if self.present_at_head {
            format!("still in HEAD at {}", self.head_paths.join(", "))
        } else if let Some(c) = &self.removed_in {
            let short: String = c.chars().take(12).collect();
            format!("removed in {short}")
        } else {
            "not in HEAD".to_string()
        };
        if self.reachable_from.is_empty() {
            s.push_str("; reachable from no ref");
        } else {
            s.push_str("; reachable from ");
            s.push_str(&self.reachable_from.join(", "));
        }
        if self.published {
            s.push_str(" (published)");
        }
        s
    }
}

/// Another location belonging to the same finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Related {
    pub(crate) rule_id: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) end_line: usize,
    pub(crate) end_column: usize,
    /// The raw secret at that location, redacted on output like the finding's own.
    pub(crate) secret: String,
}

/// Hex SHA-256 of `rule_id ‖ 0x00 ‖ secret`: the same leak has the same identity wherever it
/// moves, so a baseline survives moved lines and renamed files.
pub fn fingerprint(rule_id: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0u8]);
    h.update(secret);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub use crate::redact::redact;

/// `text` with every byte range of `spans` replaced by its [`redact`]ed form (overlapping ranges
/// merged first), then cut to at most `cap` bytes on a char boundary. Redacting before cutting is
/// the point: a match cut first keeps a long secret's prefix, which redaction can then no longer
/// find. A cut never ends inside a word: an unknown secret (another blob's) that straddles the cut
/// is dropped rather than shown in part; the cut is marked with `…`.
pub(crate) fn redact_spans(text: &[u8], spans: &[Range<usize>], cap: usize) -> String {
    let mut spans: Vec<Range<usize>> = spans
        .iter()
        .map(|r| r.start.min(text.len())..r.end.min(text.len()))
        .filter(|r| !r.is_empty())
        .collect();
    spans.sort_by_key(|r| (r.start, r.end));
    let mut out = String::with_capacity(text.len().min(cap + 8));
    let mut at = 0;
    let mut i = 0;
    while i < spans.len() {
        let mut span = spans[i].clone();
        i += 1;
        while i < spans.len() && spans[i].start <= span.end {
            span.end = span.end.max(spans[i].end);
            i += 1;
        }
        if span.start > at {
            out.push_str(&String::from_utf8_lossy(&text[at..span.start]));
        }
        out.push_str(&redact(&String::from_utf8_lossy(&text[span.clone()])));
        at = span.end;
        if out.len() > cap {
            break;
        }
    }
    if out.len() <= cap && at < text.len() {
        // Only what the cap can keep (and a char past it, to see whether the cut splits a
        // word): a huge tail is not copied to be cut.
        let end = text.len().min(at + (cap - out.len()) + 4);
        out.push_str(&String::from_utf8_lossy(&text[at..end]));
        at = end;
    }
    cut_between_words(out, cap, at < text.len())
}

/// Cuts `s` to at most `cap` bytes (with the `…` mark) at a char boundary that is not inside a
/// word; `force` cuts (and marks) even when `s` fits, because more text followed.
fn cut_between_words(mut s: String, cap: usize, force: bool) -> String {
    const MARK: &str = "…";
    if s.len() <= cap && !force {
        return s;
    }
    let mut end = cap.saturating_sub(MARK.len()).min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let is_word = |c: char| !(c.is_whitespace() || "\"'`,;()[]{}<>|…".contains(c));
    let next_is_word = if end == s.len() {
        force
    } else {
        s[end..].chars().next().is_some_and(is_word)
    };
    let splits_word = next_is_word && s[..end].chars().next_back().is_some_and(is_word);
    if splits_word {
        end = s[..end]
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_word(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
    }
    s.truncate(end);
    s.push_str(MARK);
    s
}

/// `s` cut to at most `cap` bytes on a char boundary (the raw match of `--no-redact`).
pub(crate) fn cap_str(s: &str, cap: usize) -> String {
    let mut end = cap.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// With redaction on, a finding's match text or commit summary may still hold *another*
/// finding's secret: a key ID right before its secret key (`AKIA…,secret` in credentials.csv), or a
/// key pasted into the commit message of a commit that also leaked a file; a key ID folded into a
/// pair finding as `related`. Replaces every secret found in the run (8 characters or more, related
/// ones and `extra` ones included) by its redacted form in those fields.
pub(crate) fn redact_cross_references(findings: &mut [Finding], extra: &[String]) {
    let mut secrets: Vec<String> = findings
        .iter()
        .flat_map(|f| std::iter::once(&f.secret).chain(f.related.iter().map(|r| &r.secret)))
        .chain(extra)
        .filter(|s| s.len() >= 8)
        .cloned()
        .collect();
    secrets.sort_unstable();
    secrets.dedup();
    if secrets.is_empty() {
        return;
    }
    // A contiguous NFA: built in time linear in the secrets (a private key is kilobytes; the DFA
    // the builder would pick took longer to build than the texts it scrubs take to search).
    let Ok(ac) = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
        .build(&secrets)
    else {
        return;
    };
    let shown: Vec<String> = secrets.iter().map(|s| redact(s)).collect();
    let scrub = |text: &mut String| {
        if ac.is_match(text.as_str()) {
            *text = ac.replace_all(text, &shown);
        }
    };
    for f in findings.iter_mut() {
        scrub(&mut f.matched_redacted);
        scrub(&mut f.line_text);
        if let Some(c) = &mut f.commit {
            scrub(&mut c.summary);
        }
    }
}

impl Finding {
    /// The secret as it may be shown.
    pub(crate) fn shown_secret(&self, redacted: bool) -> String {
        if redacted {
            redact(&self.secret)
        } else {
            self.secret.clone()
        }
    }

    /// The match as it may be shown: with redaction, every secret inside it redacted.
    pub(crate) fn shown_match(&self, redacted: bool) -> String {
        if redacted {
            self.matched_redacted.clone()
        } else {
            self.matched.clone()
        }
    }

    pub(crate) fn is_aws(&self) -> bool {
        self.rule_id.starts_with("aws-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(secret: &str, matched: &str, summary: Option<&str>) -> Finding {
        Finding {
            rule_id: "r".into(),
            description: "d".into(),
            severity: Severity::High,
            file: None,
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            secret: secret.into(),
            matched: matched.into(),
            matched_redacted: matched.into(),
            line_text: String::new(),
            entropy: 0.0,
            fingerprint: String::new(),
            commit: summary.map(|s| Commit {
                summary: s.into(),
                ..Commit::default()
            }),
            other_occurrences: 0,
            source: SourceKind::File,
            related: Vec::new(),
            details: Details::default(),
            decoded: None,
            occurrences: Vec::new(),
            whereabouts: None,
        }
    }

    #[test]
    fn other_findings_secrets_are_redacted_in_matches_and_summaries() {
        // Generated, never literal: this repository must scan clean.
        let mut g = crate::rules::placeholder::Generator::new(7);
        let (id, secret) = (g.aws_key_id("AKIA"), g.aws_secret());
        let mut fs = vec![
            finding(&id, &id, Some(&format!("add {id}"))),
            finding(&secret, &format!("{id},{secret}"), None),
        ];
        redact_cross_references(&mut fs, &[]);
        assert_eq!(
            fs[0].commit.as_ref().unwrap().summary,
            format!("add {}", redact(&id))
        );
        assert_eq!(
            fs[1].shown_match(true),
            format!("{},{}", redact(&id), redact(&secret))
        );
    }

    #[test]
    fn spans_are_redacted_before_the_cap() {
        let secret = "S".repeat(3) + &"x".repeat(1000) + "TAIL";
        let text = format!("key = {secret} end");
        let at = 6..6 + secret.len();
        let shown = redact_spans(text.as_bytes(), std::slice::from_ref(&at), 512);
        assert_eq!(shown, format!("key = {} end", redact(&secret)));
        // Cut after redaction: the long tail goes, and never in the middle of a word.
        let long = format!("{text} {}", "word ".repeat(200));
        let shown = redact_spans(long.as_bytes(), std::slice::from_ref(&at), 40);
        assert!(shown.len() <= 40 && shown.ends_with('…'), "{shown}");
        assert!(shown.starts_with(&format!("key = {} end", redact(&secret))));
        // Overlapping spans are merged: only the union's ends show.
        let shown = redact_spans(b"0123456789abcdefghijklmnop", &[0..12, 8..20], 512);
        assert_eq!(shown, "0123…ghijklmnop");
        // An unknown token cut by the cap is dropped whole.
        assert_eq!(
            redact_spans(b"a=1 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", &[], 16),
            "a=1 …"
        );
    }

    #[test]
    fn redaction_keeps_only_ends() {
        assert_eq!(redact("AKIAABCDEFGHIJKLWXYZ"), "AKIA…WXYZ");
        assert_eq!(redact("short12"), "…");
        assert_eq!(redact("12345678"), "12…");
    }

    #[test]
    fn fingerprint_depends_on_rule_and_secret_only() {
        assert_eq!(fingerprint("a", b"s"), fingerprint("a", b"s"));
        assert_ne!(fingerprint("a", b"s"), fingerprint("b", b"s"));
        assert_eq!(fingerprint("a", b"s").len(), 64);
    }
}
