//! Compiling one merged rule spec into a [`Rule`]: its regex (lazily for shipped patterns, under
//! the total budget for a user's), keywords, globs, allowlist and validator. Every error names
//! what is wrong and where, never the pattern itself.

use globset::{GlobSet, GlobSetBuilder};

use super::allowlist::Allowlist;
use super::pattern::{compile_glob, RegexBudget, RuleRegex};
use super::requires::Requires;
use super::rule::{Origin, Rule};
use super::spec::{AllowlistSpec, RuleSpec, Severity};
use crate::engine::validate::Validator;
use crate::error::ConfigError;

/// Compiles one merged rule. `shipped`: its regex and allowlist are the shipped ones, compiled on
/// first use; otherwise they are compiled now, charged to `budget`.
pub(super) fn compile_rule(
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
    // Point a regex error at the `regex = …` line itself, which may be in a later file.
    let regex = rule_regex(&spec, regex_at.as_ref().unwrap_or(&origin), shipped, budget)?;
    let description = spec
        .description
        .clone()
        .ok_or_else(|| err("missing `description`".into()))?;
    let keywords = rule_keywords(&spec).map_err(err)?;
    if let Some(e) = spec.entropy {
        if !(0.0..=8.0).contains(&e) {
            return Err(err("`entropy` must be within 0..=8 bits per byte".into()));
        }
    }
    let paths = rule_paths(spec.paths.as_deref()).map_err(err)?;
    // The shipped allowlist (or an earlier override's) first, then this definition's own.
    let allowlists: Vec<&AllowlistSpec> = spec
        .inherited_allowlists
        .iter()
        .chain(spec.allowlist.as_ref())
        .collect();
    let allowlist =
        Allowlist::compile(&allowlists, (!shipped).then_some(budget)).map_err(|(_, m)| err(m))?;
    let validator = spec
        .validate
        .as_deref()
        .map(validator_named)
        .transpose()
        .map_err(err)?;
    let example_path = spec.example_path.clone().or_else(|| {
        spec.paths
            .as_ref()
            .and_then(|p| p.first())
            .map(|g| example_path_for(g))
    });
    let requires = spec.requires.as_ref().map(Requires::compile);
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

/// The rule's pattern: deferred when shipped, else compiled now under the budget.
fn rule_regex(
    spec: &RuleSpec,
    at: &Origin,
    shipped: bool,
    budget: &mut RegexBudget,
) -> Result<RuleRegex, ConfigError> {
    let err = |message: String| ConfigError::Rule {
        file: at.file.clone(),
        line: at.line,
        rule: spec.id.clone(),
        message,
    };
    let src = spec
        .regex
        .as_ref()
        .ok_or_else(|| err("missing `regex`".into()))?
        .get_ref();
    if !shipped {
        // Checked (and charged) now, so a bad pattern is an error up front; compiled for
        // search on first use like a shipped one.
        budget.build(src).map_err(|e| err(e.describe(src)))?;
    }
    Ok(RuleRegex::new(src))
}

/// Keywords in lower case (the prefilter matches case-insensitively); an empty one is an error.
fn rule_keywords(spec: &RuleSpec) -> Result<Vec<String>, String> {
    let keywords: Vec<String> = spec
        .keywords
        .iter()
        .flatten()
        .map(|k| k.to_ascii_lowercase())
        .collect();
    if keywords.iter().any(|k| k.is_empty()) {
        return Err("empty keyword".into());
    }
    Ok(keywords)
}

/// The rule's `paths` as one glob set; `None` when it sets none.
fn rule_paths(globs: Option<&[String]>) -> Result<Option<GlobSet>, String> {
    let Some(globs) = globs.filter(|g| !g.is_empty()) else {
        return Ok(None);
    };
    let mut b = GlobSetBuilder::new();
    for (n, g) in globs.iter().enumerate() {
        b.add(compile_glob(g).map_err(|e| format!("paths[{n}]: {e}"))?);
    }
    Ok(Some(b.build().map_err(|e| format!("paths: {}", e.kind()))?))
}

fn validator_named(name: &str) -> Result<Validator, String> {
    Validator::by_name(name).ok_or_else(|| {
        format!(
            "unknown `validate` value; expected one of {}",
            Validator::NAMES
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
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

#[cfg(test)]
mod tests {
    use crate::rules::pattern::{build_regex, regex_error};
    use crate::rules::RuleSet;

    /// Shipped patterns compile lazily at scan time; this is where a bad one is caught.
    #[test]
    fn every_shipped_pattern_compiles_under_the_limits() {
        let set = RuleSet::defaults().unwrap();
        assert!(!set.rules.is_empty());
        for rule in &set.rules {
            let src = rule.regex.as_str();
            build_regex(src).unwrap_or_else(|e| panic!("{}: {}", rule.id, regex_error(&e, src)));
            // And as the engine compiles it for search.
            rule.regex.search(&rule.keywords);
            for (re, _) in &rule.allowlist.regexes {
                build_regex(re.as_str()).unwrap_or_else(|e| panic!("{} allowlist: {e}", rule.id));
            }
        }
    }
}
