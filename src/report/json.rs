//! JSON: an array of findings with the field names of DESIGN.md.

use std::io::Write;

use serde::Serialize;

use super::ReportOptions;
use crate::finding::{detail, Finding, SourceKind};
use crate::rules::Severity;

#[derive(Serialize)]
pub(crate) struct JsonFinding<'a> {
    pub(crate) rule_id: &'a str,
    pub(crate) description: &'a str,
    pub(crate) severity: Severity,
    pub(crate) file: Option<&'a str>,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) end_line: usize,
    pub(crate) end_column: usize,
    pub(crate) secret: String,
    #[serde(rename = "match")]
    pub(crate) matched: String,
    pub(crate) entropy: f64,
    pub(crate) fingerprint: &'a str,
    pub(crate) commit: Option<&'a str>,
    pub(crate) author: Option<&'a str>,
    pub(crate) email: Option<&'a str>,
    pub(crate) date: Option<&'a str>,
    pub(crate) message: Option<&'a str>,
    pub(crate) source: SourceKind,
    /// Other (commit, path) places where the same blob appears; history scans only.
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) other_occurrences: usize,
    /// 12-digit AWS account ID decoded from the access key ID; null when not an AWS key.
    pub(crate) account_id: Option<&'a str>,
    /// "long-term" (AKIA) | "temporary" (ASIA, ABIA) | "other"; null when not an AWS key.
    pub(crate) key_type: Option<&'a str>,
    /// "base64", "percent", "base64+base64", …: the secret was found by decoding the span at
    /// line/column; null when it was written in clear.
    pub(crate) decoded: Option<&'a str>,
    /// Enclosing Terraform block, e.g. `provider "aws" (alias prod)`; null elsewhere.
    pub(crate) block: Option<&'a str>,
    /// Other locations of the same credential (the key ID of an aws-credential-pair).
    pub(crate) related: Vec<JsonRelated<'a>>,
    /// What STS said with `--verify` (`status`: live | invalid-key-id | wrong-secret |
    /// inactive-or-expired | unknown); null when not verified.
    pub(crate) verification: Option<&'a crate::verify::Verification>,
    /// Offline: "canary" or "impossible-account"; absent when neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key_signal: Option<crate::verify::Signal>,
    /// Audits only: every (commit, file, line) where the secret was introduced, this one first.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub(crate) occurrences: &'a [crate::finding::Occurrence],
    /// Audits only: `present_at_head`, `head_paths`, `removed_in`, `reachable_from`, `published`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub(crate) whereabouts: Option<&'a crate::finding::Whereabouts>,
}

#[derive(Serialize)]
pub(crate) struct JsonRelated<'a> {
    pub(crate) rule_id: &'a str,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) end_line: usize,
    pub(crate) end_column: usize,
    pub(crate) secret: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl<'a> JsonFinding<'a> {
    pub(crate) fn new(f: &'a Finding, opts: &'a ReportOptions) -> Self {
        let redact = opts.redact;
        let c = f.commit.as_ref();
        JsonFinding {
            rule_id: &f.rule_id,
            description: &f.description,
            severity: f.severity,
            file: f.file.as_deref(),
            line: f.line,
            column: f.column,
            end_line: f.end_line,
            end_column: f.end_column,
            secret: f.shown_secret(redact),
            matched: f.shown_match(redact),
            entropy: f.entropy,
            fingerprint: &f.fingerprint,
            commit: c.map(|c| c.id.as_str()),
            author: c.map(|c| c.author.as_str()),
            email: c.map(|c| c.email.as_str()),
            date: c.map(|c| c.date.as_str()),
            message: c.map(|c| c.summary.as_str()),
            source: f.source,
            other_occurrences: f.other_occurrences,
            account_id: f.details.value(detail::ACCOUNT_ID),
            key_type: f.details.value(detail::KEY_TYPE),
            decoded: f.decoded.as_deref(),
            block: f.details.value(detail::BLOCK),
            related: f
                .related
                .iter()
                .map(|r| JsonRelated {
                    rule_id: &r.rule_id,
                    line: r.line,
                    column: r.column,
                    end_line: r.end_line,
                    end_column: r.end_column,
                    secret: if redact {
                        crate::finding::redact(&r.secret)
                    } else {
                        r.secret.clone()
                    },
                })
                .collect(),
            verification: opts.verdicts.verification(f),
            key_signal: opts.verdicts.signal(f),
            occurrences: &f.occurrences,
            whereabouts: f.whereabouts.as_ref(),
        }
    }
}

pub(crate) fn write(out: &mut dyn Write, input: &super::Input) -> std::io::Result<()> {
    let (findings, _, opts) = input.parts();
    // Streamed: one finding's view at a time, not a second copy of every finding.
    let items = Lazy(|| findings.iter().map(|f| JsonFinding::new(f, opts)));
    super::write_document(out, &items)
}

/// Serializes as a sequence, building each item only when it is written.
pub(crate) struct Lazy<F>(pub F);

impl<F, I> Serialize for Lazy<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}
