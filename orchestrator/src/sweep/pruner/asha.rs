//! Asynchronous successive halving (ASHA) as stop rules: at each rung a trial continues only if
//! it would be in the top `1/η` of the trials told before it at that rung.

use std::num::{NonZeroU32, NonZeroUsize};

use models::Direction;
use trainer::StopRule;

use super::Pruner;
use super::curves::Curves;
use crate::sweep::sampler::TrialResult;

/// ASHA's reduction factor η: the share `1/η` of a rung's trials that go on. At least 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReductionFactor(u32);

impl ReductionFactor {
    /// `eta`, when it is at least 2 (with 1 every rung would be the same step).
    pub fn new(eta: u32) -> Option<ReductionFactor> {
        (eta >= 2).then_some(ReductionFactor(eta))
    }

    /// Its value.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Stops trials at rungs, by successive halving.
///
/// Rung `k` is reached after `min_resource · η^k` report points: steps count from 0, so it sits
/// at step `min_resource · η^k − 1` (with the defaults 1 and 3: steps 0, 2, 8, 26, ...). At a
/// rung that `n ≥ η` told trials reached, the threshold is the value of the `⌊n/η⌋`-th best of
/// them: a trial that does worse there stops. Complete and pruned trials count, the pruned at
/// the rungs they reached. Nothing stops before `min_trials` trials have been told.
#[derive(Debug)]
pub struct AshaPruner {
    curves: Curves,
    min_resource: NonZeroU32,
    eta: ReductionFactor,
    min_trials: NonZeroUsize,
}

impl AshaPruner {
    /// An ASHA pruner for an objective that goes `direction`.
    pub fn new(
        direction: Direction,
        min_resource: NonZeroU32,
        reduction_factor: ReductionFactor,
        min_trials: NonZeroUsize,
    ) -> AshaPruner {
        AshaPruner {
            curves: Curves::new(direction),
            min_resource,
            eta: reduction_factor,
            min_trials,
        }
    }
}

/// The steps of the rungs up to `last`, in order.
fn rungs(min_resource: NonZeroU32, eta: ReductionFactor, last: u32) -> impl Iterator<Item = u32> {
    let eta = u64::from(eta.get());
    std::iter::successors(Some(u64::from(min_resource.get())), move |r| {
        r.checked_mul(eta)
    })
    .map(|resource| resource - 1)
    .take_while(move |&step| step <= u64::from(last))
    .map(|step| step as u32)
}

/// The rule from `curves`: at each rung, the worst value of the top 1/η there.
fn derive(
    curves: &Curves,
    min_resource: NonZeroU32,
    eta: ReductionFactor,
    min_trials: NonZeroUsize,
) -> Option<StopRule> {
    if curves.trials() < min_trials.get() {
        return None;
    }
    let last = curves.last_step()?;
    let n_eta = eta.get() as usize;
    let mut thresholds = vec![None; last as usize + 1];
    for step in rungs(min_resource, eta, last) {
        let n = curves.count(step);
        // Like ASHA's promotion, which needs η trials at a rung before it promotes one.
        if n >= n_eta {
            thresholds[step as usize] = curves.nth_best(step, n / n_eta - 1);
        }
    }
    super::stop_rule(curves.direction(), thresholds)
}

impl Pruner for AshaPruner {
    fn rule(&mut self, _: u64) -> Option<StopRule> {
        let (min_resource, eta, min_trials) = (self.min_resource, self.eta, self.min_trials);
        self.curves
            .rule(|curves| derive(curves, min_resource, eta, min_trials))
    }

