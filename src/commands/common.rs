//! What every scanning command shares: turning flags into a built plan, and emitting the report.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::baseline::Baseline;
use crate::cli::CommonArgs;
use crate::config;
use crate::engine::Engine;
use crate::filters::{self, InlineAllow};
use crate::finding::Finding;
use crate::report::{self, escape_control, Format, ReportOptions};
use crate::ExitStatus;
use git2::{Oid, Repository};

/// Who decides what a run allows (DESIGN.md, "Who decides"): where config and baseline come from.
pub enum Trust<'r> {
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
    pub fn is_gate(&self) -> bool {
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

/// The baseline file looked up beside the config.
pub const BASELINE_FILE: &str = ".keyfence-baseline.json";

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
    /// A gate: whatever cannot be scanned is an error, never a pass.
    pub gate: bool,
    /// An audit that must fail (exit 2) when something was skipped.
    pub strict: bool,
    /// Paths (repository-relative) whose change inside a checked range is itself reported: the
    /// gate's own config and baseline, where the content being checked is someone else's.
    pub watch: Vec<String>,
    /// Git LFS objects must be present (the developer's own gates: they are about to push them).
    pub lfs_required: bool,
    /// `--verify`: ask STS about found AWS keys (None: nothing is sent).
    pub verify: Option<crate::verify::VerifyOptions>,
}

impl Plan {
    /// Loads config and rules (looking for `.keyfence.toml` in `root`) and resolves flags.
    pub fn build(args: &CommonArgs, root: &Path) -> anyhow::Result<Plan> {
        Plan::build_for(
            args,
            &Trust::Audit {
                root: root.to_path_buf(),
            },
        )
    }

    /// Loads config, rules and baseline from where `trust` says, and resolves flags.
    pub fn build_for(args: &CommonArgs, trust: &Trust<'_>) -> anyhow::Result<Plan> {
        let (rules, config_file, baseline) = match trust {
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
        };
        if trust.is_gate() && rules.rules.is_empty() {
            anyhow::bail!(
                "no rules are enabled (the config disables them all), so this gate would pass \
                 anything; enable rules in the config, or do not run the gate"
            );
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
            config_file,
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
    pub fn at_gate(mut self, gate: report::Gate) -> Plan {
        self.report.gate = gate;
        self
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
                        escape_control(&e.rule_id),
                        escape_control(&e.fingerprint)
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
        // Offline signals always; STS only with --verify. Live keys move to the front.
        let mut opts = self.report.clone();
        opts.verdicts = crate::verify::annotate(findings, self.verify.as_ref());
        if self.report.redact {
            let in_summaries = crate::finding::secrets_in_summaries(&self.engine, findings);
            crate::finding::redact_cross_references(findings, &in_summaries);
        }
        let status = if findings.is_empty() {
            ExitStatus::Clean
        } else {
            ExitStatus::Findings
        };
        match &self.output {
            Some(path) => {
                let file = ReportFile::create(path, !self.report.redact)?;
                // Reporters write in small pieces: buffer them (a syscall per JSON token is slow).
                let mut out = std::io::BufWriter::new(file);
                // A plain message, not the io::Error: a broken pipe here (a FIFO's reader gone)
                // lost the report, and must exit 2, not pass as a closed stdout does in `run`.
                report::write(&mut out, findings, self.engine.rule_set(), &opts)
                    .and_then(|()| out.flush())
                    .map_err(|e| {
                        anyhow::anyhow!("cannot write report to {}: {e}", path.display())
                    })?;
                let file = out.into_inner().map_err(|e| e.into_error())?;
                file.commit()?;
            }
            None => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                let written = report::write(&mut out, findings, self.engine.rule_set(), &opts)
                    .and_then(|()| out.flush());
                match written {
                    // The reader stopped early (`| head`): the findings still exist, and a
                    // pipeline's status must say so, not pass.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        if status == ExitStatus::Findings && !self.quiet {
                            eprintln!(
                                "keyfence: output closed before all {} were written",
                                plural(findings.len() as u64, "finding")
                            );
                        }
                        // Nothing more can go to stdout: drop the buffer without a last flush.
                        let _ = out.into_parts();
                    }
                    other => other?,
                }
            }
        }
        Ok(status)
    }

    /// A line on stderr, unless `--quiet`.
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("keyfence: {}", escape_control(msg));
        }
    }
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

