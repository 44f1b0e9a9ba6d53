//! The text report's view of history: findings of one secret (in commits, at several paths) are
//! one block that says where the secret is now and everywhere it has been, instead of repeating
//! a whereabouts line per finding. JSON keeps every finding and occurrence.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use super::escape_control as esc;
use crate::finding::Finding;

/// Findings grouped by secret (fingerprint) in the order each secret first appears; only
/// findings from commits are grouped, every other finding is a group of its own.
pub(super) fn by_secret(findings: &[Finding]) -> Vec<Vec<&Finding>> {
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for f in findings {
        if f.commit.is_none() {
            groups.push(vec![f]);
            continue;
        }
        match at.get(f.fingerprint.as_str()) {
            Some(&i) => groups[i].push(f),
            None => {
                at.insert(&f.fingerprint, groups.len());
                groups.push(vec![f]);
            }
        }
    }
    groups
}

/// `path:line:column`, or `commit message:line:column`, escaped.
pub(super) fn place(f: &Finding) -> String {
    match &f.file {
        Some(file) => format!("{}:{}:{}", esc(file), f.line, f.column),
        None => format!("commit message:{}:{}", f.line, f.column),
    }
}

/// The group's lines after its first finding's: where the secret is now, then one line per
/// place it has been (each finding's path and commit, how many versions there held it, and
/// that path's whereabouts), then paths that only occurrences name.
pub(super) fn write(
    out: &mut dyn Write,
    group: &[&Finding],
    paint: &dyn Fn(&str, &str) -> String,
) -> std::io::Result<()> {
    let known: Vec<_> = group
        .iter()
        .filter_map(|f| f.whereabouts.as_ref())
        .collect();
    if !known.is_empty() {
        let mut head: Vec<&str> = known
            .iter()
            .flat_map(|w| w.head_paths.iter().map(String::as_str))
            .collect();
        head.sort_unstable();
        head.dedup();
        let mut now = if head.is_empty() {
            "where it is now: not in HEAD".to_string()
        } else {
            format!("where it is now: in HEAD at {}", head.join(", "))
        };
        let published = known.iter().any(|w| w.published);
        if published {
            now.push_str("; published (a remote-tracking ref reaches it)");
        }
        let code = if published || !head.is_empty() {
            "1"
        } else {
            "2"
        };
        writeln!(out, "    {}", paint(code, &esc(&now)))?;
    }
    writeln!(out, "    where it has been:")?;
    for f in group {
        let mut line = format!("{}  {}", place(f), commit_of(f));
        let versions = f
            .occurrences
            .iter()
            .filter(|o| Some(&o.file) == f.file.as_ref())
            .count();
        if versions > 1 {
            line.push_str(&format!("  ({versions} versions)"));
        }
        match &f.whereabouts {
            Some(w) => {
                line.push_str(": ");
                writeln!(
                    out,
                    "      {}{}",
                    line,
                    paint(w.emphasis(), &esc(&w.line()))
                )?;
            }
            None => writeln!(out, "      {line}")?,
        }
    }
    elsewhere(out, group)
}

/// `commit 0123456789ab  summary`, escaped.
fn commit_of(f: &Finding) -> String {
    f.commit.as_ref().map_or_else(String::new, |c| {
        let short: String = c.id.chars().take(12).collect();
        format!("commit {}  {}", esc(&short), esc(&c.summary))
    })
}

/// Paths that the group's occurrences name but none of its findings sits at (a finding there
/// was filtered out): where they were first seen and in how many versions.
fn elsewhere(out: &mut dyn Write, group: &[&Finding]) -> std::io::Result<()> {
    // Each finding lists the secret's occurrences: the same places, seen once. Sets, not list
    // scans: a secret kept in a file for a thousand versions has a thousand occurrences per
    // finding.
    let own: HashSet<&str> = group.iter().filter_map(|f| f.file.as_deref()).collect();
    let mut seen: HashSet<&crate::finding::Occurrence> = HashSet::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut paths: Vec<(&str, usize, &str, usize)> = Vec::new();
    for o in group.iter().flat_map(|f| &f.occurrences) {
        if own.contains(o.file.as_str()) || !seen.insert(o) {
            continue;
        }
        match at.get(o.file.as_str()) {
            Some(&i) => paths[i].3 += 1,
            None => {
                at.insert(&o.file, paths.len());
                paths.push((&o.file, o.line, &o.commit, 1));
            }
        }
    }
    for (path, line, commit, n) in paths {
        let short: String = commit.chars().take(12).collect();
        let mut s = format!("{}:{line}  commit {}", esc(path), esc(&short));
        if n > 1 {
            s.push_str(&format!("  ({n} versions)"));
        }
        writeln!(out, "      {s}")?;
    }
    Ok(())
}
