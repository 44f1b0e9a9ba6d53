//! Self-tests of rules (`keyfence rules test`, `cargo test`): every example must be found and every
//! negative example must not, both through the whole engine (prefilter, regex, entropy, validator,
//! allowlists), never the bare regex — a check that skips the prefilter proves nothing about real
//! scans. Kept out of `rules` (the data layer): it runs the engine and fills examples with the
//! fake-key generator, which nothing on the scan path may depend on.

use crate::engine::Engine;
use crate::error::UnknownPlaceholder;
use crate::finding::SourceKind;
use crate::pipeline::scan_text;
use crate::rules::placeholder::{fill, Generator};

/// Which list an example came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleKind {
    Positive,
    Negative,
}

/// An example that did not behave as its rule promises.
#[derive(Debug, Clone)]
pub struct ExampleFailure {
    pub rule_id: String,
    pub kind: ExampleKind,
    /// The example as written (placeholders unfilled, so no secret is printed).
    pub template: String,
    pub reason: String,
}

/// Totals of a check run.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub rules: usize,
    pub positives: usize,
    pub negatives: usize,
    pub failures: Vec<ExampleFailure>,
}

/// Fills an example's placeholders with values seeded by rule id and position.
pub fn materialize(
    rule_id: &str,
    kind: ExampleKind,
    index: usize,
    template: &str,
) -> Result<String, UnknownPlaceholder> {
    let tag = match kind {
        ExampleKind::Positive => "pos",
        ExampleKind::Negative => "neg",
    };
    fill(
        template,
        &mut Generator::from_label(&format!("{rule_id}#{tag}{index}")),
    )
}

/// Checks the examples of every rule in the engine (or only `only`, when given).
pub fn check_examples(engine: &Engine, only: Option<&[String]>) -> CheckReport {
    let mut report = CheckReport::default();
    for rule in engine.rules() {
        if only.is_some_and(|ids| !ids.contains(&rule.id)) {
            continue;
        }
        report.rules += 1;
        let path = rule.example_path.as_deref().unwrap_or("example.txt");
        let lists = [
            (ExampleKind::Positive, &rule.examples),
            (ExampleKind::Negative, &rule.negative_examples),
        ];
        for (kind, list) in lists {
            for (i, template) in list.iter().enumerate() {
                match kind {
                    ExampleKind::Positive => report.positives += 1,
                    ExampleKind::Negative => report.negatives += 1,
                }
                let fail = |reason: String| ExampleFailure {
                    rule_id: rule.id.clone(),
                    kind,
                    template: template.clone(),
                    reason,
                };
                let text = match materialize(&rule.id, kind, i, template) {
                    Ok(t) => t,
                    Err(e) => {
                        report.failures.push(fail(e.to_string()));
                        continue;
                    }
                };
                let hits = scan_text(engine, text.as_bytes(), Some(path), SourceKind::File)
                    .into_iter()
                    .filter(|f| f.rule_id == rule.id)
                    .count();
                match kind {
                    ExampleKind::Positive if hits == 0 => {
                        report.failures.push(fail("not detected".into()))
                    }
                    ExampleKind::Negative if hits > 0 => report
                        .failures
                        .push(fail(format!("detected {hits} time(s)"))),
                    _ => {}
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    #[test]
    fn every_shipped_example_passes_through_the_engine() {
        let engine = Engine::new(RuleSet::defaults().expect("shipped packs load"));
        let report = check_examples(&engine, None);
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|f| format!("{} {:?} {}: {:?}", f.rule_id, f.kind, f.reason, f.template))
            .collect();
        assert!(
            failures.is_empty(),
            "failing examples:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn shipped_rules_are_many_and_well_exemplified() {
        let rules = RuleSet::defaults().expect("shipped packs load");
        assert!(rules.rules.len() >= 200, "only {} rules", rules.rules.len());
        for r in &rules.rules {
            let min = if r.id.starts_with("aws-") { 5 } else { 3 };
            assert!(
                r.examples.len() >= min,
                "{}: {} examples",
                r.id,
                r.examples.len()
            );
            assert!(
                r.negative_examples.len() >= min,
                "{}: {} negative examples",
                r.id,
                r.negative_examples.len()
            );
            assert!(
                r.references.iter().any(|u| u.starts_with("https://")),
                "{}: no https reference to the format's documentation",
                r.id
            );
            assert!(
                !r.keywords.is_empty(),
                "{}: no keywords, it would run on every file",
                r.id
            );
        }
    }
}
