//! Reports: findings in, text for people or JSON / SARIF for machines out. Reporters never scan.

pub(crate) mod gitlab;
pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod remedy;

pub(crate) mod sarif;
pub(crate) mod text;
mod whereabouts;

pub(crate) use crate::sanitize::escape_control;

use std::io::Write;

use crate::finding::Finding;
use crate::rules::RuleSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
    Sarif,
    /// JUnit XML: one failing test case per finding, for CI dashboards.
    Junit,
    /// GitLab's secret-detection report (gl-secret-detection-report.json).
    Gitlab,
}

/// Where a finding was caught, which decides what to do about it: nothing has left the machine
/// at a commit; at a push it is committed but not yet sent; anywhere else it is, or may be, public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Gate {
    /// `protect`, `hook commit-msg`: not committed yet.
    Commit,
    /// `hook pre-push`: committed, not pushed.
    Push,
    /// history, CI ranges, pre-receive, plain scans: treat it as public.
    #[default]
    Exposed,
}

/// How findings are rendered.
#[derive(Debug, Clone)]
pub(crate) struct ReportOptions {
    pub(crate) format: Format,
    pub(crate) redact: bool,
    pub(crate) color: bool,
    /// Decides the "what to do now" advice of the text report.
    pub(crate) gate: Gate,
    /// Offline signals and `--verify` results, by finding.
    pub(crate) verdicts: crate::verify::Verdicts,
}

/// What every format renders: the findings, the rules they came from (names, help,
/// remediation, advice) and how to render them.
#[derive(Clone, Copy)]
pub(crate) struct Input<'a> {
    pub(crate) findings: &'a [Finding],
    pub(crate) rules: &'a RuleSet,
    pub(crate) opts: &'a ReportOptions,
}

impl<'a> Input<'a> {
    pub(crate) fn parts(&self) -> (&'a [Finding], &'a RuleSet, &'a ReportOptions) {
        (self.findings, self.rules, self.opts)
    }
}

/// Renders `findings` in the chosen format.
pub(crate) fn write(
    out: &mut dyn Write,
    findings: &[Finding],
    rules: &RuleSet,
    opts: &ReportOptions,
) -> std::io::Result<()> {
    let input = Input {
        findings,
        rules,
        opts,
    };
    match opts.format {
        Format::Text => text::write(out, &input),
        Format::Json => json::write(out, &input),
        Format::Sarif => sarif::write(out, &input),
        Format::Junit => junit::write(out, &input),
        Format::Gitlab => gitlab::write(out, &input),
    }
}

/// A machine-readable document (JSON, SARIF, GitLab) as safe pretty JSON, with its final newline.
fn write_document(out: &mut dyn Write, doc: &impl serde::Serialize) -> std::io::Result<()> {
    crate::sanitize::write_json(out, doc)?;
    writeln!(out)
}
