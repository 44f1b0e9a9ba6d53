//! `keyfence install [--pre-commit] [--pre-push] [--force]`: writes hook scripts that call
//! keyfence into the hooks directory git will use (`core.hooksPath`, else the common git dir's
//! `hooks/`, which every worktree shares).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use git2::Repository;

use crate::cli::InstallArgs;
use crate::sources::git::Opener;
use crate::ExitStatus;

/// The line that marks a hook as ours (so it may be replaced without `--force`).
pub(crate) const MARKER: &str = "# keyfence-managed-hook";

/// Missing binary: the hook prints why and exits 1, so the commit or push is blocked rather than
/// silently let through; `--no-verify` remains the documented way around it.
const MISSING: &str = r#"if ! command -v keyfence >/dev/null 2>&1; then
    echo "keyfence: the HOOK hook needs the keyfence binary on PATH and cannot find it." >&2
    echo "keyfence: put keyfence on PATH (see keyfence's README, Install), or bypass this once with: git VERB --no-verify" >&2
    exit 1
fi
"#;

/// One hook keyfence can install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    PreCommit,
    PreMergeCommit,
    CommitMsg,
    PrePush,
    PreReceive,
}

impl Hook {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::PreMergeCommit => "pre-merge-commit",
            Hook::CommitMsg => "commit-msg",
            Hook::PrePush => "pre-push",
            Hook::PreReceive => "pre-receive",
        }
    }

    /// The git verb the hook gates (for the bypass hint).
    fn verb(self) -> &'static str {
        match self {
            Hook::PreCommit | Hook::CommitMsg => "commit",
            Hook::PreMergeCommit => "merge",
            Hook::PrePush | Hook::PreReceive => "push",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Hook::PreCommit | Hook::PreMergeCommit => "keyfence protect --staged",
            Hook::CommitMsg => "keyfence hook commit-msg \"$1\"",
            Hook::PrePush => "keyfence hook pre-push \"$@\"",
            Hook::PreReceive => "keyfence hook pre-receive",
        }
    }

    /// Hooks that read git's input on stdin: the input is kept so a displaced hook gets it too.
    fn reads_stdin(self) -> bool {
        matches!(self, Hook::PrePush | Hook::PreReceive)
    }
}

/// The script for `hook`. A hook that keyfence displaced (kept as `<hook>.keyfence-backup`, e.g.
/// git-lfs's pre-push, which uploads LFS objects) runs after keyfence passes, with the same
/// arguments and stdin, and its exit status is the hook's.
pub(crate) fn script(hook: Hook) -> String {
    let name = hook.name();
    let mut out = format!(
        "#!/bin/sh\n{MARKER} (written by `keyfence install`; delete this line to keep keyfence from replacing the file)\n\
         # Blocks a git {verb} that would add secrets. Bypass once, with care: git {verb} --no-verify\n{missing}",
        verb = hook.verb(),
        missing = MISSING.replace("HOOK", name).replace("VERB", hook.verb())
    );
    let backup = format!("\"$0.{BACKUP_SUFFIX}\"");
    if hook.reads_stdin() {
        out.push_str(&format!(
            "input=$(mktemp \"${{TMPDIR:-/tmp}}/keyfence-{name}.XXXXXX\") || exit 1\n\
             trap 'rm -f \"$input\"' EXIT\n\
             cat > \"$input\"\n\
             {cmd} < \"$input\" || exit $?\n\
             if [ -x {backup} ]; then\n    {backup} \"$@\" < \"$input\" || exit $?\nfi\n\
             exit 0\n",
            cmd = hook.command()
        ));
    } else {
        out.push_str(&format!(
            "{cmd} || exit $?\n\
             if [ -x {backup} ]; then\n    exec {backup} \"$@\"\nfi\n",
            cmd = hook.command()
        ));
    }
    out
}

/// Suffix of a displaced hook, which keyfence's hook chains to.
pub(crate) const BACKUP_SUFFIX: &str = "keyfence-backup";

/// Where git looks for hooks in `repo`.
pub(crate) fn hooks_dir(repo: &Repository) -> anyhow::Result<PathBuf> {
    let config = repo.config().context("cannot read the git config")?;
    if let Ok(p) = config.get_path("core.hooksPath") {
        if p.is_absolute() {
            return Ok(p);
        }
        // Git runs hooks from the top of the work tree (or the git dir when bare).
        let base = repo.workdir().unwrap_or_else(|| repo.path());
        return Ok(base.join(p));
    }
    Ok(repo.commondir().join("hooks"))
}

