//! `keyfence protect [--staged]`: the pre-commit gate. Scans each staged blob whole and keeps
//! the findings on lines the index adds; never reads the working tree.

use std::time::Instant;

use anyhow::{bail, Context};
use git2::ObjectType;

use super::common::{human_bytes, plural, Plan, Trust};
use crate::cli::ProtectArgs;
use crate::finding::SourceKind;
use crate::pipeline::{self, MAX_FINDINGS_PER_BLOB};
use crate::sources::git::Lines;
use crate::sources::git::{detach_index, root_dir, Opener};
use crate::sources::{lfs, staged};
use crate::ExitStatus;

pub fn run(args: &ProtectArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let (_, repo) = Opener::new(args.repo.as_deref())?;
    if repo.is_bare() {
        bail!(
            "a bare repository has no index to protect; use `keyfence hook pre-receive` on servers"
        );
    }
    // git works out the staged changes while the rules compile.
    let pending = staged::start(&repo);
    let plan = Plan::build_for(
        &args.common,
        &Trust::Local {
            root: root_dir(&repo),
        },
    )?;
    let changes = pending.finish(&repo)?;
    // From here on only objects are read.
    detach_index(&repo)?;
    let odb = repo.odb()?;
    let object_dirs = crate::sources::loose::object_dirs(&repo);
    let mut findings = Vec::new();
    let (mut files, mut bytes, mut binary) = (0u64, 0u64, 0u64);
    for change in &changes {
        if plan.engine.path_allowed(&change.path) {
            continue;
        }
        // Staged blobs are loose: a truncated one would hang libgit2 (see `sources::loose`).
        crate::sources::loose::check(&object_dirs, change.blob)?;
        if let Some(old) = change.old {
            crate::sources::loose::check(&object_dirs, old)?;
        }
        let (size, kind) = odb
            .read_header(change.blob)
            .with_context(|| format!("staged blob of {} is missing", change.path))?;
        if kind != ObjectType::Blob {
            bail!(
                "staged entry {} names object {}, a {kind}, not a file's content; the \
                 repository is damaged (run `git fsck`)",
                change.path,
                change.blob
            );
        }
        if size as u64 > plan.max_file_size {
            // A gate does not wave through what it did not read.
            bail!(
                "staged file {} is {} ({size} bytes), over --max-file-size ({} bytes), so the \
                 commit cannot be checked and is blocked; rerun with a larger --max-file-size \
                 (e.g. `keyfence protect --max-file-size {}`), or keep such files out of git",
                change.path,
                human_bytes(size as u64),
                plan.max_file_size,
                (size as u64).next_power_of_two()
            );
        }
        let blob = repo.find_blob(change.blob)?;
        // A Git LFS pointer: the content is the object in .git/lfs, which `git add` put there.
        let lfs = match lfs::pointer(blob.content()) {
            Some(ptr) => Some(read_lfs_object(
                &repo,
                &ptr,
                &change.path,
                plan.max_file_size,
            )?),
            None => None,
        };
        let content: &[u8] = lfs.as_deref().unwrap_or(blob.content());
        files += 1;
        bytes += content.len() as u64;
        let out = pipeline::scan_bytes_capped(
            &plan.engine,
            content,
            Some(&change.path),
            SourceKind::Staged,
            MAX_FINDINGS_PER_BLOB,
        );
        if out.binary {
            binary += 1;
        }
        if out.findings.is_empty() {
            continue;
        }
        // Only now is the diff worth computing: most staged files hold no candidate at all.
        // A changed LFS pointer means new content: every line of the object counts.
        let added = match lfs {
            Some(_) => Lines::All,
            None => staged::added(&repo, change)?,
        };
        let out = if out.truncated > 0 {
            // Over the cap: count only added lines, so old keys cannot crowd out a new one.
            pipeline::scan_bytes_where(
                &plan.engine,
                content,
                Some(&change.path),
                SourceKind::Staged,
                MAX_FINDINGS_PER_BLOB,
                &|first, last| added.any_in(first, last),
            )
        } else {
            out
        };
        if out.truncated > 0 && !plan.quiet {
            plan.note(&format!(
                "warning: {}: over {MAX_FINDINGS_PER_BLOB} findings on staged lines; \
                 reported the first {MAX_FINDINGS_PER_BLOB}, left out {} more",
                change.path, out.truncated
            ));
        }
        findings.extend(
            out.findings
                .into_iter()
                .filter(|f| added.any_in(f.line, f.end_line)),
        );
    }
    let status = plan.emit(&mut findings)?;
    if !plan.quiet {
        let mut line = format!(
            "scanned {} staged ({}) in {:.3}s: {}",
            plural(files, "file"),
            human_bytes(bytes),
            started.elapsed().as_secs_f64(),
            plural(findings.len() as u64, "finding")
        );
        if binary > 0 {
            line.push_str(&format!(
                "; {binary} binary (scanned for AWS and private keys only)"
            ));
        }
        plan.note(&line);
        if status == ExitStatus::Findings {
            eprintln!(
                "keyfence: commit blocked: remove the secrets from the staged files (or mark a false \
                 positive with a `keyfence:allow` comment), then commit again"
            );
        }
    }
    Ok(status)
}

/// The content behind a staged LFS pointer. Missing, it cannot be checked: the commit is blocked.
pub(crate) fn read_lfs_object(
    repo: &git2::Repository,
    ptr: &lfs::Pointer,
    path: &str,
    max: u64,
) -> anyhow::Result<Vec<u8>> {
    let file = ptr.local_path(repo);
    if ptr.size > max {
        bail!(
            "{path} is a Git LFS file of {} bytes, over --max-file-size ({max} bytes), so it \
             cannot be checked; rerun with a larger --max-file-size",
            ptr.size
        );
    }
    std::fs::read(&file).with_context(|| {
        format!(
            "{path} is a Git LFS pointer but its object {} is not in {}, so its content cannot be \
             checked; run `git lfs fetch` (or `git lfs install` and add the file again)",
            ptr.oid,
            file.display()
        )
    })
}
