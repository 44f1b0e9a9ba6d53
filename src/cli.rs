//! Command-line arguments (clap derive only; no logic here).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "keyfence",
    version,
    about = "Stops AWS keys and other secrets before they reach git",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Scan files and directory trees (respects .gitignore; `-` reads stdin).
    Scan(ScanArgs),
    /// List the rules in effect, or run every rule's examples.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Pre-commit gate: scan what is staged for the next commit (only the lines it adds).
    Protect(ProtectArgs),
    /// Scan git history: every ref by default, or revisions and ranges such as origin/main..HEAD.
    History(HistoryArgs),
    /// Run as a git hook: read git's hook input on stdin and scan what is being pushed.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Write git hooks that call keyfence.
    Install(InstallArgs),
    /// Write the current findings (of a scan, or with --history of git history) as a baseline.
    Baseline(BaselineArgs),
    /// Remove the hooks `keyfence install` wrote (restoring hooks it had moved aside).
    Uninstall(UninstallArgs),
    /// Write a commented `.keyfence.toml` at the repository root (or here, outside a repository).
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout: `keyfence man > keyfence.1`.
    Man,
    /// The incident runbook for a leaked AWS key: from a JSON report, or for one key ID.
    Respond(RespondArgs),
    /// A rule's description, examples and remediation.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UninstallArgs {
    /// The repository (default: discovered from the current directory, as git does).
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Replace an existing `.keyfence.toml`.
    #[arg(long)]
    pub(crate) force: bool,
    /// Where to write it (default: the repository root, else the current directory).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct RespondArgs {
    /// A JSON report (`--format json`); `-` reads stdin. Its AWS findings become incidents.
    pub(crate) findings: Option<PathBuf>,
    /// The leaked access key ID (AKIA…/ASIA…): fills the commands in; with a report, picks the
    /// findings of this key.
    #[arg(long, value_name = "ID")]
    pub(crate) key_id: Option<String>,
    /// The IAM user the key belongs to, when the report has no --verify result that names it.
    #[arg(long, value_name = "NAME")]
    pub(crate) user: Option<String>,
    /// Text for a terminal, or Markdown (checkboxes) to paste into an incident ticket.
    #[arg(long, value_enum, default_value_t = RunbookFormat::Text)]
    pub(crate) format: RunbookFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RunbookFormat {
    Text,
    Markdown,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The rule id (see `keyfence rules list`).
    pub(crate) rule: String,
    #[command(flatten)]
    pub(crate) rules: RulesArgs,
}

