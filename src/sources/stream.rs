//! Full audits from git's object stream (`--object-stream`): git inflates every object once, in
//! pack order, and the other cores scan each blob (at any path) and each selected commit's
//! message as it arrives. Only blobs with something to report are then placed in history and
//! scanned again at their paths.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use git2::{ObjectType, Oid};
use rayon::prelude::*;

use super::audit::{place_blob, HistorySource};
use super::commits::{open, scan_message, Pending};
use super::history::short;
use super::odb::{Header, ObjectStream};
use crate::driver::plural;
use crate::driver::Scanner;
use crate::finding::SourceKind;
use crate::pipeline;

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
pub(crate) fn scan_all_objects(
    scanner: &Scanner<'_>,
    source: &HistorySource<'_>,
) -> anyhow::Result<Vec<Pending>> {
    let HistorySource {
        opener,
        repo,
        commits,
        shallow,
        ..
    } = *source;
    let plan = scanner.plan();
    let stats = &scanner.stats;
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
                        scanner.count(size as u64);
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
                        scanner.tick(size as u64, u64::from(found));
                    } else if let Some(&idx) = index.get(&header.id) {
                        let found = scan_message(
                            scanner,
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
    read?;
    let t_stream = std::time::Instant::now();
    let candidates = candidates.into_inner().expect("no panics while locked");
    let mut pending = messages.into_inner().expect("no panics while locked");

    // Where the candidates (and the blobs too large to scan) sit in history.
    let mut wanted: HashSet<Oid> = candidates.clone();
    wanted.extend(oversized.iter().map(|(id, _)| *id));
    let placed = scanner.install(|| {
        crate::sources::attribution::introductions(
            opener,
            commits,
            shallow,
            &crate::sources::attribution::Wanted {
                blobs: &wanted,
                existing: &existing,
            },
        )
    })??;
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
            scanner.admit(&paths[p as usize], *size)?;
        }
    }
    // Counted once already, while streaming: placing re-reads a few blobs without counting them.
    let found = scanner.install(|| {
        work.par_iter()
            .map_init(
                || opener.open(),
                |repo, (blob, occ)| place_blob(scanner, open(repo)?, *blob, occ, &paths, false),
            )
            .collect::<anyhow::Result<Vec<_>>>()
    })??;
    pending.extend(found.into_iter().flatten());
    Ok(pending)
}
