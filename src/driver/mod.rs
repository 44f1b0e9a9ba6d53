//! The one road every scan takes. A [`Source`] hands blobs to the [`Scanner`], which runs each
//! through the engine and owns what every scan shares: the size cap, the binary count, the
//! added-lines gate, progress and statistics; the driver then prints the one summary line.
//!
//! ```text
//! source ──Blob──▶ Scanner::scan (pipeline) ──Finding──▶ filters ──▶ report ──▶ exit status
//! ```

mod blob;
pub(crate) mod error;
pub(crate) mod output;
pub(crate) mod plan;
mod trust;

pub(crate) use crate::progress::{human_bytes, plural};
pub(crate) use blob::{Blob, Lines, Provenance, Source};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::engine::Engine;
use crate::finding::Finding;
use crate::pipeline::{self, MAX_FINDINGS_PER_BLOB};
use crate::progress::Progress;
use crate::sources::error::SourceError;
use plan::Plan;

/// How the summary line counts what was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Summary {
    /// `scanned 3 files (…)`: files and stdin.
    Files,
    /// `scanned 1 file staged (…)`: the pre-commit gate.
    Staged,
    /// `scanned 2 commits and 5 blobs (…)`: histories and ranges.
    History,
}

/// What a scan saw besides its findings; filled in from many threads.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) commits: AtomicU64,
    /// Files or blobs read and scanned.
    pub(crate) items: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) binary: AtomicU64,
    /// Git LFS pointers whose object is not in this repository (a server, a CI clone).
    pub(crate) lfs_missing: AtomicU64,
    /// Content over `--max-file-size`, with its size.
    pub(crate) too_large: Mutex<Vec<(String, u64)>>,
    /// Blobs over [`MAX_FINDINGS_PER_BLOB`] findings, with how many were left out.
    pub(crate) truncated: Mutex<Vec<(String, usize)>>,
    /// Binary files by name (kept only with `--verbose`).
    pub(crate) binary_names: Mutex<Vec<String>>,
    /// What a directory walk saw (empty for git sources).
    pub(crate) walk: Mutex<Skipped>,
}

impl Stats {
    fn skip_large(&self, what: &str, size: u64) {
        push(&self.too_large, (what.to_string(), size));
    }

    /// True when something was not scanned (for `--strict`).
    fn incomplete(&self) -> bool {
        let walk_unreadable = self.walk.lock().map(|w| !w.unreadable.is_empty());
        self.too_large.lock().map(|v| !v.is_empty()).unwrap_or(true)
            || walk_unreadable.unwrap_or(true)
    }
}

/// Runs blobs through the engine for a source; shared read-only by its worker threads.
pub(crate) struct Scanner<'p> {
    plan: &'p Plan,
    pub(crate) stats: Stats,
    progress: Progress,
    pool: OnceLock<rayon::ThreadPool>,
}

