//! `keyfence scan [PATH...]`: files, directory trees and stdin.

use std::time::Instant;

use crate::cli::ScanArgs;
use crate::driver::{self, plan::Plan};
use crate::sources::dir::{config_root, DirSource};
use crate::ExitStatus;

pub(crate) fn run(args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let root = config_root(&args.paths);
    let plan = Plan::build(&args.common, &root)?;
    let started = Instant::now();
    let source = DirSource {
        paths: args.paths.clone(),
        no_ignore: args.no_ignore,
        config_root: root,
    };
    let mut scanned = driver::run(&plan, &source, started)?;
    let mut findings = std::mem::take(&mut scanned.findings);
    plan.filters().apply(&mut findings);
    let status = plan.emit(&mut findings)?;
    if !scanned.finish(&plan, findings.len()) {
        return Ok(ExitStatus::Error);
    }
    Ok(status)
}
