//! End-to-end tests: the real `cohort` binary, run the way a user runs it.

mod bad_input;
mod data_cache;
mod durability;
mod engine;
mod faults;
mod parity;
mod program;
mod sweep;
mod training;
mod util;
