//! Sources decide what is scanned and which lines of it count; they hand each [`Blob`] to the
//! driver's scanner and attribute what comes back. They never see rules.

pub(crate) mod attribution;
pub(crate) mod audit;
pub(crate) mod commits;
pub(crate) mod dir;
pub(crate) mod error;
pub(crate) mod git;
pub(crate) mod history;
pub(crate) mod lfs;
pub(crate) mod loose;
pub(crate) mod odb;
pub(crate) mod packorder;
pub(crate) mod push;
pub(crate) mod range;
pub(crate) mod staged;

pub(crate) mod whereabouts;

pub(crate) use crate::driver::{Blob, Lines, Provenance, Source};
