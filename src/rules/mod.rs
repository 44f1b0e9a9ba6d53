//! Rules: the shipped TOML packs, the user's additions, and their compiled form.
//!
//! `spec` is the data as written; [`RuleSet::load`] merges packs and config by rule id and
//! compiles each rule once. A bad regex or an unknown field is a load error naming the file, the
//! line and the rule — never silently dropped.

pub mod advice;
pub mod check;
pub mod placeholder;
pub mod requires;
pub mod spec;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::bytes::{Regex, RegexBuilder};

use crate::engine::validate::Validator;
use crate::error::ConfigError;
use spec::{AllowlistSpec, FileSpec, RuleSpec};
pub use spec::{RegexTarget, Severity};

/// Compiled size cap for one rule's regex: a config from a scanned repository must not be able to
/// make keyfence allocate without bound.
pub const REGEX_SIZE_LIMIT: usize = 8 << 20;
/// Cap on the lazy DFA cache of one regex.
pub const DFA_SIZE_LIMIT: usize = 8 << 20;

/// What a config and the extra packs (everything but the shipped packs) may hold in total. One
/// capped regex is harmless, hundreds of them are gigabytes; a config may come from the repository
/// being scanned, so the whole of it is bounded, and checked before anything is compiled.
pub mod limits {
    /// Total compiled size of all regexes of user rules and allowlists, estimated as
    /// [`REGEX_SIZE_FACTOR`] times the forward NFA (the regex engine also builds a reverse NFA
    /// and other search structures).
    pub const TOTAL_REGEX_SIZE: usize = 64 << 20;
    /// See [`TOTAL_REGEX_SIZE`].
    pub const REGEX_SIZE_FACTOR: usize = 3;
    /// Rule entries (new rules and overrides).
    pub const RULES: usize = 2_000;
    /// Regexes: rule patterns plus allowlist `regexes`.
    pub const REGEXES: usize = 4_000;
    /// Path globs: rule `paths` plus allowlist `paths`.
    pub const GLOBS: usize = 10_000;
    /// Allowlist `stopwords`.
    pub const STOPWORDS: usize = 10_000;
    /// Rule `keywords`.
    pub const KEYWORDS: usize = 10_000;
    /// Allowlist `commits`.
    pub const COMMITS: usize = 100_000;
}

/// Running totals of what user files added, against [`limits`].
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    rules: usize,
    regexes: usize,
    globs: usize,
    stopwords: usize,
    keywords: usize,
    commits: usize,
}

impl Counts {
    fn add_allowlist(&mut self, a: &AllowlistSpec) {
        self.regexes += a.regexes.len();
        self.globs += a.paths.len();
        self.stopwords += a.stopwords.len();
        self.commits += a.commits.len();
    }

    fn add_rule(&mut self, r: &RuleSpec) {
        self.rules += 1;
        self.regexes += usize::from(r.regex.is_some());
        self.globs += r.paths.as_ref().map_or(0, Vec::len);
        self.keywords += r.keywords.as_ref().map_or(0, Vec::len);
        if let Some(a) = &r.allowlist {
            self.add_allowlist(a);
        }
    }

    /// The first limit exceeded, as (what, count, limit).
    fn exceeded(&self) -> Option<(&'static str, usize, usize)> {
        [
            ("rules", self.rules, limits::RULES),
            (
                "regexes (rule patterns and allowlist `regexes`)",
                self.regexes,
                limits::REGEXES,
            ),
            (
                "path globs (rule and allowlist `paths`)",
                self.globs,
                limits::GLOBS,
            ),
            ("allowlist `stopwords`", self.stopwords, limits::STOPWORDS),
            ("rule `keywords`", self.keywords, limits::KEYWORDS),
            ("allowlist `commits`", self.commits, limits::COMMITS),
        ]
        .into_iter()
        .find(|(_, n, max)| n > max)
    }
}

/// What is left of [`limits::TOTAL_REGEX_SIZE`] while user regexes are compiled.
#[derive(Debug)]
struct RegexBudget {
    left: usize,
}

/// Why a user regex was refused.
enum UserRegexError {
    Invalid(regex::Error),
    /// The regex is valid but would take the whole config over its total budget.
    OverBudget,
}

