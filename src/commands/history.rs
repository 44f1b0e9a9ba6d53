//! `keyfence history [REV...]`: audit every blob that history introduced (each unique blob once),
//! or with `--added-only` gate a range by the lines its commits add. The range machinery here is
//! shared with the pre-push and pre-receive hooks.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use git2::{ObjectType, Oid, Repository};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use super::common::{human_bytes, plural, Plan};
use crate::cli::HistoryArgs;
use crate::finding::{Finding, SourceKind};
use crate::pipeline;
use crate::sources::git::{commit_info, parse_since, root_dir, shallow_commits, Lines, Opener};
use crate::sources::history::{self, check_not_shallow, short, Change, RevSet};
use crate::sources::packorder::PackOrder;
use crate::ExitStatus;

/// What a history or range scan saw besides its findings.
#[derive(Debug, Default)]
pub struct Stats {
    pub commits: u64,
    pub blobs: AtomicU64,
    pub bytes: AtomicU64,
    pub binary: AtomicU64,
    pub too_large: Mutex<Vec<(String, u64)>>,
    /// Blobs over `MAX_FINDINGS_PER_BLOB` findings (only the first ones are reported).
    pub truncated: AtomicU64,
}

impl Stats {
    /// The summary line for stderr.
    pub fn summary(&self, findings: usize, started: Instant) -> String {
        let mut line = format!(
            "scanned {} and {} ({}) in {:.2}s: {}",
            plural(self.commits, "commit"),
            plural(self.blobs.load(Ordering::Relaxed), "blob"),
            human_bytes(self.bytes.load(Ordering::Relaxed)),
            started.elapsed().as_secs_f64(),
            plural(findings as u64, "finding"),
        );
        let mut skipped = Vec::new();
        let bin = self.binary.load(Ordering::Relaxed);
        if bin > 0 {
            skipped.push(format!("{bin} binary"));
        }
        let large = self.too_large.lock().map(|v| v.len()).unwrap_or(0);
        if large > 0 {
            skipped.push(format!("{large} over --max-file-size"));
        }
        if !skipped.is_empty() {
            line.push_str(&format!("; skipped {}", skipped.join(", ")));
        }
        let truncated = self.truncated.load(Ordering::Relaxed);
        if truncated > 0 {
            line.push_str(&format!(
                "; {} over {} findings, only their first {} reported",
                plural(truncated, "blob"),
                pipeline::MAX_FINDINGS_PER_BLOB,
                pipeline::MAX_FINDINGS_PER_BLOB
            ));
        }
        line
    }

    fn skip_large(&self, path: &str, size: u64) {
        if let Ok(mut v) = self.too_large.lock() {
            v.push((path.to_string(), size));
        }
    }
}

pub fn run(args: &HistoryArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let (opener, repo) = Opener::new(args.repo.as_deref())?;
    let plan = Plan::build(&args.common, &root_dir(&repo))?;
    let (mut findings, stats) = collect(args, &plan, &opener, &repo)?;
    let status = plan.emit(&mut findings)?;
    if !plan.quiet {
        if plan.verbose {
            for (path, size) in stats.too_large.lock().iter().flat_map(|v| v.iter()) {
                eprintln!(
                    "keyfence: skipped {path}: {} is over --max-file-size",
                    human_bytes(*size)
                );
            }
        }
        plan.note(&stats.summary(findings.len(), started));
    }
    Ok(status)
}

