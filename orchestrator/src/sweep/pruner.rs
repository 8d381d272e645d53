//! Pruners stop bad trials early: told every report of every trial, they answer whether a
//! running trial should stop at the report point it just reached. The scheduler then sends
//! `Task::StopTrial`; the trial ends at its next report point in state `pruned`, and its trainer
//! takes the next trial.

/// Decides, at each report of a running trial, whether it stops there.
pub trait Pruner: Send {
    /// Trial `trial` reported the objective `value` at `step`: stop it?
    fn report(&mut self, trial: u64, step: u32, value: f64) -> bool;
}

/// Never stops a trial.
#[derive(Debug, Default)]
pub struct NoPruner;

impl Pruner for NoPruner {
    fn report(&mut self, _: u64, _: u32, _: f64) -> bool {
        false
    }
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
    fn report(&mut self, trial: u64, step: u32, _: f64) -> bool {
        self.at.contains(&(trial, step))
    }
}

/// The pruner of a study: the injected one when `COHORT_FAULT` asks, else none.
pub fn from_env() -> Box<dyn Pruner> {
    match std::env::var(trainer::fault::ENV)
        .ok()
        .and_then(|s| InjectedPruner::parse(&s))
    {
        Some(p) => Box::new(p),
        None => Box::new(NoPruner),
    }
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
