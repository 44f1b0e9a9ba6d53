//! `keyfence baseline [PATH...] | --history [REV...]`: records the current findings as accepted,
//! so later runs with `--baseline FILE` report only new ones.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::baseline::Baseline;
use crate::cli::{BaselineArgs, CommonArgs};
use crate::driver::output::ReportFile;
use crate::driver::plan::Plan;
use crate::driver::{self, plural};
use crate::finding::Finding;
use crate::sources::audit::{select_commits, shallow_note, HistorySource, Selected};
use crate::sources::dir::{config_root, DirSource};
use crate::sources::git::{root_dir, Opener};
use crate::ExitStatus;

/// Where the baseline goes without `--output`.
pub(crate) const DEFAULT_FILE: &str = ".keyfence-baseline.json";

pub(crate) fn run(args: &BaselineArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    // Flags shared with the scanning commands that mean nothing for a baseline file: refused,
    // not silently ignored (a baseline is always its own JSON and never holds a secret).
    if args.common.format != crate::report::Format::Text {
        bail!(
            "a baseline is always keyfence's baseline JSON; drop --format (use `keyfence scan \
             --format ...` for a report)"
        );
    }
    if args.common.no_redact {
        bail!("a baseline holds fingerprints, never secrets: --no-redact does not apply");
    }
    if args.common.baseline.is_some() {
        bail!(
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
    let findings = if args.history {
        history_findings(args, &common)?
    } else {
        dir_findings(args, &common)?
    };
    let baseline = Baseline::from_findings(&findings);
    // Fingerprints only, no secrets: an ordinary file, written whole or not at all.
    let mut file = ReportFile::create(&target, false)?;
    file.write_all(baseline.render().as_bytes())
        .with_context(|| format!("cannot write {}", target.display()))?;
    file.commit()?;
    if !args.common.quiet {
        let entries = match baseline.len() {
            1 => "1 entry".to_string(),
            n => format!("{n} entries"),
        };
        eprintln!(
            "keyfence: wrote {} ({entries} from {}) in {:.2}s",
            crate::report::escape_control(&target.display().to_string()),
            plural(findings.len() as u64, "finding"),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitStatus::Clean)
}

/// The findings of a history audit of `args.targets` (every ref when none).
fn history_findings(args: &BaselineArgs, common: &CommonArgs) -> anyhow::Result<Vec<Finding>> {
    let (opener, repo) = Opener::new(args.repo.as_deref())?;
    let plan = Plan::build(common, &root_dir(&repo))?;
    let started = Instant::now();
    let Selected {
        commits,
        extras,
        shallow,
    } = select_commits(&repo, &args.targets, false, None)?;
    if let Some(note) = shallow_note(&shallow) {
        plan.note(&note);
    }
    let source = HistorySource {
        opener: &opener,
        repo: &repo,
        commits: &commits,
        extras: &extras,
        shallow: &shallow,
        object_stream: false,
    };
    let mut findings = driver::run(&plan, &source, started)?.findings;
    plan.filters().apply(&mut findings);
    Ok(findings)
}

/// The findings of a scan of `args.targets` (the current directory when none), with the
/// summary line `scan` prints.
fn dir_findings(args: &BaselineArgs, common: &CommonArgs) -> anyhow::Result<Vec<Finding>> {
    let paths = if args.targets.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.targets.iter().map(PathBuf::from).collect()
    };
    let root = config_root(&paths);
    let plan = Plan::build(common, &root)?;
    let started = Instant::now();
    let source = DirSource {
        paths,
        no_ignore: args.no_ignore,
        config_root: root,
    };
    let mut scanned = driver::run(&plan, &source, started)?;
    let mut findings = std::mem::take(&mut scanned.findings);
    plan.filters().apply(&mut findings);
    scanned.finish(&plan, findings.len());
    Ok(findings)
}
