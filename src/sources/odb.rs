//! Every object of a repository, inflated once, in pack order: `git cat-file --batch-all-objects
//! --batch --unordered`. A full-history audit reads each blob exactly once this way, at the speed
//! git itself inflates objects (with git's delta-base cache and no per-object lookups), while
//! other cores scan what has already arrived.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use git2::{ObjectType, Oid};

/// An object read from the stream: its id, type and size; the bytes are in the caller's buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) id: Oid,
    pub(crate) kind: ObjectType,
    pub(crate) size: u64,
}

/// Reading the object stream failed: git could not be run, or the stream is not what git writes
/// (a damaged object makes git stop early, which is reported, never taken as the end).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamError {
    #[error("cannot run `git cat-file` to read the objects: {0}")]
    Spawn(std::io::Error),
    #[error("reading the objects from `git cat-file` failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("`git cat-file` wrote an unexpected header line ({0} bytes); is git too old?")]
    Header(usize),
    #[error(
        "`git cat-file` stopped with {status} before every object was read ({stderr}); the \
         repository may be damaged: run `git fsck`"
    )]
    Exit { status: String, stderr: String },
}

/// The running `git cat-file` and its output.
pub(crate) struct ObjectStream {
    child: Child,
    out: BufReader<ChildStdout>,
    line: Vec<u8>,
}

impl ObjectStream {
    /// Starts git on the repository at `git_dir` (objects of alternates included, as git sees them).
    pub(crate) fn spawn(git_dir: &Path) -> Result<ObjectStream, StreamError> {
        let mut child = Command::new("git")
            .arg("--git-dir")
            .arg(git_dir)
            .args(["cat-file", "--batch-all-objects", "--batch", "--unordered"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(StreamError::Spawn)?;
        let out = child.stdout.take().expect("stdout is piped");
        Ok(ObjectStream {
            child,
            out: BufReader::with_capacity(1 << 20, out),
            line: Vec::with_capacity(128),
        })
    }

    /// The next object: its header, with its content in `buf` (replaced) when `keep(header)` is
    /// true, else skipped without being kept. `None` at the end of a complete stream.
    pub(crate) fn next(
        &mut self,
        buf: &mut Vec<u8>,
        keep: impl Fn(&Header) -> bool,
    ) -> Result<Option<Header>, StreamError> {
        self.line.clear();
        if self.out.read_until(b'\n', &mut self.line)? == 0 {
            self.finish()?;
            return Ok(None);
        }
        let header = parse_header(&self.line).ok_or(StreamError::Header(self.line.len()))?;
        buf.clear();
        if keep(&header) {
            buf.reserve_exact(header.size as usize);
            (&mut self.out).take(header.size).read_to_end(buf)?;
            if buf.len() as u64 != header.size {
                return Err(StreamError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        } else {
            let copied =
                std::io::copy(&mut (&mut self.out).take(header.size), &mut std::io::sink())?;
            if copied != header.size {
                return Err(StreamError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
        let mut nl = [0u8; 1];
        self.out.read_exact(&mut nl)?;
        Ok(Some(header))
    }

    /// Waits for git; a failure after a clean-looking end is still a failure.
    fn finish(&mut self) -> Result<(), StreamError> {
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(StreamError::Exit {
                status: status.to_string(),
                stderr: stderr.trim().chars().take(300).collect(),
            })
        }
    }
}

impl Drop for ObjectStream {
    fn drop(&mut self) {
        // Stopped early (an error elsewhere): do not leave git running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `<oid> <type> <size>\n`.
fn parse_header(line: &[u8]) -> Option<Header> {
    let line = std::str::from_utf8(line.strip_suffix(b"\n")?).ok()?;
    let mut parts = line.split(' ');
    let id = Oid::from_str(parts.next()?).ok()?;
    let kind = match parts.next()? {
        "blob" => ObjectType::Blob,
        "tree" => ObjectType::Tree,
        "commit" => ObjectType::Commit,
        "tag" => ObjectType::Tag,
        _ => return None,
    };
    let size = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some(Header { id, kind, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_and_junk_does_not() {
        let h = parse_header(b"ce013625030ba8dba906f756967f9e9ca394464a blob 6\n").unwrap();
        assert_eq!(h.kind, ObjectType::Blob);
        assert_eq!(h.size, 6);
        assert!(parse_header(b"ce013625030ba8dba906f756967f9e9ca394464a missing\n").is_none());
        assert!(parse_header(b"nothing\n").is_none());
    }
}