    fn tell(&mut self, result: &TrialResult) {
        self.curves.tell(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TrialState::{Complete, Failed, Pruned};
    use crate::sweep::pruner::curves::result;

    fn pruner(direction: Direction, min_resource: u32, eta: u32, min_trials: usize) -> AshaPruner {
        AshaPruner::new(
            direction,
            NonZeroU32::new(min_resource).unwrap(),
            ReductionFactor::new(eta).unwrap(),
            NonZeroUsize::new(min_trials).unwrap(),
        )
    }

    /// A maximizing pruner (min_resource 1) told complete trials with these curves.
    fn told(eta: u32, min_trials: usize, curves: &[&[f64]]) -> AshaPruner {
        let mut p = pruner(Direction::Maximize, 1, eta, min_trials);
        for (t, c) in curves.iter().enumerate() {
            p.tell(&result(t as u64, Complete, c));
        }
        p
    }

    /// The steps that have a threshold.
    fn rung_steps(rule: &StopRule) -> Vec<usize> {
        (0..rule.thresholds.len())
            .filter(|&s| rule.thresholds[s].is_some())
            .collect()
    }

    #[test]
    fn a_reduction_factor_below_two_is_refused() {
        assert_eq!(ReductionFactor::new(1), None);
        assert_eq!(ReductionFactor::new(2).map(ReductionFactor::get), Some(2));
    }

    #[test]
    fn rungs_sit_at_min_resource_times_eta_to_the_k_report_points() {
        let mut p = pruner(Direction::Maximize, 2, 3, 1);
        for t in 0..3 {
            p.tell(&result(t, Complete, &[0.5; 20]));
        }
        assert_eq!(rung_steps(&p.rule(3).unwrap()), [1, 5, 17]);
    }

    #[test]
    fn with_min_resource_one_the_first_rung_is_step_zero() {
        let mut p = told(2, 1, &[&[0.5; 4], &[0.5; 4]]);
        assert_eq!(rung_steps(&p.rule(2).unwrap()), [0, 1, 3]);
    }

    #[test]
    fn a_rung_gets_a_threshold_only_once_eta_told_trials_reached_it() {
        let mut p = told(3, 1, &[&[0.5, 0.5, 0.5], &[0.6, 0.6, 0.6]]);
        assert_eq!(p.rule(2), None);
        p.tell(&result(2, Pruned, &[0.7]));
        // Rung 0 has three values; rung 1 (step 2) still two.
        assert_eq!(rung_steps(&p.rule(3).unwrap()), [0]);
    }

    #[test]
    fn no_trial_stops_before_min_trials_trials_are_told() {
        let mut p = told(2, 4, &[&[0.1], &[0.2], &[0.3]]);
        assert_eq!(p.rule(3), None);
        p.tell(&result(3, Complete, &[0.4]));
        assert!(p.rule(4).is_some());
    }

    #[test]
    fn the_threshold_is_the_worst_value_of_the_top_one_over_eta() {
        let mut six = told(3, 1, &[&[0.1], &[0.6], &[0.3], &[0.4], &[0.5], &[0.2]]);
        assert_eq!(six.rule(6).unwrap().thresholds, [Some(0.5)]);
        let mut five = told(3, 1, &[&[0.1], &[0.4], &[0.3], &[0.5], &[0.2]]);
        assert_eq!(
            five.rule(5).unwrap().thresholds,
            [Some(0.5)],
            "⌊5/3⌋ = 1 goes on"
        );
    }

    #[test]
    fn a_trial_outside_the_top_at_a_rung_stops_there_and_one_inside_does_not() {
        let mut p = told(3, 1, &[&[0.1], &[0.6], &[0.3], &[0.4], &[0.5], &[0.2]]);
        let rule = p.rule(6).unwrap();
        assert!(rule.stops(0, 0.45));
        assert!(!rule.stops(0, 0.55));
        assert!(!rule.stops(0, 0.5), "a tie with the top continues");
    }

    #[test]
    fn minimizing_keeps_the_smallest_values() {
        let mut p = pruner(Direction::Minimize, 1, 2, 1);
        for (t, v) in [4.0, 1.0, 3.0, 2.0].into_iter().enumerate() {
            p.tell(&result(t as u64, Complete, &[v]));
        }
        let rule = p.rule(4).unwrap();
        assert_eq!(rule.direction, Direction::Minimize);
        assert_eq!(rule.thresholds, [Some(2.0)]);
        assert!(rule.stops(0, 2.5));
        assert!(!rule.stops(0, 1.5));
    }

    #[test]
    fn pruned_trials_count_at_the_rungs_they_reached() {
        let mut p = told(2, 1, &[&[0.9, 0.9], &[0.8, 0.8]]);
        assert_eq!(p.rule(2).unwrap().thresholds, [Some(0.9), Some(0.9)]);
        p.tell(&result(2, Pruned, &[0.1]));
        p.tell(&result(3, Pruned, &[0.2]));
        // Rung 0: 0.9, 0.8, 0.2, 0.1 keeps two; rung 1 is the complete trials' only.
        assert_eq!(p.rule(4).unwrap().thresholds, [Some(0.8), Some(0.9)]);
    }

    #[test]
    fn failed_trials_change_nothing() {
        let curves: &[&[f64]] = &[&[0.1], &[0.3], &[0.2]];
        let mut with = told(3, 3, curves);
        with.tell(&result(3, Failed, &[]));
        with.tell(&result(4, Failed, &[0.9]));
        assert_eq!(with.rule(5), told(3, 3, curves).rule(5));
        let mut early = told(2, 3, &[&[0.1], &[0.3]]);
        early.tell(&result(2, Failed, &[]));
        assert_eq!(
            early.rule(3),
            None,
            "a failed trial is not one of min_trials"
        );
    }
}
