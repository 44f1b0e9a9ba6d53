//! Git LFS: a tracked file's blob is only a pointer (`version https://git-lfs.github.com/spec/v1`,
//! `oid sha256:…`, `size …`); its content lives in `.git/lfs/objects/`. Scanning the pointer
//! finds nothing, so gates scan the object when it is present locally.

use std::path::PathBuf;

use super::error::SourceError;

/// The largest pointer file git-lfs writes is well under this; bigger blobs are not pointers.
const MAX_POINTER: usize = 1024;

/// An LFS pointer: the object's SHA-256 and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pointer {
    pub(crate) oid: String,
    pub(crate) size: u64,
}

/// Parses `blob` as an LFS pointer, if it is one.
pub(crate) fn pointer(blob: &[u8]) -> Option<Pointer> {
    if blob.len() > MAX_POINTER || !blob.starts_with(b"version https://git-lfs.github.com/spec/") {
        return None;
    }
    let text = std::str::from_utf8(blob).ok()?;
    let mut oid = None;
    let mut size = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("oid sha256:") {
            let v = v.trim();
            if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                oid = Some(v.to_ascii_lowercase());
            }
        } else if let Some(v) = line.strip_prefix("size ") {
            size = v.trim().parse().ok();
        }
    }
    Some(Pointer {
        oid: oid?,
        size: size?,
    })
}

impl Pointer {
    /// Where git-lfs keeps the object in `repo` (`lfs.storage` is honoured when set).
    pub(crate) fn local_path(&self, repo: &git2::Repository) -> PathBuf {
        let storage = repo
            .config()
            .and_then(|c| c.get_path("lfs.storage"))
            .ok()
            .map(|p| {
                if p.is_absolute() {
                    p
                } else {
                    repo.commondir().join(p)
                }
            })
            .unwrap_or_else(|| repo.commondir().join("lfs"));
        storage
            .join("objects")
            .join(&self.oid[..2])
            .join(&self.oid[2..4])
            .join(&self.oid)
    }
}

/// The content behind an LFS pointer at `path`. Missing, it cannot be checked: an error.
pub(crate) fn read_object(
    repo: &git2::Repository,
    ptr: &Pointer,
    path: &str,
    max: u64,
) -> Result<Vec<u8>, SourceError> {
    let file = ptr.local_path(repo);
    if ptr.size > max {
        return Err(SourceError::LfsTooLarge {
            path: path.to_string(),
            size: ptr.size,
            max,
        });
    }
    std::fs::read(&file).map_err(|source| SourceError::LfsMissing {
        path: path.to_string(),
        oid: ptr.oid.clone(),
        file,
        source,
    })
}

/// The content behind a Git LFS pointer, when the object is here. Where it should be (the
/// developer's own gates, which push it) its absence fails the gate; elsewhere (a server, a CI
/// clone without LFS objects) it is counted and said in the summary.
pub(crate) fn content(
    scanner: &crate::driver::Scanner<'_>,
    repo: &git2::Repository,
    blob: &[u8],
    path: &str,
) -> Result<Option<Vec<u8>>, SourceError> {
    let Some(ptr) = pointer(blob) else {
        return Ok(None);
    };
    let plan = scanner.plan();
    if ptr.local_path(repo).is_file() || plan.lfs_required {
        return read_object(repo, &ptr, path, plan.max_file_size).map(Some);
    }
    scanner
        .stats
        .lfs_missing
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_parse_and_other_blobs_do_not() {
        let oid = "a".repeat(64);
        let p = format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 12\n");
        assert_eq!(
            pointer(p.as_bytes()),
            Some(Pointer {
                oid: oid.clone(),
                size: 12
            })
        );
        assert_eq!(pointer(b"version 1\n"), None);
        let bad = format!(
            "version https://git-lfs.github.com/spec/v1\noid sha256:{}\n",
            &oid[1..]
        );
        assert_eq!(pointer(bad.as_bytes()), None);
    }
}
