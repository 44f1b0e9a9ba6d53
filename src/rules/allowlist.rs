//! Allowlists: paths, regexes, stopwords and commits that are known not to be leaks, compiled
//! once (a rule's own, or the global union of every file's).

use aho_corasick::AhoCorasick;
use globset::{GlobSet, GlobSetBuilder};

use super::pattern::{compile_glob, LazyRegex, RegexBudget};
use super::spec::{AllowlistSpec, RegexTarget};

/// A compiled allowlist: paths, regexes, stopwords and commits that are known not to be leaks.
#[derive(Debug, Default)]
pub(crate) struct Allowlist {
    paths: Option<GlobSet>,
    pub(super) regexes: Vec<(LazyRegex, RegexTarget)>,
    stopwords: Option<AhoCorasick>,
    commits: Vec<String>,
}

/// The text a candidate came from, for allowlist checks.
pub(crate) struct Candidate<'a> {
    pub(crate) secret: &'a [u8],
    pub(crate) matched: &'a [u8],
    pub(crate) line: &'a [u8],
}

impl Allowlist {
    /// Compiles several specs into one allowlist (a rule's own, or the global union). An error
    /// names the index of the spec at fault and never echoes a pattern, which may hold a secret.
    /// `deferred`: the specs are shipped ones whose regexes compile on first use.
    /// `budget`: `None` for shipped specs, whose regexes compile on first use.
    pub(super) fn compile(
        specs: &[&AllowlistSpec],
        mut budget: Option<&mut RegexBudget>,
    ) -> Result<Allowlist, (usize, String)> {
        let mut out = Allowlist::default();
        let mut globs = GlobSetBuilder::new();
        let mut any_glob = false;
        let mut stopwords = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            for (n, g) in spec.paths.iter().enumerate() {
                globs.add(compile_glob(g).map_err(|e| (i, format!("allowlist paths[{n}]: {e}")))?);
                any_glob = true;
            }
            for (n, r) in spec.regexes.iter().enumerate() {
                let Some(budget) = budget.as_deref_mut() else {
                    out.regexes
                        .push((LazyRegex::deferred(r), spec.regex_target));
                    continue;
                };
                let re = budget
                    .build(r)
                    .map_err(|e| (i, format!("allowlist regexes[{n}]: {}", e.describe(r))))?;
                out.regexes
                    .push((LazyRegex::compiled(re, r), spec.regex_target));
            }
            stopwords.extend(spec.stopwords.iter().map(|s| s.to_ascii_lowercase()));
            out.commits
                .extend(spec.commits.iter().map(|c| c.to_ascii_lowercase()));
        }
        if any_glob {
            out.paths = Some(
                globs
                    .build()
                    .map_err(|e| (0, format!("allowlist paths: {}", e.kind())))?,
            );
        }
        if !stopwords.is_empty() {
            // Checked against short secrets only: the cheapest automaton to build (a DFA per
            // rule cost more at startup than a pre-commit gate's whole scan).
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                .build(&stopwords)
                .map_err(|e| (0, format!("allowlist stopwords: {e}")))?;
            out.stopwords = Some(ac);
        }
        Ok(out)
    }

    /// True when the candidate is allowlisted by a regex or a stopword.
    pub(crate) fn allows(&self, c: &Candidate<'_>) -> bool {
        if let Some(sw) = &self.stopwords {
            if sw.is_match(c.secret) {
                return true;
            }
        }
        self.regexes.iter().any(|(re, target)| {
            re.regex().is_match(match target {
                RegexTarget::Secret => c.secret,
                RegexTarget::Match => c.matched,
                RegexTarget::Line => c.line,
            })
        })
    }

    /// True when the path is allowlisted.
    pub(crate) fn allows_path(&self, path: &str) -> bool {
        self.paths.as_ref().is_some_and(|g| g.is_match(path))
    }

    /// True when the commit (full or abbreviated id) is allowlisted.
    pub(crate) fn allows_commit(&self, commit: &str) -> bool {
        let commit = commit.to_ascii_lowercase();
        self.commits
            .iter()
            .any(|c| !c.is_empty() && (commit.starts_with(c.as_str()) || c.starts_with(&commit)))
    }

    pub(crate) fn has_paths(&self) -> bool {
        self.paths.is_some()
    }
}