impl<'p> Scanner<'p> {
    pub(crate) fn engine(&self) -> &'p Engine {
        &self.plan.engine
    }

    pub(crate) fn plan(&self) -> &'p Plan {
        self.plan
    }

    /// True when the global allowlist excludes the path: its content need not be read.
    pub(crate) fn path_allowed(&self, path: &str) -> bool {
        self.plan.engine.path_allowed(path)
    }

    /// Runs `f` on the scan's worker pool (`--threads`), so that rayon's parallel iterators in
    /// it use that many threads.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R, SourceError> {
        let pool = match self.pool.get() {
            Some(p) => p,
            None => {
                let p = rayon::ThreadPoolBuilder::new()
                    .num_threads(self.plan.threads)
                    .build()
                    .map_err(SourceError::Threads)?;
                self.pool.get_or_init(|| p)
            }
        };
        Ok(pool.install(f))
    }

    /// Whether content of `size` bytes may be read. Over `--max-file-size` a gate fails (it
    /// cannot vouch for what it did not read); an audit skips it and counts the skip.
    pub(crate) fn admit(&self, what: &str, size: u64) -> Result<bool, SourceError> {
        let max = self.plan.max_file_size;
        if size <= max {
            return Ok(true);
        }
        if self.plan.gate {
            return Err(SourceError::TooLarge {
                what: what.to_string(),
                size,
                max,
            });
        }
        self.stats.skip_large(what, size);
        Ok(false)
    }

    /// Counts content read for scanning (a file, a blob).
    pub(crate) fn count(&self, bytes: u64) {
        self.stats.items.fetch_add(1, Ordering::Relaxed);
        self.stats.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Scans one blob: the engine with the per-blob findings cap, then, for a gate's blob, only
    /// the findings on lines it adds (a blob over the cap is scanned again counting only those,
    /// so old keys cannot crowd out a new one).
    pub(crate) fn scan(&self, blob: &Blob<'_>) -> Result<Vec<Finding>, SourceError> {
        self.scan_blob(blob, true)
    }

    /// [`Scanner::scan`] for content scanned before (counted then: not as binary, nor on the
    /// progress line, again).
    pub(crate) fn rescan(&self, blob: &Blob<'_>) -> Result<Vec<Finding>, SourceError> {
        self.scan_blob(blob, false)
    }

    /// One item of `bytes` done on the progress line, with `findings` in it.
    pub(crate) fn tick(&self, bytes: u64, findings: u64) {
        self.progress.inc(bytes, findings);
    }

    fn scan_blob(&self, blob: &Blob<'_>, first: bool) -> Result<Vec<Finding>, SourceError> {
        let engine = &self.plan.engine;
        let at = &blob.provenance;
        let out = pipeline::scan_bytes_capped(
            engine,
            blob.bytes,
            at.path,
            at.kind,
            MAX_FINDINGS_PER_BLOB,
        );
        if first {
            if out.binary {
                self.stats.binary.fetch_add(1, Ordering::Relaxed);
                if self.plan.verbose {
                    push(&self.stats.binary_names, at.shown.to_string());
                }
            }
            self.tick(blob.bytes.len() as u64, out.findings.len() as u64);
        }
        let (out, lines) = match blob.lines {
            Lines::All => (out, None),
            Lines::Added(_) if out.findings.is_empty() && out.truncated == 0 => {
                return Ok(Vec::new())
            }
            Lines::Added(added) => {
                let lines = added()?;
                let out = if out.truncated > 0 {
                    pipeline::scan_bytes_where(
                        engine,
                        blob.bytes,
                        at.path,
                        at.kind,
                        MAX_FINDINGS_PER_BLOB,
                        &|first, last| lines.any_in(first, last),
                    )
                } else {
                    out
                };
                (out, Some(lines))
            }
        };
        let findings: Vec<Finding> = match lines {
            None => out.findings,
            Some(lines) => out
                .findings
                .into_iter()
                .filter(|f| lines.any_in(f.line, f.end_line))
                .collect(),
        };
        if out.truncated > 0 {
            // Matches past the cap were counted, never judged: a gate whose kept findings were
            // all allowed (inline markers) cannot say the rest were, so it fails closed.
            if self.plan.gate && findings.is_empty() {
                return Err(SourceError::CapUnjudged {
                    what: at.shown.to_string(),
                    more: out.truncated,
                });
            }
            push(&self.stats.truncated, (at.shown.to_string(), out.truncated));
        }
        Ok(findings)
    }
}

/// Appends to a list the workers share (a poisoned lock loses the note, never the scan).
pub(crate) fn push<T>(m: &Mutex<Vec<T>>, item: T) {
    if let Ok(mut v) = m.lock() {
        v.push(item);
    }
}

/// What a source produced, before filters and report.
pub(crate) struct Scanned {
    pub(crate) findings: Vec<Finding>,
    pub(crate) stats: Stats,
    summary: Summary,
    started: Instant,
}

/// Runs `source` through the engine: the one way every command scans. `started` is when the
/// command began, for the summary line.
pub(crate) fn run(
    plan: &Plan,
    source: &dyn Source,
    started: Instant,
) -> Result<Scanned, SourceError> {
    let summary = source.summary();
    let noun = match summary {
        Summary::History => "blobs",
        _ => "files",
    };
    let scanner = Scanner {
        plan,
        stats: Stats::default(),
        progress: Progress::new(plan.progress, noun, None),
        pool: OnceLock::new(),
    };
    let found = source.scan(&scanner);
    scanner.progress.finish();
    Ok(Scanned {
        findings: found?,
        stats: scanner.stats,
        summary,
        started,
    })
}

