//! End-to-end tests: the real `cohort` binary, run the way a user runs it.

mod bad_input;
mod durability;
mod engine;
mod ergonomics;
mod faults;
mod parity;
mod predict;
mod program;
mod sweep;
mod training;
mod util;
