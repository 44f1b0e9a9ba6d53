//! Loose objects checked before libgit2 reads them. The bundled libgit2 (1.9.x) inflates a loose
//! object in a loop that waits for the end of the zlib stream; a file truncated by a crash or a
//! full disk never reaches it, and the loop spins forever at 100% CPU. A gate that hangs is a
//! gate that someone kills and bypasses, so objects are verified here first, cheaply: only loose
//! ones (packs are read by other code), and by gates only those they are about to read or, for
//! commit walks, every loose object (usually a few hundred small files).

use std::path::{Path, PathBuf};

use flate2::{Decompress, FlushDecompress, Status};
use git2::Oid;

/// A loose object that cannot be inflated to its end.
#[derive(Debug, thiserror::Error)]
#[error(
    "object {id} is damaged ({why}; loose object file {path}); git and keyfence cannot read \
     it. Run `git fsck`, then restore the object (e.g. `git fetch` it again) or remove it if \
     nothing needs it"
)]
pub(crate) struct DamagedObject {
    pub(crate) id: String,
    pub(crate) path: PathBuf,
    pub(crate) why: String,
}

/// The file of object `oid` in `objects` (whether or not it exists).
fn object_path(objects: &Path, oid: Oid) -> PathBuf {
    let hex = oid.to_string();
    objects.join(&hex[..2]).join(&hex[2..])
}

/// Checks one object if it is loose in any of `objects_dirs`; packed or absent objects pass.
pub(crate) fn check(objects_dirs: &[PathBuf], oid: Oid) -> Result<(), DamagedObject> {
    for dir in objects_dirs {
        let path = object_path(dir, oid);
        if path.is_file() {
            return check_file(&path);
        }
    }
    Ok(())
}

/// Checks every loose object under each of `objects_dirs`; returns how many were checked.
pub(crate) fn check_all(objects_dirs: &[PathBuf]) -> Result<usize, DamagedObject> {
    let mut n = 0;
    for dir in objects_dirs {
        let Ok(fans) = std::fs::read_dir(dir) else {
            continue;
        };
        for fan in fans.flatten() {
            let name = fan.file_name();
            let name = name.to_string_lossy();
            if name.len() != 2 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let Ok(files) = std::fs::read_dir(fan.path()) else {
                continue;
            };
            for file in files.flatten() {
                let fname = file.file_name();
                let fname = fname.to_string_lossy();
                // Objects only: git's own temporary files (tmp_obj_*) are not read by anyone.
                if fname.len() >= 38 && fname.bytes().all(|b| b.is_ascii_hexdigit()) {
                    check_file(&file.path())?;
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

/// Inflates the whole file into a small scratch buffer; the stream must end where the file does.
fn check_file(path: &Path) -> Result<(), DamagedObject> {
    // objects/ab/cdef… → abcdef…
    let id = path
        .parent()
        .and_then(|d| d.file_name())
        .zip(path.file_name())
        .map(|(a, b)| format!("{}{}", a.to_string_lossy(), b.to_string_lossy()))
        .unwrap_or_default();
    let damaged = |why: String| DamagedObject {
        id: id.clone(),
        path: path.to_path_buf(),
        why,
    };
    let input = std::fs::read(path).map_err(|e| damaged(format!("cannot read it: {e}")))?;
    let mut z = Decompress::new(true);
    let mut scratch = vec![0u8; 64 << 10];
    loop {
        let consumed = z.total_in() as usize;
        let before_out = z.total_out();
        let status = z
            .decompress(&input[consumed..], &mut scratch, FlushDecompress::None)
            .map_err(|e| damaged(format!("bad zlib data: {e}")))?;
        match status {
            Status::StreamEnd => return Ok(()),
            _ if z.total_in() as usize == consumed && z.total_out() == before_out => {
                return Err(damaged("truncated: the compressed data ends early".into()));
            }
            _ => {}
        }
    }
}

/// The object directories a repository reads: its own and those the environment adds.
pub(crate) fn object_dirs(repo: &git2::Repository) -> Vec<PathBuf> {
    let mut dirs = vec![repo.commondir().join("objects")];
    if let Some(d) = std::env::var_os("GIT_OBJECT_DIRECTORY") {
        dirs.push(PathBuf::from(d));
    }
    if let Some(list) = std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
        dirs.extend(std::env::split_paths(&list));
    }
    dirs.sort();
    dirs.dedup();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn whole_streams_pass_and_truncated_ones_fail() {
        let dir = tempfile::tempdir().unwrap();
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        let body: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        enc.write_all(b"blob 800000\0").unwrap();
        enc.write_all(&body).unwrap();
        let whole = enc.finish().unwrap();
        let ok = dir.path().join("ok");
        std::fs::write(&ok, &whole).unwrap();
        if let Err(e) = check_file(&ok) {
            panic!("{e}");
        }
        let cut = dir.path().join("cut");
        std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
        let err = check_file(&cut).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