/// Selects the commits of `args` and scans them; findings are not yet filtered or sorted.
pub fn collect(
    args: &HistoryArgs,
    plan: &Plan,
    opener: &Opener,
    repo: &Repository,
) -> anyhow::Result<(Vec<Finding>, Stats)> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let mut set = if args.revs.is_empty() && !args.tags {
        RevSet::all_refs(repo)?
    } else {
        RevSet::parse(repo, &args.revs)?
    };
    if args.tags {
        set.include.extend(RevSet::tags(repo)?.include);
    }
    let commits = history::walk(repo, &set, since)?;
    let shallow: HashSet<Oid> = shallow_commits(repo).into_iter().collect();
    if args.added_only {
        if commits.is_empty() && !args.allow_empty {
            bail!(
                "the revisions given select no commits, so nothing would be checked; \
                 check the range (or pass --allow-empty when that is expected)"
            );
        }
        check_not_shallow(&commits, &shallow)?;
        scan_range(plan, opener, repo, &commits, &shallow)
    } else {
        if !shallow.is_empty() {
            let mut ids: Vec<String> = shallow.iter().map(|o| short(*o)).collect();
            ids.sort();
            plan.note(&format!(
                "shallow clone: history before {} is not scanned",
                ids.join(", ")
            ));
        }
        scan_history(plan, opener, repo, &commits, &shallow)
    }
}

fn pool(plan: &Plan) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(plan.threads)
        .build()
        .context("cannot start worker threads")
}

