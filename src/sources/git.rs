//! Git plumbing shared by the staged, history and range sources: opening the repository the way
//! git itself would (hooks run with `GIT_DIR` and a quarantine object directory), commit
//! provenance, and which lines of a blob are new relative to older versions of it.
//! Nothing here knows about rules.

use std::path::{Path, PathBuf};

use git2::{FileMode, Oid, Repository};

use super::error::{Object, SourceError};
use crate::finding::Commit;

/// How to open the repository again on another thread (one `Repository` per worker).
#[derive(Debug, Clone)]
pub(crate) enum Opener {
    /// As git describes it to hooks: `GIT_DIR`, `GIT_OBJECT_DIRECTORY`,
    /// `GIT_ALTERNATE_OBJECT_DIRECTORIES` (the pre-receive quarantine), else discovery from cwd.
    Env,
    /// A git directory found once by discovery, plus object directories the environment adds
    /// (a pre-receive hook run with `--repo` still sees the pushed objects in quarantine).
    Path(PathBuf, Vec<PathBuf>),
}

/// libgit2's object cache budget (parsed trees and commits, counted across every open
/// repository; 256 MB by default). Measured on a 20,000-commit history: 256 MB peaks at 390 MB
/// RSS with one thread, 48 MB at 240 MB, for the same speed with two threads (a history walk
/// reads each tree twice, close together in time, so a small cache keeps most hits).
const OBJECT_CACHE_BYTES: usize = 48 << 20;

/// Pack bytes libgit2 keeps mapped at once, across every open repository.
const MAPPED_PACK_BYTES: usize = 96 << 20;

/// Caps libgit2's object cache; see [`OBJECT_CACHE_BYTES`].
fn limit_object_cache(bytes: usize) {
    // SAFETY: GIT_OPT_SET_CACHE_MAX_SIZE takes one ssize_t. The caller has already made a
    // `git2::opts` call, which initialises libgit2, and no repository is open yet.
    unsafe {
        libgit2_sys::git_libgit2_opts(
            libgit2_sys::GIT_OPT_SET_CACHE_MAX_SIZE as std::ffi::c_int,
            bytes as isize,
        );
    }
}

/// Object directories the environment names besides the repository's own: git sets these for
/// hooks (`GIT_OBJECT_DIRECTORY` is the quarantine during pre-receive).
fn env_object_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("GIT_OBJECT_DIRECTORY") {
        dirs.push(PathBuf::from(d));
    }
    if let Some(list) = std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
        dirs.extend(std::env::split_paths(&list));
    }
    dirs.retain(|d| d.is_dir());
    dirs
}

fn add_object_dirs(repo: &Repository, dirs: &[PathBuf]) -> Result<(), git2::Error> {
    if dirs.is_empty() {
        return Ok(());
    }
    let odb = repo.odb()?;
    for d in dirs {
        odb.add_disk_alternate(&d.to_string_lossy())?;
    }
    Ok(())
}

