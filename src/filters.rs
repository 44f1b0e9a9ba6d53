//! The one filter stage between the engine and the report. What a finding must pass:
//! - the rule's and the user's allowlists (paths, regexes, stopwords), checked on each candidate
//!   match while the engine runs ([`allowlisted`]), so an allowed match never hides another;
//! - inline `keyfence:allow` markers, checked per blob once its matches are paired ([`Marks`]);
//! - the commit allowlist and the baseline, on the findings of the whole run ([`Filters`]).
//!
//! Which lines count (a gate's added lines) is not a filter: it is what the source scanned.

use std::io::Write;

use crate::baseline::Baseline;
use crate::finding::Finding;
use crate::rules::{Allowlist, Candidate, Rule};
use crate::sanitize::escape_control;

/// True when the rule's own allowlist or the user's global one allows a candidate match.
pub(crate) fn allowlisted(rule: &Rule, global: &Allowlist, candidate: &Candidate<'_>) -> bool {
    rule.allowlist.allows(candidate) || global.allows(candidate)
}

/// The filters that apply to a run's findings as a whole.
pub(crate) struct Filters<'a> {
    pub(crate) allowlist: &'a Allowlist,
    /// Accepted findings (`--baseline`, or the gate's own), dropped in every mode.
    pub(crate) baseline: Option<&'a Baseline>,
    /// `--report-unused`: name the baseline entries no finding matched.
    pub(crate) report_unused: bool,
}

impl Filters<'_> {
    /// Drops commit-allowlisted and baselined findings.
    pub(crate) fn apply(&self, findings: &mut Vec<Finding>) {
        findings.retain(|f| !commit_allowed(self.allowlist, f));
        let Some(baseline) = self.baseline else {
            return;
        };
        let unused = baseline.apply(findings);
        if !self.report_unused {
            return;
        }
        let mut err = std::io::stderr().lock();
        for e in &unused {
            let _ = writeln!(
                err,
                "keyfence: unused baseline entry: {} {}",
                escape_control(&e.rule_id),
                escape_control(&e.fingerprint)
            );
        }
        if unused.is_empty() {
            let _ = writeln!(err, "keyfence: every baseline entry matched a finding");
        }
    }
}

/// The marker that silences findings on its own line.
pub(crate) const INLINE_ALLOW: &[u8] = b"keyfence:allow";

pub(crate) use crate::rules::InlineAllow;

/// True when `line` (the physical line of a finding of `rule_id` with this `secret`) carries a
/// marker that allows it: a bare `keyfence:allow`, or one naming the rule id or a prefix (12+ hex
/// digits) of the finding's fingerprint (`keyfence:allow aws-access-key-id`).
pub(crate) fn inline_allowed(
    policy: InlineAllow,
    line: &[u8],
    rule_id: &str,
    secret: &[u8],
) -> bool {
    if policy == InlineAllow::Off {
        return false;
    }
    marker_allows(line, rule_id, &|| {
        crate::finding::fingerprint(rule_id, secret)
    })
}

/// True when `line` carries a marker that allows a finding of `rule_id` whose fingerprint
/// `fingerprint` computes (only when a marker names one).
fn marker_allows(line: &[u8], rule_id: &str, fingerprint: &dyn Fn() -> String) -> bool {
    let mut fp: Option<String> = None;
    for at in memchr::memmem::find_iter(line, INLINE_ALLOW) {
        let rest = &line[at + INLINE_ALLOW.len()..];
        let token: &[u8] = match rest.first() {
            Some(b' ' | b'\t' | b'=' | b':') => {
                let body = &rest[1..];
                let body = &body[body.iter().take_while(|b| **b == b' ').count()..];
                let n = body
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_')
                    .count();
                &body[..n]
            }
            _ => b"",
        };
        if token.is_empty() || token == rule_id.as_bytes() {
            return true;
        }
        if token.len() >= 12 && token.iter().all(u8::is_ascii_hexdigit) {
            let fp = fp.get_or_insert_with(fingerprint);
            if fp.as_bytes().starts_with(&token.to_ascii_lowercase()) {
                return true;
            }
        }
    }
    false
}

/// The inline markers of one blob, remembered until its matches are paired: a marker on either
/// line of a pair allows the whole pair (the pair finding and both halves), not only the half on
/// its own line.
pub(crate) struct Marks<'t> {
    text: &'t [u8],
    /// Each placed match: (line, column, rule id, start in `text`, allowed by a marker).
    placed: Vec<(usize, usize, &'t str, usize, bool)>,
}

