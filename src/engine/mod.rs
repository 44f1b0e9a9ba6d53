//! The detection engine: compiled once from a [`RuleSet`], shared read-only by every worker.
//!
//! Per blob: one prefilter pass over all rules' keywords picks the rules worth running, then
//! each picked rule's `regex::bytes` runs over the blob; candidates go through entropy, the
//! rule's validator and the allowlists. The engine knows nothing of files, git or output.

pub mod decode;
pub(crate) mod entropy;
pub(crate) mod prefilter;
pub(crate) mod validate;

use std::ops::Range;

pub(crate) use crate::blob::line_around;
use crate::rules::InlineAllow;
use crate::rules::{Candidate, Rule, RuleSet};
use prefilter::Prefilter;

/// Where scanned content sits, as far as path-dependent rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At<'a> {
    /// At this path (relative to the config root).
    Path(&'a str),
    /// At no path (stdin, a commit message): path-restricted rules do not run.
    Unknown,
    /// At whatever path: every rule runs, no path allowlist applies.
    AnyPath,
}

impl<'a> From<Option<&'a str>> for At<'a> {
    fn from(path: Option<&'a str>) -> Self {
        path.map_or(At::Unknown, At::Path)
    }
}

/// A rule matched: byte offsets only, turned into a `Finding` once it survives the filters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Match {
    /// Index into [`Engine::rules`].
    pub(crate) rule: usize,
    /// The whole regex match.
    pub(crate) span: Range<usize>,
    /// The secret inside it (the `secret` group, or the whole match).
    pub(crate) secret: Range<usize>,
    pub(crate) entropy: f64,
}

/// Rules compiled with their keyword prefilter.
#[derive(Debug)]
pub struct Engine {
    rules: RuleSet,
    prefilter: Option<Prefilter>,
    /// For each prefilter pattern, the rules that own that keyword.
    pattern_rules: Vec<Vec<usize>>,
    /// Rules without keywords: they run on every blob.
    always: Vec<usize>,
    /// Whether inline `keyfence:allow` markers count (the gate's operator decides).
    inline_allow: InlineAllow,
}

