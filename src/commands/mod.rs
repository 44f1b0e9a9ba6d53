//! One module per verb: arguments → plan → source → driver → filters → report → exit status.

pub(crate) mod baseline;
pub(crate) mod explain;
pub(crate) mod history;
pub(crate) mod hook;
pub(crate) mod init;
pub(crate) mod install;
pub(crate) mod protect;
pub(crate) mod respond;
pub(crate) mod rules;
pub(crate) mod scan;

use crate::cli::{Cli, Command};
use crate::ExitStatus;

pub(crate) fn dispatch(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Rules(cmd) => Ok(rules::run(&cmd)?),
        Command::Protect(args) => protect::run(&args),
        Command::History(args) => history::run(&args),
        Command::Hook(cmd) => hook::run(&cmd),
        Command::Install(args) => install::run(&args),
        Command::Baseline(args) => baseline::run(&args),
        Command::Uninstall(args) => install::uninstall(&args),
        Command::Init(args) => init::run(&args),
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cmd, "keyfence", &mut std::io::stdout());
            Ok(ExitStatus::Clean)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(ExitStatus::Clean)
        }
        Command::Respond(args) => respond::run(&args),
        Command::Explain(args) => Ok(explain::run(&args)?),
    }
}
