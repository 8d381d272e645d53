//! Samplers propose the trials of a study from its space, and are told every result (ask/tell).
//!
//! Trial `n`'s parameters may depend only on the seed, on `n` and on the results of the batches
//! before its own (`batch`): never on which worker ran what or when. So a study gives the same
//! trials with any number of workers, and a resumed study, whose sampler is told the stored
//! results again, continues as if it had never stopped. Grid and random ignore results.

mod grid;
mod random;
mod tpe;

pub use grid::GridSampler;
pub use random::RandomSampler;
pub use tpe::{TpeOptions, TpeSampler};

use models::Params;

use crate::store::TrialState;

/// A finished trial, as a sampler is told it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialResult {
    /// Its number.
    pub trial: u64,
    /// Its searched and fixed hyperparameters.
    pub params: Params,
    /// How it ended (complete, pruned, failed, ...).
    pub state: TrialState,
    /// The objective (complete trials).
    pub value: Option<f64>,
    /// The objective at each report point it reached, in step order.
    pub intermediate: Vec<(u32, f64)>,
}

/// Proposes trials and learns from their results.
pub trait Sampler: Send {
    /// Parameters of trial `n` (0-based), or None when the sampler proposes no more.
    ///
    /// Asked in increasing `n` (a resumed study skips trials it has); for a sampler with a
    /// `batch`, only once every trial of the earlier batches has been told.
    fn ask(&mut self, n: u64) -> Option<Params>;
    /// Learn the result of a finished trial. With a `batch`, results arrive a whole batch at a
    /// time, in trial order.
    fn tell(&mut self, result: &TrialResult);
    /// How many trials it proposes in all.
    fn len(&self) -> u64;
    /// Whether it proposes none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Trials proposed together from the same results; None when results are not used.
    fn batch(&self) -> Option<u64> {
        None
    }
}
