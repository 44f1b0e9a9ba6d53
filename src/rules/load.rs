//! Loading rules: the shipped packs, extra packs and the user's config, merged by rule id before
//! anything is compiled. A config may come from the repository being scanned, so what it may hold
//! is bounded ([`limits`]) and its error messages never echo a value that may be a secret.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::allowlist::Allowlist;
use super::compile::compile_rule;
use super::pattern::{limits, RegexBudget};
use super::read::{line_of, read_config_text, toml_error};
use super::rule::{Origin, RuleSet};
use super::spec::{AllowlistSpec, FileSpec, PackDefaults, RuleSpec};
use crate::error::ConfigError;

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

/// The packs compiled into the binary, as (file name, TOML text).
/// Order matters within a rank: when two rules catch overlapping bytes, the earlier rule wins. The
/// catch-alls of `generic.toml` go last by their `rank` (set in its `[defaults]`), not by place.
pub(crate) const DEFAULT_PACKS: &[(&str, &str)] = &[
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
    /// Ids whose regex and allowlist are still the shipped ones (compiled lazily, see
    /// [`LazyRegex`]).
    shipped: std::collections::HashSet<String>,
    /// True while the shipped packs load: they are neither counted nor budgeted.
    loading_shipped: bool,
    /// What user files have added so far.
    counts: Counts,
    /// The last `inline_allow` a config set.
    inline_allow: Option<super::spec::InlineAllow>,
    advice: Vec<super::advice::Advice>,
}

