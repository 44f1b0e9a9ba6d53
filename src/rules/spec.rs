//! The serde form of rule packs and config files, exactly as written in TOML. Kept apart from the
//! compiled [`super::Rule`] so that merging (override by id) happens on plain data.

use serde::Deserialize;
use toml::Spanned;

/// One TOML file: a shipped rule pack, an extra pack, or a user's `.keyfence.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Config only: `false` starts from an empty rule set instead of the shipped packs.
    pub(crate) extend_default: Option<bool>,
    /// Config only: ids of rules to switch off.
    #[serde(default)]
    pub(crate) disabled_rules: Vec<Spanned<String>>,
    /// Config only: extra rule packs to load, relative to the config file.
    #[serde(default)]
    pub(crate) packs: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) rules: Vec<Spanned<RuleSpec>>,
    pub(crate) allowlist: Option<Spanned<AllowlistSpec>>,
    /// Config only: whether inline `keyfence:allow` markers count (`"on"` | `"off"`). A gate
    /// reads it from its trusted config only; `--inline-allow` overrides it.
    pub(crate) inline_allow: Option<InlineAllow>,
    /// Pack-level remediation text for where secrets sit (see [`super::advice`]).
    #[serde(default)]
    pub(crate) advice: Vec<super::advice::Advice>,
    /// Values for the rules this file defines (not for its overrides of earlier files' rules).
    pub(crate) defaults: Option<PackDefaults>,
}

/// A file's `[defaults]`: what each rule it defines gets unless the rule sets it, so a pack
/// states its shared remediation text and stopwords once instead of in every rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackDefaults {
    /// `{description}` in it stands for each rule's own description.
    pub(crate) remediation: Option<String>,
    /// See [`RuleSpec::rank`].
    pub(crate) rank: Option<i32>,
    /// Extended by a rule's own allowlist, as a shipped rule's is by an override.
    pub(crate) allowlist: Option<AllowlistSpec>,
}

/// A rule as written. Every field but `id` is optional so that a config can override one field of
/// a shipped rule; a new rule must give at least `regex` and `description`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSpec {
    pub(crate) id: String,
    pub(crate) description: Option<String>,
    pub(crate) regex: Option<Spanned<String>>,
    pub(crate) keywords: Option<Vec<String>>,
    pub(crate) entropy: Option<f64>,
    pub(crate) paths: Option<Vec<String>>,
    pub(crate) severity: Option<Severity>,
    /// Rules run in order of rank (default 0), then in load order; where two rules catch the same
    /// bytes the earlier one wins, so catch-all rules rank higher (they go last).
    pub(crate) rank: Option<i32>,
    pub(crate) remediation: Option<String>,
    pub(crate) examples: Option<Vec<String>>,
    pub(crate) negative_examples: Option<Vec<String>>,
    /// Links to the provider's documentation of the token format (for reviewers and `explain`).
    pub(crate) references: Option<Vec<String>>,
    /// Path under which examples are checked, for rules restricted by `paths`.
    pub(crate) example_path: Option<String>,
    pub(crate) allowlist: Option<AllowlistSpec>,
    /// On an override: `true` drops the allowlists of earlier definitions (the shipped one)
    /// instead of adding to them.
    pub(crate) replace_allowlist: Option<bool>,
    /// Allowlists of earlier definitions that an override extends (not written in TOML).
    #[serde(skip)]
    pub(crate) inherited_allowlists: Vec<AllowlistSpec>,
    /// Optional offline validator applied to the secret (e.g. a checksum), by name.
    pub(crate) validate: Option<String>,
    /// A composite rule: its finding needs another rule's match nearby (see
    /// [`super::requires`]).
    pub(crate) requires: Option<RequiresSpec>,
    pub(crate) enabled: Option<bool>,
}

/// `requires = { rule = "…", within_lines = N, … }` as written; compiled by
/// [`super::requires::Requires::compile`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequiresSpec {
    /// The rule whose match must be nearby (the other half of the credential).
    pub(crate) rule: String,
    /// At most this many lines between the two halves.
    pub(crate) within_lines: usize,
    /// Both halves in the same block: Terraform block, INI section, JSON / HCL object.
    #[serde(default)]
    pub(crate) same_block: bool,
    /// Rules whose matches are this rule's secret half as they are.
    #[serde(default)]
    pub(crate) secrets: Vec<String>,
    /// Rules whose matches are the secret half only when the secret has `shape`.
    #[serde(default)]
    pub(crate) shaped_secrets: Vec<String>,
    /// A named shape of the secret half; with one, a required match left alone takes a token
    /// of that shape nearby (under any name or none) as its secret.
    pub(crate) shape: Option<String>,
}

/// Things that are not secrets even though a regex matched them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllowlistSpec {
    /// For the reader of the pack or config: parsed (so it is allowed), never used.
    #[allow(dead_code)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) paths: Vec<String>,
    #[serde(default)]
    pub(crate) regexes: Vec<String>,
    /// What `regexes` are matched against.
    #[serde(default)]
    pub(crate) regex_target: RegexTarget,
    #[serde(default)]
    pub(crate) stopwords: Vec<String>,
    #[serde(default)]
    pub(crate) commits: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RegexTarget {
    #[default]
    Secret,
    Match,
    Line,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl RuleSpec {
    /// Overlays the fields `other` sets onto `self` (a config overriding a shipped rule). An
    /// allowlist adds to the earlier ones, unless `replace_allowlist = true`: a user who lists
    /// their own test keys must not lose the shipped exceptions (AWS's documentation key) by
    /// accident.
    pub(crate) fn merge(&mut self, mut other: RuleSpec) {
        if other.replace_allowlist == Some(true) {
            self.inherited_allowlists.clear();
            self.allowlist = other.allowlist.take();
        } else if let Some(al) = other.allowlist.take() {
            if let Some(prev) = self.allowlist.take() {
                self.inherited_allowlists.push(prev);
            }
            self.allowlist = Some(al);
        }
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            description,
            regex,
            keywords,
            entropy,
            paths,
            severity,
            rank,
            remediation,
            examples,
            negative_examples,
            references,
            example_path,
            validate,
            requires,
            enabled
        );
    }
}

/// Whether inline `keyfence:allow` markers are honoured. They come from the content being
/// checked, so a server (or a CI range) honours them only when its operator says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum InlineAllow {
    /// Markers allow findings on their own physical line (the default on a developer's machine).
    #[default]
    On,
    /// Markers are ignored (the default for `hook pre-receive` and `history --added-only`).
    Off,
}