impl Scanned {
    /// Time since the scan started.
    pub(crate) fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// The warnings, the `--verbose` list of what was skipped, and the summary line, on stderr
    /// (none with `--quiet`); `reported` is how many findings the report holds. Returns false
    /// when `--strict` must fail the run because something was skipped.
    /// The end every reporting command shares: the filters, the report, the warnings and summary
    /// line. Returns the exit status (an incomplete `--strict` audit is an error) and the
    /// findings reported, for commands that say more about them.
    pub(crate) fn report(
        mut self,
        plan: &Plan,
    ) -> Result<(crate::ExitStatus, Vec<Finding>), error::OutputError> {
        let mut findings = std::mem::take(&mut self.findings);
        plan.filters().apply(&mut findings);
        let status = plan.emit(&mut findings)?;
        if !self.finish(plan, findings.len()) {
            return Ok((crate::ExitStatus::Error, findings));
        }
        Ok((status, findings))
    }

    pub(crate) fn finish(&self, plan: &Plan, reported: usize) -> bool {
        if !plan.quiet {
            self.warn(plan);
            plan.note(&self.summary_line(plan.verbose, reported));
        }
        if plan.strict && self.stats.incomplete() {
            plan.note(match self.summary {
                Summary::History => {
                    "--strict: content was skipped (see above), so the audit is incomplete"
                }
                _ => "--strict: files were skipped (see above), so the scan is incomplete",
            });
            return false;
        }
        true
    }

    fn warn(&self, plan: &Plan) {
        let walk = self.stats.walk.lock().expect("no panics while locked");
        for (path, why) in &walk.unreadable {
            plan.note(&format!("warning: {path}: {why}"));
        }
        let mut truncated = self.stats.truncated.lock().expect("no panics while locked");
        truncated.sort();
        let on = match self.summary {
            Summary::Staged => " on staged lines",
            _ => "",
        };
        if self.summary != Summary::History {
            for (path, more) in truncated.iter() {
                plan.note(&format!(
                    "warning: {path}: over {MAX_FINDINGS_PER_BLOB} findings{on}; reported the \
                     first {MAX_FINDINGS_PER_BLOB}, left out {more} more"
                ));
            }
        }
        if !plan.verbose {
            return;
        }
        for path in &walk.ignored_paths {
            plan.note(&format!("skipped {path}: gitignored"));
        }
        for (path, _) in &walk.allowlisted {
            plan.note(&format!("skipped {path}: allowlisted by path"));
        }
        let mut large = self.stats.too_large.lock().expect("no panics while locked");
        if self.summary != Summary::History {
            large.sort();
        }
        for (path, size) in large.iter() {
            let size = human_bytes(*size);
            plan.note(&format!("skipped {path}: {size} is over --max-file-size"));
        }
        for path in &walk.not_regular {
            plan.note(&format!("skipped {path}: symlink or special file"));
        }
        if self.summary == Summary::Files {
            let mut bin = self
                .stats
                .binary_names
                .lock()
                .expect("no panics while locked");
            bin.sort();
            for path in bin.iter() {
                plan.note(&format!(
                    "binary {path}: scanned for AWS and private keys only"
                ));
            }
        }
    }

    /// The one summary line: what was scanned, how long it took, what was found and every
    /// reason something went unread, so "0 findings" never hides a skip.
    fn summary_line(&self, verbose: bool, findings: usize) -> String {
        let s = &self.stats;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let items = load(&s.items);
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut line = match self.summary {
            Summary::Files => format!("scanned {} (", plural(items, "file")),
            Summary::Staged => format!("scanned {} staged (", plural(items, "file")),
            Summary::History => format!(
                "scanned {} and {} (",
                plural(load(&s.commits), "commit"),
                plural(items, "blob")
            ),
        };
        let decimals = if self.summary == Summary::Staged {
            3
        } else {
            2
        };
        line.push_str(&format!(
            "{}) in {elapsed:.decimals$}s: {}",
            human_bytes(load(&s.bytes)),
            plural(findings as u64, "finding")
        ));
        let bin = load(&s.binary);
        if bin > 0 {
            let what = match self.summary {
                Summary::History => plural(bin, "blob"),
                _ => bin.to_string(),
            };
            line.push_str(&format!(
                "; {what} binary (scanned for AWS and private keys only)"
            ));
        }
        let walk = s.walk.lock().expect("no panics while locked");
        let mut skipped = Vec::new();
        if walk.ignored > 0 {
            skipped.push(format!("{} gitignored", walk.ignored));
        }
        if !walk.allowlisted.is_empty() {
            skipped.push(format!("{} allowlisted", walk.allowlisted.len()));
        }
        let lfs = load(&s.lfs_missing);
        if lfs > 0 {
            let files = plural(lfs, "Git LFS file");
            skipped.push(format!("{files} (objects not in this repository)"));
        }
        let large = s.too_large.lock().map(|v| v.len()).unwrap_or(0);
        if large > 0 {
            skipped.push(format!("{large} over --max-file-size"));
        }
        if !walk.unreadable.is_empty() {
            skipped.push(format!("{} unreadable", walk.unreadable.len()));
        }
        match walk.not_regular.len() {
            0 => {}
            1 => skipped.push("1 symlink or special file".to_string()),
            n => skipped.push(format!("{n} symlinks or special files")),
        }
        if !skipped.is_empty() {
            line.push_str(&format!("; skipped {}", skipped.join(", ")));
            if self.summary == Summary::Files && !verbose {
                line.push_str(" (-v lists them)");
            }
        }
        let truncated = s.truncated.lock().map(|v| v.len()).unwrap_or(0) as u64;
        if truncated > 0 && self.summary == Summary::History {
            line.push_str(&format!(
                "; {} over {MAX_FINDINGS_PER_BLOB} findings, only their first \
                 {MAX_FINDINGS_PER_BLOB} reported",
                plural(truncated, "blob"),
            ));
        }
        line
    }
}

