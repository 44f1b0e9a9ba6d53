//! The detection engine: compiled once from a [`RuleSet`], shared read-only by every worker.
//!
//! Per blob: one prefilter pass finds every hit of every rule's keywords, which picks the rules
//! worth running; each picked rule's regex then runs around its keywords' hits where every match
//! must hold a keyword and is of bounded length (see [`crate::rules`]' `reach`), else over the
//! whole blob. Candidates go through entropy, the rule's validator and the allowlists. The engine
//! knows nothing of files, git or output.

pub mod decode;
pub(crate) mod entropy;
pub(crate) mod prefilter;
pub(crate) mod validate;
#[cfg(test)]
mod windows_agree;

use std::ops::Range;

pub(crate) use crate::blob::line_around;
use crate::rules::InlineAllow;
use crate::rules::{Candidate, Reach, Rule, RuleSet};
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
    /// For each rule, its prefilter patterns.
    rule_patterns: Vec<Vec<usize>>,
    /// Each prefilter pattern's length in bytes.
    pattern_lens: Vec<usize>,
    /// Rules without keywords: they run on every blob.
    always: Vec<usize>,
    /// Whether inline `keyfence:allow` markers count (the gate's operator decides).
    inline_allow: InlineAllow,
    /// Whether rules with a [`Reach`] are searched only around their keywords' hits (off only
    /// in tests, as the reference those searches must agree with).
    windowed: bool,
}

