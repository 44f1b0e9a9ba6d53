//! Files and directory trees: a parallel walk on `ignore` (honours .gitignore/.ignore, keeps
//! hidden files such as `.env`, never enters `.git/`), plus single files and stdin.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use super::error::SourceError;
use super::{Blob, Lines, Provenance, Source};
use crate::driver::{push, Scanner, Summary};
use crate::finding::{Finding, SourceKind};

/// What the walk may read.
#[derive(Debug, Clone)]
pub(crate) struct DirOptions {
    pub(crate) no_ignore: bool,
    pub(crate) max_file_size: u64,
    pub(crate) threads: usize,
    /// Name every entry the ignore rules pruned (for `--verbose`); the count is always kept.
    pub(crate) list_ignored: bool,
}

/// A file's bytes and both of its names.
pub(crate) struct FileBlob<'a> {
    /// As shown to the user (the path as given, joined with what the walk found).
    pub(crate) display: &'a str,
    /// Relative to the scan root, for path globs.
    pub(crate) relative: &'a str,
    pub(crate) bytes: &'a [u8],
}

/// What the walk saw besides the files it handed over.
#[derive(Debug, Default)]
pub(crate) struct DirStats {
    pub(crate) files: u64,
    pub(crate) bytes: u64,
    /// Files over `--max-file-size`, with their size.
    pub(crate) too_large: Vec<(String, u64)>,
    /// Files or directories that could not be read, with the reason.
    pub(crate) unreadable: Vec<(String, String)>,
    /// Symlinks, FIFOs, sockets and devices met in the walk.
    pub(crate) not_regular: Vec<String>,
    /// Entries (files or whole directories) that .gitignore, .ignore, .git/info/exclude or the
    /// global excludes pruned: an ignored directory counts once, its contents are never read.
    pub(crate) ignored: u64,
    /// Their paths (a directory with a trailing `/`), only with `DirOptions::list_ignored`.
    pub(crate) ignored_paths: Vec<String>,
}

#[derive(Default)]
struct SharedStats {
    files: AtomicU64,
    bytes: AtomicU64,
    not_regular: Mutex<Vec<String>>,
    too_large: Mutex<Vec<(String, u64)>>,
    unreadable: Mutex<Vec<(String, String)>>,
    /// Children of the walked directories, as listed by us (`.git` excluded)...
    listed: AtomicU64,
    /// ...and as handed over by the walker: the difference is what the ignore rules pruned.
    yielded: AtomicU64,
    /// With `list_ignored`: the listed children and the yielded entries, by path.
    listed_paths: Mutex<Vec<(PathBuf, bool)>>,
    yielded_paths: Mutex<HashSet<PathBuf>>,
}

impl SharedStats {
    fn into_stats(self) -> DirStats {
        let mut too_large = self.too_large.into_inner().unwrap_or_default();
        let mut unreadable = self.unreadable.into_inner().unwrap_or_default();
        let mut not_regular = self.not_regular.into_inner().unwrap_or_default();
        too_large.sort();
        unreadable.sort();
        not_regular.sort();
        let yielded = self.yielded_paths.into_inner().unwrap_or_default();
        let mut ignored_paths: Vec<String> = self
            .listed_paths
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .filter(|(p, _)| !yielded.contains(p))
            .map(|(p, is_dir)| {
                let mut s = display_path(&p);
                if is_dir {
                    s.push('/');
                }
                s
            })
            .collect();
        ignored_paths.sort();
        DirStats {
            files: self.files.into_inner(),
            bytes: self.bytes.into_inner(),
            too_large,
            unreadable,
            not_regular,
            // A file created or removed during the walk must not underflow the count.
            ignored: self
                .listed
                .into_inner()
                .saturating_sub(self.yielded.into_inner()),
            ignored_paths,
        }
    }
}

/// The path as shown: lossy UTF-8, without a leading `./`.
pub(crate) fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Walks `roots` in parallel and calls `visit` for every regular file that fits the size limit.
/// Errors on single files are recorded and the walk goes on; a root that does not exist is the
/// caller's to reject beforehand.
pub(crate) fn walk<F>(roots: &[PathBuf], opts: &DirOptions, visit: F) -> DirStats
where
    F: Fn(&FileBlob<'_>) + Sync,
{
    let stats = SharedStats::default();
    for root in roots {
        match std::fs::metadata(root) {
            Ok(m) if m.is_file() => {
                let display = display_path(root);
                let name = root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| display.clone());
                let mut buf = Vec::new();
                read_one(root, &display, &name, opts, &stats, &mut buf, &visit);
            }
            Ok(m) if m.is_dir() => walk_dir(root, opts, &stats, &visit),
            Ok(_) => {
                push(&stats.not_regular, display_path(root));
                push(
                    &stats.unreadable,
                    (display_path(root), "not a regular file or directory".into()),
                );
            }
            Err(e) => push(&stats.unreadable, (display_path(root), e.to_string())),
        }
    }
    stats.into_stats()
}

