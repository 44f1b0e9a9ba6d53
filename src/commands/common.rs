//! What every scanning command shares: turning flags into a built plan, and emitting the report.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::baseline::Baseline;
use crate::cli::CommonArgs;
use crate::config;
use crate::engine::Engine;
use crate::filters;
use crate::finding::Finding;
use crate::report::{self, Format, ReportOptions};
use crate::ExitStatus;

/// Resolved, immutable settings of a run.
pub struct Plan {
    pub engine: Engine,
    pub report: ReportOptions,
    pub output: Option<PathBuf>,
    pub quiet: bool,
    pub verbose: bool,
    pub progress: bool,
    pub threads: usize,
    pub max_file_size: u64,
    pub config_file: Option<PathBuf>,
    /// Accepted findings (`--baseline`), dropped in every mode.
    pub baseline: Option<Baseline>,
    pub report_unused: bool,
}

impl Plan {
    /// Loads config and rules (looking for `.keyfence.toml` in `root`) and resolves flags.
    pub fn build(args: &CommonArgs, root: &Path) -> anyhow::Result<Plan> {
        let config_file = config::locate(args.config.as_deref(), root);
        let rules = config::load(config_file.as_deref(), &args.rules_dir)?;
        let engine = Engine::new(rules);
        let threads = args
            .threads
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let color = args.format == Format::Text
            && args.output.is_none()
            && !args.no_color
            && std::env::var_os("NO_COLOR").is_none()
            && std::io::stdout().is_terminal();
        let baseline = args.baseline.as_deref().map(Baseline::load).transpose()?;
        Ok(Plan {
            engine,
            report: ReportOptions {
                format: args.format,
                redact: !args.no_redact,
                color,
            },
            output: args.output.clone(),
            quiet: args.quiet,
            verbose: args.verbose,
            progress: !args.no_progress && !args.quiet && std::io::stderr().is_terminal(),
            threads,
            max_file_size: args.max_file_size,
            config_file,
            baseline,
            report_unused: args.report_unused,
        })
    }

    /// Drops commit-allowlisted and baselined findings, sorts the rest and writes the report.
    pub fn emit(&self, findings: &mut Vec<Finding>) -> anyhow::Result<ExitStatus> {
        let allowlist = &self.engine.rule_set().allowlist;
        findings.retain(|f| !filters::commit_allowed(allowlist, f));
        if let Some(baseline) = &self.baseline {
            let unused = baseline.apply(findings);
            if self.report_unused {
                let mut err = std::io::stderr().lock();
                for e in &unused {
                    let _ = writeln!(
                        err,
                        "keyfence: unused baseline entry: {} {}",
                        e.rule_id, e.fingerprint
                    );
                }
                if unused.is_empty() {
                    let _ = writeln!(err, "keyfence: every baseline entry matched a finding");
                }
            }
        }
        findings.sort_by(|a, b| {
            (
                &a.file,
                a.line,
                a.column,
                &a.rule_id,
                a.commit.as_ref().map(|c| &c.date),
            )
                .cmp(&(
                    &b.file,
                    b.line,
                    b.column,
                    &b.rule_id,
                    b.commit.as_ref().map(|c| &c.date),
                ))
        });
        if self.report.redact {
            crate::finding::redact_cross_references(findings);
        }
        match &self.output {
            Some(path) => {
                let file = create_report_file(path, !self.report.redact)
                    .with_context(|| format!("cannot write report to {}", path.display()))?;
                // Reporters write in small pieces: buffer them (a syscall per JSON token is slow).
                let mut file = std::io::BufWriter::new(file);
                report::write(&mut file, findings, self.engine.rule_set(), &self.report)?;
                file.flush()?;
            }
            None => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                report::write(&mut out, findings, self.engine.rule_set(), &self.report)?;
                out.flush()?;
            }
        }
        Ok(if findings.is_empty() {
            ExitStatus::Clean
        } else {
            ExitStatus::Findings
        })
    }

    /// A line on stderr, unless `--quiet`.
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("keyfence: {msg}");
        }
    }
}

/// A report holding raw secrets is readable by its owner only.
fn create_report_file(path: &Path, holds_secrets: bool) -> std::io::Result<std::fs::File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if holds_secrets {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    #[cfg(unix)]
    if holds_secrets {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// `1234567` → `1.2 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