impl UserRegexError {
    fn describe(&self, src: &str) -> String {
        match self {
            UserRegexError::Invalid(e) => format!("invalid regex: {}", regex_error(e, src)),
            UserRegexError::OverBudget => format!(
                "the config's regexes together exceed the total compiled-size limit of {} MiB \
                 (reached at this one); use fewer or simpler patterns",
                limits::TOTAL_REGEX_SIZE >> 20
            ),
        }
    }
}

impl RegexBudget {
    fn new() -> Self {
        RegexBudget {
            left: limits::TOTAL_REGEX_SIZE,
        }
    }

    /// Compiles a user regex and charges its size. The size is measured on a Thompson NFA built
    /// under a limit of what is left, so the check itself never allocates past the budget.
    fn build(&mut self, src: &str) -> Result<Regex, UserRegexError> {
        use regex_automata::nfa::thompson;
        let limit = REGEX_SIZE_LIMIT.min(self.left / limits::REGEX_SIZE_FACTOR);
        let nfa = thompson::Compiler::new()
            .syntax(regex_automata::util::syntax::Config::new().utf8(false))
            .configure(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(limit)),
            )
            .build(src);
        let size = match nfa {
            Ok(nfa) => nfa.memory_usage() * limits::REGEX_SIZE_FACTOR,
            Err(_) => {
                // A syntax error, or over the per-regex limit: the regex crate says which.
                build_regex(src).map_err(UserRegexError::Invalid)?;
                return Err(UserRegexError::OverBudget);
            }
        };
        if size > self.left {
            return Err(UserRegexError::OverBudget);
        }
        self.left -= size;
        build_regex(src).map_err(UserRegexError::Invalid)
    }
}

/// The packs compiled into the binary, as (file name, TOML text).
/// Order matters: when two rules catch overlapping bytes, the earlier rule wins, so specific packs
/// come before the generic one.
pub const DEFAULT_PACKS: &[(&str, &str)] = &[
    ("rules/aws.toml", include_str!("../../rules/aws.toml")),
    ("rules/vcs.toml", include_str!("../../rules/vcs.toml")),
    ("rules/cloud.toml", include_str!("../../rules/cloud.toml")),
    ("rules/saas.toml", include_str!("../../rules/saas.toml")),
    ("rules/keys.toml", include_str!("../../rules/keys.toml")),
    (
        "rules/hashicorp.toml",
        include_str!("../../rules/hashicorp.toml"),
    ),
    ("rules/cicd.toml", include_str!("../../rules/cicd.toml")),
    (
        "rules/providers.toml",
        include_str!("../../rules/providers.toml"),
    ),
    (
        "rules/observability.toml",
        include_str!("../../rules/observability.toml"),
    ),
    ("rules/apis.toml", include_str!("../../rules/apis.toml")),
    (
        "rules/generic.toml",
        include_str!("../../rules/generic.toml"),
    ),
];

/// A rule regex, compiled when first needed.
///
/// Compiling every shipped pattern costs tens of milliseconds, more than the whole pre-commit
/// gate may take, while a typical blob wakes only a few rules. Shipped patterns are therefore
/// compiled on first use (the test suite compiles and exercises every one of them); patterns from
/// a user's config or extra packs are compiled at load, so a bad one is an error up front.
#[derive(Debug)]
pub struct LazyRegex {
    src: String,
    compiled: std::sync::OnceLock<(Regex, Option<usize>)>,
}

impl LazyRegex {
    fn compiled(regex: Regex, src: &str) -> Self {
        let cell = std::sync::OnceLock::new();
        let group = secret_group_of(&regex);
        let _ = cell.set((regex, group));
        LazyRegex {
            src: src.to_string(),
            compiled: cell,
        }
    }

    fn deferred(src: &str) -> Self {
        LazyRegex {
            src: src.to_string(),
            compiled: std::sync::OnceLock::new(),
        }
    }

    fn get(&self) -> &(Regex, Option<usize>) {
        self.compiled.get_or_init(|| {
            let regex = build_regex(&self.src)
                .expect("shipped rule patterns compile (checked by the test suite)");
            let group = secret_group_of(&regex);
            (regex, group)
        })
    }

    pub fn regex(&self) -> &Regex {
        &self.get().0
    }

    /// Index of the `secret` capture group; the whole match when absent.
    pub fn secret_group(&self) -> Option<usize> {
        self.get().1
    }

    pub fn as_str(&self) -> &str {
        &self.src
    }
}

fn secret_group_of(regex: &Regex) -> Option<usize> {
    regex.capture_names().position(|n| n == Some("secret"))
}

