//! Git LFS: a tracked file's blob is only a pointer (`version https://git-lfs.github.com/spec/v1`,
//! `oid sha256:…`, `size …`); its content lives in `.git/lfs/objects/`. Scanning the pointer
//! finds nothing, so gates scan the object when it is present locally.

use std::path::PathBuf;

/// The largest pointer file git-lfs writes is well under this; bigger blobs are not pointers.
const MAX_POINTER: usize = 1024;

/// An LFS pointer: the object's SHA-256 and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    pub oid: String,
    pub size: u64,
}

/// Parses `blob` as an LFS pointer, if it is one.
pub fn pointer(blob: &[u8]) -> Option<Pointer> {
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
    pub fn local_path(&self, repo: &git2::Repository) -> PathBuf {
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
