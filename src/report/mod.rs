//! Reports: findings in, text for people or JSON / SARIF for machines out. Reporters never scan.

pub mod json;
pub(crate) mod sanitize;
pub mod sarif;
pub mod text;

pub(crate) use sanitize::escape_control;

use std::io::Write;

use crate::finding::Finding;
use crate::rules::RuleSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
}

/// How findings are rendered.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions {
    pub format: Format,
    pub redact: bool,
    pub color: bool,
}

/// Renders `findings` in the chosen format.
pub fn write(
    out: &mut dyn Write,
    findings: &[Finding],
    rules: &RuleSet,
    opts: &ReportOptions,
) -> std::io::Result<()> {
    match opts.format {
        Format::Text => text::write(out, findings, rules, opts),
        Format::Json => json::write(out, findings, opts),
        Format::Sarif => sarif::write(out, findings, rules, opts),
    }
}