impl<'t> Marks<'t> {
    /// `None` when no marker can apply to `text` (markers are off, or there is none in it): the
    /// usual blob, which then costs nothing more.
    pub(crate) fn find(policy: InlineAllow, text: &'t [u8]) -> Option<Marks<'t>> {
        (policy == InlineAllow::On && memchr::memmem::find(text, INLINE_ALLOW).is_some()).then(
            || Marks {
                text,
                placed: Vec::new(),
            },
        )
    }

    /// Whether a marker on its own line allows the match of `rule_id` with `secret` starting
    /// at `start` in the text.
    pub(crate) fn check(&self, rule_id: &str, start: usize, secret: &[u8]) -> bool {
        let line = crate::blob::line_around(self.text, start);
        inline_allowed(InlineAllow::On, line, rule_id, secret)
    }

    /// Remembers a placed match at (line, column), for [`Marks::allows`].
    pub(crate) fn place(&mut self, at: (usize, usize), rule_id: &'t str, start: usize, ok: bool) {
        self.placed.push((at.0, at.1, rule_id, start, ok));
    }

    /// Whether `f` (its match starting at `start` in the text) is allowed: a single match by
    /// its own marker; a pair by a marker that allowed either half, or by one on either of its
    /// lines naming the pair (bare, by rule id, or by fingerprint).
    pub(crate) fn allows(&self, f: &Finding, start: usize) -> bool {
        let allowed = |line: usize, column: usize, rule: Option<&str>| {
            self.placed.iter().any(|&(l, c, r, _, ok)| {
                ok && l == line && c == column && rule.is_none_or(|rule| rule == r)
            })
        };
        if f.related.is_empty() {
            return allowed(f.line, f.column, Some(&f.rule_id));
        }
        if allowed(f.line, f.column, None)
            || f.related
                .iter()
                .any(|r| allowed(r.line, r.column, Some(&r.rule_id)))
        {
            return true;
        }
        let fingerprint = || f.fingerprint.clone();
        let related_starts = f.related.iter().filter_map(|r| {
            self.placed
                .iter()
                .find(|&&(l, c, id, _, _)| l == r.line && c == r.column && id == r.rule_id)
                .map(|&(_, _, _, s, _)| s)
        });
        std::iter::once(start).chain(related_starts).any(|s| {
            marker_allows(
                crate::blob::line_around(self.text, s),
                &f.rule_id,
                &fingerprint,
            )
        })
    }
}

/// True when the finding's commit is allowlisted.
pub(crate) fn commit_allowed(allowlist: &Allowlist, finding: &Finding) -> bool {
    finding
        .commit
        .as_ref()
        .is_some_and(|c| allowlist.allows_commit(&c.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_allow_their_line_by_rule_or_fingerprint_and_only_when_on() {
        let r = "aws-access-key-id";
        assert!(inline_allowed(
            InlineAllow::On,
            b"x = 1 # keyfence:allow",
            r,
            b"s"
        ));
        assert!(!inline_allowed(
            InlineAllow::Off,
            b"x = 1 # keyfence:allow",
            r,
            b"s"
        ));
        assert!(inline_allowed(
            InlineAllow::On,
            b"# keyfence:allow aws-access-key-id",
            r,
            b"s"
        ));
        assert!(!inline_allowed(
            InlineAllow::On,
            b"# keyfence:allow github-pat",
            r,
            b"s"
        ));
        let fp = crate::finding::fingerprint(r, b"s");
        let line = format!("# keyfence:allow {}", &fp[..16]);
        assert!(inline_allowed(InlineAllow::On, line.as_bytes(), r, b"s"));
        assert!(!inline_allowed(InlineAllow::On, line.as_bytes(), r, b"t"));
        assert!(!inline_allowed(InlineAllow::On, b"nothing here", r, b"s"));
    }
}

#[cfg(test)]
mod pair_tests {
    use super::*;

    fn finding(rule: &str, line: usize, related: Option<(&str, usize)>) -> Finding {
        let mut f = crate::finding::Finding {
            rule_id: rule.into(),
            description: String::new(),
            severity: crate::rules::Severity::High,
            file: None,
            line,
            column: 1,
            end_line: line,
            end_column: 2,
            secret: "s".into(),
            matched: String::new(),
            matched_redacted: String::new(),
            line_text: String::new(),
            entropy: 0.0,
            fingerprint: "ab".repeat(32),
            commit: None,
            other_occurrences: 0,
            source: crate::finding::SourceKind::File,
            related: Vec::new(),
            details: Default::default(),
            decoded: None,
            occurrences: Vec::new(),
            whereabouts: None,
        };
        if let Some((rule, line)) = related {
            f.related.push(crate::finding::Related {
                rule_id: rule.into(),
                line,
                column: 1,
                end_line: line,
                end_column: 2,
                secret: "i".into(),
            });
        }
        f
    }

    #[test]
    fn a_marker_on_either_half_allows_the_pair_and_only_it() {
        let text = b"id = I # keyfence:allow\nsecret = S\nother = O\n";
        assert!(Marks::find(InlineAllow::Off, text).is_none());
        assert!(Marks::find(InlineAllow::On, b"no marker here").is_none());
        let mut marks = Marks::find(InlineAllow::On, text).unwrap();
        let id_ok = marks.check("aws-access-key-id", 5, b"I");
        let secret_ok = marks.check("aws-secret-access-key", 33, b"S");
        assert!(id_ok && !secret_ok);
        marks.place((1, 1), "aws-access-key-id", 5, id_ok);
        marks.place((2, 1), "aws-secret-access-key", 33, secret_ok);
        let pair = finding("aws-credential-pair", 2, Some(("aws-access-key-id", 1)));
        assert!(marks.allows(&pair, 33));
        let alone = finding("aws-secret-access-key", 2, None);
        assert!(!marks.allows(&alone, 33));
        let elsewhere = finding("aws-credential-pair", 3, Some(("aws-access-key-id", 9)));
        assert!(!marks.allows(&elsewhere, 45));
    }
}
