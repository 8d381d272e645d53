//! End-to-end tests: the real `cohort` binary, run the way a user runs it.

mod bad_input;
mod durability;
mod engine;
mod faults;
mod parity;
mod program;
mod slurm;
mod sweep;
mod training;
mod util;
