//! `keyfence rules list | test`.

use std::io::Write;

use crate::cli::{RulesArgs, RulesCommand};
use crate::config;
use crate::engine::Engine;
use crate::error::RulesError;
use crate::selftest::{check_examples, ExampleKind};
use crate::ExitStatus;

pub(crate) fn run(cmd: &RulesCommand) -> Result<ExitStatus, RulesError> {
    match cmd {
        RulesCommand::List(args) => list(args),
        RulesCommand::Test(args) => {
            let mut packs = args.rules.rules_dir.clone();
            packs.extend(args.packs.iter().cloned());
            let engine = load(&args.rules, &packs)?;
            let report = check_examples(&engine, None);
            let mut out = std::io::stdout().lock();
            for f in &report.failures {
                let kind = match f.kind {
                    ExampleKind::Positive => "example",
                    ExampleKind::Negative => "negative example",
                };
                writeln!(
                    out,
                    "FAIL {}: {kind} {}: {:?}",
                    f.rule_id, f.reason, f.template
                )?;
            }
            writeln!(
                out,
                "{} rules, {} examples, {} negative examples: {} failure(s)",
                report.rules,
                report.positives,
                report.negatives,
                report.failures.len()
            )?;
            Ok(if report.failures.is_empty() {
                ExitStatus::Clean
            } else {
                ExitStatus::Findings
            })
        }
    }
}

fn load(args: &RulesArgs, packs: &[std::path::PathBuf]) -> Result<Engine, RulesError> {
    // As for `scan .`: the config at the top of the work tree holding the current directory.
    let root = config::config_root_for(std::path::Path::new("."));
    let cfg = config::locate(args.config.as_deref(), &root);
    Ok(Engine::new(config::load(cfg.as_deref(), packs)?))
}

fn list(args: &RulesArgs) -> Result<ExitStatus, RulesError> {
    let engine = load(args, &args.rules_dir)?;
    let mut out = std::io::stdout().lock();
    let width = engine.rules().iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in engine.rules() {
        let pack = r
            .origin
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        writeln!(
            out,
            "{:width$}  {:8}  {:12}  {}",
            r.id,
            r.severity.as_str(),
            pack,
            r.description
        )?;
    }
    Ok(ExitStatus::Clean)
}