/// A compiled rule, ready for the engine.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub severity: Severity,
    pub regex: LazyRegex,
    /// Lowercase literals; the rule only runs on blobs where one occurs. Empty: always runs.
    pub keywords: Vec<String>,
    pub entropy: Option<f64>,
    /// Only paths matching these globs are scanned with this rule.
    pub paths: Option<GlobSet>,
    pub remediation: Option<String>,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
    /// Links to the provider's documentation of the format.
    pub references: Vec<String>,
    pub example_path: Option<String>,
    pub allowlist: Allowlist,
    pub validator: Option<Validator>,
    /// A composite rule's other half (see [`requires`]).
    pub requires: Option<requires::Requires>,
    /// Where the rule was defined, for `rules list` and error messages.
    pub origin: Origin,
}

/// File and line a rule (or its last override) comes from.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

/// A compiled allowlist: paths, regexes, stopwords and commits that are known not to be leaks.
#[derive(Debug, Default)]
pub struct Allowlist {
    paths: Option<GlobSet>,
    regexes: Vec<(LazyRegex, RegexTarget)>,
    stopwords: Option<AhoCorasick>,
    commits: Vec<String>,
}

/// The text a candidate came from, for allowlist checks.
pub struct Candidate<'a> {
    pub secret: &'a [u8],
    pub matched: &'a [u8],
    pub line: &'a [u8],
}

impl Allowlist {
    /// Compiles several specs into one allowlist (a rule's own, or the global union). An error
    /// names the index of the spec at fault and never echoes a pattern, which may hold a secret.
    /// `deferred`: the specs are shipped ones whose regexes compile on first use.
    /// `budget`: `None` for shipped specs, whose regexes compile on first use.
    fn compile(
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
    pub fn allows(&self, c: &Candidate<'_>) -> bool {
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
    pub fn allows_path(&self, path: &str) -> bool {
        self.paths.as_ref().is_some_and(|g| g.is_match(path))
    }

    /// True when the commit (full or abbreviated id) is allowlisted.
    pub fn allows_commit(&self, commit: &str) -> bool {
        let commit = commit.to_ascii_lowercase();
        self.commits
            .iter()
            .any(|c| !c.is_empty() && (commit.starts_with(c.as_str()) || c.starts_with(&commit)))
    }

    pub fn has_paths(&self) -> bool {
        self.paths.is_some()
    }
}

/// All rules in effect plus the global allowlist.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub allowlist: Allowlist,
    /// The config's `inline_allow`, when it sets one.
    pub inline_allow: Option<crate::filters::InlineAllow>,
    /// Pack-level advice texts, in load order.
    pub advice: Vec<advice::Advice>,
}

/// A TOML text and the name to report in errors.
pub struct PackText<'a> {
    pub file: PathBuf,
    pub text: &'a str,
}

/// Rules and allowlists gathered from several files before compiling.
#[derive(Default)]
pub struct RuleSetBuilder {
    /// Each rule with where it (or its last override) was defined and where its regex was.
    specs: Vec<(RuleSpec, Origin, Option<Origin>)>,
    index: HashMap<String, usize>,
    allowlists: Vec<(AllowlistSpec, Origin)>,
    disabled: Vec<(String, Origin)>,
    /// Ids of catch-all rules (the generic pack): they rank after every specific rule, including
    /// rules a config adds, because where two rules catch the same bytes the first one wins.
    fallback: std::collections::HashSet<String>,
    /// Ids whose regex and allowlist are still the shipped ones (compiled lazily, see
    /// [`LazyRegex`]).
    shipped: std::collections::HashSet<String>,
    /// True while the shipped packs load: they are neither counted nor budgeted.
    loading_shipped: bool,
    /// What user files have added so far.
    counts: Counts,
    /// The last `inline_allow` a config set.
    inline_allow: Option<crate::filters::InlineAllow>,
    advice: Vec<advice::Advice>,
}

/// The shipped pack whose rules are catch-alls.
const FALLBACK_PACK: &str = "rules/generic.toml";

