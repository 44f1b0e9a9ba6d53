//! `keyfence protect [--staged]`: the pre-commit gate. Scans each staged blob whole and keeps
//! the findings on lines the index adds; never reads the working tree.

use std::time::Instant;

use anyhow::{bail, Context};
use git2::ObjectType;

use super::common::{human_bytes, plural, Plan, Trust};
use crate::cli::ProtectArgs;
use crate::finding::SourceKind;
use crate::pipeline::{self, MAX_FINDINGS_PER_BLOB};
use crate::sources::git::{detach_index, root_dir, Opener};
use crate::sources::staged;
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
        files += 1;
        bytes += size as u64;
        let out = pipeline::scan_bytes_capped(
            &plan.engine,
            blob.content(),
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
        let added = staged::added(&repo, change)?;
        let out = if out.truncated > 0 {
            // Over the cap: count only added lines, so old keys cannot crowd out a new one.
            pipeline::scan_bytes_where(
                &plan.engine,
                blob.content(),
                Some(&change.path),
                SourceKind::Staged,
                MAX_FINDINGS_PER_BLOB,
                &|first, last| added.any_in(first, last),
            )
        } else {
            out
        };
        if out.truncated > 0 && !plan.quiet {
            eprintln!(
                "keyfence: warning: {}: over {MAX_FINDINGS_PER_BLOB} findings on staged lines; \
                 reported the first {MAX_FINDINGS_PER_BLOB}, left out {} more",
                change.path, out.truncated
            );
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
