//! Sources decide what is scanned and hand bytes to a visitor; they never see rules.

pub mod attribution;
pub mod dir;
pub mod git;
pub mod history;
pub mod lfs;
pub mod loose;
pub mod odb;
pub mod packorder;
pub mod staged;
pub mod whereabouts;
