//! L2-regularized logistic regression (binary and multinomial) fitted with our own L-BFGS.
//!
//! linfa-logistic spends its time re-evaluating the objective (research/crates.md §1b: 4–20×
//! slower than scikit-learn). Here one fused pass over the rows computes the loss and its
//! gradient together, the value and gradient of every evaluated point are kept so the line
//! search never recomputes one, and the L-BFGS step of length 1 is nearly always accepted.
//!
//! The objective is scikit-learn's `LogisticRegression(solver="lbfgs")` one, so `C` means
//! the same thing and the fits agree:
//!
//! f(W, b) = (1/n) Σᵢ loss(xᵢ, yᵢ) + 1/(2·C·n) · ‖W‖²   (intercepts b unpenalized)
//!
//! with the binomial loss for two classes (one coefficient vector) and the multinomial
//! (softmax) loss for more (one vector per class). It stops when the largest gradient
//! component is at most `tol` (scipy's `pgtol`), or when an iteration lowers f by less than
//! 64 machine epsilons relatively (scipy's `ftol` as scikit-learn sets it), or after
//! `max_iter` iterations.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};
use crate::rows::RowSet;

mod kernels;
mod lbfgs;

use crate::saved::SavedModel;
use kernels::{Objective, Source};
use lbfgs::lbfgs;

/// Logistic regression with its hyperparameters (see the catalogue for their ranges).
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// Inverse regularization strength (as scikit-learn's `C`).
    pub c: f64,
    /// Whether the L2 penalty applies (`penalty = "l2"`) or not (`"none"`).
    pub l2: bool,
    /// Whether to fit intercepts.
    pub fit_intercept: bool,
    /// Iteration limit of L-BFGS.
    pub max_iter: usize,
    /// Stop when max |gradient| ≤ tol.
    pub tol: f64,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        LogisticRegression {
            c: 1.0,
            l2: true,
            fit_intercept: true,
            max_iter: 100,
            tol: 1e-4,
        }
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LogisticModel {
    /// Coefficients: one row for two classes (of the second class), else one row per class.
    pub coef: Array2<f64>,
    /// Intercepts, one per row of `coef` (zeros without `fit_intercept`).
    pub intercept: Array1<f64>,
    /// Original class index of each class the model knows (classes present in training).
    pub classes: Vec<usize>,
    /// L-BFGS iterations run.
    pub n_iter: usize,
    /// Objective evaluations (each one pass over the training rows).
    pub n_evals: usize,
    /// Whether a stopping criterion other than `max_iter` was met.
    pub converged: bool,
    /// Width of the probability matrix: one past the largest class index seen in training.
    width: usize,
}

