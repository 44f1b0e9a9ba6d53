//! The end of every scan: sorted findings written as the report (to stdout or, whole or not at
//! all, to a file), and the exit status they mean.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::OutputError;
use super::plan::Plan;
use super::plural;
use crate::finding::Finding;
use crate::report::{self, escape_control};
use crate::ExitStatus;

impl Plan {
    /// Sorts the (filtered) findings, adds verification verdicts and writes the report.
    pub(crate) fn emit(&self, findings: &mut [Finding]) -> Result<ExitStatus, OutputError> {
        findings.sort_by(|a, b| {
            (
                &a.file,
                a.line,
                a.column,
                &a.rule_id,
                a.commit.as_ref().map(|c| &c.date),
            )
                .cmp(&(
                    &b.file,
                    b.line,
                    b.column,
                    &b.rule_id,
                    b.commit.as_ref().map(|c| &c.date),
                ))
        });
        // Offline signals always; STS only with --verify. Live keys move to the front.
        let mut opts = self.report.clone();
        opts.verdicts = crate::verify::annotate(findings, self.verify.as_ref());
        if self.report.redact {
            let in_summaries = secrets_in_summaries(&self.engine, findings);
            crate::finding::redact_cross_references(findings, &in_summaries);
        }
        let status = if findings.is_empty() {
            ExitStatus::Clean
        } else {
            ExitStatus::Findings
        };
        match &self.output {
            Some(path) => {
                let file = ReportFile::create(path, !self.report.redact)?;
                // Reporters write in small pieces: buffer them (a syscall per JSON token is slow).
                let mut out = std::io::BufWriter::new(file);
                // A plain message, not the io::Error: a broken pipe here (a FIFO's reader gone)
                // lost the report, and must exit 2, not pass as a closed stdout does in `run`.
                report::write(&mut out, findings, self.engine.rule_set(), &opts)
                    .and_then(|()| out.flush())
                    .map_err(|e| OutputError::Write {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                let file = out.into_inner().map_err(|e| e.into_error())?;
                file.commit()?;
            }
            None => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                let written = report::write(&mut out, findings, self.engine.rule_set(), &opts)
                    .and_then(|()| out.flush());
                match written {
                    // The reader stopped early (`| head`): the findings still exist, and a
                    // pipeline's status must say so, not pass.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        if status == ExitStatus::Findings && !self.quiet {
                            eprintln!(
                                "keyfence: output closed before all {} were written",
                                plural(findings.len() as u64, "finding")
                            );
                        }
                        // Nothing more can go to stdout: drop the buffer without a last flush.
                        let _ = out.into_parts();
                    }
                    other => other?,
                }
            }
        }
        Ok(status)
    }
}

/// A report or baseline file being written: a temp file beside the destination, renamed over it
/// by [`ReportFile::commit`], so a reader never sees half a report and an existing file is replaced
/// whole. A symlink at the destination is refused, never followed: a planted `report.json ->
/// ~/.bashrc` must not be overwritten (with raw secrets under `--no-redact`). A file holding raw
/// secrets is created readable by its owner only. Dropped uncommitted, the temp file is removed.
pub(crate) struct ReportFile {
    file: Option<std::fs::File>,
    temp: PathBuf,
    dest: PathBuf,
}

impl ReportFile {
    pub(crate) fn create(dest: &Path, holds_secrets: bool) -> Result<ReportFile, OutputError> {
        refuse_symlink(dest)?;
        // A device or a pipe (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written in place:
        // renaming a temp file over it would replace the device itself.
        if let Ok(meta) = std::fs::symlink_metadata(dest) {
            if !meta.is_file() && !meta.is_dir() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(dest)
                    .map_err(|e| create_error(dest, e))?;
                return Ok(ReportFile {
                    file: Some(file),
                    temp: PathBuf::new(),
                    dest: dest.to_path_buf(),
                });
            }
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .ok_or_else(|| OutputError::NotAFileName(dest.to_path_buf()))?;
        let mut opts = OpenOptions::new();
        // create_new: O_EXCL, so a name planted between two attempts is never opened.
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if holds_secrets { 0o600 } else { 0o666 });
        }
        let mut attempt = 0u32;
        loop {
            let temp = dir.join(format!(
                ".{}.{}.{attempt}.tmp",
                name.to_string_lossy(),
                std::process::id()
            ));
            match opts.open(&temp) {
                Ok(file) => {
                    #[cfg(unix)]
                    if holds_secrets {
                        use std::os::unix::fs::PermissionsExt;
                        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                    }
                    return Ok(ReportFile {
                        file: Some(file),
                        temp,
                        dest: dest.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(create_error(dest, e)),
            }
        }
    }

    /// Flushes the data to disk and renames the temp file over the destination.
    pub(crate) fn commit(mut self) -> Result<(), OutputError> {
        if self.temp.as_os_str().is_empty() {
            // Written in place (a device or a pipe): nothing to rename.
            if let Some(mut file) = self.file.take() {
                file.flush().map_err(|e| create_error(&self.dest, e))?;
            }
            return Ok(());
        }
        if let Some(file) = self.file.take() {
            file.sync_all().map_err(|e| create_error(&self.dest, e))?;
        }
        // Checked again: a symlink planted while the report was being written is refused too
        // (rename would replace the link, not follow it, but the user should hear of it).
        refuse_symlink(&self.dest)?;
        std::fs::rename(&self.temp, &self.dest).map_err(|e| create_error(&self.dest, e))?;
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Write for ReportFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Ok(0),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for ReportFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn create_error(dest: &Path, source: std::io::Error) -> OutputError {
    OutputError::Create {
        path: dest.to_path_buf(),
        source,
    }
}

fn refuse_symlink(dest: &Path) -> Result<(), OutputError> {
    if std::fs::symlink_metadata(dest).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(OutputError::Symlink(
            escape_control(&dest.display().to_string()).into_owned(),
        ));
    }
    Ok(())
}

/// Secrets that the engine finds in the findings' commit summaries: a key pasted into a commit
/// message is redacted in the summary even when no scan reported that message itself.
fn secrets_in_summaries(engine: &crate::engine::Engine, findings: &[Finding]) -> Vec<String> {
    let mut summaries: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.commit.as_ref().map(|c| c.summary.as_str()))
        .collect();
    summaries.sort_unstable();
    summaries.dedup();
    summaries
        .into_iter()
        .flat_map(|s| {
            engine
                .scan(s.as_bytes(), None)
                .into_iter()
                .map(move |m| String::from_utf8_lossy(&s.as_bytes()[m.secret]).into_owned())
        })
        .collect()
}