impl Engine {
    pub fn new(rules: RuleSet) -> Engine {
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        let mut rule_patterns = vec![Vec::new(); rules.rules.len()];
        let mut always = Vec::new();
        for (i, rule) in rules.rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                always.push(i);
            }
            for kw in &rule.keywords {
                let p = match patterns.iter().position(|p| p == kw) {
                    Some(p) => p,
                    None => {
                        patterns.push(kw.clone());
                        pattern_rules.push(Vec::new());
                        patterns.len() - 1
                    }
                };
                if !pattern_rules[p].contains(&i) {
                    pattern_rules[p].push(i);
                    rule_patterns[i].push(p);
                }
            }
        }
        let prefilter = Prefilter::new(&patterns);
        Engine {
            rules,
            prefilter,
            pattern_rules,
            rule_patterns,
            pattern_lens: patterns.iter().map(String::len).collect(),
            always,
            inline_allow: InlineAllow::On,
            windowed: true,
        }
    }

    /// Searches every picked rule over whole blobs: what windowed searches must agree with.
    #[cfg(test)]
    pub(crate) fn searching_whole_blobs(mut self) -> Engine {
        self.windowed = false;
        self
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
        let hits = self.keyword_hits(bytes);
        for idx in self.select_rules(&hits) {
            if keep(&self.rules.rules[idx]) {
                self.run_rule(idx, bytes, at, &hits, &mut out);
            }
        }
        dedupe_overlaps(&mut out);
        out
    }

    /// Every keyword hit in `bytes` (one prefilter pass), sorted by pattern, then start.
    fn keyword_hits(&self, bytes: &[u8]) -> Vec<(u32, usize)> {
        let mut hits = Vec::new();
        if let Some(pf) = &self.prefilter {
            // Keyword numbers fit (a config has at most 10,000 keywords); offsets may not.
            pf.for_each_hit(bytes, |p, at| hits.push((p as u32, at)));
        }
        hits.sort_unstable();
        hits
    }

    /// The rules owning a keyword that occurs, plus keyword-less ones, in rule order.
    fn select_rules(&self, hits: &[(u32, usize)]) -> Vec<usize> {
        let mut picked = vec![false; self.rules.rules.len()];
        for &i in &self.always {
            picked[i] = true;
        }
        let mut last = None;
        for &(p, _) in hits {
            if last != Some(p) {
                last = Some(p);
                for &r in &self.pattern_rules[p as usize] {
                    picked[r] = true;
                }
            }
        }
        picked
            .iter()
            .enumerate()
            .filter_map(|(i, &p)| p.then_some(i))
            .collect()
    }

    /// Where rule `idx` is searched: around its keywords' hits, as far as its matches can
    /// reach from one (see [`Reach`]), merged where they overlap and in order.
    fn spans(
        &self,
        idx: usize,
        bytes: &[u8],
        reach: Reach,
        hits: &[(u32, usize)],
    ) -> Vec<Range<usize>> {
        let mut spans: Vec<Range<usize>> = Vec::new();
        for &p in &self.rule_patterns[idx] {
            let from = hits.partition_point(|&(q, _)| q < p as u32);
            let to = hits.partition_point(|&(q, _)| q <= p as u32);
            let kw = self.pattern_lens[p];
            // A keyword longer than the longest match is never inside one (a config may add
            // such a keyword to a rule): its hits say nothing.
            if reach.bytes.is_some_and(|n| kw > n) {
                continue;
            }
            spans.extend(
                hits[from..to]
                    .iter()
                    .map(|&(_, at)| around(bytes, at..at + kw, reach)),
            );
        }
        spans.sort_unstable_by_key(|s| s.start);
        // Merged in place.
        let mut kept = 0;
        for i in 0..spans.len() {
            if kept > 0 && spans[i].start <= spans[kept - 1].end {
                spans[kept - 1].end = spans[kept - 1].end.max(spans[i].end);
            } else {
                spans[kept] = spans[i].clone();
                kept += 1;
            }
        }
        spans.truncate(kept);
        spans
    }

    fn run_rule(
        &self,
        idx: usize,
        bytes: &[u8],
        at: At<'_>,
        hits: &[(u32, usize)],
        out: &mut Vec<Match>,
    ) {
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
        let search = rule.regex.search(&rule.keywords);
        let mut caps = search.regex.create_captures();
        match search.reach.filter(|_| self.windowed) {
            None => self.search_span(idx, search, bytes, 0..bytes.len(), &mut caps, out),
            Some(reach) => {
                for span in self.spans(idx, bytes, reach, hits) {
                    self.search_span(idx, search, bytes, span, &mut caps, out);
                }
            }
        }
    }

    /// The matches of rule `idx` in `span`, as a search from the span's start would find them
    /// one after the other; look-around sees the bytes beyond the span.
    fn search_span(
        &self,
        idx: usize,
        search: &crate::rules::RuleSearch,
        bytes: &[u8],
        span: Range<usize>,
        caps: &mut regex_automata::util::captures::Captures,
        out: &mut Vec<Match>,
    ) {
        let rule = &self.rules.rules[idx];
        let mut at = span.start;
        while at <= span.end {
            let input = regex_automata::Input::new(bytes).span(at..span.end);
            search.regex.search_captures(&input, caps);
            let Some(whole) = caps.get_match() else {
                break;
            };
            // Guarantee progress on empty matches.
            at = if whole.end() > whole.start() {
                whole.end()
            } else {
                whole.end() + 1
            };
            let secret = search
                .secret_group
                .and_then(|g| caps.get_group(g))
                .map_or(whole.range(), |s| s.range());
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

/// The bytes a match holding the keyword at `kw` can cover: at most `reach.bytes` long, and
/// with at most `reach.newlines` line feeds, so starting after the line feed that many plus one
/// before the keyword and ending before the one that many plus one after it.
fn around(bytes: &[u8], kw: Range<usize>, reach: Reach) -> Range<usize> {
    let (mut start, mut end) = (0, bytes.len());
    if let Some(n) = reach.bytes {
        start = kw.end.saturating_sub(n);
        end = end.min(kw.start + n);
    }
    if let Some(n) = reach.newlines {
        let before = memchr::memrchr_iter(b'\n', &bytes[start..kw.start]).nth(n);
        start = before.map_or(start, |i| start + i + 1);
        let after = memchr::memchr_iter(b'\n', &bytes[kw.end..end]).nth(n);
        end = after.map_or(end, |i| kw.end + i);
    }
    start..end
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