/// Flags every scanning command shares.
#[derive(Debug, Clone, Args)]
pub(crate) struct CommonArgs {
    /// Config file (default: .keyfence.toml at the scan or repository root, if present).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Extra rule pack: a TOML file or a directory of them (repeatable).
    #[arg(long = "rules-dir", value_name = "PATH")]
    pub(crate) rules_dir: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Suppress findings whose fingerprints are in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Show secrets in full (they are redacted by default).
    #[arg(long)]
    pub(crate) no_redact: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Skip files (and blobs) larger than this; accepts K, M, G suffixes.
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_size)]
    pub(crate) max_file_size: u64,
    /// Print only findings (no summary, no warnings).
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    /// Never color the text report.
    #[arg(long)]
    pub(crate) no_color: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// List skipped files in the summary.
    #[arg(long, short = 'v')]
    pub(crate) verbose: bool,
    /// With --baseline: list baseline entries that matched nothing (on stderr).
    #[arg(long)]
    pub(crate) report_unused: bool,
    /// Honour inline `keyfence:allow` markers (default: on, except in `hook pre-receive` and
    /// `history --added-only`, which check content written by someone else).
    #[arg(long, value_enum, value_name = "on|off")]
    pub(crate) inline_allow: Option<crate::filters::InlineAllow>,
    /// Audits (scan, history): exit 2 when anything was skipped (too large, unreadable).
    #[arg(long)]
    pub(crate) strict: bool,
    /// Gates: give up after this many seconds and exit 2 (0: never). A gate that hangs on a
    /// damaged repository must not hang the push.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub(crate) deadline: u64,
    /// Ask AWS STS (GetCallerIdentity) whether each found AWS key pair is live. Off by default:
    /// without it keyfence sends nothing over the network. Honours AWS_ENDPOINT_URL_STS,
    /// AWS_ENDPOINT_URL, HTTPS_PROXY and NO_PROXY.
    #[arg(long)]
    pub(crate) verify: bool,
    /// With --verify: give up on one STS request after this many seconds (the key is then
    /// reported as "unknown", never as not live).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub(crate) verify_timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Files or directories to scan; `-` for stdin.
    #[arg(default_value = ".")]
    pub(crate) paths: Vec<PathBuf>,
    /// Also scan files that .gitignore / .ignore exclude.
    #[arg(long)]
    pub(crate) no_ignore: bool,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ProtectArgs {
    /// Scan the staged changes (the default, and for now the only mode).
    #[arg(long, default_value_t = true)]
    pub(crate) staged: bool,
    /// The repository (default: discovered from the current directory, as git does).
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Revisions as git understands them (`main`, `v1`, `A..B`, `^X`); default: every ref.
    pub(crate) revs: Vec<String>,
    /// The repository (default: discovered from the current directory, as git does).
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
    /// Only commits committed on or after DATE (YYYY-MM-DD, RFC 3339, or @UNIX).
    #[arg(long, value_name = "DATE")]
    pub(crate) since: Option<String>,
    /// Scan what the tags reach (added to any REVs).
    #[arg(long)]
    pub(crate) tags: bool,
    /// Report only lines that the selected commits add (the range gate for CI).
    #[arg(long)]
    pub(crate) added_only: bool,
    /// With --added-only: an empty selection is fine (by default it is an error, exit 2).
    #[arg(long)]
    pub(crate) allow_empty: bool,
    /// Full audits: read every object once through `git cat-file` in pack order, then place
    /// only blobs with findings, instead of walking commits (the same findings; faster where
    /// reading objects costs more than scanning them).
    #[arg(long)]
    pub(crate) object_stream: bool,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HookCommand {
    /// Client side: scan the commits `git push` is about to send (stdin as git gives it).
    PrePush(PrePushArgs),
    /// Server side: scan the commits a push brings in; reject the push on findings.
    PreReceive(PreReceiveArgs),
    /// Scan the message of the commit being made (git passes the file holding it).
    CommitMsg(CommitMsgArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CommitMsgArgs {
    /// The file holding the commit message (git passes it).
    pub(crate) file: PathBuf,
    /// The repository (default: discovered from the current directory, as git does).
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PrePushArgs {
    /// The remote's name (git passes it).
    pub(crate) remote: Option<String>,
    /// The remote's URL (git passes it).
    pub(crate) url: Option<String>,
    /// The repository (default: discovered from the current directory, as git does).
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PreReceiveArgs {
    /// The repository (default: `GIT_DIR`, as git sets it for hooks).
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InstallArgs {
    /// Install the pre-commit hook (staged changes).
    #[arg(long)]
    pub(crate) pre_commit: bool,
    /// Install the pre-merge-commit hook (what a merge commit adds).
    #[arg(long)]
    pub(crate) pre_merge_commit: bool,
    /// Install the commit-msg hook (the message of the commit being made).
    #[arg(long)]
    pub(crate) commit_msg: bool,
    /// Install the pre-push hook (the commits being pushed).
    #[arg(long)]
    pub(crate) pre_push: bool,
    /// Install the pre-receive hook (on a server's bare repository).
    #[arg(long)]
    pub(crate) pre_receive: bool,
    /// Put keyfence in front of hooks it did not write: the old hook is kept as
    /// <hook>.keyfence-backup and runs after keyfence passes, with the same input.
    #[arg(long)]
    pub(crate) force: bool,
    /// The repository (default: discovered from the current directory, as git does).
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct BaselineArgs {
    /// Paths to scan (as for `scan`), or with --history revisions (as for `history`).
    pub(crate) targets: Vec<String>,
    /// Baseline a history scan instead of a directory scan.
    #[arg(long)]
    pub(crate) history: bool,
    /// With --history: the repository.
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
    /// Also scan files that .gitignore / .ignore exclude.
    #[arg(long)]
    pub(crate) no_ignore: bool,
    /// `--output FILE` names the baseline file (default: .keyfence-baseline.json).
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// List rules: id, severity, pack and description.
    List(RulesArgs),
    /// Run every rule's examples and negative examples through the engine.
    Test(RulesTestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    #[arg(long = "rules-dir", value_name = "PATH")]
    pub(crate) rules_dir: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RulesTestArgs {
    /// Extra packs to load and test (in addition to the rules in effect).
    pub(crate) packs: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) rules: RulesArgs,
}

/// Parses `10M`, `64MiB`, `1G`, `4096`.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 4096, 512K, 64M, 1G)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}`")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}
