//! End-to-end tests: the real `cohort` binary, run the way a user runs it.

mod bad_input;
mod data_cache;
mod durability;
mod engine;
mod ergonomics;
mod faults;
mod parity;
mod plots;
mod predict;
mod preprocess;
mod program;
mod progress;
mod slurm;
mod sweep;
mod training;
mod trial_logs;
mod util;
