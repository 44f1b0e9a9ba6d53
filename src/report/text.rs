//! Text for people: one block per finding (per secret in history and range reports), then what to
//! do now for each kind of leak found.
//! Every field that comes from scanned content or config goes through [`esc`]: the terminal
//! shows control characters, it does not obey them.

use std::io::Write;

use super::escape_control as esc;
use super::ReportOptions;
use crate::finding::Finding;
use crate::rules::Severity;

pub(super) struct Paint {
    on: bool,
}

impl Paint {
    pub(super) fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
        };
        self.wrap(code, s.as_str())
    }
}

pub(crate) fn write(out: &mut dyn Write, input: &super::Input) -> std::io::Result<()> {
    let (findings, rules, opts) = input.parts();
    let p = Paint { on: opts.color };
    // History and range findings of the same secret make one block: where it is, where it has
    // been. Anything else (and a secret found once) is one block per finding.
    for group in super::whereabouts::by_secret(findings) {
        let alone = group.len() == 1;
        finding_block(out, group[0], opts, &p, alone)?;
        if !alone {
            super::whereabouts::write(out, &group, &|code, s| p.wrap(code, s))?;
        }
    }
    // AWS keys get advice for the gate they were caught at, with their key IDs filled in.
    let handled = super::remedy::write_aws(out, findings, rules, opts, &|s| p.wrap("1", s))?;
    // Remediation once per rule, after the list: the list stays scannable.
    let mut seen: Vec<&str> = Vec::new();
    for f in findings {
        if seen.contains(&f.rule_id.as_str()) || handled.contains(&f.rule_id.as_str()) {
            continue;
        }
        seen.push(&f.rule_id);
        if let Some(text) = rules.get(&f.rule_id).and_then(|r| r.remediation.as_deref()) {
            writeln!(out)?;
            writeln!(
                out,
                "{} {}",
                p.wrap("1", "What to do now —"),
                esc(&f.rule_id)
            )?;
            for line in text.trim().lines() {
                writeln!(out, "  {}", esc(line.trim_end()))?;
            }
        }
    }
    // Advice for where secrets sit (Terraform), once each, from the packs.
    let mut advised: Vec<&str> = Vec::new();
    for id in findings.iter().flat_map(|f| f.details.advice()) {
        if advised.contains(id) {
            continue;
        }
        advised.push(id);
        let Some(a) = rules.advice(id) else { continue };
        writeln!(out)?;
        writeln!(out, "{} {}", p.wrap("1", "What to do now —"), esc(&a.title))?;
        for line in a.lines(opts.gate == super::Gate::Exposed) {
            writeln!(out, "  {}", esc(line.trim_end()))?;
        }
    }
    super::remedy::write_escape_hatches(out, findings, opts, &|s| p.wrap("1", s))?;
    Ok(())
}

/// One finding: its place, line, description and details, what it is paired with and its commit;
/// `alone`: also how often and where else it has been (a group says that once for all).
fn finding_block(
    out: &mut dyn Write,
    f: &Finding,
    opts: &ReportOptions,
    p: &Paint,
    alone: bool,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  {}  {}  {}",
        p.wrap("1", &super::whereabouts::place(f)),
        p.severity(f.severity),
        p.wrap("35", &esc(&f.rule_id)),
        esc(&f.shown_secret(opts.redact))
    )?;
    if !f.line_text.is_empty() {
        // The line as a linter shows it, its secrets already redacted (see Finding::line_text).
        writeln!(
            out,
            "    {} {}",
            p.wrap("2", &format!("{:>4} |", f.line)),
            esc(&f.line_text)
        )?;
    }
    writeln!(out, "    {}", esc(&f.description))?;
    if let Some(d) = details(f, opts) {
        writeln!(out, "    {}", esc(&d))?;
    }
    verdict_lines(out, f, opts, p)?;
    for r in &f.related {
        let secret = if opts.redact {
            crate::finding::redact(&r.secret)
        } else {
            r.secret.clone()
        };
        writeln!(
            out,
            "    paired with {} {} at line {}:{}",
            esc(&r.rule_id),
            esc(&secret),
            r.line,
            r.column
        )?;
    }
    if let Some(c) = &f.commit {
        let short: String = c.id.chars().take(12).collect();
        writeln!(
            out,
            "    commit {}  {} <{}>  {}  {}",
            esc(&short),
            esc(&c.author),
            esc(&c.email),
            esc(&c.date),
            esc(&c.summary)
        )?;
    }
    if !alone {
        return Ok(());
    }
    if f.other_occurrences > 0 {
        writeln!(
            out,
            "    also in {} other commit/path place(s)",
            f.other_occurrences
        )?;
    }
    if let Some(w) = &f.whereabouts {
        writeln!(out, "    {}", p.wrap(w.emphasis(), &esc(&w.line())))?;
    }
    Ok(())
}

/// The offline signal and the `--verify` answer, each on its own line.
fn verdict_lines(
    out: &mut dyn Write,
    f: &Finding,
    opts: &ReportOptions,
    p: &Paint,
) -> std::io::Result<()> {
    if let Some(sig) = opts.verdicts.signal(f) {
        writeln!(out, "    {}", p.wrap("1", sig.line()))?;
    }
    if let Some(v) = opts.verdicts.verification(f) {
        let code = if v.status == crate::verify::Status::Live {
            "1;31"
        } else {
            "1"
        };
        writeln!(out, "    {}", p.wrap(code, &esc(&v.line())))?;
    }
    Ok(())
}

/// The extra facts of a finding on one line: what annotators attached (an AWS account and key
/// type, a Terraform block), the encoding, and what `--verify` and the offline checks said.
pub(crate) fn details(f: &Finding, opts: &ReportOptions) -> Option<String> {
    let mut parts: Vec<String> = f.details.ordered().map(|d| d.text.clone()).collect();
    if let Some(d) = &f.decoded {
        parts.push(format!("decoded from {d}"));
    }
    if opts.format != super::Format::Text {
        if let Some(sig) = opts.verdicts.signal(f) {
            parts.push(sig.line().to_string());
        }
        if let Some(v) = opts.verdicts.verification(f) {
            parts.push(v.line());
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