impl Engine {
    pub fn new(rules: RuleSet) -> Engine {
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (i, rule) in rules.rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                always.push(i);
            }
            for kw in &rule.keywords {
                match patterns.iter().position(|p| p == kw) {
                    Some(p) => pattern_rules[p].push(i),
                    None => {
                        patterns.push(kw.clone());
                        pattern_rules.push(vec![i]);
                    }
                }
            }
        }
        let prefilter = Prefilter::new(&patterns);
        Engine {
            rules,
            prefilter,
            pattern_rules,
            always,
            inline_allow: InlineAllow::On,
        }
    }

    /// Sets whether inline `keyfence:allow` markers count.
    pub(crate) fn with_inline_allow(mut self, policy: InlineAllow) -> Engine {
        self.inline_allow = policy;
        self
    }

    pub(crate) fn inline_allow(&self) -> InlineAllow {
        self.inline_allow
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules.rules
    }

    pub(crate) fn rule_set(&self) -> &RuleSet {
        &self.rules
    }

    /// How the rules treat `path`, as a value to compare: two paths with the same class get the
    /// same findings from the same bytes (which path-restricted rules run, which rule path
    /// allowlists apply, whether Terraform blocks are named).
    pub(crate) fn path_class(&self, path: &str) -> Vec<bool> {
        let mut class = vec![crate::terraform::is_terraform_path(path)];
        for rule in &self.rules.rules {
            if rule.paths.is_some() {
                class.push(rule.paths.as_ref().is_some_and(|g| g.is_match(path)));
            }
            if rule.allowlist.has_paths() {
                class.push(rule.allowlist.allows_path(path));
            }
        }
        class
    }

    /// True when the global allowlist excludes this path; sources may skip reading it.
    pub(crate) fn path_allowed(&self, path: &str) -> bool {
        self.rules.allowlist.allows_path(path)
    }

    /// Finds every match in `bytes`. `path`, when known, drives `paths` restrictions and path
    /// allowlists of rules.
    pub(crate) fn scan(&self, bytes: &[u8], path: Option<&str>) -> Vec<Match> {
        self.scan_where(bytes, path, &|_| true)
    }

    /// [`Engine::scan`] with only the rules `keep` accepts (text hidden in binary content is
    /// scanned with the rules whose shapes are distinctive enough there).
    pub(crate) fn scan_where(
        &self,
        bytes: &[u8],
        path: Option<&str>,
        keep: &dyn Fn(&Rule) -> bool,
    ) -> Vec<Match> {
        self.scan_at(bytes, At::from(path), keep)
    }

    /// Matches of the rules `keep` accepts, for content seen `at` a path, at no known path, or
    /// at any path (every rule runs and no path allowlist applies: a superset, for finding which
    /// blobs are worth placing before their paths are known).
    pub(crate) fn scan_at(
        &self,
        bytes: &[u8],
        at: At<'_>,
        keep: &dyn Fn(&Rule) -> bool,
    ) -> Vec<Match> {
        let mut out = Vec::new();
        if let At::Path(p) = at {
            if self.path_allowed(p) {
                return out;
            }
        }
        let selected = self.select_rules(bytes);
        for idx in selected {
            if keep(&self.rules.rules[idx]) {
                self.run_rule(idx, bytes, at, &mut out);
            }
        }
        dedupe_overlaps(&mut out);
        out
    }

    /// The rules whose keywords occur in `bytes` (one prefilter pass), plus keyword-less ones.
    fn select_rules(&self, bytes: &[u8]) -> Vec<usize> {
        let n = self.rules.rules.len();
        let mut picked = vec![false; n];
        let mut remaining = n;
        for &i in &self.always {
            picked[i] = true;
            remaining -= 1;
        }
        if let (Some(pf), true) = (&self.prefilter, remaining > 0) {
            pf.for_each_present(bytes, |p| {
                for &r in &self.pattern_rules[p] {
                    if !picked[r] {
                        picked[r] = true;
                        remaining -= 1;
                    }
                }
                remaining > 0
            });
        }
        picked
            .iter()
            .enumerate()
            .filter_map(|(i, &p)| p.then_some(i))
            .collect()
    }

    fn run_rule(&self, idx: usize, bytes: &[u8], at: At<'_>, out: &mut Vec<Match>) {
        let rule = &self.rules.rules[idx];
        match at {
            At::Path(p) => {
                if rule.paths.as_ref().is_some_and(|g| !g.is_match(p)) {
                    return;
                }
                if rule.allowlist.allows_path(p) {
                    return;
                }
            }
            // A path-restricted rule (e.g. tfstate only) cannot apply to content of unknown path.
            At::Unknown if rule.paths.is_some() => return,
            At::Unknown | At::AnyPath => {}
        }
        let regex = rule.regex.regex();
        let mut locs = regex.capture_locations();
        let mut at = 0;
        while at <= bytes.len() {
            let Some(whole) = regex.captures_read_at(&mut locs, bytes, at) else {
                break;
            };
            // Guarantee progress on empty matches.
            at = if whole.end() > whole.start() {
                whole.end()
            } else {
                whole.end() + 1
            };
            let secret = rule
                .regex
                .secret_group()
                .and_then(|g| locs.get(g))
                .map(|(s, e)| s..e)
                .unwrap_or(whole.start()..whole.end());
            if secret.is_empty() {
                continue;
            }
            let secret_bytes = &bytes[secret.clone()];
            let entropy = entropy::shannon(secret_bytes);
            if rule.entropy.is_some_and(|min| entropy < min) {
                continue;
            }
            if rule.validator.is_some_and(|v| !v.check(secret_bytes)) {
                continue;
            }
            let candidate = Candidate {
                secret: secret_bytes,
                matched: &bytes[whole.start()..whole.end()],
                line: line_around(bytes, secret.start),
            };
            if crate::filters::allowlisted(rule, &self.rules.allowlist, &candidate) {
                continue;
            }
            out.push(Match {
                rule: idx,
                span: whole.start()..whole.end(),
                secret,
                entropy,
            });
        }
    }
}

/// One secret, one finding: when several rules catch the same or overlapping bytes (a named
/// secret that also follows a key ID, a token that the generic rule also sees), the first rule in
/// pack order wins. Leaves matches sorted by position.
fn dedupe_overlaps(out: &mut Vec<Match>) {
    if out.len() < 2 {
        return;
    }
    out.sort_by_key(|m| (m.rule, m.secret.start, m.secret.end));
    let mut kept: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    out.retain(|m| {
        let s = &m.secret;
        let before = kept.range(..s.end).next_back();
        if before.is_some_and(|(_, &end)| end > s.start) {
            return false;
        }
        kept.insert(s.start, s.end);
        true
    });
    out.sort_by_key(|m| (m.secret.start, m.secret.end, m.rule));
}
