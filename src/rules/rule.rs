//! The compiled form of rules, what the engine runs.

use std::path::PathBuf;

use globset::GlobSet;

use super::allowlist::Allowlist;
use super::pattern::RuleRegex;
use super::spec::Severity;
use crate::engine::validate::Validator;

/// A compiled rule, ready for the engine.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub(crate) severity: Severity,
    pub(crate) regex: RuleRegex,
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
    pub(crate) allowlist: Allowlist,
    pub(crate) validator: Option<Validator>,
    /// A composite rule's other half (see [`super::requires`]).
    pub(crate) requires: Option<super::requires::Requires>,
    /// Where the rule was defined, for `rules list` and error messages.
    pub origin: Origin,
}

/// File and line a rule (or its last override) comes from.
#[derive(Debug, Clone)]
pub struct Origin {
    pub(crate) file: PathBuf,
    pub(crate) line: usize,
}

/// All rules in effect plus the global allowlist.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub(crate) allowlist: Allowlist,
    /// The config's `inline_allow`, when it sets one.
    pub(crate) inline_allow: Option<super::spec::InlineAllow>,
    /// Pack-level advice texts, in load order.
    pub(crate) advice: Vec<super::advice::Advice>,
}

impl RuleSet {
    /// The advice with `id`; a later pack's (a config's) wins over an earlier one's.
    pub(crate) fn advice(&self, id: &str) -> Option<&super::advice::Advice> {
        self.advice.iter().rev().find(|a| a.id == id)
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}
