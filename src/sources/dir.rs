//! Files and directory trees: a parallel walk on `ignore` (honours .gitignore/.ignore, keeps
//! hidden files such as `.env`, never enters `.git/`), plus single files and stdin.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

/// What the walk may read.
#[derive(Debug, Clone)]
pub struct DirOptions {
    pub no_ignore: bool,
    pub max_file_size: u64,
    pub threads: usize,
    /// Name every entry the ignore rules pruned (for `--verbose`); the count is always kept.
    pub list_ignored: bool,
}

/// A file's bytes and both of its names.
pub struct FileBlob<'a> {
    /// As shown to the user (the path as given, joined with what the walk found).
    pub display: &'a str,
    /// Relative to the scan root, for path globs.
    pub relative: &'a str,
    pub bytes: &'a [u8],
}

/// What the walk saw besides the files it handed over.
#[derive(Debug, Default)]
pub struct DirStats {
    pub files: u64,
    pub bytes: u64,
    /// Files over `--max-file-size`, with their size.
    pub too_large: Vec<(String, u64)>,
    /// Files or directories that could not be read, with the reason.
    pub unreadable: Vec<(String, String)>,
    /// Symlinks, FIFOs, sockets and devices met in the walk.
    pub not_regular: Vec<String>,
    /// Entries (files or whole directories) that .gitignore, .ignore, .git/info/exclude or the
    /// global excludes pruned: an ignored directory counts once, its contents are never read.
    pub ignored: u64,
    /// Their paths (a directory with a trailing `/`), only with `DirOptions::list_ignored`.
    pub ignored_paths: Vec<String>,
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
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Walks `roots` in parallel and calls `visit` for every regular file that fits the size limit.
/// Errors on single files are recorded and the walk goes on; a root that does not exist is the
/// caller's to reject beforehand.
pub fn walk<F>(roots: &[PathBuf], opts: &DirOptions, visit: F) -> DirStats
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

fn push<T>(m: &Mutex<Vec<T>>, item: T) {
    if let Ok(mut v) = m.lock() {
        v.push(item);
    }
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

/// Reads standard input, up to the size limit.
pub fn read_stdin(max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(max + 1)
        .read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= max).then_some(buf))
}
