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

use super::common::{human_bytes, plural, Plan, Trust};
use crate::cli::HistoryArgs;
use crate::finding::{Finding, SourceKind};
use crate::pipeline;
use crate::sources::git::{commit_info, parse_since, root_dir, shallow_commits, Lines, Opener};
use crate::sources::history::{self, check_not_shallow, short, Change, Extras, RevSet};
use crate::sources::odb::{Header, ObjectStream};
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
    /// Git LFS pointers whose object is not in this repository (a server, a CI clone).
    pub lfs_missing: AtomicU64,
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
        let bin = self.binary.load(Ordering::Relaxed);
        if bin > 0 {
            line.push_str(&format!(
                "; {} binary (scanned for AWS and private keys only)",
                plural(bin, "blob")
            ));
        }
        let mut skipped = Vec::new();
        let lfs = self.lfs_missing.load(Ordering::Relaxed);
        if lfs > 0 {
            skipped.push(format!(
                "{} (objects not in this repository)",
                plural(lfs, "Git LFS file")
            ));
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

    /// True when something was not scanned (for `--strict`).
    pub fn skipped_any(&self) -> bool {
        self.too_large.lock().map(|v| !v.is_empty()).unwrap_or(true)
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
    let trust = if args.added_only {
        // A range gate checks someone else's change: config and baseline come from its base.
        let base = RevSet::parse(&repo, &args.revs)?.exclude.first().copied();
        Trust::Base { repo: &repo, base }
    } else {
        Trust::Audit {
            root: root_dir(&repo),
        }
    };
    let plan = Plan::build_for(&args.common, &trust)?;
    if args.added_only && matches!(trust, Trust::Base { base: None, .. }) {
        plan.note("the range has no base commit: using the shipped rules and no baseline");
    }
    let (mut findings, stats) = collect(args, &plan, &opener, &repo)?;
    let mut status = plan.emit(&mut findings)?;
    if !plan.quiet {
        if plan.verbose {
            for (path, size) in stats.too_large.lock().iter().flat_map(|v| v.iter()) {
                plan.note(&format!(
                    "skipped {path}: {} is over --max-file-size",
                    human_bytes(*size)
                ));
            }
        }
        plan.note(&stats.summary(findings.len(), started));
    }
    if plan.strict && stats.skipped_any() {
        plan.note("--strict: content was skipped (see above), so the audit is incomplete");
        status = ExitStatus::Error;
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
    // Before libgit2 touches a truncated loose object and spins forever (see `sources::loose`).
    crate::sources::loose::check_all(&crate::sources::loose::object_dirs(repo))?;
    let mut extras = Extras::default();
    let mut set = if args.revs.is_empty() && !args.tags {
        // Everything the repository holds: every ref, annotated tags' messages, tags of blobs
        // and trees, stash entries and other worktrees' HEADs.
        let mut set = RevSet::all_refs(repo)?;
        set.include.extend(history::unreferenced_tips(repo)?);
        extras = history::ref_extras(repo, |_| true)?;
        set
    } else {
        let set = RevSet::parse(repo, &args.revs)?;
        for rev in &args.revs {
            for tip in tips_named(rev) {
                if let Ok(obj) = repo.revparse_single(tip) {
                    extras.add(&history::peel(repo, obj.id())?, tip);
                }
            }
        }
        set
    };
    if args.tags {
        set.include.extend(RevSet::tags(repo)?.include);
        let tags = history::ref_extras(repo, |n| n.starts_with("refs/tags/"))?;
        for t in tags.tags {
            if !extras.tags.contains(&t) {
                extras.tags.push(t);
            }
        }
        extras.objects.extend(tags.objects);
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
        scan_range(plan, opener, repo, &commits, &extras, &shallow)
    } else {
        if !shallow.is_empty() {
            let mut ids: Vec<String> = shallow.iter().map(|o| short(*o)).collect();
            ids.sort();
            plan.note(&format!(
                "shallow clone: history before {} is not scanned",
                ids.join(", ")
            ));
        }
        // On request, everything the repository holds is read object by object (git must be
        // on PATH). Not the default: with the full rule set, scanning every blob at any path on
        // the cores git leaves free measured slower than the commit walk (terraform: 26.2 s
        // against 21.9 s).
        let everything = args.revs.is_empty() && !args.tags && since.is_none();
        if args.object_stream && !everything {
            bail!("--object-stream reads the whole repository: it does not combine with revisions, --tags or --since");
        }
        if args.object_stream && !git_runs() {
            bail!("--object-stream needs the git command on PATH");
        }
        if args.object_stream {
            scan_all_objects(plan, opener, repo, &commits, &extras, &shallow)
        } else {
            scan_history(plan, opener, repo, &commits, &extras, &shallow)
        }
    }
}

/// True when the git CLI can be run (it reads the object stream of full audits).
fn git_runs() -> bool {
    std::process::Command::new("git")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The revisions a rev argument names as tips (`A..B` → B, `A...B` → A and B, `^X` → none).
fn tips_named(rev: &str) -> Vec<&str> {
    if rev.starts_with('^') {
        return Vec::new();
    }
    if let Some((a, b)) = rev.split_once("...") {
        return [a, b].into_iter().filter(|s| !s.is_empty()).collect();
    }
    if let Some((_, b)) = rev.split_once("..") {
        return if b.is_empty() { vec!["HEAD"] } else { vec![b] };
    }
    vec![rev]
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
        "{{spinner}} {what} {{pos}}/{{len}} [{{bar:30}}] {{msg}}· {{elapsed}} elapsed, ETA {{eta}}"
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
    stats: &Stats,
    repo: &Repository,
    commit: Oid,
    idx: u32,
) -> anyhow::Result<Vec<Pending>> {
    let c = repo.find_commit(commit)?;
    let findings = scan_text_object(
        plan,
        stats,
        c.message_raw_bytes(),
        &format!("message of commit {}", short(commit)),
        SourceKind::CommitMessage,
    )?;
    Ok(findings.into_iter().map(|f| (f, idx)).collect())
}

/// A commit or tag message: the same size limit and findings cap as a blob.
fn scan_text_object(
    plan: &Plan,
    stats: &Stats,
    bytes: &[u8],
    what: &str,
    source: SourceKind,
) -> anyhow::Result<Vec<Finding>> {
    let size = bytes.len() as u64;
    if size > plan.max_file_size {
        if plan.gate {
            bail!(too_large_message(what, size, plan.max_file_size));
        }
        stats.skip_large(what, size);
        return Ok(Vec::new());
    }
    let out = pipeline::scan_bytes_capped(
        &plan.engine,
        bytes,
        None,
        source,
        pipeline::MAX_FINDINGS_PER_BLOB,
    );
    if out.truncated > 0 {
        stats.truncated.fetch_add(1, Ordering::Relaxed);
    }
    Ok(out.findings)
}

/// What a gate says when content is over `--max-file-size`: it fails instead of passing.
fn too_large_message(what: &str, size: u64, max: u64) -> String {
    format!(
        "{what} is {} ({size} bytes), over --max-file-size ({max} bytes), so this gate cannot \
         vouch for it and fails; rerun with a larger --max-file-size (e.g. --max-file-size {}) \
         to scan it",
        human_bytes(size),
        size.next_power_of_two()
    )
}

/// Annotated tag messages (their findings carry the tag as provenance) and blobs or trees that
/// tags name directly; all of it counts as new.
fn scan_extras(
    plan: &Plan,
    stats: &Stats,
    repo: &Repository,
    extras: &Extras,
) -> anyhow::Result<Vec<Finding>> {
    let mut out = Vec::new();
    for &t in &extras.tags {
        let tag = repo
            .find_tag(t)
            .with_context(|| format!("tag object {t} is missing"))?;
        let name = String::from_utf8_lossy(tag.name_bytes()).into_owned();
        let mut found = scan_text_object(
            plan,
            stats,
            tag.message_bytes().unwrap_or_default(),
            &format!("message of tag {name}"),
            SourceKind::TagMessage,
        )?;
        let who = tag.tagger();
        let info = crate::finding::Commit {
            id: t.to_string(),
            author: who
                .as_ref()
                .map(|w| String::from_utf8_lossy(w.name_bytes()).into_owned())
                .unwrap_or_default(),
            email: who
                .as_ref()
                .map(|w| String::from_utf8_lossy(w.email_bytes()).into_owned())
                .unwrap_or_default(),
            date: who
                .as_ref()
                .map(|w| crate::sources::git::rfc3339(w.when()))
                .unwrap_or_default(),
            summary: format!("tag {name}"),
        };
        for f in &mut found {
            f.commit = Some(info.clone());
        }
        out.extend(found);
    }
    for (oid, kind, name) in &extras.objects {
        let mut blobs = Vec::new();
        if *kind == ObjectType::Blob {
            blobs.push((*oid, name.clone()));
        } else {
            let tree = repo
                .find_tree(*oid)
                .with_context(|| format!("tree {oid} ({name}) is missing"))?;
            tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                if entry.kind() == Some(ObjectType::Blob) {
                    let path = format!(
                        "{name}:{dir}{}",
                        String::from_utf8_lossy(entry.name_bytes())
                    );
                    blobs.push((entry.id(), path));
                }
                git2::TreeWalkResult::Ok
            })?;
        }
        for (blob, path) in blobs {
            let Some(content) = read_blob(plan, stats, repo, blob, &path)? else {
                continue;
            };
            let found = pipeline::scan_bytes_capped(
                &plan.engine,
                content.content(),
                Some(&path),
                SourceKind::History,
                pipeline::MAX_FINDINGS_PER_BLOB,
            );
            if found.binary {
                stats.binary.fetch_add(1, Ordering::Relaxed);
            }
            out.extend(found.findings);
        }
    }
    Ok(out)
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
        // A file entry whose object is not a blob: a damaged pack (flipped type bits) or a
        // crafted tree. Skipping it would report "clean" over content never read.
        bail!(
            "{path}: the tree names object {blob} as a file, but it is a {kind}; the repository \
             is damaged (run `git fsck`)"
        );
    }
    if size as u64 > plan.max_file_size {
        if plan.gate {
            bail!(too_large_message(path, size as u64, plan.max_file_size));
        }
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
    stats: &Stats,
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
                let messages = scan_message(plan, stats, repo, commit, i as u32)?;
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
    extras: &Extras,
    shallow: &HashSet<Oid>,
) -> anyhow::Result<(Vec<Finding>, Stats)> {
    let stats = Stats {
        commits: commits.len() as u64,
        ..Stats::default()
    };
    let pool = pool(plan)?;
    let per_commit = pool.install(|| enumerate(plan, &stats, opener, commits, shallow))?;

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
            place_blob(plan, &stats, repo, blob, occ, &paths)
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
    finish(plan, repo, commits, extras, pending, stats, true)
}

/// Bytes of objects read but not yet scanned, at most (one larger object may still pass alone):
/// the reader waits for the scanners rather than holding the history in memory.
const BYTES_IN_FLIGHT: usize = 64 << 20;

/// A byte budget shared by the object reader and the scanners.
struct Budget {
    used: Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Budget {
    fn acquire(&self, n: usize) {
        let mut used = self.used.lock().expect("no panics while locked");
        while *used > 0 && *used + n > BYTES_IN_FLIGHT {
            used = self.freed.wait(used).expect("no panics while locked");
        }
        *used += n;
    }

    fn release(&self, n: usize) {
        let mut used = self.used.lock().expect("no panics while locked");
        *used -= n;
        self.freed.notify_all();
    }
}

/// The message of a raw commit object: what follows the first blank line.
fn raw_message(commit: &[u8]) -> &[u8] {
    memchr::memmem::find(commit, b"\n\n").map_or(&[], |at| &commit[at + 2..])
}

/// Full audit of every ref: git inflates every object once, in pack order, and the other cores
/// scan each blob (at any path) and each selected commit's message as it arrives. Only blobs with
/// something to report are then placed in history (`sources::attribution`: each unique tree read
/// once) and scanned again at their paths, so findings and their attribution are those of
/// [`scan_history`]. Opt-in (`--object-stream`): with the full rule set the scanning, not the
/// reading, is the cost, and this path measured slower than the commit walk on terraform.
pub fn scan_all_objects(
    plan: &Plan,
    opener: &Opener,
    repo: &Repository,
    commits: &[Oid],
    extras: &Extras,
    shallow: &HashSet<Oid>,
) -> anyhow::Result<(Vec<Finding>, Stats)> {
    let stats = Stats {
        commits: commits.len() as u64,
        ..Stats::default()
    };
    let index: HashMap<Oid, u32> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i as u32))
        .collect();
    let max = plan.max_file_size;
    let mut stream = ObjectStream::spawn(repo.path())?;
    let mut existing: HashSet<Oid> = HashSet::new();
    let mut oversized: Vec<(Oid, u64)> = Vec::new();
    let candidates: Mutex<HashSet<Oid>> = Mutex::new(HashSet::new());
    let messages: Mutex<Vec<Pending>> = Mutex::new(Vec::new());
    let budget = Budget {
        used: Mutex::new(0),
        freed: std::sync::Condvar::new(),
    };
    let progress = crate::progress::Progress::new(plan.progress, "objects", None);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Header, Vec<u8>)>(256);
    let rx = Mutex::new(rx);
    let read = std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut workers = Vec::new();
        for _ in 0..plan.threads.max(1) {
            workers.push(scope.spawn(|| -> anyhow::Result<()> {
                loop {
                    let next = rx.lock().expect("no panics while locked").recv();
                    let Ok((header, bytes)) = next else {
                        return Ok(());
                    };
                    let size = bytes.len();
                    if header.kind == ObjectType::Blob {
                        let out = pipeline::scan_any_path(&plan.engine, &bytes, 1);
                        stats.blobs.fetch_add(1, Ordering::Relaxed);
                        stats.bytes.fetch_add(size as u64, Ordering::Relaxed);
                        if out.binary {
                            stats.binary.fetch_add(1, Ordering::Relaxed);
                        }
                        let found = !out.findings.is_empty() || out.truncated > 0;
                        if found {
                            candidates
                                .lock()
                                .expect("no panics while locked")
                                .insert(header.id);
                        }
                        progress.inc(size as u64, u64::from(found));
                    } else if let Some(&idx) = index.get(&header.id) {
                        let found = scan_text_object(
                            plan,
                            &stats,
                            raw_message(&bytes),
                            &format!("message of commit {}", short(header.id)),
                            SourceKind::CommitMessage,
                        )?;
                        if !found.is_empty() {
                            let mut m = messages.lock().expect("no panics while locked");
                            m.extend(found.into_iter().map(|f| (f, idx)));
                        }
                    }
                    budget.release(size);
                }
            }));
        }
        let mut reading = || -> anyhow::Result<()> {
            loop {
                let mut buf = Vec::new();
                let keep = |h: &Header| match h.kind {
                    ObjectType::Blob => h.size <= max,
                    ObjectType::Commit => index.contains_key(&h.id),
                    _ => false,
                };
                let Some(header) = stream.next(&mut buf, keep)? else {
                    return Ok(());
                };
                match header.kind {
                    ObjectType::Blob => {
                        existing.insert(header.id);
                        if header.size > max {
                            oversized.push((header.id, header.size));
                            continue;
                        }
                    }
                    ObjectType::Commit if index.contains_key(&header.id) => {}
                    _ => continue,
                }
                budget.acquire(buf.len());
                if tx.send((header, buf)).is_err() {
                    // Every scanner stopped: their error is reported below.
                    return Ok(());
                }
            }
        };
        let result = reading();
        drop(tx);
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("a scanning thread panicked"))??;
        }
        result
    });
    progress.finish();
    read?;
    let t_stream = std::time::Instant::now();
    let candidates = candidates.into_inner().expect("no panics while locked");
    let mut pending = messages.into_inner().expect("no panics while locked");

    // Where the candidates (and the blobs too large to scan) sit in history.
    let mut wanted: HashSet<Oid> = candidates.clone();
    wanted.extend(oversized.iter().map(|(id, _)| *id));
    let pool = pool(plan)?;
    let placed = pool.install(|| {
        crate::sources::attribution::introductions(
            opener,
            commits,
            shallow,
            &crate::sources::attribution::Wanted {
                blobs: &wanted,
                existing: &existing,
            },
        )
    })?;
    drop(existing);
    if plan.verbose {
        plan.note(&format!(
            "placed {} with findings in history in {:.2}s",
            plural(candidates.len() as u64, "blob"),
            t_stream.elapsed().as_secs_f64()
        ));
    }

    let mut paths: Vec<String> = Vec::new();
    let mut path_ids: HashMap<std::sync::Arc<str>, u32> = HashMap::new();
    let mut occurrences = |blob: &Oid| -> Vec<(u32, u32)> {
        placed
            .get(blob)
            .map(|v| {
                v.iter()
                    .map(|(c, p)| {
                        let next = paths.len() as u32;
                        let id = *path_ids.entry(p.clone()).or_insert_with(|| {
                            paths.push(p.to_string());
                            next
                        });
                        (*c, id)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut work: Vec<(Oid, Vec<(u32, u32)>)> = Vec::new();
    let too_large: Vec<(u64, Vec<(u32, u32)>)> = oversized
        .iter()
        .map(|(blob, size)| (*size, occurrences(blob)))
        .collect();
    for blob in &candidates {
        let occ = occurrences(blob);
        if !occ.is_empty() {
            work.push((*blob, occ));
        }
    }
    for (size, occ) in &too_large {
        // As a blob scan would have said it: at its first path not allowlisted.
        if let Some(&(_, p)) = occ
            .iter()
            .find(|(_, p)| !plan.engine.path_allowed(&paths[*p as usize]))
        {
            stats.skip_large(&paths[p as usize], *size);
        }
    }
    // Counted once already, while streaming: placing re-reads a few blobs without counting them.
    let again = Stats::default();
    let found = pool.install(|| {
        work.par_iter()
            .map_init(
                || opener.open(),
                |repo, (blob, occ)| place_blob(plan, &again, open(repo)?, *blob, occ, &paths),
            )
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    stats
        .truncated
        .fetch_add(again.truncated.load(Ordering::Relaxed), Ordering::Relaxed);
    pending.extend(found.into_iter().flatten());
    finish(plan, repo, commits, extras, pending, stats, true)
}

/// Attributes pending findings to their commits and adds what tags hold: the end of every
/// history and range scan. An audit reports each secret once per path, at the commit that
/// introduced it there, with where it has been since; a range gate reports what each commit adds.
fn finish(
    plan: &Plan,
    repo: &Repository,
    commits: &[Oid],
    extras: &Extras,
    pending: Vec<Pending>,
    stats: Stats,
    audit: bool,
) -> anyhow::Result<(Vec<Finding>, Stats)> {
    let pending = if audit {
        let mut grouped = crate::sources::whereabouts::group(pending, commits);
        crate::sources::whereabouts::locate(repo, &plan.engine, commits, &mut grouped)?;
        grouped
    } else {
        pending
    };
    let mut findings = attach_commits(repo, commits, pending)?;
    findings.extend(scan_extras(plan, &stats, repo, extras)?);
    Ok((findings, stats))
}

/// The findings of one blob at every (commit, path) where it was introduced (`occ`, oldest
/// first, paths by index into `paths`): one finding per (commit, path), grouped by `finish`. Rules and allowlists can depend on the path, so the blob is scanned once per class of
/// paths that rules treat alike (almost always one).
fn place_blob(
    plan: &Plan,
    stats: &Stats,
    repo: &Repository,
    blob: Oid,
    occ: &[(u32, u32)],
    paths: &[String],
) -> anyhow::Result<Vec<Pending>> {
    let live: Vec<(u32, u32)> = occ
        .iter()
        .copied()
        .filter(|&(_, p)| !plan.engine.path_allowed(&paths[p as usize]))
        .collect();
    let Some(&(_, first_path)) = live.first() else {
        return Ok(Vec::new());
    };
    let Some(content) = read_blob(plan, stats, repo, blob, paths[first_path as usize].as_str())?
    else {
        return Ok(Vec::new());
    };
    // Every commit that introduced the blob at each path: `finish` groups them per secret.
    let mut order: Vec<u32> = Vec::new();
    let mut at: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(c, p) in &live {
        at.entry(p)
            .or_insert_with(|| {
                order.push(p);
                Vec::new()
            })
            .push(c);
    }
    // Rules and allowlists can depend on the path: the blob is scanned once per class
    // of paths that rules treat alike (almost always one), so a path allowlist or a
    // path-restricted rule decides for every path the blob appears at, not the first.
    let mut classes: Vec<(Vec<bool>, Vec<u32>)> = Vec::new();
    for &p in &order {
        // One path is one class: no need to ask every rule (the usual blob, on the hot path).
        let class = if order.len() == 1 {
            Vec::new()
        } else {
            plan.engine.path_class(&paths[p as usize])
        };
        match classes.iter_mut().find(|(c, _)| *c == class) {
            Some((_, members)) => members.push(p),
            None => classes.push((class, vec![p])),
        }
    }
    let mut res = Vec::new();
    for (_, members) in classes {
        // Every finding is reported here, so the per-blob cap is safe.
        let out = pipeline::scan_bytes_capped(
            &plan.engine,
            content.content(),
            Some(&paths[members[0] as usize]),
            SourceKind::History,
            pipeline::MAX_FINDINGS_PER_BLOB,
        );
        if out.binary {
            stats.binary.fetch_add(1, Ordering::Relaxed);
        }
        if out.truncated > 0 {
            stats.truncated.fetch_add(1, Ordering::Relaxed);
        }
        for p in members {
            for &commit in &at[&p] {
                for f in &out.findings {
                    let mut f = f.clone();
                    f.file = Some(paths[p as usize].clone());
                    res.push((f, commit));
                }
            }
        }
    }
    Ok(res)
}

/// Range gate: for each commit, the lines it adds (relative to every parent), scanned with the
/// whole blob as context.
pub fn scan_range(
    plan: &Plan,
    opener: &Opener,
    repo: &Repository,
    commits: &[Oid],
    extras: &Extras,
    shallow: &HashSet<Oid>,
) -> anyhow::Result<(Vec<Finding>, Stats)> {
    let stats = Stats {
        commits: commits.len() as u64,
        ..Stats::default()
    };
    let pool = pool(plan)?;
    let per_commit = pool.install(|| enumerate(plan, &stats, opener, commits, shallow))?;
    let mut pending: Vec<Pending> = Vec::new();
    let mut work: Vec<(u32, Change)> = Vec::new();
    for (i, (changes, messages)) in per_commit.into_iter().enumerate() {
        pending.extend(messages);
        for c in &changes {
            if plan.watch.contains(&c.path) {
                pending.push((config_change(&c.path, c.blob), i as u32));
            }
        }
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
                    let Some(blob) = read_blob(plan, &stats, repo, change.blob, &change.path)?
                    else {
                        return Ok(Vec::new());
                    };
                    let lfs = lfs_content(plan, &stats, repo, blob.content(), &change.path)?;
                    let content: &[u8] = lfs.as_deref().unwrap_or(blob.content());
                    let out = pipeline::scan_bytes_capped(
                        &plan.engine,
                        content,
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
                    let commit_id = commits[*commit as usize];
                    // A changed LFS pointer brings a new object: all of it is new.
                    let lines = match lfs {
                        Some(_) => Lines::All,
                        None => range_added_lines(repo, commit_id, change)?,
                    };
                    let out = if out.truncated > 0 {
                        // Over the cap: count only added lines, so old keys cannot crowd out
                        // a new one.
                        pipeline::scan_bytes_where(
                            &plan.engine,
                            content,
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
    finish(plan, repo, commits, extras, pending, stats, false)
}

/// The content behind a Git LFS pointer, when the object is here. Where it should be (the
/// developer's own gates, which push it) its absence fails the gate; elsewhere (a server, a CI
/// clone without LFS objects) it is counted and said in the summary.
fn lfs_content(
    plan: &Plan,
    stats: &Stats,
    repo: &Repository,
    blob: &[u8],
    path: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(ptr) = crate::sources::lfs::pointer(blob) else {
        return Ok(None);
    };
    if ptr.local_path(repo).is_file() || plan.lfs_required {
        return super::protect::read_lfs_object(repo, &ptr, path, plan.max_file_size).map(Some);
    }
    stats.lfs_missing.fetch_add(1, Ordering::Relaxed);
    Ok(None)
}

/// The lines a commit adds to a changed path: new relative to the path in every parent, where a
/// path that is new in a parent's diff is compared with the file it was renamed from (git's
/// rename detection, as `protect` uses), so a pure `git mv` adds nothing at every gate.
fn range_added_lines(repo: &Repository, commit: Oid, change: &Change) -> anyhow::Result<Lines> {
    let mut lines = Lines::All;
    for (i, old) in change.olds.iter().enumerate() {
        let old = match old {
            Some(o) => Some(*o),
            None => rename_source(repo, commit, i, &change.path)?,
        };
        lines = lines.intersect(crate::sources::git::added_lines(repo, old, change.blob)?);
        if lines.is_empty() {
            break;
        }
    }
    Ok(lines)
}

/// The blob that `path` was renamed (or copied with a rename) from, relative to parent `parent`.
fn rename_source(
    repo: &Repository,
    commit: Oid,
    parent: usize,
    path: &str,
) -> anyhow::Result<Option<Oid>> {
    let c = repo.find_commit(commit)?;
    let Ok(parent) = c.parent(parent) else {
        return Ok(None);
    };
    let (old_tree, new_tree) = (parent.tree()?, c.tree()?);
    let mut opts = git2::DiffOptions::new();
    opts.skip_binary_check(true).ignore_submodules(true);
    let mut diff = repo.diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut opts))?;
    diff.find_similar(Some(git2::DiffFindOptions::new().renames(true)))?;
    for delta in diff.deltas() {
        if delta.status() == git2::Delta::Renamed
            && delta.new_file().path_bytes() == Some(path.as_bytes())
        {
            return Ok(Some(delta.old_file().id()));
        }
    }
    Ok(None)
}

/// The rule id of a finding that says a gate's own config or baseline changes in the range.
pub const CONFIG_CHANGE_RULE: &str = "keyfence-config-change";

/// A change to the gate's config or baseline inside the range being checked: reported, so a
/// change that weakens the gate is reviewed rather than obeyed.
fn config_change(path: &str, blob: Oid) -> Finding {
    Finding {
        rule_id: CONFIG_CHANGE_RULE.to_string(),
        description: "The keyfence config or baseline changes here; a gate does not take it \
                      from the change it checks: review it (it may allow secrets)"
            .to_string(),
        severity: crate::rules::Severity::High,
        file: Some(path.to_string()),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        secret: String::new(),
        matched: String::new(),
        matched_redacted: String::new(),
        line_text: String::new(),
        entropy: 0.0,
        fingerprint: crate::finding::fingerprint(CONFIG_CHANGE_RULE, blob.as_bytes()),
        commit: None,
        other_occurrences: 0,
        source: SourceKind::Range,
        related: Vec::new(),
        details: Default::default(),
        decoded: None,
        occurrences: Vec::new(),
        whereabouts: None,
    }
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
