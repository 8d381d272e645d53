//! Pruners stop bad trials early.
//!
//! A pruner is told every final trial with its intermediate values, a batch at a time like the
//! sampler, and gives each new trial a `StopRule`: a threshold per report point, from the results
//! of earlier batches only. The trainer applies it at each report point; a trial that falls
//! below a threshold ends there in state `pruned`, and its trainer takes the next trial at once.
//! Deciding before the trial starts keeps a study reproducible: whether and where a trial stops
//! depends on the seed and earlier batches, never on which worker was faster.
//!
//! A pruner may also act on live reports (`report`), answered with `Task::StopTrial`: the trial
//! then ends at its next report point. Only the injected pruner of the tests does, since such
//! decisions depend on timing.

use trainer::StopRule;

use super::sampler::TrialResult;

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
