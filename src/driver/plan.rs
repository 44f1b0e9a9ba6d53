//! Flags resolved into an immutable plan: config, rules and baseline from where the run's trust
//! says, and every setting the driver, the filters and the report need.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::baseline::Baseline;
use crate::cli::CommonArgs;
use crate::config;
use crate::engine::Engine;
use crate::filters::InlineAllow;
use crate::report::{self, escape_control, Format, ReportOptions};
use git2::{Oid, Repository};

use super::error::PlanError;
use super::trust::{trusted_from_base, BASELINE_FILE};

/// Who decides what a run allows (DESIGN.md, "Who decides"): where config and baseline come from.
pub(crate) enum Trust<'r> {
    /// Audits: `.keyfence.toml` at `root`; a baseline only with `--baseline`.
    Audit { root: PathBuf },
    /// Gates on the developer's own machine (protect, pre-push): the developer is the operator,
    /// so config and `.keyfence-baseline.json` come from the work tree at `root`.
    Local { root: PathBuf },
    /// Range gates (CI): content being checked is someone else's. Config and baseline come from
    /// the range's base commit (`None`: no base, shipped rules only); an operator's `--config` or
    /// `--baseline` outside the work tree is read from disk, one inside it from the base commit.
    Base {
        repo: &'r Repository,
        base: Option<Oid>,
    },
    /// Server hooks: only `$GIT_DIR` (or operator paths), never a work tree a push can rewrite.
    Server { git_dir: PathBuf },
}

impl Trust<'_> {
    /// Gates fail closed on anything they cannot scan; audits skip and count.
    pub(crate) fn is_gate(&self) -> bool {
        !matches!(self, Trust::Audit { .. })
    }

    /// Inline markers are written by whoever wrote the content: off where that is not the
    /// operator, unless the operator turns them on.
    fn default_inline(&self) -> InlineAllow {
        match self {
            Trust::Base { .. } | Trust::Server { .. } => InlineAllow::Off,
            _ => InlineAllow::On,
        }
    }
}

/// Resolved, immutable settings of a run.
pub(crate) struct Plan {
    pub(crate) engine: Engine,
    pub(crate) report: ReportOptions,
    pub(crate) output: Option<PathBuf>,
    pub(crate) quiet: bool,
    pub(crate) verbose: bool,
    pub(crate) progress: bool,
    pub(crate) threads: usize,
    pub(crate) max_file_size: u64,
    /// Accepted findings (`--baseline`), dropped in every mode.
    pub(crate) baseline: Option<Baseline>,
    pub(crate) report_unused: bool,
    /// A gate: whatever cannot be scanned is an error, never a pass.
    pub(crate) gate: bool,
    /// An audit that must fail (exit 2) when something was skipped.
    pub(crate) strict: bool,
    /// Paths (repository-relative) whose change inside a checked range is itself reported: the
    /// gate's own config and baseline, where the content being checked is someone else's.
    pub(crate) watch: Vec<String>,
    /// Git LFS objects must be present (the developer's own gates: they are about to push them).
    pub(crate) lfs_required: bool,
    /// `--verify`: ask STS about found AWS keys (None: nothing is sent).
    pub(crate) verify: Option<crate::verify::VerifyOptions>,
}

impl Plan {
    /// Loads config and rules (looking for `.keyfence.toml` in `root`) and resolves flags.
    pub(crate) fn build(args: &CommonArgs, root: &Path) -> Result<Plan, PlanError> {
        Plan::build_for(
            args,
            &Trust::Audit {
                root: root.to_path_buf(),
            },
        )
    }

