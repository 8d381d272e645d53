//! FTRL-Proximal logistic regression for two classes (McMahan et al., "Ad click prediction: a
//! view from the trenches", KDD 2013, Algorithm 1), our own, one epoch a report point.
//!
//! linfa-ftrl 0.8 has the same per-coordinate update, but its `fit_with` takes the gradient
//! summed over the whole dataset it is given as one step (one online step per row means one
//! call and five array allocations per row), it starts from random z in [0, 1) rather than 0,
//! it has no intercept, and it bounds λ₁ and λ₂ to [0, 1]. We run the online algorithm row by
//! row, from zero, with an unpenalized intercept, and check it against linfa fed one row at a
//! time in the tests.
//!
//! Per coordinate i, with gradient gᵢ = (p − y)·xᵢ of the log-loss at the current row:
//! σᵢ = (√(nᵢ + gᵢ²) − √nᵢ)/α, zᵢ += gᵢ − σᵢ·wᵢ, nᵢ += gᵢ², and the weight used for the next
//! prediction is wᵢ = 0 if |zᵢ| ≤ λ₁, else −(zᵢ − sign(zᵢ)·λ₁) / ((β + √nᵢ)/α + λ₂).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::classes::{check_rows, class_indices};
use crate::error::ModelError;
use crate::estimator::Prediction;
use crate::iterative::{IterativeEstimator, Learner};
use crate::sgd::epoch_order;

/// FTRL-Proximal hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ftrl {
    /// α: per-coordinate learning-rate scale.
    pub alpha: f64,
    /// β: smoothing of the per-coordinate learning rate.
    pub beta: f64,
    /// λ₁: L1 strength (weights whose |z| is at most λ₁ are exactly 0).
    pub l1: f64,
    /// λ₂: L2 strength.
    pub l2: f64,
    /// Whether to learn an unpenalized intercept.
    pub fit_intercept: bool,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Seeds each epoch's row order.
    pub seed: u64,
}

/// The per-coordinate state: z and √n for every feature, then the intercept's (√n is what every
/// step needs, so it is kept instead of n: one square root per coordinate and step, not three).
#[derive(Debug, Clone)]
pub(crate) struct FtrlState {
    z: Vec<f64>,
    sqrt_n: Vec<f64>,
}

impl FtrlState {
    /// All zero: no weight, no gradient seen.
    fn new(coordinates: usize) -> FtrlState {
        FtrlState {
            z: vec![0.0; coordinates],
            sqrt_n: vec![0.0; coordinates],
        }
    }
}

/// FTRL in training on one fold.
struct FtrlLearner {
    spec: Ftrl,
    state: FtrlState,
    rows: Vec<usize>,
    epoch: u64,
}

impl Ftrl {
    /// The weight of coordinate `i` (the last is the intercept, never penalized).
    fn weight(&self, state: &FtrlState, i: usize, intercept: bool) -> f64 {
        let (z, sqrt_n) = (state.z[i], state.sqrt_n[i]);
        let (l1, l2) = if intercept {
            (0.0, 0.0)
        } else {
            (self.l1, self.l2)
        };
        if z.abs() <= l1 {
            0.0
        } else {
            -(z - z.signum() * l1) / ((self.beta + sqrt_n) / self.alpha + l2)
        }
    }

    /// Every weight, the intercept last (0 when not fitted).
    fn weights(&self, state: &FtrlState) -> Array1<f64> {
        let p = state.z.len() - 1;
        (0..=p)
            .map(|i| {
                if i == p && !self.fit_intercept {
                    0.0
                } else {
                    self.weight(state, i, i == p)
                }
            })
            .collect()
    }

