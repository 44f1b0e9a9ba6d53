//! Moved to [`crate::selftest`], out of the data layer. This path is kept, re-exporting it, only
//! for the integration tests that still import `keyfence::rules::check`; nothing in `src/` uses it.

pub use crate::selftest::{check_examples, materialize, CheckReport, ExampleFailure, ExampleKind};
