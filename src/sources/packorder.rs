//! Where each object sits in the repository's packfiles, so blobs can be read in storage order.
//!
//! Reading blobs in object-id order jumps around the packs, and every jump to a deltified object
//! re-inflates its delta chain. Reading in pack order lets libgit2's delta-base cache serve the
//! bases, which is what makes `git cat-file --batch-all-objects --unordered` fast. Only the `.idx`
//! files are read (version 2, the only version git has written since 2007). They are parsed here
//! rather than with `gix-pack`'s index reader, which would add 29 crates (and about 38 s of CPU
//! to a clean debug build) for a fan-out table and a binary search.

use std::path::Path;

/// Sort key of an object: (pack number, offset in pack). Objects in no pack sort last.
pub(crate) type StorageKey = (u32, u64);

/// The `.idx` files of one repository, loaded once.
#[derive(Debug, Default)]
pub(crate) struct PackOrder {
    packs: Vec<PackIndex>,
}

#[derive(Debug)]
struct PackIndex {
    fanout: [u32; 256],
    bytes: Vec<u8>,
    count: usize,
}

impl PackIndex {
    fn parse(bytes: Vec<u8>) -> Option<PackIndex> {
        // v2: magic \377tOc, version 2, 256 fanout entries, then ids, crcs, offsets, large offsets.
        if bytes.len() < 8 + 256 * 4 || bytes[..4] != [0xff, b't', b'O', b'c'] {
            return None;
        }
        if u32::from_be_bytes(bytes[4..8].try_into().ok()?) != 2 {
            return None;
        }
        let mut fanout = [0u32; 256];
        for (i, f) in fanout.iter_mut().enumerate() {
            let at = 8 + i * 4;
            *f = u32::from_be_bytes(bytes[at..at + 4].try_into().ok()?);
        }
        let count = fanout[255] as usize;
        let needed = 8 + 256 * 4 + count * (20 + 4 + 4);
        if bytes.len() < needed {
            return None;
        }
        Some(PackIndex {
            fanout,
            bytes,
            count,
        })
    }

    fn id(&self, i: usize) -> &[u8] {
        let at = 8 + 256 * 4 + i * 20;
        &self.bytes[at..at + 20]
    }

    fn offset(&self, i: usize) -> Option<u64> {
        let base = 8 + 256 * 4 + self.count * 24;
        let at = base + i * 4;
        let small = u32::from_be_bytes(self.bytes.get(at..at + 4)?.try_into().ok()?);
        if small & 0x8000_0000 == 0 {
            return Some(u64::from(small));
        }
        let large = base + self.count * 4 + (small & 0x7fff_ffff) as usize * 8;
        Some(u64::from_be_bytes(
            self.bytes.get(large..large + 8)?.try_into().ok()?,
        ))
    }

    fn find(&self, id: &[u8]) -> Option<u64> {
        let first = id[0] as usize;
        let lo = if first == 0 {
            0
        } else {
            self.fanout[first - 1] as usize
        };
        let hi = self.fanout[first] as usize;
        if lo > hi || hi > self.count {
            return None;
        }
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.id(mid).cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.offset(mid),
            }
        }
        None
    }
}

impl PackOrder {
    /// Loads every readable `objects/pack/*.idx` under `git_dir`. Unreadable or unknown index
    /// files are skipped: ordering is an optimisation, never a reason to fail a scan.
    pub(crate) fn load(git_dir: &Path) -> PackOrder {
        let dir = git_dir.join("objects").join("pack");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "idx"))
            .collect();
        files.sort();
        let packs = files
            .into_iter()
            .filter_map(|p| std::fs::read(p).ok())
            .filter_map(PackIndex::parse)
            .collect();
        PackOrder { packs }
    }

    /// The storage position of an object id (20 raw bytes).
    pub(crate) fn key(&self, id: &[u8]) -> StorageKey {
        for (n, pack) in self.packs.iter().enumerate() {
            if let Some(off) = pack.find(id) {
                return (n as u32, off);
            }
        }
        (u32::MAX, 0)
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn finds_offsets_of_packed_objects_in_a_real_pack() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@e"])
                .args(args)
                .current_dir(dir.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        git(&["init", "-q"]);
        for i in 0..5 {
            std::fs::write(
                dir.path().join(format!("f{i}.txt")),
                format!("content {i}\n"),
            )
            .unwrap();
        }
        git(&["add", "."]);
        git(&["commit", "-qm", "c"]);
        git(&["gc", "-q"]);
        let order = PackOrder::load(&dir.path().join(".git"));
        assert!(!order.is_empty());
        let listing = git(&["verify-pack", "-v", &find_idx(dir.path())]);
        let mut checked = 0;
        for line in listing.lines() {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() >= 5 && cols[0].len() == 40 {
                let id: Vec<u8> = (0..20)
                    .map(|i| u8::from_str_radix(&cols[0][i * 2..i * 2 + 2], 16).unwrap())
                    .collect();
                assert_eq!(order.key(&id), (0, cols[4].parse().unwrap()));
                checked += 1;
            }
        }
        assert!(checked >= 7, "checked {checked}");
        assert_eq!(order.key(&[0u8; 20]), (u32::MAX, 0));
    }

    /// Kept hand-written (a crate's reader would add 29 crates to the build). What a real pack in
    /// a test cannot show: an object past 2 GiB, whose offset git keeps in the 64-bit table, and
    /// index files that are damaged or not indexes, which are skipped rather than trusted.
    #[test]
    fn reads_large_offsets_and_skips_broken_index_files() {
        let ids = [[0x10u8; 20], [0xa0u8; 20]];
        let mut idx = vec![0xff, b't', b'O', b'c', 0, 0, 0, 2];
        for first in 0..256usize {
            let n = ids.iter().filter(|id| usize::from(id[0]) <= first).count() as u32;
            idx.extend(n.to_be_bytes());
        }
        for id in &ids {
            idx.extend(id);
        }
        idx.extend([0u8; 8]); // CRC-32s, not read
        idx.extend(12u32.to_be_bytes());
        idx.extend(0x8000_0000u32.to_be_bytes()); // entry 0 of the 64-bit table
        idx.extend((5u64 << 32).to_be_bytes());
        let dir = tempfile::tempdir().unwrap();
        let packs = dir.path().join("objects/pack");
        std::fs::create_dir_all(&packs).unwrap();
        std::fs::write(packs.join("a.idx"), &idx).unwrap();
        std::fs::write(packs.join("b.idx"), b"not an index").unwrap();
        std::fs::write(packs.join("c.idx"), &idx[..idx.len() - 20]).unwrap();
        let order = PackOrder::load(dir.path());
        assert_eq!(order.packs.len(), 1, "damaged indexes are skipped");
        assert_eq!(order.key(&ids[0]), (0, 12));
        assert_eq!(order.key(&ids[1]), (0, 5 << 32));
        assert_eq!(order.key(&[0x55; 20]), (u32::MAX, 0));
    }

    fn find_idx(repo: &Path) -> String {
        std::fs::read_dir(repo.join(".git/objects/pack"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
}