    /// One online step on `row` with label `y` (0 or 1).
    fn step(&self, state: &mut FtrlState, row: ArrayView1<'_, f64>, y: f64, w: &mut [f64]) {
        let p = row.len();
        let mut margin = 0.0;
        for (i, &v) in row.iter().enumerate() {
            if v != 0.0 {
                w[i] = self.weight(state, i, false);
                margin += w[i] * v;
            }
        }
        if self.fit_intercept {
            w[p] = self.weight(state, p, true);
            margin += w[p];
        }
        let residual = sigmoid(margin) - y;
        let inv_alpha = 1.0 / self.alpha;
        let mut update = |i: usize, g: f64, w: f64| {
            let old = state.sqrt_n[i];
            let new = (old * old + g * g).sqrt();
            state.z[i] += g - (new - old) * inv_alpha * w;
            state.sqrt_n[i] = new;
        };
        for (i, &v) in row.iter().enumerate() {
            if v != 0.0 {
                update(i, residual * v, w[i]);
            }
        }
        if self.fit_intercept {
            update(p, residual, w[p]);
        }
    }
}

/// The logistic function, without overflow.
fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

impl IterativeEstimator for Ftrl {
    fn epochs(&self) -> usize {
        self.epochs
    }

    fn start(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        n_classes: usize,
    ) -> Result<Box<dyn Learner>, ModelError> {
        check_rows("ftrl", x.nrows(), y.len())?;
        let (_, seen) = class_indices(y, "ftrl")?;
        if n_classes > 2 || seen > 2 {
            return Err(ModelError::Fit(format!(
                "ftrl is a binary classifier; the data has {} classes",
                n_classes.max(seen)
            )));
        }
        let p = x.ncols();
        Ok(Box::new(FtrlLearner {
            spec: self.clone(),
            state: FtrlState::new(p + 1),
            rows: (0..x.nrows()).collect(),
            epoch: 0,
        }))
    }
}

impl Learner for FtrlLearner {
    fn epoch(&mut self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<(), ModelError> {
        let order = epoch_order(&self.rows, self.spec.seed, self.epoch);
        let mut w = vec![0.0; x.ncols() + 1];
        for r in order {
            self.spec.step(&mut self.state, x.row(r), y[r], &mut w);
        }
        self.epoch += 1;
        Ok(())
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Prediction, ModelError> {
        self.saved().predict_checked(x)
    }

    fn to_saved(&self) -> crate::saved::SavedModel {
        crate::saved::SavedModel::Ftrl(self.saved())
    }
}

impl FtrlLearner {
    /// The weights as they are now.
    fn saved(&self) -> SavedFtrl {
        SavedFtrl {
            weights: self.spec.weights(&self.state),
        }
    }
}

/// A fitted FTRL model as saved: its weights, the intercept last.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SavedFtrl {
    /// One weight per feature, then the intercept.
    weights: Array1<f64>,
}

impl SavedFtrl {
    /// Feature columns it takes.
    pub fn n_features(&self) -> usize {
        self.weights.len().saturating_sub(1)
    }

    /// Whether weights read back from a file can predict: an intercept, finite numbers.
    pub fn check(&self) -> Result<(), String> {
        if self.weights.is_empty() || self.weights.iter().any(|w| !w.is_finite()) {
            return Err("ftrl: the weights must be finite numbers, the intercept last".into());
        }
        Ok(())
    }