fn walk_dir<F>(root: &Path, opts: &DirOptions, stats: &SharedStats, visit: &F)
where
    F: Fn(&FileBlob<'_>) + Sync,
{
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");
    if opts.no_ignore {
        builder
            .ignore(false)
            .git_ignore(false)
            .git_global(false)
            .git_exclude(false)
            .parents(false);
    }
    // With the ignore rules off nothing is pruned, so there is nothing to count.
    let count_ignored = !opts.no_ignore;
    builder.build_parallel().run(|| {
        let mut buf = Vec::with_capacity(64 * 1024);
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    let path = match &err {
                        ignore::Error::WithPath { path, .. } => display_path(path),
                        _ => String::new(),
                    };
                    push(&stats.unreadable, (path, err.to_string()));
                    return WalkState::Continue;
                }
            };
            let Some(ft) = entry.file_type() else {
                return WalkState::Continue;
            };
            if count_ignored {
                note_entry(&entry, ft.is_dir(), opts.list_ignored, stats);
            }
            if ft.is_dir() {
                return WalkState::Continue;
            }
            let path = entry.path();
            if !ft.is_file() {
                push(&stats.not_regular, display_path(path));
                return WalkState::Continue;
            }
            let display = display_path(path);
            let relative = path
                .strip_prefix(root)
                .map(display_path)
                .unwrap_or_else(|_| display.clone());
            read_one(path, &display, &relative, opts, stats, &mut buf, visit);
            WalkState::Continue
        })
    });
}

/// Counts what the walker pruned without asking it (it drops ignored entries silently and has
/// no hook for them): every entry it yields below the root is one child handed over, and every
/// directory it yields is listed once more here (names only, no `stat`), which gives the
/// children there were. The difference is what the ignore rules removed.
fn note_entry(entry: &ignore::DirEntry, is_dir: bool, list: bool, stats: &SharedStats) {
    if entry.depth() > 0 {
        stats.yielded.fetch_add(1, Ordering::Relaxed);
        if list {
            if let Ok(mut set) = stats.yielded_paths.lock() {
                set.insert(entry.path().to_path_buf());
            }
        }
    }
    if !is_dir {
        return;
    }
    // Unreadable directories are reported by the walker itself.
    let Ok(children) = std::fs::read_dir(entry.path()) else {
        return;
    };
    let mut n = 0;
    let mut names = Vec::new();
    for child in children.flatten() {
        if child.file_name() == ".git" {
            continue;
        }
        n += 1;
        if list {
            let is_dir = child.file_type().is_ok_and(|t| t.is_dir());
            names.push((child.path(), is_dir));
        }
    }
    stats.listed.fetch_add(n, Ordering::Relaxed);
    if list {
        if let Ok(mut v) = stats.listed_paths.lock() {
            v.extend(names);
        }
    }
}

fn read_one<F>(
    path: &Path,
    display: &str,
    relative: &str,
    opts: &DirOptions,
    stats: &SharedStats,
    buf: &mut Vec<u8>,
    visit: &F,
) where
    F: Fn(&FileBlob<'_>),
{
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return push(&stats.unreadable, (display.to_string(), e.to_string())),
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > opts.max_file_size {
        return push(&stats.too_large, (display.to_string(), size));
    }
    buf.clear();
    // Sized once from the metadata (plus the byte that tells a file grew): read_to_end through
    // `take` would otherwise grow by doubling, holding up to twice a 1 GB file in memory.
    buf.reserve_exact((size as usize).saturating_add(1));
    // `take` guards against a file that grows while we read it.
    if let Err(e) = file.take(opts.max_file_size + 1).read_to_end(buf) {
        return push(&stats.unreadable, (display.to_string(), e.to_string()));
    }
    if buf.len() as u64 > opts.max_file_size {
        return push(&stats.too_large, (display.to_string(), buf.len() as u64));
    }
    stats.files.fetch_add(1, Ordering::Relaxed);
    stats.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
    visit(&FileBlob {
        display,
        relative,
        bytes: buf,
    });
    // Do not keep one huge file's buffer alive for the rest of the walk.
    if buf.capacity() > 16 << 20 {
        *buf = Vec::with_capacity(64 * 1024);
    }
}

/// Reads standard input, up to the size limit (`None`: it is larger).
pub(crate) fn read_stdin(max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(max.saturating_add(1))
        .read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= max).then_some(buf))
}

/// The config root of a scan: the top of the git work tree holding the first path given (or the
/// current directory), as for every other command; outside a repository, the first directory
/// given, else `.`. Its `.keyfence.toml` applies and its path globs match paths relative to it.
pub(crate) fn config_root(paths: &[PathBuf]) -> PathBuf {
    let first = paths
        .iter()
        .find(|p| p.as_path() != Path::new(STDIN))
        .map_or(Path::new("."), PathBuf::as_path);
    crate::config::work_tree_of(first).unwrap_or_else(|| {
        paths
            .iter()
            .find(|p| p.is_dir())
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."))
    })
}

