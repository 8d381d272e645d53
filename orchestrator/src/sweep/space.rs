//! The search space: each hyperparameter's distribution, grid enumeration and random draws.

use std::collections::BTreeMap;

use models::{ParamValue, Params};
use rand::Rng;
use rand::seq::SliceRandom;

/// Where one hyperparameter's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// One of a list of values.
    Categorical(Vec<ParamValue>),
    /// Integers in `low..=high` with `step`, optionally log-spaced when drawn at random.
    Int {
        /// Lowest value.
        low: i64,
        /// Highest value (inclusive).
        high: i64,
        /// Spacing between values.
        step: i64,
        /// Draw uniformly in log space (random search).
        log: bool,
    },
    /// Reals in `[low, high]`; `points` values (evenly, or log-evenly, spaced) for grid search.
    Float {
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
        /// Draw uniformly in log space (and space grid points logarithmically).
        log: bool,
        /// How many grid points, if grid search is to use this parameter.
        points: Option<usize>,
    },
}

impl Distribution {
    /// How many values grid search visits, or None if the distribution is continuous without
    /// `points`.
    pub fn grid_len(&self) -> Option<u64> {
        match self {
            Distribution::Categorical(v) => Some(v.len() as u64),
            Distribution::Int {
                low, high, step, ..
            } => Some(((*high as i128 - *low as i128) / *step as i128 + 1) as u64),
            Distribution::Float { points, .. } => points.map(|p| p as u64),
        }
    }

    /// The `i`-th value grid search visits (`i < grid_len()`), computed, never listed.
    pub fn grid_value(&self, i: u64) -> ParamValue {
        match self {
            Distribution::Categorical(v) => v[i as usize].clone(),
            Distribution::Int { low, step, .. } => ParamValue::Int(low + i as i64 * step),
            Distribution::Float {
                low,
                high,
                log,
                points,
            } => {
                let n = points.unwrap_or(1) as u64;
                if i == 0 || n == 1 {
                    return ParamValue::Float(*low);
                }
                if i == n - 1 {
                    return ParamValue::Float(*high);
                }
                let (a, b) = if *log {
                    (low.ln(), high.ln())
                } else {
                    (*low, *high)
                };
                let t = a + (b - a) * i as f64 / (n - 1) as f64;
                // 12 significant digits: `0.01`, not `0.010000000000000002`.
                ParamValue::Float(round_significant(if *log { t.exp() } else { t }, 12))
            }
        }
    }

    /// One value drawn at random.
    pub fn sample(&self, rng: &mut impl Rng) -> ParamValue {
        match self {
            Distribution::Categorical(v) => {
                v.choose(rng).cloned().unwrap_or(ParamValue::Bool(false))
            }
            Distribution::Int {
                low,
                high,
                step,
                log,
            } => {
                let n_steps = (high - low) / step;
                let k = if *log {
                    // Log-uniform over the value, then snapped to the step grid.
                    let v = rng
                        .gen_range((*low as f64).ln()..=(*high as f64).ln())
                        .exp();
                    (((v - *low as f64) / *step as f64).round() as i64).clamp(0, n_steps)
                } else {
                    rng.gen_range(0..=n_steps)
                };
                ParamValue::Int(low + k * step)
            }
            Distribution::Float { low, high, log, .. } => {
                if low == high {
                    return ParamValue::Float(*low);
                }
                let v = if *log {
                    rng.gen_range(low.ln()..=high.ln()).exp()
                } else {
                    rng.gen_range(*low..=*high)
                };
                ParamValue::Float(v)
            }
        }
    }
}

/// `x` rounded to `digits` significant decimal digits.
fn round_significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// The search space: a distribution per hyperparameter, ordered by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Space(pub BTreeMap<String, Distribution>);

impl Space {
    /// The number of grid points (the product of every dimension's, saturating), or None if a
    /// dimension is continuous without `points`.
    pub fn grid_size(&self) -> Option<u128> {
        self.0.values().try_fold(1u128, |n, d| {
            d.grid_len().map(|k| n.saturating_mul(k as u128))
        })
    }