    /// Predict for rows `x` of as many features as the weights take.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        match self.predict_checked(x) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    /// Predict, refusing rows of the wrong width.
    fn predict_checked(&self, x: ArrayView2<'_, f64>) -> Result<Prediction, ModelError> {
        let w = &self.weights;
        let p = x.ncols();
        if p + 1 != w.len() {
            return Err(ModelError::Fit(format!(
                "ftrl: trained on {} features, asked to predict {p}",
                w.len().saturating_sub(1)
            )));
        }
        let margin = x.dot(&w.slice(ndarray::s![..p])) + w[p];
        let proba = Array2::from_shape_fn((x.nrows(), 2), |(i, c)| {
            let p1 = sigmoid(margin[i]);
            if c == 1 { p1 } else { 1.0 - p1 }
        });
        // Class 1 only when strictly more probable, as the lowest index wins ties elsewhere.
        let class = margin.mapv(|m| usize::from(m > 0.0));
        Ok(Prediction::Classes {
            class,
            proba: Some(proba),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::FitWith;
    use ndarray::array;
    use rand::rngs::mock::StepRng;

    fn spec(fit_intercept: bool) -> Ftrl {
        Ftrl {
            alpha: 0.1,
            beta: 1.0,
            l1: 0.5,
            l2: 0.3,
            fit_intercept,
            epochs: 1,
            seed: 3,
        }
    }

    /// 200 rows, 4 features, labels from a noisy linear rule.
    fn problem() -> (Array2<f64>, Array1<f64>) {
        let x = Array2::from_shape_fn((200, 4), |(i, j)| ((i * (j + 2)) as f64 * 0.37).sin());
        let y = x
            .rows()
            .into_iter()
            .enumerate()
            .map(|(i, r)| f64::from(2.0 * r[0] - r[1] + 0.5 * r[3] + 0.2 * (i as f64).cos() > 0.0))
            .collect();
        (x, y)
    }

    #[test]
    fn online_updates_match_linfa_ftrl_fed_one_row_at_a_time() {
        let (x, y) = problem();
        let ours = spec(false);
        let mut state = FtrlState::new(5);
        let mut w = vec![0.0; 5];
        // linfa starts z from its generator: one that always yields 0 starts it from 0, as ours.
        let params = linfa_ftrl::FtrlParams::new(0.1, 1.0, 0.5, 0.3, StepRng::new(0, 0));
        let checked = linfa::ParamGuard::check(params).unwrap();
        let mut theirs: Option<linfa_ftrl::Ftrl<f64>> = None;
        for r in 0..x.nrows() {
            ours.step(&mut state, x.row(r), y[r], &mut w);
            let one = linfa::DatasetBase::new(
                x.slice(ndarray::s![r..=r, ..]).to_owned(),
                array![y[r] == 1.0],
            );
            theirs = Some(checked.fit_with(theirs, &one).unwrap());
        }
        let theirs = theirs.unwrap().get_weights();
        let ours = ours.weights(&state);
        assert!(theirs.iter().any(|w| *w != 0.0), "{theirs}");
        for (a, b) in ours.iter().zip(&theirs) {
            // linfa rounds each probability to f32 before the gradient.
            assert!((a - b).abs() < 1e-6, "{ours} vs linfa {theirs}");
        }
    }

    #[test]
    fn learns_a_linear_rule() {
        let (x, y) = problem();
        let est = Ftrl {
            epochs: 5,
            l1: 0.0,
            ..spec(true)
        };
        let mut learner = est.start(x.view(), y.view(), 2).unwrap();
        for _ in 0..5 {
            learner.epoch(x.view(), y.view()).unwrap();
        }
        let Prediction::Classes { class, proba } = learner.predict(x.view()).unwrap() else {
            panic!("values from a classifier");
        };
        let right = class
            .iter()
            .zip(&y)
            .filter(|(c, t)| **c as f64 == **t)
            .count();
        assert!(right >= 180, "{right} of 200");
        let proba = proba.unwrap();
        assert!(
            proba
                .rows()
                .into_iter()
                .all(|r| (r.sum() - 1.0).abs() < 1e-12)
        );
    }

    #[test]
    fn a_large_l1_keeps_every_weight_at_zero() {
        let (x, y) = problem();
        let est = Ftrl {
            l1: 1e9,
            ..spec(false)
        };
        let mut learner = est.start(x.view(), y.view(), 2).unwrap();
        learner.epoch(x.view(), y.view()).unwrap();
        let Prediction::Classes { proba, .. } = learner.predict(x.view()).unwrap() else {
            panic!("values from a classifier");
        };
        assert!(proba.unwrap().iter().all(|&p| p == 0.5));
    }

    #[test]
    fn more_than_two_classes_are_refused() {
        let err = spec(true)
            .start(
                array![[0.0], [1.0], [2.0]].view(),
                array![0.0, 1.0, 2.0].view(),
                3,
            )
            .err()
            .unwrap();
        assert!(err.to_string().contains("binary"), "{err}");
    }
}
