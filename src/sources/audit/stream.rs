//! Full audits from git's object stream (`--object-stream`): git inflates every object once, in
//! pack order, and the other cores scan each blob (at any path) and each selected commit's
//! message as it arrives. Only blobs with something to report are then placed in history and
//! scanned again at their paths.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use git2::{ObjectType, Oid};
use rayon::prelude::*;

use super::{place_blob, HistorySource};
use crate::driver::plural;
use crate::driver::Scanner;
use crate::finding::SourceKind;
use crate::pipeline;
use crate::sources::commits::{open, scan_message, Pending};
use crate::sources::error::SourceError;
use crate::sources::history::short;
use crate::sources::odb::{Header, ObjectStream};

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
/// the commit walk (`sources::audit`). Opt-in (`--object-stream`): with the full rule set the scanning, not the
/// reading, is the cost, and this path measured slower than the commit walk on terraform.
pub(crate) fn scan_all_objects(
    scanner: &Scanner<'_>,
    source: &HistorySource<'_>,
) -> Result<Vec<Pending>, SourceError> {
    let HistorySource {
        opener,
        repo,
        commits,
        shallow,
        ..
    } = *source;
    let plan = scanner.plan();
    let index: HashMap<Oid, u32> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i as u32))
        .collect();
    let streamed = stream(scanner, repo, &index)?;
    let t_stream = std::time::Instant::now();
    // Where the candidates (and the blobs too large to scan) sit in history.
    let mut wanted: HashSet<Oid> = streamed.candidates.clone();
    wanted.extend(streamed.oversized.iter().map(|(id, _)| *id));
    let placed = scanner.install(|| {
        crate::sources::attribution::introductions(
            opener,
            commits,
            shallow,
            &crate::sources::attribution::Wanted {
                blobs: &wanted,
                existing: &streamed.existing,
            },
        )
    })??;
    if plan.verbose {
        plan.note(&format!(
            "placed {} with findings in history in {:.2}s",
            plural(streamed.candidates.len() as u64, "blob"),
            t_stream.elapsed().as_secs_f64()
        ));
    }
    let mut paths = Paths::default();
    let work: Vec<(Oid, Vec<(u32, u32)>)> = streamed
        .candidates
        .iter()
        .map(|blob| (*blob, paths.of(placed.get(blob))))
        .filter(|(_, occ)| !occ.is_empty())
        .collect();
    for (blob, size) in &streamed.oversized {
        let occ = paths.of(placed.get(blob));
        // As a blob scan would have said it: at its first path not allowlisted.
        let path = occ
            .iter()
            .map(|&(_, p)| paths.names[p as usize].as_str())
            .find(|p| !scanner.path_allowed(p));
        if let Some(path) = path {
            scanner.admit(path, *size)?;
        }
    }
    // Counted once already, while streaming: placing re-reads a few blobs without counting them.
    let paths = paths.names;
    let found = scanner.install(|| {
        work.par_iter()
            .map_init(
                || opener.open(),
                |repo, (blob, occ)| place_blob(scanner, open(repo)?, *blob, occ, &paths, false),
            )
            .collect::<Result<Vec<_>, SourceError>>()
    })??;
    let mut pending = streamed.messages;
    pending.extend(found.into_iter().flatten());
    Ok(pending)
}

/// Paths by index, each once.
#[derive(Default)]
struct Paths {
    names: Vec<String>,
    ids: HashMap<std::sync::Arc<str>, u32>,
}

impl Paths {
    /// The (commit, path index) of each place a blob was introduced.
    fn of(&mut self, placed: Option<&Vec<(u32, std::sync::Arc<str>)>>) -> Vec<(u32, u32)> {
        let Some(v) = placed else {
            return Vec::new();
        };
        v.iter()
            .map(|(c, p)| {
                let next = self.names.len() as u32;
                let names = &mut self.names;
                let id = *self.ids.entry(p.clone()).or_insert_with(|| {
                    names.push(p.to_string());
                    next
                });
                (*c, id)
            })
            .collect()
    }
}

/// What the stream saw: blobs with something to report, findings in commit messages (by commit
/// index), every blob that exists, and the blobs over the size limit.
struct Streamed {
    candidates: HashSet<Oid>,
    messages: Vec<Pending>,
    existing: HashSet<Oid>,
    oversized: Vec<(Oid, u64)>,
}

/// Reads every object from git's stream on this thread while `--threads` workers scan them.
fn stream(
    scanner: &Scanner<'_>,
    repo: &git2::Repository,
    index: &HashMap<Oid, u32>,
) -> Result<Streamed, SourceError> {
    let max = scanner.plan().max_file_size;
    let mut stream = ObjectStream::spawn(repo.path())?;
    let mut existing: HashSet<Oid> = HashSet::new();
    let mut oversized: Vec<(Oid, u64)> = Vec::new();
    let found = Found::default();
    let budget = Budget {
        used: Mutex::new(0),
        freed: std::sync::Condvar::new(),
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Header, Vec<u8>)>(256);
    let rx = Mutex::new(rx);
    std::thread::scope(|scope| -> Result<(), SourceError> {
        let workers: Vec<_> = (0..scanner.plan().threads.max(1))
            .map(|_| scope.spawn(|| work(scanner, &rx, index, &found, &budget)))
            .collect();
        let mut reading = || -> Result<(), SourceError> {
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
            w.join().map_err(|_| SourceError::Panicked)??;
        }
        result
    })?;
    Ok(Streamed {
        candidates: found
            .candidates
            .into_inner()
            .expect("no panics while locked"),
        messages: found.messages.into_inner().expect("no panics while locked"),
        existing,
        oversized,
    })
}

/// What the workers found, shared between them.
#[derive(Default)]
struct Found {
    candidates: Mutex<HashSet<Oid>>,
    messages: Mutex<Vec<Pending>>,
}

/// One worker: scans each blob at any path (only whether it holds something matters here) and
/// each selected commit's message, until the reader is done.
fn work(
    scanner: &Scanner<'_>,
    rx: &Mutex<std::sync::mpsc::Receiver<(Header, Vec<u8>)>>,
    index: &HashMap<Oid, u32>,
    found: &Found,
    budget: &Budget,
) -> Result<(), SourceError> {
    loop {
        let next = rx.lock().expect("no panics while locked").recv();
        let Ok((header, bytes)) = next else {
            return Ok(());
        };
        let size = bytes.len();
        if header.kind == ObjectType::Blob {
            let out = pipeline::scan_any_path(scanner.engine(), &bytes, 1);
            scanner.count(size as u64);
            if out.binary {
                scanner.stats.binary.fetch_add(1, Ordering::Relaxed);
            }
            let any = !out.findings.is_empty() || out.truncated > 0;
            if any {
                let mut c = found.candidates.lock().expect("no panics while locked");
                c.insert(header.id);
            }
            scanner.tick(size as u64, u64::from(any));
        } else if let Some(&idx) = index.get(&header.id) {
            let what = format!("message of commit {}", short(header.id));
            let kind = SourceKind::CommitMessage;
            let in_message = scan_message(scanner, raw_message(&bytes), &what, kind)?;
            if !in_message.is_empty() {
                let mut m = found.messages.lock().expect("no panics while locked");
                m.extend(in_message.into_iter().map(|f| (f, idx)));
            }
        }
        budget.release(size);
    }
}