/// The hooks an `install` asks for: the flags given, or for a work tree every client hook and
/// for a bare repository (a server) pre-receive.
fn selected(args: &InstallArgs, bare: bool) -> anyhow::Result<Vec<Hook>> {
    let mut hooks = Vec::new();
    for (on, hook) in [
        (args.pre_commit, Hook::PreCommit),
        (args.pre_merge_commit, Hook::PreMergeCommit),
        (args.commit_msg, Hook::CommitMsg),
        (args.pre_push, Hook::PrePush),
        (args.pre_receive, Hook::PreReceive),
    ] {
        if on {
            hooks.push(hook);
        }
    }
    if bare && hooks.iter().any(|h| *h != Hook::PreReceive) {
        bail!(
            "this is a bare repository (a server): commit and push hooks never run here; install \
             the server gate with `keyfence install --pre-receive`"
        );
    }
    if hooks.is_empty() {
        if bare {
            bail!(
                "this is a bare repository (a server): commit and push hooks never run here; \
                 install the server gate with `keyfence install --pre-receive`"
            );
        }
        hooks = vec![
            Hook::PreCommit,
            Hook::PreMergeCommit,
            Hook::CommitMsg,
            Hook::PrePush,
        ];
    }
    Ok(hooks)
}

pub(crate) fn run(args: &InstallArgs) -> anyhow::Result<ExitStatus> {
    let (_, repo) = Opener::new(args.repo.as_deref())?;
    let hooks = selected(args, repo.is_bare())?;
    let dir = hooks_dir(&repo)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Check everything first, so a refusal leaves no half-installed set behind.
    for hook in &hooks {
        let name = hook.name();
        let path = dir.join(name);
        if is_foreign(&path)? && !args.force {
            bail!(
                "{} exists and was not written by keyfence; rerun with --force to put keyfence \
                 in front of it (the old hook is kept as {name}.{BACKUP_SUFFIX} and still runs \
                 after keyfence passes), or call keyfence from it yourself",
                path.display()
            );
        }
    }
    for hook in &hooks {
        let name = hook.name();
        let path = dir.join(name);
        if is_foreign(&path)? {
            let backup = dir.join(format!("{name}.{BACKUP_SUFFIX}"));
            std::fs::rename(&path, &backup)
                .with_context(|| format!("cannot move {} aside", path.display()))?;
            eprintln!(
                "keyfence: kept the old hook as {}; it runs after keyfence passes",
                backup.display()
            );
        }
        write_executable(&path, &script(*hook))?;
        eprintln!("keyfence: installed {}", path.display());
    }
    Ok(ExitStatus::Clean)
}

fn is_foreign(path: &Path) -> anyhow::Result<bool> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(memchr::memmem::find(&bytes, MARKER.as_bytes()).is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_executable(path: &Path, body: &str) -> anyhow::Result<()> {
    std::fs::write(path, body).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// `keyfence uninstall`: removes every hook keyfence wrote and puts back a hook it had moved aside
/// (`<hook>.keyfence-backup`). Hooks it did not write are left alone.
pub(crate) fn uninstall(args: &crate::cli::UninstallArgs) -> anyhow::Result<ExitStatus> {
    let (_, repo) = Opener::new(args.repo.as_deref())?;
    let dir = hooks_dir(&repo)?;
    let mut removed = 0;
    for hook in [
        Hook::PreCommit,
        Hook::PreMergeCommit,
        Hook::CommitMsg,
        Hook::PrePush,
        Hook::PreReceive,
    ] {
        let path = dir.join(hook.name());
        let ours = path.is_file() && !is_foreign(&path)?;
        if ours {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
            removed += 1;
            eprintln!("keyfence: removed {}", path.display());
        }
        let backup = dir.join(format!("{}.{BACKUP_SUFFIX}", hook.name()));
        if backup.is_file() && !path.exists() {
            std::fs::rename(&backup, &path)
                .with_context(|| format!("cannot restore {}", backup.display()))?;
            eprintln!("keyfence: restored the earlier hook {}", path.display());
        }
    }
    if removed == 0 {
        eprintln!("keyfence: no keyfence hooks in {}", dir.display());
    }
    Ok(ExitStatus::Clean)
}