/// What a walk left unread besides files over the size limit, for the summary and `--verbose`.
#[derive(Debug, Default)]
pub(crate) struct Skipped {
    pub(crate) unreadable: Vec<(String, String)>,
    pub(crate) not_regular: Vec<String>,
    pub(crate) ignored: u64,
    pub(crate) ignored_paths: Vec<String>,
    /// Files a path allowlist left out, with their size.
    pub(crate) allowlisted: Vec<(String, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(summary: Summary, stats: Stats) -> Scanned {
        Scanned {
            findings: Vec::new(),
            stats,
            summary,
            started: Instant::now(),
        }
    }

    /// The line without its timing (`in 0.01s`), which varies.
    fn untimed(line: &str) -> String {
        let (head, rest) = line.split_once(" in ").expect("a timing");
        let (_, tail) = rest.split_once("s: ").expect("a timing");
        format!("{head} in Ts: {tail}")
    }

    #[test]
    fn one_summary_line_keeps_each_sources_shape() {
        let files = Stats::default();
        files.items.store(3, Ordering::Relaxed);
        files.bytes.store(1234, Ordering::Relaxed);
        files.binary.store(1, Ordering::Relaxed);
        {
            let mut walk = files.walk.lock().unwrap();
            walk.ignored = 2;
            walk.allowlisted.push(("a".into(), 1));
            walk.not_regular.push("l".into());
        }
        assert_eq!(
            untimed(&scanned(Summary::Files, files).summary_line(false, 2)),
            "scanned 3 files (1.2 KB) in Ts: 2 findings; 1 binary (scanned for AWS and private \
             keys only); skipped 2 gitignored, 1 allowlisted, 1 symlink or special file (-v \
             lists them)"
        );

        let staged = Stats::default();
        staged.items.store(1, Ordering::Relaxed);
        staged.bytes.store(10, Ordering::Relaxed);
        let line = scanned(Summary::Staged, staged).summary_line(false, 1);
        assert_eq!(
            untimed(&line),
            "scanned 1 file staged (10 B) in Ts: 1 finding"
        );
        // Three decimals for the gate that runs on every commit.
        assert!(line.contains(" in 0.0"), "{line}");
        assert_eq!(
            line.split_once("s: ").unwrap().0.len(),
            "scanned 1 file staged (10 B) in 0.000".len()
        );

        let history = Stats::default();
        history.commits.store(2, Ordering::Relaxed);
        history.items.store(5, Ordering::Relaxed);
        history.bytes.store(100, Ordering::Relaxed);
        history.binary.store(1, Ordering::Relaxed);
        history.lfs_missing.store(1, Ordering::Relaxed);
        history.too_large.lock().unwrap().push(("big".into(), 9));
        history
            .truncated
            .lock()
            .unwrap()
            .extend([("a".into(), 1), ("b".into(), 2)]);
        assert_eq!(
            untimed(&scanned(Summary::History, history).summary_line(false, 0)),
            "scanned 2 commits and 5 blobs (100 B) in Ts: 0 findings; 1 blob binary (scanned \
             for AWS and private keys only); skipped 1 Git LFS file (objects not in this \
             repository), 1 over --max-file-size; 2 blobs over 1000 findings, only their first \
             1000 reported"
        );
    }
}
