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
    let (status, _) = driver::run(&plan, &source, started)?.report(&plan)?;
    Ok(status)
}
