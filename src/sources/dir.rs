//! Files and directory trees: a parallel walk on `ignore` (honours .gitignore/.ignore, keeps
//! hidden files such as `.env`, never enters `.git/`), plus single files and stdin.

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
    pub not_regular: u64,
}

#[derive(Default)]
struct SharedStats {
    files: AtomicU64,
    bytes: AtomicU64,
    not_regular: AtomicU64,
    too_large: Mutex<Vec<(String, u64)>>,
    unreadable: Mutex<Vec<(String, String)>>,
}

impl SharedStats {
    fn into_stats(self) -> DirStats {
        let mut too_large = self.too_large.into_inner().unwrap_or_default();
        let mut unreadable = self.unreadable.into_inner().unwrap_or_default();
        too_large.sort();
        unreadable.sort();
        DirStats {
            files: self.files.into_inner(),
            bytes: self.bytes.into_inner(),
            too_large,
            unreadable,
            not_regular: self.not_regular.into_inner(),
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
                stats.not_regular.fetch_add(1, Ordering::Relaxed);
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
            if ft.is_dir() {
                return WalkState::Continue;
            }
            if !ft.is_file() {
                stats.not_regular.fetch_add(1, Ordering::Relaxed);
                return WalkState::Continue;
            }
            let path = entry.path();
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
