//! Rules: the shipped TOML packs, the user's additions, and their compiled form.
//!
//! The layers, each using only those above it: `spec` is the data as written; `pattern` builds
//! regexes and globs under size caps; `allowlist` and `compile` turn specs into the compiled
//! [`Rule`]s of `rule`; `load` reads packs and config (`read` reads a file within bounds), merges
//! them by rule id and compiles each rule once. A bad regex or an unknown field is a load error
//! naming the file, the line and the rule — never silently dropped. `requires` (composite rules)
//! and `advice` (pack-level remediation) are parts of a rule set too. The fake-key generator (`placeholder`) lives here beside the
//! packs whose examples it fills, but nothing here or on the scan path uses it.

pub(crate) mod advice;
mod allowlist;
mod compile;
mod load;
mod pattern;
pub mod placeholder;
mod reach;
mod read;
pub(crate) mod requires;
mod rule;
pub mod spec;

pub(crate) use allowlist::{Allowlist, Candidate};
pub use load::{add_pack_file, PackText, RuleSetBuilder};
pub(crate) use pattern::RuleSearch;
pub(crate) use reach::Reach;
pub(crate) use read::{line_of, read_config_text, toml_error};
pub use rule::{Origin, Rule, RuleSet};
pub(crate) use spec::{InlineAllow, Severity};