impl RuleSetBuilder {
    /// Starts from the shipped packs.
    pub fn with_defaults() -> Result<Self, ConfigError> {
        let mut b = RuleSetBuilder {
            loading_shipped: true,
            ..RuleSetBuilder::default()
        };
        for (file, text) in DEFAULT_PACKS {
            let before = b.specs.len();
            b.add_pack(&PackText {
                file: PathBuf::from(file),
                text,
            })?;
            if *file == FALLBACK_PACK {
                let ids: Vec<String> = b.specs[before..]
                    .iter()
                    .map(|(s, _, _)| s.id.clone())
                    .collect();
                b.fallback.extend(ids);
            }
        }
        b.shipped = b.specs.iter().map(|(s, _, _)| s.id.clone()).collect();
        b.loading_shipped = false;
        Ok(b)
    }

    /// Adds a rule pack: new ids are added, an id that exists in an earlier file overrides it, an
    /// id repeated within the same file is an error.
    pub fn add_pack(&mut self, pack: &PackText<'_>) -> Result<FileSpec, ConfigError> {
        let mut spec = parse_file(pack)?;
        if !self.loading_shipped {
            self.count(pack, &spec)?;
        }
        let mut seen_here: HashMap<String, usize> = HashMap::new();
        for rule in std::mem::take(&mut spec.rules) {
            let line = line_of(pack.text, rule.span().start);
            let rule = rule.into_inner();
            if !is_kebab_id(&rule.id) {
                // Not echoed: whatever is there is not an id, and may be anything.
                return Err(ConfigError::At {
                    file: pack.file.clone(),
                    line,
                    message: format!(
                        "rule `id` must be kebab-case ([a-z0-9-]+, at most {MAX_ID_LEN} \
                         characters); the value given ({} characters) is not shown",
                        rule.id.chars().count()
                    ),
                });
            }
            if let Some(first) = seen_here.insert(rule.id.clone(), line) {
                return Err(rule_err(
                    pack,
                    line,
                    &rule.id,
                    &format!("duplicate rule id (first defined on line {first})"),
                ));
            }
            let origin = Origin {
                file: pack.file.clone(),
                line,
            };
            let regex_at = rule.regex.as_ref().map(|r| Origin {
                file: pack.file.clone(),
                line: line_of(pack.text, r.span().start),
            });
            if rule.regex.is_some() || rule.allowlist.is_some() || rule.replace_allowlist.is_some()
            {
                self.shipped.remove(&rule.id);
            }
            match self.index.get(&rule.id) {
                Some(&i) => {
                    let entry = &mut self.specs[i];
                    entry.0.merge(rule);
                    entry.1 = origin;
                    if regex_at.is_some() {
                        entry.2 = regex_at;
                    }
                }
                None => {
                    self.index.insert(rule.id.clone(), self.specs.len());
                    self.specs.push((rule, origin, regex_at));
                }
            }
        }
        if spec.inline_allow.is_some() {
            self.inline_allow = spec.inline_allow;
        }
        self.advice.append(&mut spec.advice);
        if let Some(al) = spec.allowlist.take() {
            let origin = Origin {
                file: pack.file.clone(),
                line: line_of(pack.text, al.span().start),
            };
            self.allowlists.push((al.into_inner(), origin));
        }
        for d in &spec.disabled_rules {
            let origin = Origin {
                file: pack.file.clone(),
                line: line_of(pack.text, d.span().start),
            };
            self.disabled.push((d.get_ref().clone(), origin));
        }
        Ok(spec)
    }

    /// Adds a user file's entries to the running totals; the first limit exceeded is an error
    /// naming the file, before anything of it is compiled.
    fn count(&mut self, pack: &PackText<'_>, spec: &FileSpec) -> Result<(), ConfigError> {
        for r in &spec.rules {
            self.counts.add_rule(r.get_ref());
        }
        if let Some(a) = &spec.allowlist {
            self.counts.add_allowlist(a.get_ref());
        }
        match self.counts.exceeded() {
            Some((what, n, max)) => Err(ConfigError::Other {
                file: pack.file.clone(),
                message: format!(
                    "too many {what}: {n} with the files loaded before it, over the limit of \
                     {max}; a config must stay small, it may come from a scanned repository"
                ),
            }),
            None => Ok(()),
        }
    }

