//! keyfence: a fast git secret scanner.
//!
//! Every scan takes one road, in one direction:
//!
//! ```text
//! sources (dir, stdin, staged, range, history)
//!    │ Blob { id, bytes, provenance, lines: All | Added }      driver::{Blob, Source}
//!    ▼
//! driver::Scanner: size cap, binary text, added-lines gate, progress, stats, summary line
//!    │ bytes
//!    ▼
//! pipeline: engine (keyword prefilter → regexes → entropy/validators; rule and global
//!    │        allowlists through filters) → decoding → placement → compose (rules with
//!    │        `requires`, e.g. the AWS pair) and annotate (account, key type, block), with
//!    │        inline markers asked after pairing
//!    ▼ Finding
//! filters: commit allowlist, baseline   →   verify (--verify only)   →   report   →   exit status
//! ```
//!
//! Commands only resolve their arguments into a source and a plan (`driver::Plan`, whose `Trust`
//! says where config and baseline may come from) and run this road.

pub(crate) mod annotate;
pub mod aws;
pub mod baseline;
pub mod blob;
pub mod cli;
pub mod commands;
pub(crate) mod compose;
pub mod config;
pub mod driver;
pub mod engine;
pub mod error;
pub mod filters;
pub mod finding;
pub mod hook;
pub mod pipeline;
pub mod progress;
pub mod redact;
pub mod report;
pub mod rules;
pub mod runbook;
mod sanitize;
pub mod selftest;
pub mod sources;
pub mod terraform;
pub mod verify;

use std::io::Write;

/// How a run ended; maps to the process exit code 0/1/2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing found.
    Clean,
    /// Findings were reported.
    Findings,
    /// The run could not do what it was asked.
    Error,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Clean => 0.into(),
            ExitStatus::Findings => 1.into(),
            ExitStatus::Error => 2.into(),
        }
    }
}

/// Runs one command line. Errors are printed here, once, with their chain of causes.
pub fn run(cli: cli::Cli) -> ExitStatus {
    match commands::dispatch(cli) {
        Ok(status) => status,
        Err(err) => {
            // A closed stdout under a listing (`keyfence rules list | head`). Never a report's:
            // `Plan::emit` turns its own broken pipe into exit 1 when findings were cut short,
            // and a report file's into a plain error, so a finding never becomes a 0 here.
            if is_broken_pipe(&err) {
                return ExitStatus::Clean;
            }
            let mut stderr = std::io::stderr().lock();
            // Messages carry paths and names from the scanned content: shown, not obeyed.
            let top = err.to_string();
            let _ = writeln!(stderr, "keyfence: error: {}", report::escape_control(&top));
            // A cause the message above already quotes is not said twice.
            let mut said = top;
            for cause in err.chain().skip(1) {
                let text = cause.to_string();
                if said.contains(&text) {
                    continue;
                }
                let _ = writeln!(stderr, "  caused by: {}", report::escape_control(&text));
                said.push_str(&text);
            }
            ExitStatus::Error
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