impl LogisticRegression {
    /// Fit on rows `x` (any layout) and class indices `y`.
    pub fn fit_model(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<LogisticModel, ModelError> {
        let xs = x.as_standard_layout();
        let flat = xs
            .as_slice()
            .ok_or_else(|| ModelError::Fit("features are not contiguous".into()))?;
        self.fit_source(Source::Contiguous(flat), x.nrows(), x.ncols(), y)
    }

    /// Fit on the rows of `train` read in place, standardized on the fly if it says so: no
    /// copy of the rows is made (the same model, to the bit, as a fit on their copy).
    pub fn fit_row_set(&self, train: RowSet<'_>) -> Result<LogisticModel, ModelError> {
        let Some(flat) = train.x.as_slice() else {
            return self.fit_model(train.gather_x().view(), train.gather_y().view());
        };
        if let Some(&bad) = train.rows.iter().find(|&&r| r >= train.x.nrows()) {
            return Err(ModelError::Data(format!(
                "row {bad} is outside the data's {} rows",
                train.x.nrows()
            )));
        }
        // The rows of a contiguous copy, in order: read them as they lie.
        let whole = train.scaler.is_none()
            && train.rows.len() == train.x.nrows()
            && train.rows.iter().enumerate().all(|(i, &r)| i == r);
        if whole {
            return self.fit_source(
                Source::Contiguous(flat),
                train.len(),
                train.n_features(),
                train.y,
            );
        }
        let source = Source::Indexed {
            x: flat,
            rows: train.rows,
            scaler: train
                .scaler
                .and_then(|s| Some((s.mean.as_slice()?, s.scale.as_slice()?))),
        };
        self.fit_source(
            source,
            train.len(),
            train.n_features(),
            train.gather_y().view(),
        )
    }

    /// Fit on `n` rows of `p` features read from `source`, with class indices `y`.
    fn fit_source(
        &self,
        source: Source<'_>,
        n: usize,
        p: usize,
        y: ArrayView1<'_, f64>,
    ) -> Result<LogisticModel, ModelError> {
        if n == 0 || y.len() != n {
            return Err(ModelError::Fit(format!(
                "logistic regression: {} rows of features, {} targets",
                n,
                y.len()
            )));
        }
        if !(self.c > 0.0 && self.tol > 0.0) {
            return Err(ModelError::Fit(
                "logistic regression: C and tol must be > 0".into(),
            ));
        }
        let (codes, classes) = encode_classes(y)?;
        if classes.len() < 2 {
            return Err(ModelError::Fit(format!(
                "logistic regression needs at least two classes in the training rows, found only class {}",
                classes.first().copied().unwrap_or(0)
            )));
        }
        let n_vec = if classes.len() == 2 { 1 } else { classes.len() };
        let objective = Objective {
            x: source,
            y: &codes,
            n,
            p,
            n_vec,
            intercept: self.fit_intercept,
            l2: if self.l2 {
                1.0 / (self.c * n as f64)
            } else {
                0.0
            },
        };
        let result = lbfgs(&objective, self.max_iter, self.tol)?;
        let stride = objective.stride();
        let mut coef = Array2::zeros((n_vec, p));
        let mut intercept = Array1::zeros(n_vec);
        for k in 0..n_vec {
            let v = &result.theta[k * stride..(k + 1) * stride];
            coef.row_mut(k).assign(&ArrayView1::from(&v[..p]));
            if self.fit_intercept {
                intercept[k] = v[p];
            }
        }
        let width = classes.last().map_or(0, |&c| c + 1);
        Ok(LogisticModel {
            coef,
            intercept,
            classes,
            n_iter: result.n_iter,
            n_evals: result.n_evals,
            converged: result.converged,
            width,
        })
    }
}

impl Estimator for LogisticRegression {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        Ok(Box::new(self.fit_model(x, y)?))
    }

    fn fit_rows(&self, train: RowSet<'_>) -> Result<Box<dyn Fitted>, ModelError> {
        Ok(Box::new(self.fit_row_set(train)?))
    }
}

impl LogisticModel {
    /// Decision scores x·wₖ + bₖ, one column per coefficient row.
    fn scores(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        x.dot(&self.coef.t()) + self.intercept.view().insert_axis(Axis(0))
    }

    /// Class probabilities, one column per class index up to the largest seen in training
    /// (classes absent from training get probability 0).
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        self.proba_from_scores(&self.scores(x))
    }

    /// Probabilities from decision scores: the logistic function (binary) or softmax.
    fn proba_from_scores(&self, scores: &Array2<f64>) -> Array2<f64> {
        let mut proba = Array2::zeros((scores.nrows(), self.width));
        if self.coef.nrows() == 1 {
            let (c0, c1) = (self.classes[0], self.classes[1]);
            for (i, &z) in scores.column(0).iter().enumerate() {
                let p1 = sigmoid(z);
                proba[[i, c0]] = 1.0 - p1;
                proba[[i, c1]] = p1;
            }
        } else {
            let mut buf = vec![0.0; self.classes.len()];
            for (i, row) in scores.axis_iter(Axis(0)).enumerate() {
                softmax(row, &mut buf);
                for (&c, &pk) in self.classes.iter().zip(&buf) {
                    proba[[i, c]] = pk;
                }
            }
        }
        proba
    }
}

impl Fitted for LogisticModel {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let scores = self.scores(x);
        // As scikit-learn: the second class iff its decision score is > 0 (binary), else the
        // first class with the highest score.
        let class = scores
            .axis_iter(Axis(0))
            .map(|row| {
                if self.coef.nrows() == 1 {
                    self.classes[usize::from(row[0] > 0.0)]
                } else {
                    let best = (0..row.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b });
                    self.classes[best]
                }
            })
            .collect();
        let proba = self.proba_from_scores(&scores);
        Prediction::Classes {
            class,
            proba: Some(proba),
        }
    }

    fn to_saved(&self) -> SavedModel {
        SavedModel::Logistic(self.clone())
    }
}

