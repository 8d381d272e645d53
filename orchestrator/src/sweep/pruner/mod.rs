//! Pruners stop bad trials early.
//!
//! A pruner is told every final trial with its intermediate values, a batch at a time like the
//! sampler, and gives each new trial a `StopRule`: a threshold per report point, from the results
//! of earlier batches only. The trainer applies it at each report point; a trial that falls
//! below a threshold ends there in state `pruned`, and its trainer takes the next trial at once.
//! Deciding before the trial starts keeps a study reproducible: whether and where a trial stops
//! depends on the seed and earlier batches, never on which worker was faster.
//!
//! `median` stops a trial that does worse than the median of earlier trials at a step; `asha`
//! (successive halving) one that is outside the top `1/η` of earlier trials at a rung. A step
//! is a report point, counted from 0: a fold of the cross-validation for the built-in models,
//! an epoch for iterative ones; the same step is the same resource in every trial.
//!
//! A pruner may also act on live reports (`report`), answered with `Task::StopTrial`: the trial
//! then ends at its next report point. Only the injected pruner of the tests does, since such
//! decisions depend on timing.

mod asha;
mod curves;
mod median;

use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};

use models::Direction;
use trainer::StopRule;

use super::sampler::TrialResult;

pub use asha::{AshaPruner, ReductionFactor};
pub use median::MedianPruner;

/// A configured pruner (`[search.pruner]`), checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrunerSpec {
    /// Median stopping (`MedianPruner`).
    Median {
        /// Trials told before any trial stops, and told values a step needs for a threshold.
        min_trials: NonZeroUsize,
        /// Steps (from 0) below this never stop a trial.
        warmup: u32,
    },
    /// Asynchronous successive halving (`AshaPruner`).
    Asha {
        /// Report points a trial always completes; the first rung is step `min_resource - 1`.
        min_resource: NonZeroU32,
        /// η: the top `1/η` of a rung goes on, and rung `k` is `η^k · min_resource` points.
        reduction_factor: ReductionFactor,
        /// Trials told before any trial stops.
        min_trials: NonZeroUsize,
    },
}

impl PrunerSpec {
    /// Its kind, as the config spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            PrunerSpec::Median { .. } => "median",
            PrunerSpec::Asha { .. } => "asha",
        }
    }

    /// The pruner it describes, for an objective that goes `direction`.
    pub fn build(&self, direction: Direction) -> Box<dyn Pruner> {
        match *self {
            PrunerSpec::Median { min_trials, warmup } => {
                Box::new(MedianPruner::new(direction, min_trials, warmup))
            }
            PrunerSpec::Asha {
                min_resource,
                reduction_factor,
                min_trials,
            } => Box::new(AshaPruner::new(
                direction,
                min_resource,
                reduction_factor,
                min_trials,
            )),
        }
    }
}

impl fmt::Display for PrunerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrunerSpec::Median { min_trials, warmup } => {
                write!(f, "median (min_trials {min_trials}, warmup {warmup})")
            }
            PrunerSpec::Asha {
                min_resource,
                reduction_factor,
                min_trials,
            } => write!(
                f,
                "asha (min_resource {min_resource}, reduction_factor {}, min_trials {min_trials})",
                reduction_factor.get()
            ),
        }
    }
}

/// A stop rule with `thresholds`, without the trailing steps that have none; None when no step
/// has one.
fn stop_rule(direction: Direction, mut thresholds: Vec<Option<f64>>) -> Option<StopRule> {
    while thresholds.last() == Some(&None) {
        thresholds.pop();
    }
    (!thresholds.is_empty()).then_some(StopRule {
        direction,
        thresholds,
    })
}

/// Decides where trials stop.
pub trait Pruner: Send {
    /// The stop rule of trial `trial`, from what it has been told (None: it runs to the end).
    fn rule(&mut self, trial: u64) -> Option<StopRule>;
    /// A final trial's result with its intermediate values.
    fn tell(&mut self, result: &TrialResult);
    /// A live report of a running trial: stop it at its next report point?
    fn report(&mut self, _trial: u64, _step: u32, _value: f64) -> bool {
        false
    }
}

/// Never stops a trial.
#[derive(Debug, Default)]
pub struct NoPruner;

impl Pruner for NoPruner {
    fn rule(&mut self, _: u64) -> Option<StopRule> {
        None
    }
    fn tell(&mut self, _: &TrialResult) {}
}

/// Stops chosen trials at chosen steps: `COHORT_FAULT` rules `prune@TRIAL:STEP`, for the
/// end-to-end tests of stopping a trial without killing its trainer. Other rules are the
/// trainers' (see `trainer::fault`).
#[derive(Debug, Default)]
pub struct InjectedPruner {
    at: Vec<(u64, u32)>,
}

impl InjectedPruner {
    /// The `prune@T:S` rules of `spec`, or None when it has none.
    pub fn parse(spec: &str) -> Option<InjectedPruner> {
        let at: Vec<(u64, u32)> = spec
            .split(',')
            .filter_map(|r| r.trim().strip_prefix("prune@"))
            .filter_map(|r| {
                let (t, s) = r.split_once(':')?;
                Some((t.parse().ok()?, s.parse().ok()?))
            })
            .collect();
        (!at.is_empty()).then_some(InjectedPruner { at })
    }
}

impl Pruner for InjectedPruner {
    fn rule(&mut self, _: u64) -> Option<StopRule> {
        None
    }
    fn tell(&mut self, _: &TrialResult) {}
    fn report(&mut self, trial: u64, step: u32, _: f64) -> bool {
        self.at.contains(&(trial, step))
    }
}

/// The injected pruner, when `COHORT_FAULT` asks for one.
pub fn injected() -> Option<Box<dyn Pruner>> {
    std::env::var(trainer::fault::ENV)
        .ok()
        .and_then(|s| InjectedPruner::parse(&s))
        .map(|p| Box::new(p) as Box<dyn Pruner>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_rules_stop_their_trial_at_their_step_only() {
        let mut p = InjectedPruner::parse("sleep20@*,prune@2:1").unwrap();
        assert!(!p.report(2, 0, 0.5));
        assert!(p.report(2, 1, 0.5));
        assert!(!p.report(3, 1, 0.5));
    }

    #[test]
    fn no_prune_rule_means_no_injected_pruner() {
        assert!(InjectedPruner::parse("panic@3").is_none());
    }
}
