//! `keyfence scan [PATH...]`: files, directory trees and stdin.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::bail;

use super::common::{human_bytes, plural, Plan};
use crate::cli::ScanArgs;
use crate::finding::{Finding, SourceKind};
use crate::pipeline::{self, MAX_FINDINGS_PER_BLOB};
use crate::progress::Progress;
use crate::sources::dir::{self, DirOptions};
use crate::ExitStatus;

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let plan = Plan::build(&args.common, &root(args))?;
    collect(args, &plan, |mut found| {
        plan.emit(&mut found)?;
        Ok(found.len())
    })
}

/// The config root: the top of the git work tree holding the first path given (or the current
/// directory), as for every other command; outside a repository, the first directory given,
/// else `.`. Its `.keyfence.toml` applies and its path globs match paths relative to it.
pub fn root(args: &ScanArgs) -> PathBuf {
    let first = args
        .paths
        .iter()
        .find(|p| p.as_path() != Path::new("-"))
        .map_or(Path::new("."), PathBuf::as_path);
    crate::config::work_tree_of(first).unwrap_or_else(|| {
        args.paths
            .iter()
            .find(|p| p.is_dir())
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."))
    })
}

/// Where a scan root sits under the config root, as a `/`-separated prefix ("" for the root
/// itself); `None` when it is outside, and its paths are then taken relative to itself.
fn prefix_under(config_root: &Path, scan_root: &Path) -> Option<String> {
    let dir = if scan_root.is_dir() {
        scan_root
    } else {
        match scan_root.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    };
    let base = std::fs::canonicalize(config_root).ok()?;
    let dir = std::fs::canonicalize(dir).ok()?;
    let rel = dir.strip_prefix(&base).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// Scans, hands the raw findings to `report` (which returns how many it reported), then prints
/// the summary line.
pub fn collect(
    args: &ScanArgs,
    plan: &Plan,
    report: impl FnOnce(Vec<Finding>) -> anyhow::Result<usize>,
) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let stdin = Path::new("-");
    for p in &args.paths {
        if p != stdin && std::fs::symlink_metadata(p).is_err() {
            bail!("{}: no such file or directory", p.display());
        }
    }
    let findings: Mutex<Vec<Finding>> = Mutex::new(Vec::new());
    let binary = AtomicU64::new(0);
    // Paths of binary files (for --verbose) and of files a path allowlist left out.
    let binary_paths: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let allowlisted: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());
    // Blobs with more than `MAX_FINDINGS_PER_BLOB` findings, and how many were left out.
    let truncated: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());

    let mut stdin_bytes = 0u64;
    if args.paths.iter().any(|p| p == stdin) {
        match dir::read_stdin(plan.max_file_size)? {
            Some(bytes) => {
                stdin_bytes = bytes.len() as u64;
                let out = pipeline::scan_bytes_capped(
                    &plan.engine,
                    &bytes,
                    Some("<stdin>"),
                    SourceKind::File,
                    MAX_FINDINGS_PER_BLOB,
                );
                if out.binary {
                    binary.fetch_add(1, Ordering::Relaxed);
                }
                if out.truncated > 0 {
                    let mut t = truncated.lock().expect("no panics while locked");
                    t.push(("<stdin>".to_string(), out.truncated));
                }
                findings
                    .lock()
                    .expect("no panics while locked")
                    .extend(out.findings);
            }
            None => bail!(
                "stdin is larger than --max-file-size ({} bytes)",
                plan.max_file_size
            ),
        }
    }

    let roots: Vec<PathBuf> = args.paths.iter().filter(|p| *p != stdin).cloned().collect();
    let opts = DirOptions {
        no_ignore: args.no_ignore,
        max_file_size: plan.max_file_size,
        threads: plan.threads,
        list_ignored: plan.verbose && !plan.quiet,
    };
    let progress = Progress::new(plan.progress, "files", None);
    let config_root = root(args);
    let mut stats = dir::DirStats::default();
    // One walk per root, each knowing where it sits under the config root.
    for scan_root in &roots {
        let prefix = prefix_under(&config_root, scan_root).unwrap_or_default();
        let part = dir::walk(std::slice::from_ref(scan_root), &opts, |file| {
            // Rules and allowlists see the path relative to the config root; the report shows it
            // as the user gave it.
            let joined;
            let relative = if prefix.is_empty() {
                file.relative
            } else {
                joined = format!("{prefix}/{}", file.relative);
                joined.as_str()
            };
            if plan.engine.path_allowed(relative) {
                let mut a = allowlisted.lock().expect("no panics while locked");
                a.push((file.display.to_string(), file.bytes.len() as u64));
                return;
            }
            let mut out = pipeline::scan_bytes_capped(
                &plan.engine,
                file.bytes,
                Some(relative),
                SourceKind::File,
                MAX_FINDINGS_PER_BLOB,
            );
            if out.binary {
                binary.fetch_add(1, Ordering::Relaxed);
                if plan.verbose {
                    let mut b = binary_paths.lock().expect("no panics while locked");
                    b.push(file.display.to_string());
                }
            }
            progress.inc(file.bytes.len() as u64, out.findings.len() as u64);
            if out.truncated > 0 {
                let mut t = truncated.lock().expect("no panics while locked");
                t.push((file.display.to_string(), out.truncated));
            }
            if !out.findings.is_empty() {
                for f in &mut out.findings {
                    f.file = Some(file.display.to_string());
                }
                findings
                    .lock()
                    .expect("no panics while locked")
                    .extend(out.findings);
            }
        });
        stats.files += part.files;
        stats.bytes += part.bytes;
        stats.not_regular.extend(part.not_regular);
        stats.too_large.extend(part.too_large);
        stats.unreadable.extend(part.unreadable);
        stats.ignored += part.ignored;
        stats.ignored_paths.extend(part.ignored_paths);
    }
    stats.too_large.sort();
    stats.unreadable.sort();
    stats.not_regular.sort();
    stats.ignored_paths.sort();
    let mut allowlisted = allowlisted.into_inner().expect("no panics while locked");
    allowlisted.sort();

    progress.finish();
    let findings = findings.into_inner().expect("no panics while locked");
    let reported = report(findings)?;
    let status = if reported == 0 {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    };

    if !plan.quiet {
        for (path, why) in &stats.unreadable {
            plan.note(&format!("warning: {path}: {why}"));
        }
        let mut truncated = truncated.into_inner().expect("no panics while locked");
        truncated.sort();
        for (path, more) in &truncated {
            plan.note(&format!(
                "warning: {path}: over {MAX_FINDINGS_PER_BLOB} findings; reported the \
                 first {MAX_FINDINGS_PER_BLOB}, left out {more} more"
            ));
        }
        if plan.verbose {
            for path in &stats.ignored_paths {
                plan.note(&format!("skipped {path}: gitignored"));
            }
            for (path, _) in &allowlisted {
                plan.note(&format!("skipped {path}: allowlisted by path"));
            }
            for (path, size) in &stats.too_large {
                plan.note(&format!(
                    "skipped {path}: {} is over --max-file-size",
                    human_bytes(*size)
                ));
            }
            for path in &stats.not_regular {
                plan.note(&format!("skipped {path}: symlink or special file"));
            }
            let mut bin = binary_paths.into_inner().expect("no panics while locked");
            bin.sort();
            for path in &bin {
                plan.note(&format!(
                    "binary {path}: scanned for AWS and private keys only"
                ));
            }
        }
        // Allowlisted files were read (the walk cannot know) but not scanned.
        let allowed_bytes: u64 = allowlisted.iter().map(|(_, n)| n).sum();
        let files =
            (stats.files + u64::from(stdin_bytes > 0)).saturating_sub(allowlisted.len() as u64);
        let mut line = format!(
            "scanned {} ({}) in {:.2}s: {}",
            plural(files, "file"),
            human_bytes((stats.bytes + stdin_bytes).saturating_sub(allowed_bytes)),
            started.elapsed().as_secs_f64(),
            plural(reported as u64, "finding"),
        );
        let bin = binary.load(Ordering::Relaxed);
        if bin > 0 {
            line.push_str(&format!(
                "; {bin} binary (scanned for AWS and private keys only)"
            ));
        }
        // Every reason a file went unread, so "0 findings" never hides a skipped file.
        let mut skipped = Vec::new();
        if stats.ignored > 0 {
            skipped.push(format!("{} gitignored", stats.ignored));
        }
        if !allowlisted.is_empty() {
            skipped.push(format!("{} allowlisted", allowlisted.len()));
        }
        if !stats.too_large.is_empty() {
            skipped.push(format!("{} over --max-file-size", stats.too_large.len()));
        }
        if !stats.unreadable.is_empty() {
            skipped.push(format!("{} unreadable", stats.unreadable.len()));
        }
        match stats.not_regular.len() {
            0 => {}
            1 => skipped.push("1 symlink or special file".to_string()),
            n => skipped.push(format!("{n} symlinks or special files")),
        }
        if !skipped.is_empty() {
            line.push_str(&format!("; skipped {}", skipped.join(", ")));
            if !plan.verbose {
                line.push_str(" (-v lists them)");
            }
        }
        plan.note(&line);
    }
    if plan.strict && (!stats.too_large.is_empty() || !stats.unreadable.is_empty()) {
        plan.note("--strict: files were skipped (see above), so the scan is incomplete");
        return Ok(ExitStatus::Error);
    }
    Ok(status)
}
