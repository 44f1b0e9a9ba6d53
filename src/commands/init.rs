//! `keyfence init`: a commented `.keyfence.toml` to start from. Every line that is not a comment is
//! valid config (a test loads it with the real loader), and the commented examples show the rest.

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::cli::InitArgs;
use crate::config::CONFIG_FILE;
use crate::ExitStatus;

/// The file `init` writes.
pub(crate) const TEMPLATE: &str = r#"# keyfence configuration: https://github.com/keyfence/keyfence (README, "Configuration")
# Found at the repository root; every path glob below is relative to it, in every command.
# A gate that checks someone else's change (CI ranges, a server's pre-receive) does not read this
# file from the change itself: it uses the base commit's copy, or the server's own config.

# Start from the shipped rules (set to false to start from none).
extend_default = true

# Switch shipped rules off by id (`keyfence rules list` shows them).
disabled_rules = []

# Inline `keyfence:allow` markers ("on" | "off"). Off by default where the content is someone
# else's (CI ranges, pre-receive); a marker may name a rule: `keyfence:allow aws-access-key-id`.
# inline_allow = "on"

# Paths, secrets and commits that are known not to be leaks, for every rule.
[allowlist]
paths = []          # globs, e.g. ["fixtures/**", "docs/examples/*.tf"]
stopwords = []      # case-insensitive substrings of the secret, e.g. ["sandbox"]
# regexes = ['''^dummy''']   # on the secret (regex_target = "match" | "line" to widen)
# commits = ["1a2b3c4d"]

# A rule of your own: the `secret` group marks what is reported (redacted).
# [[rules]]
# id = "acme-internal-token"
# description = "ACME internal API token"
# regex = '''ACME-(?P<secret>[0-9a-f]{32})'''
# keywords = ["acme-"]
# severity = "high"
# examples = ["token = ACME-{{hex:32}}"]
# negative_examples = ["ACME-{{upper:32}}"]

# Override one field of a shipped rule; its allowlist adds to the shipped one.
# [[rules]]
# id = "aws-access-key-id"
# severity = "critical"
"#;

pub(crate) fn run(args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => crate::config::work_tree_of(&std::env::current_dir()?)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let path = dir.join(CONFIG_FILE);
    if path.exists() && !args.force {
        bail!(
            "{} exists; keep it, or rerun with --force to replace it",
            path.display()
        );
    }
    std::fs::write(&path, TEMPLATE).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "keyfence: wrote {} (check it with `keyfence rules test`)",
        path.display()
    );
    Ok(ExitStatus::Clean)
}
