//! The cohort orchestrator: the CLI and everything that coordinates trainer processes.
//!
//! - `cli`: the command line; `config`: a study config checked into types that cannot hold
//!   invalid values.
//! - `supervisor`: the one place that starts, watches, respawns and stops trainer processes;
//!   `backends`: where they start.
//! - `sweep`: space, samplers, pruners, the trial queue and the scheduler of a sweep;
//!   `training`: data-parallel training through the ParamArray.
//! - `store`: the study database; `reports`: tables, JSON and CSV read back from it.
//! - `shared_data`: a dataset image written in place in shared memory.
//! - `plots`: figures of a study or a training run (SVG and PNG).
//! - `progress`: live progress on stderr (bars on a terminal, log lines elsewhere).

pub mod backends;
pub mod cli;
pub mod config;
pub mod error;
pub mod plots;
pub mod progress;
pub mod reports;
pub mod shared_data;
pub mod store;
pub mod supervisor;
pub mod sweep;
pub mod training;

pub use cli::main;
