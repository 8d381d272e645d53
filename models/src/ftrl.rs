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
use crate::sgd::kernels::prefetch;

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
        let (l1, l2) = if intercept {
            (0.0, 0.0)
        } else {
            (self.l1, self.l2)
        };
        coordinate_weight(state.z[i], state.sqrt_n[i], self.alpha, self.beta, l1, l2)
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

    /// [`Ftrl::step`] on a contiguous row, written so that LLVM vectorises the per-coordinate
    /// loops: every coordinate is computed and a row's zeros select the old value instead of
    /// being skipped by a branch. The same operations in the same order, so the same state to
    /// the bit (a coordinate whose value is 0 keeps its z and √n, as the sparse update leaves it).
    #[inline(always)]
    fn step_dense(&self, state: &mut FtrlState, row: &[f64], y: f64, w: &mut [f64]) {
        let p = row.len();
        let (z, z_b) = state.z.split_at_mut(p);
        let (sqrt_n, sqrt_n_b) = state.sqrt_n.split_at_mut(p);
        let (w, w_b) = w.split_at_mut(p);
        let (alpha, beta, l1, l2) = (self.alpha, self.beta, self.l1, self.l2);
        for ((wi, &zi), &si) in w.iter_mut().zip(&*z).zip(&*sqrt_n) {
            *wi = coordinate_weight(zi, si, alpha, beta, l1, l2);
        }
        let mut margin = 0.0;
        for (&wi, &v) in w.iter().zip(row) {
            // Adding 0 leaves the margin as it is (it starts at +0, so it is never -0).
            margin += if v != 0.0 { wi * v } else { 0.0 };
        }
        if self.fit_intercept {
            w_b[0] = coordinate_weight(z_b[0], sqrt_n_b[0], alpha, beta, 0.0, 0.0);
            margin += w_b[0];
        }
        let residual = sigmoid(margin) - y;
        let inv_alpha = 1.0 / alpha;
        for (((zi, si), &wi), &v) in z.iter_mut().zip(sqrt_n.iter_mut()).zip(&*w).zip(row) {
            let g = residual * v;
            let old = *si;
            let new = (old * old + g * g).sqrt();
            let moved = *zi + (g - (new - old) * inv_alpha * wi);
            *zi = if v != 0.0 { moved } else { *zi };
            *si = if v != 0.0 { new } else { old };
        }
        if self.fit_intercept {
            let old = sqrt_n_b[0];
            let new = (old * old + residual * residual).sqrt();
            z_b[0] += residual - (new - old) * inv_alpha * w_b[0];
            sqrt_n_b[0] = new;
        }
    }

    /// One pass over `order`'s rows of contiguous `rows`, the next rows prefetched while one is
    /// learned (the order is shuffled, so each row is otherwise a cache miss).
    #[inline(always)]
    fn pass_generic(
        &self,
        state: &mut FtrlState,
        rows: &[f64],
        y: &[f64],
        order: &[usize],
        w: &mut [f64],
    ) {
        let p = state.z.len() - 1;
        for (k, &r) in order.iter().enumerate() {
            if let Some(&ahead) = order.get(k + PREFETCH_AHEAD) {
                if let Some(row) = rows.get(ahead * p..(ahead + 1) * p) {
                    prefetch_row(row);
                }
                if let Some(t) = y.get(ahead) {
                    prefetch(t);
                }
            }
            self.step_dense(state, &rows[r * p..(r + 1) * p], y[r], w);
        }
    }

    /// [`Ftrl::pass_generic`] compiled for AVX2: wider vectors, the same operations in the same
    /// order (no FMA), so the same result to the bit.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn pass_avx2(
        &self,
        state: &mut FtrlState,
        rows: &[f64],
        y: &[f64],
        order: &[usize],
        w: &mut [f64],
    ) {
        self.pass_generic(state, rows, y, order, w)
    }

    /// One pass over contiguous rows: the AVX2 build where the CPU has it.
    fn pass(&self, state: &mut FtrlState, rows: &[f64], y: &[f64], order: &[usize], w: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { self.pass_avx2(state, rows, y, order, w) };
        }
        self.pass_generic(state, rows, y, order, w)
    }
}