    /// Grid point `n` (`n < grid_size()`): the first parameter (by name) varies slowest, as in
    /// scikit-learn's `ParameterGrid`, so ties between equal scores break the same way.
    /// Computed from `n`, so a grid is never held in memory.
    pub fn grid_point(&self, n: u64) -> Params {
        let mut rest = n;
        let mut out = Params::new();
        for (name, dist) in self.0.iter().rev() {
            let k = dist.grid_len().unwrap_or(1).max(1);
            out.insert(name.clone(), dist.grid_value(rest % k));
            rest /= k;
        }
        out
    }

    /// One draw of every parameter.
    pub fn sample(&self, rng: &mut impl Rng) -> Params {
        self.0
            .iter()
            .map(|(k, d)| (k.clone(), d.sample(rng)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn grid_varies_the_first_parameter_slowest_like_scikit_learn() {
        let mut s = BTreeMap::new();
        s.insert(
            "C".to_string(),
            Distribution::Categorical(vec![ParamValue::Float(0.1), ParamValue::Float(1.0)]),
        );
        s.insert(
            "fit_intercept".to_string(),
            Distribution::Categorical(vec![ParamValue::Bool(true), ParamValue::Bool(false)]),
        );
        let space = Space(s);
        assert_eq!(space.grid_size(), Some(4));
        let pairs: Vec<(String, String)> = (0..4)
            .map(|n| space.grid_point(n))
            .map(|p| (p["C"].to_string(), p["fit_intercept"].to_string()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("0.1", "true"),
                ("0.1", "false"),
                ("1", "true"),
                ("1", "false")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn log_float_grid_points_are_log_spaced_and_hit_both_ends() {
        let d = Distribution::Float {
            low: 0.001,
            high: 100.0,
            log: true,
            points: Some(6),
        };
        assert_eq!(d.grid_len(), Some(6));
        let v: Vec<f64> = (0..6)
            .map(|i| d.grid_value(i))
            .map(|v| if let ParamValue::Float(x) = v { x } else { 0.0 })
            .collect();
        assert_eq!(v, [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]);
    }

    #[test]
    fn int_range_respects_step_and_bounds() {
        let d = Distribution::Int {
            low: 2,
            high: 9,
            step: 3,
            log: false,
        };
        assert_eq!(d.grid_len(), Some(3));
        assert_eq!(
            (0..3).map(|i| d.grid_value(i)).collect::<Vec<_>>(),
            vec![ParamValue::Int(2), ParamValue::Int(5), ParamValue::Int(8)]
        );
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let ParamValue::Int(x) = d.sample(&mut rng) else {
                panic!()
            };
            assert!([2, 5, 8].contains(&x));
        }
    }

    #[test]
    fn a_huge_grid_is_counted_without_being_built() {
        let wide = |high| Distribution::Int {
            low: 1,
            high,
            step: 1,
            log: false,
        };
        let space = Space(BTreeMap::from([
            ("a".to_string(), wide(100_000)),
            ("b".to_string(), wide(200_000)),
        ]));
        assert_eq!(space.grid_size(), Some(20_000_000_000));
        let last = space.grid_point(19_999_999_999);
        assert_eq!(last["a"], ParamValue::Int(100_000));
        assert_eq!(last["b"], ParamValue::Int(200_000));
    }

    #[test]
    fn log_uniform_draws_stay_in_range_and_spread_over_decades() {
        let d = Distribution::Float {
            low: 1e-4,
            high: 1e3,
            log: true,
            points: None,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let xs: Vec<f64> = (0..2000)
            .map(|_| {
                if let ParamValue::Float(x) = d.sample(&mut rng) {
                    x
                } else {
                    0.0
                }
            })
            .collect();
        assert!(xs.iter().all(|&x| (1e-4..=1e3).contains(&x)));
        let below_one = xs.iter().filter(|&&x| x < 1.0).count() as f64 / xs.len() as f64;
        assert!(
            (below_one - 4.0 / 7.0).abs() < 0.05,
            "fraction below 1 was {below_one}"
        );
    }
}
