//! `keyfence baseline [PATH...] | --history [REV...]`: records the current findings as accepted,
//! so later runs with `--baseline FILE` report only new ones.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use super::common::{plural, Plan, ReportFile};
use crate::baseline::Baseline;
use crate::cli::{BaselineArgs, HistoryArgs, ScanArgs};
use crate::finding::Finding;
use crate::sources::git::{root_dir, Opener};
use crate::ExitStatus;

/// Where the baseline goes without `--output`.
pub const DEFAULT_FILE: &str = ".keyfence-baseline.json";

pub fn run(args: &BaselineArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    // Flags shared with the scanning commands that mean nothing for a baseline file: refused,
    // not silently ignored (a baseline is always its own JSON and never holds a secret).
    if args.common.format != crate::report::Format::Text {
        anyhow::bail!(
            "a baseline is always keyfence's baseline JSON; drop --format (use `keyfence scan \
             --format ...` for a report)"
        );
    }
    if args.common.no_redact {
        anyhow::bail!("a baseline holds fingerprints, never secrets: --no-redact does not apply");
    }
    if args.common.baseline.is_some() {
        anyhow::bail!(
            "--baseline does not apply when writing a baseline (it would drop the findings it \
             already holds); write the new one, then compare"
        );
    }
    let target = args
        .common
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    let mut common = args.common.clone();
    common.output = None;
    common.baseline = None;
    let findings: Vec<Finding> = if args.history {
        let history = HistoryArgs {
            revs: args.targets.clone(),
            repo: args.repo.clone(),
            since: None,
            tags: false,
            added_only: false,
            allow_empty: false,
            object_stream: false,
            common,
        };
        let (opener, repo) = Opener::new(history.repo.as_deref())?;
        let plan = Plan::build(&history.common, &root_dir(&repo))?;
        let (mut findings, _) = super::history::collect(&history, &plan, &opener, &repo)?;
        drop_allowed(&plan, &mut findings);
        findings
    } else {
        let paths = if args.targets.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.targets.iter().map(PathBuf::from).collect()
        };
        let scan = ScanArgs {
            paths,
            no_ignore: args.no_ignore,
            common,
        };
        let plan = Plan::build(&scan.common, &super::scan::root(&scan))?;
        let mut out = Vec::new();
        super::scan::collect(&scan, &plan, |mut found| {
            drop_allowed(&plan, &mut found);
            out = found;
            Ok(out.len())
        })?;
        out
    };
    let baseline = Baseline::from_findings(&findings);
    // Fingerprints only, no secrets: an ordinary file, written whole or not at all.
    let mut file = ReportFile::create(&target, false)?;
    file.write_all(baseline.render().as_bytes())
        .with_context(|| format!("cannot write {}", target.display()))?;
    file.commit()?;
    if !args.common.quiet {
        eprintln!(
            "keyfence: wrote {} ({} from {}) in {:.2}s",
            crate::report::escape_control(&target.display().to_string()),
            if baseline.len() == 1 {
                "1 entry".to_string()
            } else {
                format!("{} entries", baseline.len())
            },
            plural(findings.len() as u64, "finding"),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitStatus::Clean)
}

fn drop_allowed(plan: &Plan, findings: &mut Vec<Finding>) {
    let allowlist = &plan.engine.rule_set().allowlist;
    findings.retain(|f| !crate::filters::commit_allowed(allowlist, f));
}
