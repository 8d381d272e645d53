//! Median stopping: a trial stops at a step where it does worse than the median of the trials
//! before it at that step (as Optuna's `MedianPruner`).

use std::num::NonZeroUsize;

use models::Direction;
use trainer::StopRule;

use super::Pruner;
use super::curves::Curves;
use crate::sweep::sampler::TrialResult;

/// Stops a trial at step `s` when its value there is worse than the median of the values at `s`
/// of the complete and pruned trials told so far (a pruned trial counts at the steps it reached).
///
/// Guards: nothing stops before `min_trials` trials have been told; steps below `warmup` never
/// stop a trial; and a step gets a threshold only once `min_trials` told trials reached it.
#[derive(Debug)]
pub struct MedianPruner {
    curves: Curves,
    min_trials: NonZeroUsize,
    warmup: u32,
}

impl MedianPruner {
    /// A median pruner for an objective that goes `direction`.
    pub fn new(direction: Direction, min_trials: NonZeroUsize, warmup: u32) -> MedianPruner {
        MedianPruner {
            curves: Curves::new(direction),
            min_trials,
            warmup,
        }
    }

    /// The rule from `curves`: the median at each step past the guards.
    fn derive(curves: &Curves, min_trials: NonZeroUsize, warmup: u32) -> Option<StopRule> {
        let min = min_trials.get();
        if curves.trials() < min {
            return None;
        }
        let last = curves.last_step()?;
        let thresholds: Vec<Option<f64>> = (0..=last)
            .map(|s| {
                (s >= warmup && curves.count(s) >= min)
                    .then(|| curves.median(s))
                    .flatten()
            })
            .collect();
        super::stop_rule(curves.direction(), thresholds)
    }
}

impl Pruner for MedianPruner {
    fn rule(&mut self, _: u64) -> Option<StopRule> {
        let (min_trials, warmup) = (self.min_trials, self.warmup);
        self.curves
            .rule(|curves| Self::derive(curves, min_trials, warmup))
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

    fn pruner(direction: Direction, min_trials: usize, warmup: u32) -> MedianPruner {
        MedianPruner::new(direction, NonZeroUsize::new(min_trials).unwrap(), warmup)
    }

    /// A maximizing pruner told complete trials with these curves.
    fn told(min_trials: usize, warmup: u32, curves: &[&[f64]]) -> MedianPruner {
        let mut p = pruner(Direction::Maximize, min_trials, warmup);
        for (t, c) in curves.iter().enumerate() {
            p.tell(&result(t as u64, Complete, c));
        }
        p
    }

    #[test]
    fn no_trial_stops_before_min_trials_trials_are_told() {
        let mut p = told(3, 0, &[&[0.5, 0.5], &[0.6, 0.6]]);
        assert_eq!(p.rule(2), None);
        p.tell(&result(2, Complete, &[0.7, 0.7]));
        assert!(p.rule(3).is_some());
    }

    #[test]
    fn the_threshold_at_a_step_is_the_median_there() {
        let mut p = told(3, 0, &[&[0.1, 0.4], &[0.3, 0.9], &[0.2, 0.5]]);
        let rule = p.rule(3).unwrap();
        assert_eq!(rule.thresholds, [Some(0.2), Some(0.5)]);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_midpoint_of_the_middle_two() {
        let mut p = told(2, 0, &[&[0.2], &[0.4], &[0.8], &[0.6]]);
        let t = p.rule(4).unwrap().thresholds[0].unwrap();
        assert!((t - 0.5).abs() < 1e-12, "{t}");
    }

    #[test]
    fn a_trial_below_the_median_at_a_step_stops_there_and_one_above_does_not() {
        let mut p = told(3, 0, &[&[0.1, 0.4], &[0.3, 0.9], &[0.2, 0.5]]);
        let rule = p.rule(3).unwrap();
        assert!(rule.stops(1, 0.45));
        assert!(!rule.stops(1, 0.55));
        assert!(!rule.stops(1, 0.5), "a trial at the median continues");
    }

    #[test]
    fn minimizing_stops_a_trial_above_the_median() {
        let mut p = pruner(Direction::Minimize, 3, 0);
        for (t, v) in [1.0, 3.0, 2.0].into_iter().enumerate() {
            p.tell(&result(t as u64, Complete, &[v]));
        }
        let rule = p.rule(3).unwrap();
        assert_eq!(rule.direction, Direction::Minimize);
        assert_eq!(rule.thresholds, [Some(2.0)]);
        assert!(rule.stops(0, 2.5));
        assert!(!rule.stops(0, 1.5));
    }

    #[test]
    fn steps_below_the_warmup_never_stop_a_trial() {
        let mut p = told(1, 2, &[&[0.5, 0.5, 0.5]]);
        assert_eq!(p.rule(1).unwrap().thresholds, [None, None, Some(0.5)]);
    }

    #[test]
    fn a_step_fewer_than_min_trials_reached_has_no_threshold() {
        let mut p = pruner(Direction::Maximize, 2, 0);
        p.tell(&result(0, Complete, &[0.5, 0.5]));
        p.tell(&result(1, Pruned, &[0.25]));
        assert_eq!(p.rule(2).unwrap().thresholds, [Some(0.375)]);
    }

    #[test]
    fn pruned_trials_count_at_the_steps_they_reached() {
        let mut p = told(3, 0, &[&[0.5, 0.5], &[0.6, 0.6], &[0.7, 0.7]]);
        p.tell(&result(3, Pruned, &[0.1]));
        p.tell(&result(4, Pruned, &[0.0]));
        // Step 0: 0.0, 0.1, 0.5, 0.6, 0.7; step 1 is the complete trials' only.
        assert_eq!(p.rule(5).unwrap().thresholds, [Some(0.5), Some(0.6)]);
    }

    #[test]
    fn a_diverged_trial_counts_as_the_worst_at_its_step() {
        let mut p = told(3, 0, &[&[0.5], &[0.6]]);
        p.tell(&result(2, Pruned, &[f64::NAN]));
        assert_eq!(p.rule(3).unwrap().thresholds, [Some(0.5)]);
    }

    #[test]
    fn failed_trials_change_nothing() {
        let mut with = told(3, 0, &[&[0.1], &[0.3], &[0.2]]);
        let mut without = told(3, 0, &[&[0.1], &[0.3], &[0.2]]);
        with.tell(&result(3, Failed, &[]));
        with.tell(&result(4, Failed, &[0.9]));
        assert_eq!(with.rule(5), without.rule(5));
        let mut early = told(3, 0, &[&[0.1], &[0.3]]);
        early.tell(&result(2, Failed, &[]));
        assert_eq!(
            early.rule(3),
            None,
            "a failed trial is not one of min_trials"
        );
    }

    #[test]
    fn the_rule_does_not_depend_on_the_order_results_were_told() {
        let mut a = told(2, 0, &[&[0.1, 0.2], &[0.3, 0.1], &[0.2, 0.9]]);
        let mut b = told(2, 0, &[&[0.2, 0.9], &[0.1, 0.2], &[0.3, 0.1]]);
        assert_eq!(a.rule(3), b.rule(3));
    }

    #[test]
    fn a_new_result_changes_the_rule_of_later_trials() {
        let mut p = told(1, 0, &[&[0.2]]);
        assert_eq!(p.rule(1).unwrap().thresholds, [Some(0.2)]);
        p.tell(&result(1, Complete, &[0.4]));
        let t = p.rule(2).unwrap().thresholds[0].unwrap();
        assert!((t - 0.3).abs() < 1e-12, "{t}");
    }
}