    /// Compiles every enabled rule. A disabled id that names no rule is an error: a typo there
    /// would otherwise silently keep a rule on (or hide that it was meant to be off).
    pub fn build(self) -> Result<RuleSet, ConfigError> {
        for (id, origin) in &self.disabled {
            if !self.index.contains_key(id) {
                return Err(if is_kebab_id(id) {
                    ConfigError::Rule {
                        file: origin.file.clone(),
                        line: origin.line,
                        rule: id.clone(),
                        message: "`disabled_rules` names a rule that does not exist".into(),
                    }
                } else {
                    ConfigError::At {
                        file: origin.file.clone(),
                        line: origin.line,
                        message: "`disabled_rules` holds a value that is not a rule id \
                                  (kebab-case, [a-z0-9-]+); the value is not shown"
                            .into(),
                    }
                });
            }
        }
        let mut budget = RegexBudget::new();
        let mut specs = self.specs;
        specs.sort_by_key(|(spec, _, _)| self.fallback.contains(&spec.id));
        let mut rules = Vec::with_capacity(specs.len());
        for (spec, origin, regex_at) in specs {
            if self.disabled.iter().any(|(d, _)| *d == spec.id) || spec.enabled == Some(false) {
                continue;
            }
            let shipped = self.shipped.contains(&spec.id);
            rules.push(compile_rule(spec, origin, regex_at, shipped, &mut budget)?);
        }
        let refs: Vec<&AllowlistSpec> = self.allowlists.iter().map(|(a, _)| a).collect();
        let allowlist = Allowlist::compile(&refs, Some(&mut budget)).map_err(|(i, message)| {
            let origin = &self.allowlists[i.min(self.allowlists.len() - 1)].1;
            ConfigError::At {
                file: origin.file.clone(),
                line: origin.line,
                message,
            }
        })?;
        Ok(RuleSet {
            rules,
            allowlist,
            inline_allow: self.inline_allow,
            advice: self.advice,
        })
    }
}

