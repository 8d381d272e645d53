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
    /// The finite list of values grid search visits, or None if the distribution is continuous
    /// without `points`.
    pub fn grid_values(&self) -> Option<Vec<ParamValue>> {
        match self {
            Distribution::Categorical(v) => Some(v.clone()),
            Distribution::Int {
                low, high, step, ..
            } => Some(
                (0..)
                    .map(|i| low + i * step)
                    .take_while(|v| v <= high)
                    .map(ParamValue::Int)
                    .collect(),
            ),
            Distribution::Float {
                low,
                high,
                log,
                points,
            } => {
                let n = (*points)?;
                if n == 1 {
                    return Some(vec![ParamValue::Float(*low)]);
                }
                let (a, b) = if *log {
                    (low.ln(), high.ln())
                } else {
                    (*low, *high)
                };
                Some(
                    (0..n)
                        .map(|i| {
                            let t = a + (b - a) * i as f64 / (n - 1) as f64;
                            let v = if i == 0 {
                                *low
                            } else if i == n - 1 {
                                *high
                            } else {
                                // 12 significant digits: `0.01`, not `0.010000000000000002`.
                                round_significant(if *log { t.exp() } else { t }, 12)
                            };
                            ParamValue::Float(v)
                        })
                        .collect(),
                )
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
    /// Every combination, first parameter (by name) varying slowest: scikit-learn's
    /// `ParameterGrid` order, so ties between equal scores break the same way.
    pub fn grid(&self) -> Option<Vec<Params>> {
        let mut out = vec![Params::new()];
        for (name, dist) in &self.0 {
            let values = dist.grid_values()?;
            out = out
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.insert(name.clone(), v.clone());
                        q
                    })
                })
                .collect();
        }
        Some(out)
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
        let g = Space(s).grid().unwrap();
        let pairs: Vec<(String, String)> = g
            .iter()
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
        let v: Vec<f64> = d
            .grid_values()
            .unwrap()
            .into_iter()
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
        assert_eq!(
            d.grid_values().unwrap(),
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
