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

/// Attaches every detail known for `f`; `block` is where [`block`] placed it.
pub(crate) fn annotate(f: &mut Finding, block: Option<String>, rules: &RuleSet) {
    if let Some(id) = access_key_id(f, rules) {
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

/// The AWS access key ID `f` carries: its own secret when its rule validates key IDs, else the
/// part of a composite finding whose rule does.
fn access_key_id(f: &Finding, rules: &RuleSet) -> Option<String> {
    let is_key_id = |rule: &str| {
        rules
            .get(rule)
            .is_some_and(|r| r.validator == Some(Validator::AwsKeyId))
    };
    if is_key_id(&f.rule_id) {
        return Some(f.secret.clone());
    }
    let composite = rules.get(&f.rule_id).is_some_and(|r| r.requires.is_some());
    if !composite {
        return None;
    }
    f.related
        .iter()
        .find(|r| is_key_id(&r.rule_id))
        .map(|r| r.secret.clone())
}