impl RuleSet {
    /// The shipped packs alone.
    pub fn defaults() -> Result<RuleSet, ConfigError> {
        RuleSetBuilder::with_defaults()?.build()
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

fn parse_file(pack: &PackText<'_>) -> Result<FileSpec, ConfigError> {
    toml::from_str::<FileSpec>(pack.text).map_err(|e| toml_error(&pack.file, pack.text, &e))
}

/// A TOML error at its line. serde quotes offending values (`invalid type: string "…"`); a long
/// one may be a secret pasted into the wrong field, so it is shown redacted.
pub fn toml_error(file: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    ConfigError::Toml {
        file: file.to_path_buf(),
        line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
        message: redact_quoted(e.message()),
    }
}

/// Every name the config format defines (fields and enum values). serde lists them in an
/// unknown-field or unknown-variant error; they are not secrets, so they are shown in full.
const FORMAT_NAMES: &[&str] = &[
    // FileSpec
    "extend_default",
    "disabled_rules",
    "packs",
    "rules",
    "allowlist",
    "inline_allow",
    "on",
    "off",
    // RuleSpec
    "id",
    "description",
    "regex",
    "keywords",
    "entropy",
    "paths",
    "severity",
    "remediation",
    "examples",
    "negative_examples",
    "references",
    "example_path",
    "replace_allowlist",
    "validate",
    "enabled",
    // AllowlistSpec
    "regexes",
    "regex_target",
    "stopwords",
    "commits",
    // enum values
    "secret",
    "match",
    "line",
    "low",
    "medium",
    "high",
    "critical",
];

/// A misspelt field name (`extend_defaults`) rather than a value: up to 24 lowercase letters and
/// underscores, with at least one underscore — no credential format looks like that.
fn field_like(s: &str) -> bool {
    s.len() <= 24 && s.contains('_') && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Replaces each `"…"` or `` `…` `` value of 12 characters or more by its redacted form, except
/// the config format's own names ([`FORMAT_NAMES`]).
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest[open..].chars().next().unwrap_or('"');
        let body_start = open + 1;
        let Some(len) = rest[body_start..].find(quote) else {
            break;
        };
        let body = &rest[body_start..body_start + len];
        out.push_str(&rest[..body_start]);
        if body.chars().count() >= 12 && !FORMAT_NAMES.contains(&body) && !field_like(body) {
            out.push_str(&crate::finding::redact(body));
        } else {
            out.push_str(body);
        }
        out.push(quote);
        rest = &rest[body_start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Longest rule pack or config file read; a config is small, and one taken from a scanned
/// repository must not make keyfence read a device or a huge file into memory.
pub const MAX_CONFIG_SIZE: u64 = 8 << 20;

/// Reads a config or pack file: a regular file (not a FIFO, which would block, nor a device) of at
/// most [`MAX_CONFIG_SIZE`] bytes, in UTF-8.
pub fn read_config_text(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let read_err = |source| ConfigError::Read {
        file: path.to_path_buf(),
        source,
    };
    let other = |message: String| ConfigError::Other {
        file: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(other("not a regular file".into()));
    }
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(other(format!(
            "larger than {} MiB; not a rule pack or config",
            MAX_CONFIG_SIZE >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|e| other(format!("not UTF-8: {e}")))
}

fn rule_err(pack: &PackText<'_>, line: usize, id: &str, message: &str) -> ConfigError {
    ConfigError::Rule {
        file: pack.file.clone(),
        line,
        rule: id.to_string(),
        message: message.to_string(),
    }
}

fn compile_rule(
    spec: RuleSpec,
    origin: Origin,
    regex_at: Option<Origin>,
    shipped: bool,
    budget: &mut RegexBudget,
) -> Result<Rule, ConfigError> {
    let err = |message: String| ConfigError::Rule {
        file: origin.file.clone(),
        line: origin.line,
        rule: spec.id.clone(),
        message,
    };
    let regex_src = spec
        .regex
        .as_ref()
        .ok_or_else(|| err("missing `regex`".into()))?;
    let regex = if shipped {
        LazyRegex::deferred(regex_src.get_ref())
    } else {
        let compiled = budget.build(regex_src.get_ref()).map_err(|e| {
            // Point at the `regex = …` line itself, which may be in a later file than the rule.
            let at = regex_at.as_ref().unwrap_or(&origin);
            ConfigError::Rule {
                file: at.file.clone(),
                line: at.line,
                rule: spec.id.clone(),
                message: e.describe(regex_src.get_ref()),
            }
        })?;
        LazyRegex::compiled(compiled, regex_src.get_ref())
    };
    let description = spec
        .description
        .clone()
        .ok_or_else(|| err("missing `description`".into()))?;
    let keywords: Vec<String> = spec
        .keywords
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|k| k.to_ascii_lowercase())
        .collect();
    if keywords.iter().any(|k| k.is_empty()) {
        return Err(err("empty keyword".into()));
    }
    if let Some(e) = spec.entropy {
        if !(0.0..=8.0).contains(&e) {
            return Err(err("`entropy` must be within 0..=8 bits per byte".into()));
        }
    }
    let paths = match &spec.paths {
        Some(globs) if !globs.is_empty() => {
            let mut b = GlobSetBuilder::new();
            for (n, g) in globs.iter().enumerate() {
                b.add(compile_glob(g).map_err(|e| err(format!("paths[{n}]: {e}")))?);
            }
            Some(b.build().map_err(|e| err(format!("paths: {}", e.kind())))?)
        }
        _ => None,
    };
    // The shipped allowlist (or an earlier override's) first, then this definition's own.
    let allowlists: Vec<&AllowlistSpec> = spec
        .inherited_allowlists
        .iter()
        .chain(spec.allowlist.as_ref())
        .collect();
    let allowlist =
        Allowlist::compile(&allowlists, (!shipped).then_some(budget)).map_err(|(_, m)| err(m))?;
    let validator = match &spec.validate {
        Some(name) => Some(Validator::by_name(name).ok_or_else(|| {
            err(format!(
                "unknown `validate` value; expected one of {}",
                Validator::NAMES
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?),
        None => None,
    };
    let example_path = spec.example_path.clone().or_else(|| {
        spec.paths
            .as_ref()
            .and_then(|p| p.first())
            .map(|g| example_path_for(g))
    });
    let requires = spec.requires.as_ref().map(requires::Requires::compile);
    Ok(Rule {
        requires: requires.transpose().map_err(err)?,
        description,
        severity: spec.severity.unwrap_or(Severity::High),
        regex,
        keywords,
        entropy: spec.entropy,
        paths,
        remediation: spec.remediation,
        examples: spec.examples.unwrap_or_default(),
        negative_examples: spec.negative_examples.unwrap_or_default(),
        references: spec.references.unwrap_or_default(),
        example_path,
        allowlist,
        validator,
        id: spec.id,
        origin,
    })
}

/// What is wrong with a regex, without echoing it: a pattern may hold a secret (an allowlisted key,
/// say), and an error message ends up in CI logs. Names the kind of error and where in the pattern.
pub fn regex_error(err: &regex::Error, src: &str) -> String {
    match err {
        regex::Error::CompiledTooBig(limit) => format!(
            "compiled size exceeds the limit of {} MiB; bound its repetitions (nested counted \
             repetitions such as `{{1000}}{{1000}}` multiply) or simplify it",
            limit >> 20
        ),
        regex::Error::Syntax(message) => {
            let parsed = regex_syntax::ParserBuilder::new()
                .utf8(false)
                .build()
                .parse(src);
            let (kind, span) = match &parsed {
                Err(regex_syntax::Error::Parse(e)) => (e.kind().to_string(), Some(*e.span())),
                Err(regex_syntax::Error::Translate(e)) => (e.kind().to_string(), Some(*e.span())),
                _ => {
                    let kind = message
                        .lines()
                        .rev()
                        .find_map(|l| l.strip_prefix("error: "))
                        .unwrap_or("syntax error");
                    (kind.to_string(), None)
                }
            };
            match span {
                Some(sp) if src.contains('\n') => format!(
                    "{kind} (line {} of the pattern, column {})",
                    sp.start.line, sp.start.column
                ),
                Some(sp) => format!("{kind} (at character {} of the pattern)", sp.start.column),
                None => kind,
            }
        }
        _ => "cannot be compiled".to_string(),
    }
}

/// Builds a bytes regex under the size caps.
pub fn build_regex(src: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(src)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
}

/// A glob with `/` matched literally. The error says what is wrong, never the glob itself (the
/// caller names the field and index): globset's own message quotes the whole glob.
fn compile_glob(g: &str) -> Result<Glob, String> {
    globset::GlobBuilder::new(g)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid glob: {}", e.kind()))
}

/// A file name that a `paths` glob such as `**/*.tfvars` accepts, for checking examples.
fn example_path_for(glob: &str) -> String {
    let last = glob.rsplit('/').next().unwrap_or(glob);
    let name = last
        .replace(['*', '?'], "example")
        .replace(['{', '}', '[', ']'], "");
    let name = name.split(',').next().unwrap_or("example").to_string();
    if name.is_empty() {
        "example".into()
    } else {
        name
    }
}

/// Longest rule id accepted; ids are shown in messages and reports.
const MAX_ID_LEN: usize = 64;

fn is_kebab_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    memchr::memchr_iter(b'\n', &text.as_bytes()[..offset]).count() + 1
}

/// Reads and parses a TOML file into the builder, for config files and extra packs.
pub fn add_pack_file(builder: &mut RuleSetBuilder, path: &Path) -> Result<FileSpec, ConfigError> {
    let text = read_config_text(path)?;
    builder.add_pack(&PackText {
        file: path.to_path_buf(),
        text: &text,
    })
}

#[cfg(test)]
mod tests {
    /// Shipped patterns compile lazily at scan time; this is where a bad one is caught.
    #[test]
    fn every_shipped_pattern_compiles_under_the_limits() {
        let set = RuleSet::defaults().unwrap();
        assert!(!set.rules.is_empty());
        for rule in &set.rules {
            let src = rule.regex.as_str();
            build_regex(src).unwrap_or_else(|e| panic!("{}: {}", rule.id, regex_error(&e, src)));
            for (re, _) in &rule.allowlist.regexes {
                build_regex(re.as_str()).unwrap_or_else(|e| panic!("{} allowlist: {e}", rule.id));
            }
        }
    }

    use super::*;

    #[test]
    fn regex_errors_say_what_and_where_without_the_pattern() {
        let src = "tok_SECRETVALUE(";
        let e = build_regex(src).unwrap_err();
        let msg = regex_error(&e, src);
        assert_eq!(msg, "unclosed group (at character 16 of the pattern)");
        let e = build_regex(r"\w{1000}{1000}").unwrap_err();
        assert!(regex_error(&e, "").starts_with("compiled size exceeds the limit of 8 MiB"));
    }

    #[test]
    fn long_quoted_values_in_toml_messages_are_redacted() {
        assert_eq!(
            redact_quoted("invalid type: string \"ABCDEFGHIJKLMNOPQRST\", expected a boolean"),
            "invalid type: string \"ABCD…QRST\", expected a boolean"
        );
        assert_eq!(
            redact_quoted("unknown field `colour`, expected one of `id`"),
            "unknown field `colour`, expected one of `id`"
        );
        assert_eq!(redact_quoted("odd \" quote"), "odd \" quote");
    }
}