/// Explains a repository libgit2 cannot open when the reason is knowable: SHA-256 object format.
fn open_error(dir: Option<&Path>, err: git2::Error) -> SourceError {
    let git_dir = match dir {
        Some(d) if d.join(".git").is_dir() => d.join(".git"),
        Some(d) => d.to_path_buf(),
        None => std::env::var_os("GIT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".git")),
    };
    let config = std::fs::read_to_string(git_dir.join("config")).unwrap_or_default();
    let sha256 = config.lines().any(|l| {
        let l = l.trim().to_ascii_lowercase().replace(' ', "");
        l == "objectformat=sha256"
    });
    if sha256 {
        return SourceError::Sha256 { git_dir };
    }
    match dir {
        Some(dir) => SourceError::NotARepository {
            dir: dir.to_path_buf(),
            source: err,
        },
        None => SourceError::NoRepository(err),
    }
}

impl Opener {
    /// `--repo DIR` discovers from DIR; without it the environment and cwd decide, as for git.
    pub(crate) fn new(repo: Option<&Path>) -> Result<(Opener, Repository), SourceError> {
        // A scanner reads objects, it does not vouch for them: re-hashing every object read
        // costs a tenth of a pre-commit run on a large repository and finds nothing a secret
        // scan needs.
        git2::opts::strict_hash_verification(false);
        limit_object_cache(OBJECT_CACHE_BYTES);
        // SAFETY: plain global settings, made before any repository is opened. Mapped pack
        // windows count as resident memory once touched; libgit2's default limit (8 GB on 64-bit)
        // let a history walk keep every pack of a large repository mapped in every worker.
        unsafe {
            let _ = git2::opts::set_mwindow_mapped_limit(MAPPED_PACK_BYTES);
        }
        match repo {
            Some(dir) => {
                let r = Repository::discover(dir).map_err(|e| open_error(Some(dir), e))?;
                let extra = env_object_dirs();
                add_object_dirs(&r, &extra)?;
                Ok((Opener::Path(r.path().to_path_buf(), extra), r))
            }
            None => {
                let r = Repository::open_from_env().map_err(|e| open_error(None, e))?;
                Ok((Opener::Env, r))
            }
        }
    }

    /// A handle for a worker, which only reads objects (see [`detach_index`]).
    pub(crate) fn open(&self) -> Result<Repository, git2::Error> {
        let repo = match self {
            Opener::Env => Repository::open_from_env()?,
            Opener::Path(p, extra) => {
                let r = Repository::open(p)?;
                add_object_dirs(&r, extra)?;
                r
            }
        };
        detach_index(&repo)?;
        Ok(repo)
    }
}

/// Gives `repo` an empty in-memory index. Blob diffs ([`added_lines`]) look up diff attributes,
/// and for that libgit2 loads and checksums the whole index: 50 ms per handle in a 50,000-file
/// repository. Line numbers do not depend on attributes (diffs are forced to text), so a handle
/// that only reads objects is better off without the index.
pub(crate) fn detach_index(repo: &Repository) -> Result<(), git2::Error> {
    repo.set_index(&mut git2::Index::new()?)
}

/// Where config is looked up for a repository: the work tree, or the git dir when bare.
pub(crate) fn root_dir(repo: &Repository) -> PathBuf {
    repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf()
}

/// Regular files only: submodules (gitlinks), symlinks and trees are not content.
pub(crate) fn is_file_mode(mode: FileMode) -> bool {
    is_regular(i32::from(mode))
}

/// [`is_file_mode`] on a raw tree-entry mode (`0o100644`, `0o100755`): the one definition of
/// "a regular file" for every git source.
pub(crate) fn is_regular(mode: i32) -> bool {
    mode == 0o100644 || mode == 0o100755
}

/// Commits whose parents a shallow clone does not have (`$GIT_COMMON_DIR/shallow`).
pub(crate) fn shallow_commits(repo: &Repository) -> Vec<Oid> {
    if !repo.is_shallow() {
        return Vec::new();
    }
    let file = repo.commondir().join("shallow");
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| Oid::from_str(l.trim()).ok())
        .collect()
}