    /// Loads config, rules and baseline from where `trust` says, and resolves flags.
    pub(crate) fn build_for(args: &CommonArgs, trust: &Trust<'_>) -> Result<Plan, PlanError> {
        let (rules, _config_file, baseline) = load(args, trust)?;
        if trust.is_gate() && rules.rules.is_empty() {
            return Err(PlanError::NoRules);
        }
        // The flag, else the (trusted) config, else what the gate's trust implies.
        let inline = args
            .inline_allow
            .or(rules.inline_allow)
            .unwrap_or(trust.default_inline());
        let engine = Engine::new(rules).with_inline_allow(inline);
        let threads = args
            .threads
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        // A dumb terminal shows escape sequences raw: no colour, and no redrawn progress line.
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let color = args.format == Format::Text
            && args.output.is_none()
            && !args.no_color
            && std::env::var_os("NO_COLOR").is_none()
            && !dumb
            && std::io::stdout().is_terminal();
        if trust.is_gate() && args.deadline > 0 {
            start_watchdog(std::time::Duration::from_secs(args.deadline));
        }
        Ok(Plan {
            engine,
            report: ReportOptions {
                format: args.format,
                redact: !args.no_redact,
                color,
                gate: match trust {
                    Trust::Local { .. } => report::Gate::Commit,
                    _ => report::Gate::Exposed,
                },
                verdicts: Default::default(),
            },
            output: args.output.clone(),
            quiet: args.quiet,
            verbose: args.verbose,
            progress: !args.no_progress && !args.quiet && !dumb && std::io::stderr().is_terminal(),
            threads,
            max_file_size: args.max_file_size,
            baseline,
            report_unused: args.report_unused,
            gate: trust.is_gate(),
            strict: args.strict,
            watch: match trust {
                Trust::Base { .. } | Trust::Server { .. } => {
                    vec![config::CONFIG_FILE.to_string(), BASELINE_FILE.to_string()]
                }
                _ => Vec::new(),
            },
            lfs_required: matches!(trust, Trust::Local { .. }),
            verify: args.verify.then(|| crate::verify::VerifyOptions {
                timeout: std::time::Duration::from_secs(args.verify_timeout.max(1)),
                ..Default::default()
            }),
        })
    }

    /// The gate the report's advice is for (`hook pre-push` says `Gate::Push`).
    pub(crate) fn at_gate(mut self, gate: report::Gate) -> Plan {
        self.report.gate = gate;
        self
    }

    /// The filter stage of this run: the commit allowlist and the baseline (the rule and global
    /// allowlists and inline markers apply while each blob is scanned).
    pub(crate) fn filters(&self) -> crate::filters::Filters<'_> {
        crate::filters::Filters {
            allowlist: &self.engine.rule_set().allowlist,
            baseline: self.baseline.as_ref(),
            report_unused: self.report_unused,
        }
    }

    /// A line on stderr, unless `--quiet`.
    pub(crate) fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("keyfence: {}", escape_control(msg));
        }
    }
}

/// Rules, the config file they came from, and the baseline, from where `trust` says.
fn load(
    args: &CommonArgs,
    trust: &Trust<'_>,
) -> Result<(crate::rules::RuleSet, Option<PathBuf>, Option<Baseline>), PlanError> {
    Ok(match trust {
        Trust::Audit { root } => {
            let file = config::locate(args.config.as_deref(), root);
            let rules = config::load(file.as_deref(), &args.rules_dir)?;
            let baseline = args.baseline.as_deref().map(Baseline::load).transpose()?;
            (rules, file, baseline)
        }
        // The developer's work tree, or a server's git dir: config and baseline beside it.
        Trust::Local { root } | Trust::Server { git_dir: root } => {
            let file = config::locate(args.config.as_deref(), root);
            let rules = config::load(file.as_deref(), &args.rules_dir)?;
            let found = root.join(BASELINE_FILE);
            let baseline = match &args.baseline {
                Some(p) => Some(Baseline::load(p)?),
                None if found.is_file() => Some(Baseline::load(&found)?),
                None => None,
            };
            (rules, file, baseline)
        }
        Trust::Base { repo, base } => trusted_from_base(args, repo, *base)?,
    })
}

/// Ends the process with exit 2 once `after` has passed: a gate on a damaged repository (or a
/// hostile push built to be slow) must fail, not hang the commit, the push or the server.
fn start_watchdog(after: std::time::Duration) {
    let spawned = std::thread::Builder::new()
        .name("keyfence-deadline".into())
        .spawn(move || {
            std::thread::sleep(after);
            eprintln!(
                "keyfence: error: the gate did not finish within {}s (--deadline), so it fails \
                 closed; if the repository is damaged run `git fsck`, otherwise raise --deadline",
                after.as_secs()
            );
            std::process::exit(2);
        });
    // No thread, no watchdog: the gate still runs, as it did before deadlines existed.
    drop(spawned);
}
