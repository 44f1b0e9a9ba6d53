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
pub const MARKER: &str = "# keyfence-managed-hook";

/// Missing binary: the hook prints why and exits 1, so the commit or push is blocked rather than
/// silently let through; `--no-verify` remains the documented way around it.
const MISSING: &str = r#"if ! command -v keyfence >/dev/null 2>&1; then
    echo "keyfence: the HOOK hook needs the keyfence binary on PATH and cannot find it." >&2
    echo "keyfence: install it (cargo install keyfence), or bypass this once with: git VERB --no-verify" >&2
    exit 1
fi
"#;

fn script(hook: &str, verb: &str, command: &str) -> String {
    format!(
        "#!/bin/sh\n{MARKER} (written by `keyfence install`; delete this line to keep keyfence from replacing the file)\n\
         # Blocks {verb}s that add secrets. Bypass once, with care: git {verb} --no-verify\n{}exec {command}\n",
        MISSING.replace("HOOK", hook).replace("VERB", verb)
    )
}

pub fn pre_commit_script() -> String {
    script("pre-commit", "commit", "keyfence protect --staged")
}

pub fn pre_push_script() -> String {
    script("pre-push", "push", "keyfence hook pre-push \"$@\"")
}

/// Where git looks for hooks in `repo`.
pub fn hooks_dir(repo: &Repository) -> anyhow::Result<PathBuf> {
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

pub fn run(args: &InstallArgs) -> anyhow::Result<ExitStatus> {
    let (_, repo) = Opener::new(args.repo.as_deref())?;
    let dir = hooks_dir(&repo)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let both = !args.pre_commit && !args.pre_push;
    let mut hooks = Vec::new();
    if args.pre_commit || both {
        hooks.push(("pre-commit", pre_commit_script()));
    }
    if args.pre_push || both {
        hooks.push(("pre-push", pre_push_script()));
    }
    // Check everything first, so a refusal leaves no half-installed set behind.
    for (name, _) in &hooks {
        let path = dir.join(name);
        if is_foreign(&path)? && !args.force {
            bail!(
                "{} exists and was not written by keyfence; rerun with --force to replace it \
                 (the old hook is kept as {name}.keyfence-backup), or call keyfence from it yourself",
                path.display()
            );
        }
    }
    for (name, body) in &hooks {
        let path = dir.join(name);
        if is_foreign(&path)? {
            let backup = dir.join(format!("{name}.keyfence-backup"));
            std::fs::rename(&path, &backup)
                .with_context(|| format!("cannot move {} aside", path.display()))?;
            eprintln!("keyfence: kept the old hook as {}", backup.display());
        }
        write_executable(&path, body)?;
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