impl RuleSetBuilder {
    /// Starts from the shipped packs.
    pub fn with_defaults() -> Result<Self, ConfigError> {
        let mut b = RuleSetBuilder {
            loading_shipped: true,
            ..RuleSetBuilder::default()
        };
        for (file, text) in DEFAULT_PACKS {
            b.add_pack(&PackText {
                file: PathBuf::from(file),
                text,
            })?;
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
        let defaults = spec.defaults.take().unwrap_or_default();
        let mut seen_here: HashMap<String, usize> = HashMap::new();
        for rule in std::mem::take(&mut spec.rules) {
            let line = line_of(pack.text, rule.span().start);
            let mut rule = rule.into_inner();
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
            if !self.index.contains_key(&rule.id) {
                defaults.apply(&mut rule);
            }
            self.add_rule(pack, rule, line);
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

    /// Adds one rule entry of `pack`, defined on `line`: a new rule, or an override of an earlier
    /// file's rule with the same id.
    fn add_rule(&mut self, pack: &PackText<'_>, rule: RuleSpec, line: usize) {
        let origin = Origin {
            file: pack.file.clone(),
            line,
        };
        let regex_at = rule.regex.as_ref().map(|r| Origin {
            file: pack.file.clone(),
            line: line_of(pack.text, r.span().start),
        });
        if rule.regex.is_some() || rule.allowlist.is_some() || rule.replace_allowlist.is_some() {
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

    /// Adds a user file's entries to the running totals; the first limit exceeded is an error
    /// naming the file, before anything of it is compiled.
    fn count(&mut self, pack: &PackText<'_>, spec: &FileSpec) -> Result<(), ConfigError> {
        for r in &spec.rules {
            self.counts.add_rule(r.get_ref());
            // Each rule the file defines gets its own copy of the default allowlist.
            if let Some(a) = spec.defaults.as_ref().and_then(|d| d.allowlist.as_ref()) {
                self.counts.add_allowlist(a);
            }
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
        // Where two rules catch the same bytes the first one wins: a stable sort by rank keeps
        // load order within a rank and puts the catch-alls (`rank` > 0) after every specific rule,
        // including rules a config adds.
        specs.sort_by_key(|(spec, _, _)| spec.rank.unwrap_or(0));
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

impl PackDefaults {
    /// Fills what a rule defined in the same file leaves unset. The default allowlist comes first
    /// and the rule's own adds to it, as an override's does to a shipped one; a rule with
    /// `replace_allowlist = true` does without it.
    fn apply(&self, rule: &mut RuleSpec) {
        if rule.remediation.is_none() {
            rule.remediation = self.remediation.as_ref().map(|r| match &rule.description {
                Some(d) => r.replace("{description}", d),
                None => r.clone(),
            });
        }
        if rule.rank.is_none() {
            rule.rank = self.rank;
        }
        if let Some(al) = &self.allowlist {
            if rule.replace_allowlist != Some(true) {
                rule.inherited_allowlists.insert(0, al.clone());
            }
        }
    }
}

impl RuleSet {
    /// The shipped packs alone.
    pub fn defaults() -> Result<RuleSet, ConfigError> {
        RuleSetBuilder::with_defaults()?.build()
    }
}

fn parse_file(pack: &PackText<'_>) -> Result<FileSpec, ConfigError> {
    toml::from_str::<FileSpec>(pack.text).map_err(|e| toml_error(&pack.file, pack.text, &e))
}

fn rule_err(pack: &PackText<'_>, line: usize, id: &str, message: &str) -> ConfigError {
    ConfigError::Rule {
        file: pack.file.clone(),
        line,
        rule: id.to_string(),
        message: message.to_string(),
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
    use super::*;

    /// The shipped rule set plus one config text.
    fn with_config(text: &str) -> RuleSet {
        let mut b = RuleSetBuilder::with_defaults().unwrap();
        b.add_pack(&PackText {
            file: PathBuf::from("keyfence.toml"),
            text,
        })
        .unwrap();
        b.build().unwrap()
    }

    fn allows_secret(rule: &crate::rules::Rule, secret: &str) -> bool {
        rule.allowlist.allows(&crate::rules::Candidate {
            secret: secret.as_bytes(),
            matched: secret.as_bytes(),
            line: secret.as_bytes(),
        })
    }

    const RULE: &str = "regex = 'tok_[a-z0-9]{20}'\nkeywords = ['tok_']\n";

    #[test]
    fn pack_defaults_fill_the_rules_a_file_defines_but_not_its_overrides() {
        let set = with_config(&format!(
            "[defaults]\nremediation = 'Rotate the {{description}} now.'\n\
             [defaults.allowlist]\nstopwords = ['fixture']\n\
             [[rules]]\nid = 'in-house-token'\ndescription = 'in-house token'\n{RULE}\
             [[rules]]\nid = 'own-words'\ndescription = 'other token'\n{RULE}\
             remediation = 'Its own.'\n[rules.allowlist]\nstopwords = ['sample']\n\
             [[rules]]\nid = 'no-default-list'\ndescription = 'third'\n{RULE}\
             replace_allowlist = true\n\
             [[rules]]\nid = 'github-pat'\nseverity = 'low'\n"
        ));
        let new = set.get("in-house-token").unwrap();
        assert_eq!(
            new.remediation.as_deref(),
            Some("Rotate the in-house token now.")
        );
        assert!(allows_secret(new, "tok_fixture0123456789a"));
        assert!(!allows_secret(new, "tok_sample0123456789ab"));
        // A rule's own values win; its allowlist adds to the default one.
        let own = set.get("own-words").unwrap();
        assert_eq!(own.remediation.as_deref(), Some("Its own."));
        assert!(allows_secret(own, "tok_fixture0123456789a"));
        assert!(allows_secret(own, "tok_sample0123456789ab"));
        assert!(!allows_secret(
            set.get("no-default-list").unwrap(),
            "tok_fixture0123456789a"
        ));
        // An override of a shipped rule changes only what it writes.
        let shipped = RuleSet::defaults().unwrap();
        let pat = set.get("github-pat").unwrap();
        assert_eq!(pat.severity, crate::rules::Severity::Low);
        assert_eq!(
            pat.remediation,
            shipped.get("github-pat").unwrap().remediation
        );
        assert!(!allows_secret(pat, "ghp_fixture0123456789"));
    }

    #[test]
    fn rank_orders_rules_before_load_order() {
        let set = with_config(&format!(
            "[[rules]]\nid = 'last-resort'\ndescription = 'x'\nrank = 200\n{RULE}\
             [[rules]]\nid = 'first-of-all'\ndescription = 'x'\nrank = -1\n{RULE}\
             [[rules]]\nid = 'in-house-token'\ndescription = 'x'\n{RULE}"
        ));
        let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
        let at = |id: &str| ids.iter().position(|i| *i == id).unwrap();
        assert_eq!(ids[0], "first-of-all");
        assert_eq!(ids.last(), Some(&"last-resort"));
        // The shipped catch-alls rank 100 by their pack's defaults: after a config's rank-0
        // rule although loaded before it, and before a rule ranked after them.
        let generic = at("generic-secret-assignment");
        assert!(at("in-house-token") < generic && generic < at("last-resort"));
        assert!(at("github-pat") < at("in-house-token"));
    }

    /// A default allowlist is copied into every rule of its file, so it counts once per rule
    /// against the limits: a small config must not expand into an unbounded one.
    #[test]
    fn a_default_allowlist_counts_once_per_rule_against_the_limits() {
        let words: Vec<String> = (0..limits::STOPWORDS / 2 + 1)
            .map(|i| format!("'w{i}'"))
            .collect();
        let text = format!(
            "[defaults.allowlist]\nstopwords = [{}]\n\
             [[rules]]\nid = 'one'\ndescription = 'x'\n{RULE}\
             [[rules]]\nid = 'two'\ndescription = 'x'\n{RULE}",
            words.join(",")
        );
        let mut b = RuleSetBuilder::with_defaults().unwrap();
        let err = b
            .add_pack(&PackText {
                file: PathBuf::from("keyfence.toml"),
                text: &text,
            })
            .expect_err("over the stopword limit");
        assert!(
            err.to_string().contains("too many allowlist `stopwords`"),
            "{err}"
        );
    }
}
