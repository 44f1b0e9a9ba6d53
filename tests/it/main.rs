//! The one integration test binary (libgit2 is linked once, and libtest runs every test of every
//! module on one thread pool). One module per area; every module builds its inputs with
//! [`fixture`], whose processes never see the developer's environment.
//!
//! Run one area with `cargo test --test it MODULE::`, e.g. `cargo test --test it readme::`.

mod fixture;

mod aws_recall;
mod aws_shapes;
mod ci_range;
mod commit_msg_hook;
mod compose_reports;
mod config_model;
mod damaged_objects;
mod driver_one_path;
mod equivalence;
mod fixtures;
mod gate_advice;
mod gate_content;
mod gate_holes;
mod git_history;
mod git_push;
mod git_staged;
mod hostile_config;
mod hostile_files;
mod hostile_git;
mod hostile_secrets;
mod install_hooks;
mod isolation;
mod layout;
mod memory_bounds;
mod newcomer;
mod output_safety;
mod packaging;
mod prefilter_speed;
mod readme;
mod readme_names;
mod report_schemas;
mod report_snapshots;
mod rule_breadth;
mod scan_aws;
mod scan_config;
mod scan_input;
mod scan_report;
mod skip_reasons;
mod smart_packs;
mod summaries;
mod trust;
mod verify_sts;
mod whereabouts;
