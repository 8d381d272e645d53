//! Learning-rate schedules (scikit-learn's SGD names and formulas).

use serde::{Deserialize, Serialize};

/// Which learning-rate schedule, as a config names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// `eta = eta0` at every step.
    Constant,
    /// `eta = eta0 / t^power_t` (scikit-learn's `invscaling`).
    InverseScaling,
    /// `eta = 1 / (alpha · (t0 + t − 1))`, scikit-learn's `optimal` (Bottou's heuristic for t0).
    Optimal,
}

/// A validated schedule: its constants are finite and positive where they must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Schedule {
    Constant { eta0: f64 },
    InverseScaling { eta0: f64, power_t: f64 },
    Optimal { alpha: f64, t0: f64 },
}

impl Schedule {
    /// The `optimal` schedule for regularisation strength `alpha` (> 0).
    ///
    /// scikit-learn picks t0 so that the first step's rate is the "typical" initial rate
    /// `typw / max(1, dloss(p = -typw, y = 1))` with `typw = sqrt(1 / sqrt(alpha))`. For the
    /// log and squared losses that gradient is negative, so the max is 1 and the first rate is
    /// `typw` itself: `t0 = 1 / (typw · alpha)` (1000 for alpha = 1e-4).
    pub(crate) fn optimal(alpha: f64) -> Schedule {
        let typw = (1.0 / alpha.sqrt()).sqrt();
        Schedule::Optimal {
            alpha,
            t0: 1.0 / (typw * alpha),
        }
    }

    /// The rate of step `t` (1-based: the first step of a run is t = 1).
    #[inline(always)]
    pub(crate) fn eta(&self, t: u64) -> f64 {
        match *self {
            Schedule::Constant { eta0 } => eta0,
            Schedule::InverseScaling { eta0, power_t } => eta0 / (t as f64).powf(power_t),
            Schedule::Optimal { alpha, t0 } => 1.0 / (alpha * (t0 + t as f64 - 1.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_schedule_starts_at_scikit_learns_typical_rate() {
        let s = Schedule::optimal(1e-4);
        assert!((s.eta(1) - 10.0).abs() < 1e-9, "first rate {}", s.eta(1));
        assert!((s.eta(1001) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn inverse_scaling_decays_as_a_power_of_t() {
        let s = Schedule::InverseScaling {
            eta0: 0.01,
            power_t: 0.25,
        };
        assert_eq!(s.eta(1), 0.01);
        assert!((s.eta(16) - 0.005).abs() < 1e-15);
        assert_eq!(Schedule::Constant { eta0: 0.3 }.eta(1_000_000), 0.3);
    }
}