impl LogisticModel {
    /// Feature columns it was fitted on.
    pub(crate) fn n_features(&self) -> usize {
        self.coef.ncols()
    }

    /// Whether a model read back from a file is consistent: a coefficient row per class (one
    /// for two classes), an intercept per row, class indices inside the probability width.
    pub(crate) fn check(&self) -> Result<(), String> {
        let rows = self.coef.nrows();
        let k = self.classes.len();
        let shape_ok = k >= 2 && (rows == k || (k == 2 && rows == 1)) && rows != 0;
        if !shape_ok || self.intercept.len() != rows {
            return Err(format!(
                "logistic regression: {rows} coefficient rows, {} intercepts and {k} classes do not fit together",
                self.intercept.len()
            ));
        }
        if self.classes.iter().any(|&c| c >= self.width) {
            return Err("logistic regression: a class index is outside the probabilities".into());
        }
        if self
            .coef
            .iter()
            .chain(&self.intercept)
            .any(|v| !v.is_finite())
        {
            return Err("logistic regression: non-finite coefficients".into());
        }
        Ok(())
    }
}

/// Class codes 0..k for the classes present in `y`, and the original index of each code.
fn encode_classes(y: ArrayView1<'_, f64>) -> Result<(Vec<u32>, Vec<usize>), ModelError> {
    let mut max = 0usize;
    for &v in y {
        if !(v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64) {
            return Err(ModelError::Fit(format!(
                "logistic regression: target {v} is not a class index"
            )));
        }
        max = max.max(v as usize);
    }
    let mut present = vec![false; max + 1];
    for &v in y {
        present[v as usize] = true;
    }
    let classes: Vec<usize> = (0..=max).filter(|&c| present[c]).collect();
    let mut code = vec![0u32; max + 1];
    for (k, &c) in classes.iter().enumerate() {
        code[c] = k as u32;
    }
    Ok((y.iter().map(|&v| code[v as usize]).collect(), classes))
}

/// 1 / (1 + e^−z), without overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Softmax of `z` into `out`.
fn softmax(z: ArrayView1<'_, f64>, out: &mut [f64]) {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = 0.0;
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (v - m).exp();
        s += *o;
    }
    for o in out.iter_mut() {
        *o /= s;
    }
}

/// The small problem shared by the tests of the model, its kernels and its optimizer.
#[cfg(test)]
mod fixtures {
    use super::*;

