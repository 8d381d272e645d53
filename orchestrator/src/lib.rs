//! The cohort orchestrator: the CLI and everything that coordinates trainer processes.
//!
//! `config` checks a study config into types that cannot hold invalid values; `space` and
//! `sampler` propose trials; `pool` starts and stops trainer processes; `scheduler` hands trials
//! to workers as they free up and records every event in the `store`; `report` reads it back.

pub mod cli;
pub mod config;
pub mod error;
pub mod pool;
pub mod report;
pub mod sampler;
pub mod scheduler;
pub mod signals;
pub mod space;
pub mod store;
pub mod study;
pub mod training;

pub use cli::main;