/// Provenance of a commit as findings carry it.
pub(crate) fn commit_info(c: &git2::Commit<'_>) -> Commit {
    let author = c.author();
    Commit {
        id: c.id().to_string(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        date: rfc3339(author.when()),
        summary: String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned(),
    }
}

/// `git2::Time` → `2024-05-01T12:34:56+02:00`.
pub(crate) fn rfc3339(t: git2::Time) -> String {
    let offset = i64::from(t.offset_minutes());
    let local = t.seconds() + offset * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 60,
        off % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date (inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `--since`: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[Z|±HH:MM]` or `@<unix seconds>` → unix seconds.
pub(crate) fn parse_since(s: &str) -> Result<i64, SourceError> {
    let s = s.trim();
    if let Some(n) = s.strip_prefix('@') {
        return n.parse().map_err(|source| SourceError::NotUnixTime {
            text: s.to_string(),
            source,
        });
    }
    let bad = || SourceError::NotADate(s.to_string());
    // Every valid form is ASCII; checking first keeps the byte slicing below on char boundaries.
    if s.len() < 10 || !s.is_ascii() {
        return Err(bad());
    }
    let (date, rest) = s.split_at(10);
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3 {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: u32 = parts[1].parse().map_err(|_| bad())?;
    let d: u32 = parts[2].parse().map_err(|_| bad())?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[m as usize - 1] {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let rest = rest.strip_prefix(['T', ' ']).unwrap_or(rest);
    if rest.is_empty() {
        return Ok(secs);
    }
    if rest.len() < 8 {
        return Err(bad());
    }
    let (time, zone) = rest.split_at(8);
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if hms.len() != 3 || !(0..24).contains(&hms[0]) || !(0..60).contains(&hms[1]) {
        return Err(bad());
    }
    if !(0..=60).contains(&hms[2]) {
        return Err(bad());
    }
    secs += hms[0] * 3600 + hms[1] * 60 + hms[2];
    match zone {
        "" | "Z" | "z" => {}
        z if (z.starts_with('+') || z.starts_with('-')) && z.len() == 6 => {
            let h: i64 = z[1..3].parse().map_err(|_| bad())?;
            let mi: i64 = z[4..6].parse().map_err(|_| bad())?;
            if &z[3..4] != ":" || h > 23 || mi > 59 {
                return Err(bad());
            }
            let off = (h * 60 + mi) * 60;
            secs -= if z.starts_with('-') { -off } else { off };
        }
        _ => return Err(bad()),
    }
    Ok(secs)
}

/// 1-based line numbers of a blob that count as new: every line, or a sorted list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lines {
    All,
    Some(Vec<u32>),
}

impl Lines {
    pub(crate) fn none() -> Lines {
        Lines::Some(Vec::new())
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Lines::Some(v) if v.is_empty())
    }

    /// True when any line in `first..=last` is new.
    pub(crate) fn any_in(&self, first: usize, last: usize) -> bool {
        match self {
            Lines::All => true,
            Lines::Some(v) => {
                let i = v.partition_point(|&l| (l as usize) < first);
                v.get(i).is_some_and(|&l| (l as usize) <= last.max(first))
            }
        }
    }

    /// Lines new relative to every one of several old versions.
    pub(crate) fn intersect(self, other: Lines) -> Lines {
        match (self, other) {
            (Lines::All, x) | (x, Lines::All) => x,
            (Lines::Some(a), Lines::Some(b)) => Lines::Some(
                a.into_iter()
                    .filter(|l| b.binary_search(l).is_ok())
                    .collect(),
            ),
        }
    }
}

/// The lines of blob `new` that a diff from blob `old` adds (`None`: the file is new, so all).
pub(crate) fn added_lines(
    repo: &Repository,
    old: Option<Oid>,
    new: Oid,
) -> Result<Lines, SourceError> {
    let Some(old) = old.filter(|o| !o.is_zero()) else {
        return Ok(Lines::All);
    };
    if old == new {
        return Ok(Lines::none());
    }
    let old_blob = repo
        .find_blob(old)
        .map_err(|e| SourceError::missing(Object::Blob(old), e))?;
    let new_blob = repo
        .find_blob(new)
        .map_err(|e| SourceError::missing(Object::Blob(new), e))?;
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(0).force_text(true).interhunk_lines(0);
    let patch = git2::Patch::from_blobs(&old_blob, None, &new_blob, None, Some(&mut opts))?;
    let mut lines = Vec::new();
    for h in 0..patch.num_hunks() {
        for l in 0..patch.num_lines_in_hunk(h)? {
            let line = patch.line_in_hunk(h, l)?;
            if line.origin() == '+' {
                if let Some(n) = line.new_lineno() {
                    lines.push(n);
                }
            }
        }
    }
    lines.sort_unstable();
    lines.dedup();
    Ok(Lines::Some(lines))
}

/// Resolves a revision to a commit, with a message that names it.
pub(crate) fn commit_of(repo: &Repository, rev: &str) -> Result<Oid, SourceError> {
    let obj = repo.revparse_single(rev).map_err(|source| {
        if repo.is_shallow() {
            SourceError::UnknownInShallow(rev.to_string())
        } else {
            SourceError::UnknownRevision {
                rev: rev.to_string(),
                source,
            }
        }
    })?;
    match obj.peel_to_commit() {
        Ok(c) => Ok(c.id()),
        Err(_) => Err(SourceError::NotACommit(rev.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let t = git2::Time::new(1_700_000_000, 120);
        assert_eq!(rfc3339(t), "2023-11-15T00:13:20+02:00");
        let t = git2::Time::new(0, -330);
        assert_eq!(rfc3339(t), "1969-12-31T18:30:00-05:30");
        assert_eq!(parse_since("2023-11-14").unwrap(), 1_699_920_000);
        assert_eq!(parse_since("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        assert_eq!(
            parse_since("2023-11-15T00:13:20+02:00").unwrap(),
            1_700_000_000
        );
        assert!(parse_since("yesterday").is_err());
        for bad in [
            "2023-11-14T99:99:99Z",
            "2023-02-30",
            "2023-11-14T10:00:00+25:00",
            "2023-11-1\u{e9}",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
            "2023-11-14T10:00:0\u{e9}",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
        assert!(parse_since("2024-02-29").is_ok());
    }

    #[test]
    fn line_sets_intersect_and_probe_ranges() {
        let a = Lines::Some(vec![1, 3, 5]);
        let b = Lines::Some(vec![3, 4, 5]);
        assert_eq!(a.clone().intersect(b), Lines::Some(vec![3, 5]));
        assert_eq!(a.clone().intersect(Lines::All), a);
        assert!(a.any_in(2, 3));
        assert!(!a.any_in(4, 4));
        assert!(Lines::All.any_in(9, 9));
    }
}