/// The path that names standard input.
const STDIN: &str = "-";

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

/// Files, directory trees and stdin (`-`), with rules seeing paths relative to `config_root`.
pub(crate) struct DirSource {
    pub(crate) paths: Vec<PathBuf>,
    pub(crate) no_ignore: bool,
    pub(crate) config_root: PathBuf,
}

impl Source for DirSource {
    fn summary(&self) -> Summary {
        Summary::Files
    }

    fn scan(&self, scanner: &Scanner<'_>) -> Result<Vec<Finding>, SourceError> {
        let plan = scanner.plan();
        let stdin = Path::new(STDIN);
        for p in &self.paths {
            if p != stdin && std::fs::symlink_metadata(p).is_err() {
                return Err(SourceError::NoSuchPath(p.clone()));
            }
        }
        let findings = if self.paths.iter().any(|p| p == stdin) {
            scan_stdin(scanner)?
        } else {
            Vec::new()
        };
        let findings = Mutex::new(findings);
        let opts = DirOptions {
            no_ignore: self.no_ignore,
            max_file_size: plan.max_file_size,
            threads: plan.threads,
            list_ignored: plan.verbose && !plan.quiet,
        };
        let mut stats = DirStats::default();
        // One walk per root, each knowing where it sits under the config root.
        for scan_root in self.paths.iter().filter(|p| *p != stdin) {
            let prefix = prefix_under(&self.config_root, scan_root).unwrap_or_default();
            let part = walk(std::slice::from_ref(scan_root), &opts, |file| {
                // Rules and allowlists see the path relative to the config root; the report
                // shows it as the user gave it.
                let joined;
                let relative = if prefix.is_empty() {
                    file.relative
                } else {
                    joined = format!("{prefix}/{}", file.relative);
                    joined.as_str()
                };
                let size = file.bytes.len() as u64;
                if scanner.path_allowed(relative) {
                    let mut walk = scanner.stats.walk.lock().expect("no panics while locked");
                    walk.allowlisted.push((file.display.to_string(), size));
                    return;
                }
                // Every line counts: scanning cannot fail.
                let blob = file_blob(file.bytes, relative, file.display);
                let mut found = scanner.scan(&blob).unwrap_or_default();
                if !found.is_empty() {
                    for f in &mut found {
                        f.file = Some(file.display.to_string());
                    }
                    let mut all = findings.lock().expect("no panics while locked");
                    all.extend(found);
                }
            });
            stats.files += part.files;
            stats.bytes += part.bytes;
            stats.too_large.extend(part.too_large);
            stats.unreadable.extend(part.unreadable);
            stats.not_regular.extend(part.not_regular);
            stats.ignored += part.ignored;
            stats.ignored_paths.extend(part.ignored_paths);
        }
        record(scanner, stats);
        Ok(findings.into_inner().expect("no panics while locked"))
    }
}

/// Standard input, as one file named `<stdin>`.
fn scan_stdin(scanner: &Scanner<'_>) -> Result<Vec<Finding>, SourceError> {
    let max = scanner.plan().max_file_size;
    let Some(bytes) = read_stdin(max)? else {
        return Err(SourceError::StdinTooLarge(max));
    };
    if !bytes.is_empty() {
        scanner.count(bytes.len() as u64);
    }
    scanner.scan(&file_blob(&bytes, "<stdin>", "<stdin>"))
}

/// What the walks saw, into the scan's statistics. Files a path allowlist left out were read
/// (the walk cannot know) but not scanned: they do not count.
fn record(scanner: &Scanner<'_>, stats: DirStats) {
    let s = &scanner.stats;
    s.too_large
        .lock()
        .expect("no panics while locked")
        .extend(stats.too_large);
    let mut walk = s.walk.lock().expect("no panics while locked");
    let allowed_bytes: u64 = walk.allowlisted.iter().map(|(_, n)| n).sum();
    let files = stats.files - walk.allowlisted.len() as u64;
    s.items.fetch_add(files, Ordering::Relaxed);
    s.bytes
        .fetch_add(stats.bytes - allowed_bytes, Ordering::Relaxed);
    walk.unreadable = stats.unreadable;
    walk.unreadable.sort();
    walk.not_regular = stats.not_regular;
    walk.not_regular.sort();
    walk.ignored = stats.ignored;
    walk.ignored_paths = stats.ignored_paths;
    walk.ignored_paths.sort();
    walk.allowlisted.sort();
}

fn file_blob<'a>(bytes: &'a [u8], path: &'a str, shown: &'a str) -> Blob<'a> {
    Blob {
        id: None,
        bytes,
        provenance: Provenance {
            path: Some(path),
            shown,
            kind: SourceKind::File,
        },
        lines: Lines::All,
    }
}
