//! `keyfence protect [--staged]`: the pre-commit gate. Scans each staged blob whole and keeps
//! the findings on lines the index adds; never reads the working tree.

use std::time::Instant;

use anyhow::bail;

use crate::cli::ProtectArgs;
use crate::driver::plan::{Plan, Trust};
use crate::driver::{self};
use crate::sources::git::{detach_index, root_dir, Opener};
use crate::sources::staged::{self, StagedSource};
use crate::ExitStatus;

pub(crate) fn run(args: &ProtectArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let (_, repo) = Opener::new(args.repo.as_deref())?;
    if repo.is_bare() {
        bail!(
            "a bare repository has no index to protect; use `keyfence hook pre-receive` on servers"
        );
    }
    // git works out the staged changes while the rules compile.
    let pending = staged::start(&repo);
    let root = root_dir(&repo);
    let plan = Plan::build_for(&args.common, &Trust::Local { root })?;
    let changes = pending.finish(&repo)?;
    // From here on only objects are read.
    detach_index(&repo)?;
    let source = StagedSource {
        repo: &repo,
        changes,
    };
    let (status, _) = driver::run(&plan, &source, started)?.report(&plan)?;
    if status == ExitStatus::Findings && !plan.quiet {
        eprintln!(
            "keyfence: commit blocked: remove the secrets from the staged files (or mark a false \
             positive with a `keyfence:allow` comment), then commit again"
        );
    }
    Ok(status)
}
