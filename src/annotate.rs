//! Domain annotators: what a finding's secret says about itself (an AWS key's account and type)
//! and where it sits (the enclosing Terraform block), attached as generic [`Detail`]s, plus the
//! pack-level advice texts that apply. Reporters print details without knowing any domain.

use crate::engine::validate::Validator;
use crate::finding::{detail, Detail, Finding};
use crate::rules::RuleSet;

/// The id of the pack-level advice (`[[advice]]` in `rules/hashicorp.toml`) for Terraform
/// configuration and state.
pub(crate) const TERRAFORM_ADVICE: &str = "terraform";

/// The named block enclosing byte `at` of `text`, for paths whose language has one (Terraform).
pub(crate) fn block(text: &[u8], path: Option<&str>, at: usize) -> Option<String> {
    path.filter(|p| crate::terraform::is_terraform_path(p))
        .and_then(|_| crate::terraform::enclosing_block(text, at))
}

/// The annotators of one rule set: which rules' secrets are AWS access key IDs, and which rules
/// are composite (their related parts may be one), looked up once rather than per finding.
pub(crate) struct Annotator<'a> {
    key_id_rules: Vec<&'a str>,
    composites: Vec<&'a str>,
}

impl<'a> Annotator<'a> {
    pub(crate) fn new(rules: &'a RuleSet) -> Self {
        let ids = |keep: &dyn Fn(&crate::rules::Rule) -> bool| {
            rules
                .rules
                .iter()
                .filter(|r| keep(r))
                .map(|r| r.id.as_str())
                .collect()
        };
        Annotator {
            key_id_rules: ids(&|r| r.validator == Some(Validator::AwsKeyId)),
            composites: ids(&|r| r.requires.is_some()),
        }
    }

    /// Attaches every detail known for `f`; `block` is where [`block`] placed it.
    pub(crate) fn annotate(&self, f: &mut Finding, block: Option<String>) {
        if let Some(id) = self.access_key_id(f) {
            for d in crate::aws::details(&id) {
                f.details.set(d);
            }
        }
        if let Some(b) = block {
            f.details.set(Detail {
                key: detail::BLOCK,
                text: format!("in {b}"),
                value: b,
            });
            f.details.advise(TERRAFORM_ADVICE);
        }
        if f.file
            .as_deref()
            .is_some_and(crate::terraform::is_state_path)
        {
            f.details.advise(TERRAFORM_ADVICE);
        }
    }

    /// The AWS access key ID `f` carries: its own secret when its rule validates key IDs, else
    /// the part of a composite finding whose rule does.
    fn access_key_id(&self, f: &Finding) -> Option<String> {
        let is_key_id = |rule: &str| self.key_id_rules.contains(&rule);
        if is_key_id(&f.rule_id) {
            return Some(f.secret.clone());
        }
        if !self.composites.contains(&f.rule_id.as_str()) {
            return None;
        }
        f.related
            .iter()
            .find(|r| is_key_id(&r.rule_id))
            .map(|r| r.secret.clone())
    }
}
