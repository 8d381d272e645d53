//! Which failures are the user's input (exit status 2) and which are the run's (exit status 1).

use std::fmt;

/// Marks an error as bad input: a config, data file, flag or directory the user must fix.
#[derive(Debug)]
pub struct BadInput(pub anyhow::Error);

impl BadInput {
    /// Wrap any error as bad input.
    pub fn new(e: impl Into<anyhow::Error>) -> BadInput {
        BadInput(e.into())
    }
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for BadInput {}

/// Exit statuses (documented in the README).
pub mod exit {
    /// The study finished (failed trials are data).
    pub const OK: u8 = 0;
    /// It could not run, or every trial failed.
    pub const FAILED: u8 = 1;
    /// Bad input or usage.
    pub const BAD_INPUT: u8 = 2;
    /// Interrupted by Ctrl-C or SIGTERM.
    pub const INTERRUPTED: u8 = 130;
}
