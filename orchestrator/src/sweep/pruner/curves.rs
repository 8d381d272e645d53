//! The told trials' values at each step, kept sorted as results arrive: what the median and
//! ASHA pruners read their thresholds from.

use std::collections::BTreeMap;

use models::Direction;
use trainer::StopRule;

use crate::store::TrialState;
use crate::sweep::sampler::TrialResult;

/// Every counted trial's value at each step it reached, best first.
///
/// Values are kept as scores, larger is better whatever the direction, so that one ordering
/// serves both; a NaN (a diverged model) scores as the worst possible value.
#[derive(Debug)]
pub(super) struct Curves {
    direction: Direction,
    trials: usize,
    steps: BTreeMap<u32, Vec<f64>>,
    /// The rule last derived from these values (every trial of a batch gets the same one);
    /// cleared by each `tell`.
    rule: Option<Option<StopRule>>,
}

impl Curves {
    /// No values yet, for an objective that goes `direction`.
    pub(super) fn new(direction: Direction) -> Curves {
        Curves {
            direction,
            trials: 0,
            steps: BTreeMap::new(),
            rule: None,
        }
    }

    /// Add a final trial's curve. Only complete and pruned trials count: a failed, timed-out or
    /// interrupted trial ended for a reason other than its objective.
    pub(super) fn tell(&mut self, result: &TrialResult) {
        if !matches!(result.state, TrialState::Complete | TrialState::Pruned) {
            return;
        }
        self.rule = None;
        self.trials += 1;
        let mut last = None;
        for &(step, value) in &result.intermediate {
            // A step reported twice counts once, so no trial weighs more than another.
            if last.is_some_and(|l| step <= l) {
                continue;
            }
            last = Some(step);
            let score = self.score(value);
            let values = self.steps.entry(step).or_default();
            // After the equal ones: the order of equal scores does not matter, but stays fixed.
            let at = values.partition_point(|&x| x >= score);
            values.insert(at, score);
        }
    }

    /// The stop rule `derive` gives from the values told so far, derived once per change.
    pub(super) fn rule(
        &mut self,
        derive: impl FnOnce(&Curves) -> Option<StopRule>,
    ) -> Option<StopRule> {
        if self.rule.is_none() {
            self.rule = Some(derive(self));
        }
        self.rule.clone().flatten()
    }

    /// Which way the objective is better.
    pub(super) fn direction(&self) -> Direction {
        self.direction
    }

    /// How many trials counted so far.
    pub(super) fn trials(&self) -> usize {
        self.trials
    }

    /// The largest step any counted trial reached.
    pub(super) fn last_step(&self) -> Option<u32> {
        self.steps.keys().next_back().copied()
    }

    /// How many counted trials reached `step`.
    pub(super) fn count(&self, step: u32) -> usize {
        self.steps.get(&step).map_or(0, Vec::len)
    }

    /// The `k`-th best value at `step` (0 for the best), in the objective's own terms.
    pub(super) fn nth_best(&self, step: u32, k: usize) -> Option<f64> {
        let s = *self.steps.get(&step)?.get(k)?;
        Some(self.value(s))
    }

    /// The median value at `step` (the midpoint of the two middle values of an even count).
    pub(super) fn median(&self, step: u32) -> Option<f64> {
        let values = self.steps.get(&step)?;
        let n = values.len();
        if n == 0 {
            return None;
        }
        let (a, b) = (values[(n - 1) / 2], values[n / 2]);
        let mid = a / 2.0 + b / 2.0;
        // Only opposite infinities have no midpoint: take the worse, which stops fewer trials.
        Some(self.value(if mid.is_nan() { b } else { mid }))
    }

    fn score(&self, value: f64) -> f64 {
        match self.direction {
            _ if value.is_nan() => f64::NEG_INFINITY,
            Direction::Maximize => value,
            Direction::Minimize => -value,
        }
    }

    fn value(&self, score: f64) -> f64 {
        match self.direction {
            Direction::Maximize => score,
            Direction::Minimize => -score,
        }
    }
}

/// A trial's result with `values` at steps 0, 1, ..., for the pruners' tests.
#[cfg(test)]
pub(super) fn result(trial: u64, state: TrialState, values: &[f64]) -> TrialResult {
    TrialResult {
        trial,
        params: models::Params::new(),
        state,
        value: (state == TrialState::Complete)
            .then(|| values.iter().sum::<f64>() / values.len().max(1) as f64),
        intermediate: values
            .iter()
            .enumerate()
            .map(|(s, v)| (s as u32, *v))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_ranked_best_first_in_the_objectives_direction() {
        let mut max = Curves::new(Direction::Maximize);
        let mut min = Curves::new(Direction::Minimize);
        for (t, v) in [0.5, 0.9, 0.1].into_iter().enumerate() {
            max.tell(&result(t as u64, TrialState::Complete, &[v]));
            min.tell(&result(t as u64, TrialState::Complete, &[v]));
        }
        assert_eq!(max.nth_best(0, 0), Some(0.9));
        assert_eq!(min.nth_best(0, 0), Some(0.1));
        assert_eq!(max.nth_best(0, 3), None);
    }

    #[test]
    fn a_diverged_value_ranks_last() {
        let mut c = Curves::new(Direction::Minimize);
        c.tell(&result(0, TrialState::Pruned, &[f64::NAN]));
        c.tell(&result(1, TrialState::Complete, &[7.0]));
        assert_eq!(c.nth_best(0, 0), Some(7.0));
        assert_eq!(c.nth_best(0, 1), Some(f64::INFINITY));
    }

    #[test]
    fn a_step_reported_twice_counts_once() {
        let mut c = Curves::new(Direction::Maximize);
        let mut r = result(0, TrialState::Complete, &[0.5]);
        r.intermediate.push((0, 0.6));
        c.tell(&r);
        assert_eq!(c.count(0), 1);
    }
}