/// How many rows ahead of the one being learned are prefetched.
const PREFETCH_AHEAD: usize = 4;

/// Hint the CPU to load every cache line of `row`.
#[inline(always)]
fn prefetch_row(row: &[f64]) {
    for v in row.iter().step_by(8) {
        prefetch(v);
    }
    if let Some(last) = row.last() {
        prefetch(last);
    }
}

/// A coordinate's weight from its z and √n: 0 while |z| ≤ λ₁ (both sides are computed and one
/// is selected, so a loop of these vectorises).
#[inline(always)]
fn coordinate_weight(z: f64, sqrt_n: f64, alpha: f64, beta: f64, l1: f64, l2: f64) -> f64 {
    let shrunk = -(z - z.signum() * l1) / ((beta + sqrt_n) / alpha + l2);
    if z.abs() <= l1 { 0.0 } else { shrunk }
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
        check_rows("ftrl", x.nrows(), y.len())?;
        let p = self.state.z.len() - 1;
        if x.ncols() != p || x.nrows() != self.rows.len() {
            return Err(ModelError::Fit(format!(
                "ftrl: started on {} rows of {p} features, given {} rows of {}",
                self.rows.len(),
                x.nrows(),
                x.ncols()
            )));
        }
        let order = epoch_order(&self.rows, self.spec.seed, self.epoch);
        let mut w = vec![0.0; p + 1];
        match (x.as_slice(), y.as_slice()) {
            (Some(rows), Some(targets)) => {
                self.spec
                    .pass(&mut self.state, rows, targets, &order, &mut w)
            }
            _ => {
                for r in order {
                    self.spec.step(&mut self.state, x.row(r), y[r], &mut w);
                }
            }
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
    use ndarray::{ShapeBuilder, array};
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

    /// `problem()` with about a third of its values 0, as one-hot or count features have.
    fn problem_with_zeros() -> (Array2<f64>, Array1<f64>) {
        let (mut x, y) = problem();
        x.indexed_iter_mut()
            .filter(|((i, j), _)| (i * 7 + j * 3) % 3 == 0)
            .for_each(|(_, v)| *v = 0.0);
        (x, y)
    }

    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn the_vectorised_pass_leaves_the_state_of_the_row_by_row_steps_to_the_bit() {
        let (x, y) = problem_with_zeros();
        let order = epoch_order(&(0..x.nrows()).collect::<Vec<_>>(), 3, 0);
        let (rows, targets) = (x.as_slice().unwrap(), y.as_slice().unwrap());
        for fit_intercept in [false, true] {
            let spec = spec(fit_intercept);
            let mut simple = (FtrlState::new(5), vec![0.0; 5]);
            let mut generic = simple.clone();
            let mut fastest = simple.clone();
            for _ in 0..3 {
                for &r in &order {
                    spec.step(&mut simple.0, x.row(r), y[r], &mut simple.1);
                }
                spec.pass_generic(&mut generic.0, rows, targets, &order, &mut generic.1);
                spec.pass(&mut fastest.0, rows, targets, &order, &mut fastest.1);
            }
            assert!(simple.0.z.iter().any(|z| z.abs() > spec.l1));
            for state in [&generic.0, &fastest.0] {
                assert_eq!(bits(&state.z), bits(&simple.0.z));
                assert_eq!(bits(&state.sqrt_n), bits(&simple.0.sqrt_n));
            }
        }
    }

    #[test]
    fn rows_that_are_not_contiguous_learn_the_same_weights() {
        let (x, y) = problem_with_zeros();
        let mut columns = Array2::zeros(x.raw_dim().f());
        columns.assign(&x);
        assert!(columns.as_slice().is_none());
        let est = Ftrl {
            epochs: 2,
            ..spec(true)
        };
        let weights = |x: ArrayView2<'_, f64>| {
            let mut learner = est.start(x, y.view(), 2).unwrap();
            for _ in 0..2 {
                learner.epoch(x, y.view()).unwrap();
            }
            let crate::saved::SavedModel::Ftrl(saved) = learner.to_saved() else {
                panic!("an ftrl model");
            };
            bits(saved.weights.as_slice().unwrap())
        };
        assert_eq!(weights(columns.view()), weights(x.view()));
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
