//! `keyfence explain RULE`: what a rule finds, examples of it, and what to do about a finding.

use std::io::Write;

use crate::cli::ExplainArgs;
use crate::config;
use crate::error::RulesError;
use crate::rules::placeholder::{fill, Generator};
use crate::ExitStatus;

pub(crate) fn run(args: &ExplainArgs) -> Result<ExitStatus, RulesError> {
    let root = config::config_root_for(std::path::Path::new("."));
    let cfg = config::locate(args.rules.config.as_deref(), &root);
    let rules = config::load(cfg.as_deref(), &args.rules.rules_dir)?;
    let Some(rule) = rules.get(&args.rule) else {
        return Err(RulesError::UnknownRule(
            crate::report::escape_control(&args.rule).into_owned(),
        ));
    };
    let esc = |s: &str| crate::report::escape_control(s).into_owned();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}  ({})", esc(&rule.id), rule.severity.as_str())?;
    writeln!(out, "  {}", esc(&rule.description))?;
    if !rule.keywords.is_empty() {
        writeln!(
            out,
            "  runs where the text holds: {}",
            esc(&rule.keywords.join(", "))
        )?;
    }
    // Placeholders filled with freshly generated values: the rule packs hold no real keys.
    let mut gen = Generator::from_label(&rule.id);
    let show = |out: &mut dyn Write, title: &str, list: &[String], gen: &mut Generator| {
        if list.is_empty() {
            return Ok::<(), std::io::Error>(());
        }
        writeln!(out, "\n{title} (generated, not real):")?;
        for t in list {
            let text = fill(t, gen).unwrap_or_else(|_| t.clone());
            let mut lines = text.lines();
            if let Some(first) = lines.next() {
                writeln!(out, "  - {}", esc(first))?;
            }
            for l in lines {
                writeln!(out, "    {}", esc(l))?;
            }
        }
        Ok(())
    };
    show(&mut out, "Found, e.g.", &rule.examples, &mut gen)?;
    show(
        &mut out,
        "Not found, e.g.",
        &rule.negative_examples,
        &mut gen,
    )?;
    writeln!(out, "\nWhat to do about a finding:")?;
    match rule.remediation.as_deref() {
        Some(r) => {
            for l in r.trim().lines() {
                writeln!(out, "  {}", esc(l.trim_end()))?;
            }
        }
        None => writeln!(
            out,
            "  Remove it, rotate it at its issuer, and keep it out of code."
        )?,
    }
    if rule.id.starts_with("aws-") {
        writeln!(
            out,
            "  For a leaked AWS key, the full incident runbook: keyfence respond --key-id AKIA…"
        )?;
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}