/// Config and baseline for a range gate, from the base commit (see [`Trust::Base`]).
fn trusted_from_base(
    args: &CommonArgs,
    repo: &Repository,
    base: Option<Oid>,
) -> anyhow::Result<(crate::rules::RuleSet, Option<PathBuf>, Option<Baseline>)> {
    let workdir = repo
        .workdir()
        .map(|w| w.canonicalize().unwrap_or(w.to_path_buf()));
    // An operator path inside the checkout names a file of the checked content: read it as the
    // base commit has it. Outside the checkout it is the operator's own file.
    let inside = |p: &Path| -> Option<String> {
        let wd = workdir.as_ref()?;
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        let abs = normalize(&abs);
        let rel = abs.strip_prefix(wd).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    };
    let at_base = |rel: &str| -> anyhow::Result<Option<Vec<u8>>> {
        let Some(base) = base else { return Ok(None) };
        let tree = repo
            .find_commit(base)
            .and_then(|c| c.tree())
            .with_context(|| format!("cannot read the base commit {base}"))?;
        let Ok(entry) = tree.get_path(Path::new(rel)) else {
            return Ok(None);
        };
        let blob = repo
            .find_blob(entry.id())
            .with_context(|| format!("{rel} in the base commit is not a readable file"))?;
        Ok(Some(blob.content().to_vec()))
    };
    let (rules, config_file) = match args.config.as_deref() {
        Some(p) => match inside(p) {
            Some(rel) => match at_base(&rel)? {
                Some(text) => (
                    load_config_bytes(&rel, &text, &args.rules_dir)?,
                    Some(p.into()),
                ),
                None => anyhow::bail!(
                    "--config {} is inside the checkout being checked but not in its base \
                     commit; the gate takes config from the base (or from a path outside the \
                     checkout)",
                    p.display()
                ),
            },
            None => (config::load(Some(p), &args.rules_dir)?, Some(p.into())),
        },
        None => match at_base(config::CONFIG_FILE)? {
            Some(text) => (
                load_config_bytes(config::CONFIG_FILE, &text, &args.rules_dir)?,
                Some(PathBuf::from(config::CONFIG_FILE)),
            ),
            None => (config::load(None, &args.rules_dir)?, None),
        },
    };
    let baseline = match args.baseline.as_deref() {
        Some(p) => match inside(p) {
            Some(rel) => at_base(&rel)?
                .map(|b| parse_baseline(&rel, &b))
                .transpose()?,
            None => Some(Baseline::load(p)?),
        },
        None => at_base(BASELINE_FILE)?
            .map(|b| parse_baseline(BASELINE_FILE, &b))
            .transpose()?,
    };
    Ok((rules, config_file, baseline))
}

fn parse_baseline(name: &str, bytes: &[u8]) -> anyhow::Result<Baseline> {
    let text = std::str::from_utf8(bytes).with_context(|| format!("{name}: not UTF-8"))?;
    Baseline::parse(text).with_context(|| format!("{name} (base commit): not a keyfence baseline"))
}

/// Loads a config read from a commit (not from disk).
fn load_config_bytes(
    name: &str,
    bytes: &[u8],
    extra: &[PathBuf],
) -> anyhow::Result<crate::rules::RuleSet> {
    let text =
        std::str::from_utf8(bytes).with_context(|| format!("{name} (base commit): not UTF-8"))?;
    Ok(config::load_text(
        Path::new(&format!("{name} (base commit)")),
        text,
        extra,
        false,
    )?)
}

/// `a/./b/../c` → `a/c`, without touching the file system (the file may not exist).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A report or baseline file being written: a temp file beside the destination, renamed over it
/// by [`ReportFile::commit`], so a reader never sees half a report and an existing file is replaced
/// whole. A symlink at the destination is refused, never followed: a planted `report.json ->
/// ~/.bashrc` must not be overwritten (with raw secrets under `--no-redact`). A file holding raw
/// secrets is created readable by its owner only. Dropped uncommitted, the temp file is removed.
pub(crate) struct ReportFile {
    file: Option<std::fs::File>,
    temp: PathBuf,
    dest: PathBuf,
}

impl ReportFile {
    pub(crate) fn create(dest: &Path, holds_secrets: bool) -> anyhow::Result<ReportFile> {
        refuse_symlink(dest)?;
        // A device or a pipe (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written in place:
        // renaming a temp file over it would replace the device itself.
        if let Ok(meta) = std::fs::symlink_metadata(dest) {
            if !meta.is_file() && !meta.is_dir() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(dest)
                    .with_context(|| format!("cannot write {}", dest.display()))?;
                return Ok(ReportFile {
                    file: Some(file),
                    temp: PathBuf::new(),
                    dest: dest.to_path_buf(),
                });
            }
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .with_context(|| format!("{}: not a file name", dest.display()))?;
        let mut opts = OpenOptions::new();
        // create_new: O_EXCL, so a name planted between two attempts is never opened.
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if holds_secrets { 0o600 } else { 0o666 });
        }
        let mut attempt = 0u32;
        loop {
            let temp = dir.join(format!(
                ".{}.{}.{attempt}.tmp",
                name.to_string_lossy(),
                std::process::id()
            ));
            match opts.open(&temp) {
                Ok(file) => {
                    #[cfg(unix)]
                    if holds_secrets {
                        use std::os::unix::fs::PermissionsExt;
                        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                    }
                    return Ok(ReportFile {
                        file: Some(file),
                        temp,
                        dest: dest.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot write {}", dest.display()))
                }
            }
        }
    }

    /// Flushes the data to disk and renames the temp file over the destination.
    pub(crate) fn commit(mut self) -> anyhow::Result<()> {
        if self.temp.as_os_str().is_empty() {
            // Written in place (a device or a pipe): nothing to rename.
            if let Some(mut file) = self.file.take() {
                file.flush()
                    .with_context(|| format!("cannot write {}", self.dest.display()))?;
            }
            return Ok(());
        }
        if let Some(file) = self.file.take() {
            file.sync_all()
                .with_context(|| format!("cannot write {}", self.dest.display()))?;
        }
        // Checked again: a symlink planted while the report was being written is refused too
        // (rename would replace the link, not follow it, but the user should hear of it).
        refuse_symlink(&self.dest)?;
        std::fs::rename(&self.temp, &self.dest)
            .with_context(|| format!("cannot write {}", self.dest.display()))?;
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Write for ReportFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Ok(0),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for ReportFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn refuse_symlink(dest: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(dest).is_ok_and(|m| m.file_type().is_symlink()) {
        anyhow::bail!(
            "refusing to write {}: it is a symbolic link (remove it, or choose another path)",
            escape_control(&dest.display().to_string())
        );
    }
    Ok(())
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