fn progress(plan: &Plan, len: usize, what: &str) -> Option<ProgressBar> {
    if !plan.progress {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template(&format!(
        "{{spinner}} {what} {{pos}}/{{len}} [{{bar:30}}] {{msg}}{{elapsed}}, ETA {{eta}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

/// One more item on the bar, with bytes read and findings so far in its message (refreshed every
/// 64 items or on a finding: workers must not queue on the bar's lock).
fn tick(bar: &Option<ProgressBar>, stats: &Stats, findings: &AtomicU64, found: usize) {
    let Some(b) = bar else { return };
    let total = findings.fetch_add(found as u64, Ordering::Relaxed) + found as u64;
    b.inc(1);
    if found > 0 || b.position() % 64 == 0 {
        b.set_message(format!(
            "{}, {} ",
            human_bytes(stats.bytes.load(Ordering::Relaxed)),
            plural(total, "finding")
        ));
    }
}

fn open(repo: &Result<Repository, git2::Error>) -> anyhow::Result<&Repository> {
    repo.as_ref()
        .map_err(|e| anyhow!("cannot open the repository in a worker: {}", e.message()))
}

/// A finding waiting for its commit's provenance (by index into the commit list).
type Pending = (Finding, u32);

/// Scans the commit's message; findings have no file and lines counted within the message.
fn scan_message(
    plan: &Plan,
    repo: &Repository,
    commit: Oid,
    idx: u32,
) -> anyhow::Result<Vec<Pending>> {
    let c = repo.find_commit(commit)?;
    let out = pipeline::scan_bytes(
        &plan.engine,
        c.message_raw_bytes(),
        None,
        SourceKind::CommitMessage,
    );
    Ok(out.findings.into_iter().map(|f| (f, idx)).collect())
}

/// Reads a blob unless it is over the size limit (checked from the header, without loading it).
fn read_blob<'r>(
    plan: &Plan,
    stats: &Stats,
    repo: &'r Repository,
    blob: Oid,
    path: &str,
) -> anyhow::Result<Option<git2::Blob<'r>>> {
    let (size, kind) = repo
        .odb()?
        .read_header(blob)
        .with_context(|| format!("blob {blob} ({path}) is missing"))?;
    if kind != ObjectType::Blob {
        return Ok(None);
    }
    if size as u64 > plan.max_file_size {
        stats.skip_large(path, size as u64);
        return Ok(None);
    }
    let b = repo.find_blob(blob)?;
    stats.blobs.fetch_add(1, Ordering::Relaxed);
    stats.bytes.fetch_add(size as u64, Ordering::Relaxed);
    Ok(Some(b))
}

/// Each commit's introduced changes, in parallel, plus findings in the commit messages.
fn enumerate(
    plan: &Plan,
    opener: &Opener,
    commits: &[Oid],
    shallow: &HashSet<Oid>,
) -> anyhow::Result<Vec<(Vec<Change>, Vec<Pending>)>> {
    let bar = progress(plan, commits.len(), "commits");
    let out = commits
        .par_iter()
        .enumerate()
        .map_init(
            || opener.open(),
            |repo, (i, &commit)| {
                let repo = open(repo)?;
                let changes = history::introduced(repo, commit, shallow)?;
                let messages = scan_message(plan, repo, commit, i as u32)?;
                if let Some(b) = &bar {
                    b.inc(1);
                }
                Ok((changes, messages))
            },
        )
        .collect::<anyhow::Result<Vec<_>>>();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    out
}

/// Full audit: every unique blob once, each finding attributed per path to the oldest commit
/// that introduced the blob there.
pub fn scan_history(
    plan: &Plan,
    opener: &Opener,
    repo: &Repository,
    commits: &[Oid],
    shallow: &HashSet<Oid>,
) -> anyhow::Result<(Vec<Finding>, Stats)> {
    let stats = Stats {
        commits: commits.len() as u64,
        ..Stats::default()
    };
    let pool = pool(plan)?;
    let per_commit = pool.install(|| enumerate(plan, opener, commits, shallow))?;

    // blob → (commit index, path index), oldest commit first because commits are in order.
    let mut paths: Vec<String> = Vec::new();
    let mut path_ids: HashMap<String, u32> = HashMap::new();
    let mut blobs: HashMap<Oid, Vec<(u32, u32)>> = HashMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    for (i, (changes, messages)) in per_commit.into_iter().enumerate() {
        pending.extend(messages);
        for change in changes {
            let next = paths.len() as u32;
            let p = *path_ids.entry(change.path).or_insert_with_key(|k| {
                paths.push(k.clone());
                next
            });
            blobs.entry(change.blob).or_default().push((i as u32, p));
        }
    }
    drop(path_ids);
    let mut blobs: Vec<(Oid, Vec<(u32, u32)>)> = blobs.into_iter().collect();
    // Storage order: each worker then reads neighbouring objects, so delta bases come from
    // libgit2's cache instead of being re-inflated per blob (see `sources::packorder`). Objects
    // outside packs keep oldest-commit order. Findings are sorted at the end either way.
    let order = PackOrder::load(repo.commondir());
    blobs.sort_by_cached_key(|(oid, occ)| (order.key(oid.as_bytes()), occ[0]));
    drop(order);

    let bar = progress(plan, blobs.len(), "blobs");
    let found_count = AtomicU64::new(0);
    let scan_blob =
        |repo: &Repository, blob: Oid, occ: &[(u32, u32)]| -> anyhow::Result<Vec<Pending>> {
            let live: Vec<(u32, u32)> = occ
                .iter()
                .copied()
                .filter(|&(_, p)| !plan.engine.path_allowed(&paths[p as usize]))
                .collect();
            let Some(&(_, first_path)) = live.first() else {
                return Ok(Vec::new());
            };
            let path = paths[first_path as usize].as_str();
            let Some(content) = read_blob(plan, &stats, repo, blob, path)? else {
                return Ok(Vec::new());
            };
            // Every finding is reported here, so the per-blob cap is safe.
            let out = pipeline::scan_bytes_capped(
                &plan.engine,
                content.content(),
                Some(path),
                SourceKind::History,
                pipeline::MAX_FINDINGS_PER_BLOB,
            );
            if out.binary {
                stats.binary.fetch_add(1, Ordering::Relaxed);
            }
            if out.truncated > 0 {
                stats.truncated.fetch_add(1, Ordering::Relaxed);
            }
            if out.findings.is_empty() {
                return Ok(Vec::new());
            }
            // One finding per path the blob appeared at; the oldest commit there.
            let mut order: Vec<u32> = Vec::new();
            let mut counts: HashMap<u32, (u32, usize)> = HashMap::new();
            for &(c, p) in &live {
                counts.entry(p).and_modify(|e| e.1 += 1).or_insert_with(|| {
                    order.push(p);
                    (c, 1)
                });
            }
            let mut res = Vec::new();
            for p in order {
                let (commit, n) = counts[&p];
                for f in &out.findings {
                    let mut f = f.clone();
                    f.file = Some(paths[p as usize].clone());
                    f.other_occurrences = n - 1;
                    res.push((f, commit));
                }
            }
            Ok(res)
        };
    let found = pool.install(|| {
        blobs
            .par_iter()
            .map_init(
                || opener.open(),
                |repo, (blob, occ)| -> anyhow::Result<Vec<Pending>> {
                    let res = scan_blob(open(repo)?, *blob, occ)?;
                    tick(&bar, &stats, &found_count, res.len());
                    Ok(res)
                },
            )
            .collect::<anyhow::Result<Vec<_>>>()
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    pending.extend(found?.into_iter().flatten());
    Ok((attach_commits(repo, commits, pending)?, stats))
}

/// Range gate: for each commit, the lines it adds (relative to every parent), scanned with the
/// whole blob as context.
pub fn scan_range(
    plan: &Plan,
    opener: &Opener,
    repo: &Repository,
    commits: &[Oid],
    shallow: &HashSet<Oid>,
) -> anyhow::Result<(Vec<Finding>, Stats)> {
    let stats = Stats {
        commits: commits.len() as u64,
        ..Stats::default()
    };
    let pool = pool(plan)?;
    let per_commit = pool.install(|| enumerate(plan, opener, commits, shallow))?;
    let mut pending: Vec<Pending> = Vec::new();
    let mut work: Vec<(u32, Change)> = Vec::new();
    for (i, (changes, messages)) in per_commit.into_iter().enumerate() {
        pending.extend(messages);
        work.extend(
            changes
                .into_iter()
                .filter(|c| !plan.engine.path_allowed(&c.path))
                .map(|c| (i as u32, c)),
        );
    }
    let bar = progress(plan, work.len(), "files");
    let found = pool.install(|| {
        work.par_iter()
            .map_init(
                || opener.open(),
                |repo, (commit, change)| -> anyhow::Result<Vec<Pending>> {
                    let repo = open(repo)?;
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                    let Some(content) = read_blob(plan, &stats, repo, change.blob, &change.path)?
                    else {
                        return Ok(Vec::new());
                    };
                    let out = pipeline::scan_bytes_capped(
                        &plan.engine,
                        content.content(),
                        Some(&change.path),
                        SourceKind::Range,
                        pipeline::MAX_FINDINGS_PER_BLOB,
                    );
                    if out.binary {
                        stats.binary.fetch_add(1, Ordering::Relaxed);
                    }
                    if out.findings.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut lines = Lines::All;
                    for old in &change.olds {
                        lines = lines.intersect(crate::sources::git::added_lines(
                            repo,
                            *old,
                            change.blob,
                        )?);
                        if lines.is_empty() {
                            break;
                        }
                    }
                    let out = if out.truncated > 0 {
                        // Over the cap: count only added lines, so old keys cannot crowd out
                        // a new one.
                        pipeline::scan_bytes_where(
                            &plan.engine,
                            content.content(),
                            Some(&change.path),
                            SourceKind::Range,
                            pipeline::MAX_FINDINGS_PER_BLOB,
                            &|first, last| lines.any_in(first, last),
                        )
                    } else {
                        out
                    };
                    Ok(out
                        .findings
                        .into_iter()
                        .filter(|f| lines.any_in(f.line, f.end_line))
                        .map(|f| (f, *commit))
                        .collect())
                },
            )
            .collect::<anyhow::Result<Vec<_>>>()
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    pending.extend(found?.into_iter().flatten());
    Ok((attach_commits(repo, commits, pending)?, stats))
}

/// Fills in each finding's commit provenance (looked up once per commit).
fn attach_commits(
    repo: &Repository,
    commits: &[Oid],
    pending: Vec<Pending>,
) -> anyhow::Result<Vec<Finding>> {
    let mut cache = HashMap::new();
    let mut out = Vec::with_capacity(pending.len());
    for (mut f, idx) in pending {
        let info = match cache.get(&idx) {
            Some(info) => info,
            None => {
                let c = repo.find_commit(commits[idx as usize])?;
                cache.entry(idx).or_insert(commit_info(&c))
            }
        };
        f.commit = Some(info.clone());
        out.push(f);
    }
    Ok(out)
}