    /// The small problem of the scikit-learn cross-checks: 200 rows, 3 features, made from
    /// sines so Python rebuilds it exactly (see the expected values' comments).
    pub(super) fn small_problem() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
        let n = 200;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            (i as f64 * (j as f64 + 1.0) * 0.37 + j as f64).sin()
        });
        let mut yb = Array1::zeros(n);
        let mut ym = Array1::zeros(n);
        for i in 0..n {
            let (a, b, c, fi) = (x[[i, 0]], x[[i, 1]], x[[i, 2]], i as f64);
            let s0 = a + 0.5 * b - c + 0.3 * (fi * 1.7).sin();
            let s1 = -a + c + 0.4 * (fi * 2.3).cos();
            let s2 = b - 0.5 * a + 0.4 * (fi * 0.9).sin();
            yb[i] = if s0 > 0.0 { 1.0 } else { 0.0 };
            ym[i] = if s0 >= s1 && s0 >= s2 {
                0.0
            } else if s1 >= s2 {
                1.0
            } else {
                2.0
            };
        }
        (x, yb, ym)
    }

    pub(super) fn tight(c: f64) -> LogisticRegression {
        LogisticRegression {
            c,
            tol: 1e-10,
            max_iter: 1000,
            ..LogisticRegression::default()
        }
    }

    pub(super) fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol, "got {got:?}, want {want:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{assert_close, small_problem, tight};
    use super::*;

    // Expected values: scikit-learn 1.9, LogisticRegression(C, tol=1e-12, max_iter=10000).

    #[test]
    fn binary_fit_matches_scikit_learn_coefficients() {
        let (x, yb, _) = small_problem();
        let m = tight(1.0).fit_model(x.view(), yb.view()).unwrap();
        assert!(m.converged);
        assert_close(
            m.coef.as_slice().unwrap(),
            &[3.5615197297752825, 1.6295786791039217, -3.1709295130909947],
            1e-6,
        );
        assert_close(
            m.intercept.as_slice().unwrap(),
            &[-0.5086759985521001],
            1e-6,
        );
        let m = tight(0.05).fit_model(x.view(), yb.view()).unwrap();
        assert_close(
            m.coef.as_slice().unwrap(),
            &[1.021619082211884, 0.5590067640612854, -0.9232446637134654],
            1e-6,
        );
        assert_close(
            m.intercept.as_slice().unwrap(),
            &[-0.32494084592492867],
            1e-6,
        );
    }

    #[test]
    fn multinomial_fit_matches_scikit_learn_coefficients() {
        let (x, _, ym) = small_problem();
        let m = tight(1.0).fit_model(x.view(), ym.view()).unwrap();
        #[rustfmt::skip]
        let want = [
            2.592596869711996, 0.10451750397232554, -2.1679826816955625,
            -1.7527741247340105, -1.4969624481331563, 2.1450868887440864,
            -0.8398227449779858, 1.392444944160831, 0.02289579295147664,
        ];
        assert_close(m.coef.as_slice().unwrap(), &want, 1e-6);
        assert_close(
            m.intercept.as_slice().unwrap(),
            &[
                0.26660435365838825,
                0.14409351234308276,
                -0.4106978660014681,
            ],
            1e-6,
        );
    }

    #[test]
    fn fit_without_intercept_matches_scikit_learn() {
        let (x, yb, _) = small_problem();
        let m = LogisticRegression {
            fit_intercept: false,
            ..tight(1.0)
        }
        .fit_model(x.view(), yb.view())
        .unwrap();
        assert_close(
            m.coef.as_slice().unwrap(),
            &[3.478071416314191, 1.7400281395721702, -3.340426489877889],
            1e-6,
        );
        assert_eq!(m.intercept[0], 0.0);
    }

    #[test]
    fn unpenalized_fit_matches_scikit_learn() {
        let (x, yb, _) = small_problem();
        let m = LogisticRegression {
            l2: false,
            ..tight(1.0)
        }
        .fit_model(x.view(), yb.view())
        .unwrap();
        assert_close(
            m.coef.as_slice().unwrap(),
            &[10.046899947759565, 4.182567232992808, -8.827657331154366],
            1e-5,
        );
        assert_close(
            m.intercept.as_slice().unwrap(),
            &[-0.7066227083889716],
            1e-5,
        );
    }

    #[test]
    fn probabilities_sum_to_one_and_classes_are_the_most_probable() {
        let (x, _, ym) = small_problem();
        let m = tight(1.0).fit_model(x.view(), ym.view()).unwrap();
        let Prediction::Classes {
            class,
            proba: Some(proba),
        } = m.predict(x.view())
        else {
            panic!("no probabilities")
        };
        for (row, &c) in proba.rows().into_iter().zip(&class) {
            assert!((row.sum() - 1.0).abs() < 1e-12);
            assert!(row.iter().all(|&v| v <= row[c]));
        }
    }

    #[test]
    fn class_absent_from_training_gets_probability_zero() {
        // Classes 0 and 2 only: a binary model whose probability columns still line up.
        let (x, yb, _) = small_problem();
        let y = yb.mapv(|v| v * 2.0);
        let m = tight(1.0).fit_model(x.view(), y.view()).unwrap();
        assert_eq!(m.classes, [0, 2]);
        let Prediction::Classes {
            class,
            proba: Some(proba),
        } = m.predict(x.view())
        else {
            panic!("no probabilities")
        };
        assert_eq!(proba.ncols(), 3);
        assert!(proba.column(1).iter().all(|&v| v == 0.0));
        assert!(class.iter().all(|&c| c == 0 || c == 2));
    }

    #[test]
    fn separable_data_without_penalty_stops_with_finite_weights() {
        let x = Array2::from_shape_fn((40, 2), |(i, j)| i as f64 - 20.0 + j as f64 * 0.1);
        let y = x.column(0).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
        let m = LogisticRegression {
            l2: false,
            ..LogisticRegression::default()
        }
        .fit_model(x.view(), y.view())
        .unwrap();
        assert!(m.coef.iter().chain(&m.intercept).all(|v| v.is_finite()));
        let Prediction::Classes { class, .. } = m.predict(x.view()) else {
            panic!()
        };
        assert_eq!(class, y.mapv(|v| v as usize));
    }

    #[test]
    fn a_single_class_is_refused() {
        let x = Array2::zeros((4, 2));
        let err = LogisticRegression::default()
            .fit_model(x.view(), Array1::ones(4).view())
            .unwrap_err();
        assert!(err.to_string().contains("at least two classes"), "{err}");
    }

    #[test]
    fn a_fit_on_standardized_rows_in_place_equals_a_fit_on_their_standardized_copy() {
        let (x, yb, ym) = small_problem();
        let x = x.mapv(|v| 5.0 * v + 3.0);
        let rows: Vec<usize> = (0..200).filter(|i| i % 5 != 2).collect();
        let scaler = crate::preprocess::Standardizer::fit_rows(x.view(), &rows);
        for y in [&yb, &ym] {
            let set = RowSet {
                scaler: Some(&scaler),
                ..RowSet::all(x.view(), y.view(), &rows)
            };
            let in_place = tight(1.0).fit_row_set(set).unwrap();
            let copy = tight(1.0)
                .fit_model(set.gather_x().view(), set.gather_y().view())
                .unwrap();
            assert_eq!(in_place.coef, copy.coef);
            assert_eq!(in_place.intercept, copy.intercept);
            assert_eq!(in_place.n_evals, copy.n_evals);
        }
    }

    #[test]
    fn non_finite_features_are_refused() {
        let mut x = Array2::zeros((4, 2));
        x[[2, 1]] = f64::NAN;
        let y = ndarray::array![0.0, 1.0, 0.0, 1.0];
        assert!(
            LogisticRegression::default()
                .fit_model(x.view(), y.view())
                .is_err()
        );
    }

    fn accuracy_of(class: &Array1<usize>, y: &Array1<f64>) -> f64 {
        class
            .iter()
            .zip(y)
            .filter(|(c, t)| **c as f64 == **t)
            .count() as f64
            / y.len() as f64
    }

    #[test]
    fn binary_accuracy_matches_linfa_with_alpha_one_over_c() {
        use linfa::prelude::{Fit, Predict};
        let (x, yb, _) = small_problem();
        for c in [0.05, 1.0, 20.0] {
            let ours = LogisticRegression {
                c,
                ..LogisticRegression::default()
            }
            .fit_model(x.view(), yb.view())
            .unwrap();
            let Prediction::Classes { class, .. } = ours.predict(x.view()) else {
                panic!()
            };
            let data = linfa::Dataset::new(x.clone(), yb.mapv(|v| v as usize));
            let theirs = linfa_logistic::LogisticRegression::default()
                .alpha(1.0 / c)
                .fit(&data)
                .unwrap();
            let theirs_class = theirs.predict(&x);
            assert!(
                (accuracy_of(&class, &yb) - accuracy_of(&theirs_class, &yb)).abs() <= 0.01,
                "C = {c}"
            );
            // Same objective (linfa sums where we average): the coefficients agree too, up to
            // linfa's choice of which class is positive.
            let sign = if theirs.labels().pos.class == 1 {
                1.0
            } else {
                -1.0
            };
            let theirs_coef: Vec<f64> = theirs.params().iter().map(|v| sign * v).collect();
            // Within 1 %: linfa's tolerance is on the summed gradient, n times tighter than ours.
            for (o, t) in ours.coef.iter().zip(&theirs_coef) {
                assert!(
                    (o - t).abs() <= 0.01 * t.abs().max(1.0),
                    "C = {c}: {o} vs {t}"
                );
            }
        }
    }

    #[test]
    fn multiclass_accuracy_matches_linfa_with_alpha_one_over_c() {
        use linfa::prelude::{Fit, Predict};
        let (x, _, ym) = small_problem();
        for c in [0.05, 1.0, 20.0] {
            let ours = LogisticRegression {
                c,
                ..LogisticRegression::default()
            }
            .fit_model(x.view(), ym.view())
            .unwrap();
            let Prediction::Classes { class, .. } = ours.predict(x.view()) else {
                panic!()
            };
            let data = linfa::Dataset::new(x.clone(), ym.mapv(|v| v as usize));
            let theirs = linfa_logistic::MultiLogisticRegression::default()
                .alpha(1.0 / c)
                .fit(&data)
                .unwrap();
            let theirs_class = theirs.predict(&x);
            assert!(
                (accuracy_of(&class, &ym) - accuracy_of(&theirs_class, &ym)).abs() <= 0.01,
                "C = {c}"
            );
        }
    }
}
