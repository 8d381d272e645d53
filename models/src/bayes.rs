//! Gaussian and multinomial naive Bayes, our own, as scikit-learn's `GaussianNB` and
//! `MultinomialNB`.
//!
//! linfa-bayes 0.8 has both, but its multinomial fit prints every class's histogram to
//! stderr (a `dbg!` left in), its probabilities are `exp(jll) / Σ exp(jll)` without
//! subtracting the maximum, so they are NaN as soon as every class's log-likelihood is below
//! about −745 (common for Gaussian NB on unscaled data), and its predicted class comes from
//! iterating a `HashMap`, so ties go to whichever class the hash puts first. The models are a
//! few sums, so we write them and keep linfa as the cross-check in the tests.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::classes::{argmax, check_rows, class_indices};
use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};

/// Gaussian naive Bayes: each feature normal within each class.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GaussianNb {
    /// Share of the largest feature variance added to every variance, for stability.
    pub var_smoothing: f64,
}

/// Multinomial naive Bayes for counts (or other non-negative features).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MultinomialNb {
    /// Additive (Laplace/Lidstone) smoothing of the feature counts.
    pub alpha: f64,
}

/// A fitted naive Bayes model (also its saved form): log-likelihood = log prior + a per-class
/// function of the row.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FittedNb {
    /// log P(class), −∞ for a class absent from training (saved as null: JSON has no −∞).
    #[serde(with = "log_prior_json")]
    log_prior: Array1<f64>,
    /// `kind` is the saved model's tag: the field is saved under another name.
    #[serde(rename = "likelihood")]
    kind: Likelihood,
}

/// log P(class) in JSON: −∞ (a class absent from training) as null.
mod log_prior_json {
    use ndarray::Array1;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Array1<f64>, s: S) -> Result<S::Ok, S::Error> {
        let out: Vec<Option<f64>> = v
            .iter()
            .map(|&p| (p != f64::NEG_INFINITY).then_some(p))
            .collect();
        out.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Array1<f64>, D::Error> {
        let v: Vec<Option<f64>> = Vec::deserialize(d)?;
        Ok(v.into_iter()
            .map(|p| p.unwrap_or(f64::NEG_INFINITY))
            .collect())
    }
}

/// The per-class part of the joint log-likelihood.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Likelihood {
    /// Per class: means, variances, and −½ Σ log(2π var).
    Gaussian {
        theta: Array2<f64>,
        var: Array2<f64>,
        norm: Array1<f64>,
    },
    /// Per class: log P(feature | class) (classes × features).
    Multinomial { feature_log_prob: Array2<f64> },
}

/// Each class's row count.
fn class_counts(labels: &[usize], n_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; n_classes];
    for &c in labels {
        counts[c] += 1;
    }
    counts
}

/// log(count / n), −∞ for an absent class.
fn log_prior(counts: &[usize], n: usize) -> Array1<f64> {
    counts.iter().map(|&c| (c as f64 / n as f64).ln()).collect()
}

/// Per class, the sum of its rows (k × p, row-major), in one pass over `x` in its own layout
/// (no copy of a class's rows).
fn class_sums(x: ArrayView2<'_, f64>, labels: &[usize], k: usize) -> Vec<f64> {
    let p = x.ncols();
    let mut sums = vec![0.0; k * p];
    match x.as_slice() {
        Some(rows) => {
            for (row, &c) in rows.chunks_exact(p.max(1)).zip(labels) {
                for (s, v) in sums[c * p..(c + 1) * p].iter_mut().zip(row) {
                    *s += v;
                }
            }
        }
        None => {
            for (j, col) in x.columns().into_iter().enumerate() {
                for (v, &c) in col.iter().zip(labels) {
                    sums[c * p + j] += v;
                }
            }
        }
    }
    sums
}

/// Per class, the sum of its rows' squared deviations from `means` (k × p, row-major): the
/// second pass of a two-pass variance, as NumPy's.
fn class_squares(x: ArrayView2<'_, f64>, labels: &[usize], means: &[f64]) -> Vec<f64> {
    let p = x.ncols();
    let mut squares = vec![0.0; means.len()];
    match x.as_slice() {
        Some(rows) => {
            for (row, &c) in rows.chunks_exact(p.max(1)).zip(labels) {
                let range = c * p..(c + 1) * p;
                for ((s, m), v) in squares[range.clone()]
                    .iter_mut()
                    .zip(&means[range])
                    .zip(row)
                {
                    let d = v - m;
                    *s += d * d;
                }
            }
        }
        None => {
            for (j, col) in x.columns().into_iter().enumerate() {
                for (v, &c) in col.iter().zip(labels) {
                    let d = v - means[c * p + j];
                    squares[c * p + j] += d * d;
                }
            }
        }
    }
    squares
}

impl Estimator for GaussianNb {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        check_rows("gaussian_nb", x.nrows(), y.len())?;
        let (labels, k) = class_indices(y, "gaussian_nb")?;
        let counts = class_counts(&labels, k);
        let p = x.ncols();
        // The whole data's variance is the same two passes with every row in one class.
        let all = vec![0; labels.len()];
        let mean_all: Vec<f64> = class_sums(x, &all, 1)
            .iter()
            .map(|s| s / labels.len() as f64)
            .collect();
        let max_var = class_squares(x, &all, &mean_all)
            .iter()
            .fold(0.0_f64, |m, &s| m.max(s / labels.len() as f64));
        let epsilon = self.var_smoothing * max_var;
        let mut means = class_sums(x, &labels, k);
        for (c, &n) in counts.iter().enumerate() {
            means[c * p..(c + 1) * p]
                .iter_mut()
                .for_each(|m| *m /= n.max(1) as f64);
        }
        let squares = class_squares(x, &labels, &means);
        let mut theta = Array2::zeros((k, p));
        let mut var = Array2::ones((k, p));
        for (c, &n) in counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            for j in 0..p {
                theta[[c, j]] = means[c * p + j];
                var[[c, j]] = squares[c * p + j] / n as f64 + epsilon;
            }
        }
        if var.iter().any(|&v| v <= 0.0 || !v.is_finite()) {
            return Err(ModelError::Fit(
                "gaussian_nb: a class has a feature with zero variance; raise var_smoothing".into(),
            ));
        }
        let norm = var.map_axis(Axis(1), |v| {
            -0.5 * v
                .iter()
                .map(|s| (2.0 * std::f64::consts::PI * s).ln())
                .sum::<f64>()
        });
        Ok(Box::new(FittedNb {
            log_prior: log_prior(&counts, labels.len()),
            kind: Likelihood::Gaussian { theta, var, norm },
        }))
    }
}

impl Estimator for MultinomialNb {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        check_rows("multinomial_nb", x.nrows(), y.len())?;
        if let Some(v) = x.iter().find(|&&v| v < 0.0) {
            return Err(ModelError::Fit(format!(
                "multinomial_nb: features must be non-negative (counts), found {v}; \
                 do not standardize them"
            )));
        }
        let (labels, k) = class_indices(y, "multinomial_nb")?;
        let p = x.ncols();
        let sums = class_sums(x, &labels, k);
        let mut feature_log_prob = Array2::zeros((k, p));
        for c in 0..k {
            let counts: Vec<f64> = sums[c * p..(c + 1) * p]
                .iter()
                .map(|s| s + self.alpha)
                .collect();
            let total: f64 = counts.iter().sum();
            for (j, n) in counts.iter().enumerate() {
                feature_log_prob[[c, j]] = n.ln() - total.ln();
            }
        }
        Ok(Box::new(FittedNb {
            log_prior: log_prior(&class_counts(&labels, k), labels.len()),
            kind: Likelihood::Multinomial { feature_log_prob },
        }))
    }
}

impl FittedNb {
    /// Feature columns it takes.
    pub fn n_features(&self) -> usize {
        match &self.kind {
            Likelihood::Gaussian { theta, .. } => theta.ncols(),
            Likelihood::Multinomial { feature_log_prob } => feature_log_prob.ncols(),
        }
    }

    /// Whether a model read back from a file can predict: one prior per class, at least one
    /// class seen, per-class tables of one shape, finite numbers, positive variances.
    pub fn check(&self) -> Result<(), String> {
        let k = self.log_prior.len();
        if !self.log_prior.iter().any(|p| p.is_finite())
            || self.log_prior.iter().any(|p| p.is_nan() || *p > 0.0)
        {
            return Err("naive bayes: the class priors are not log-probabilities".into());
        }
        let ok = match &self.kind {
            Likelihood::Gaussian { theta, var, norm } => {
                theta.nrows() == k
                    && var.dim() == theta.dim()
                    && norm.len() == k
                    && theta.iter().chain(norm).all(|v| v.is_finite())
                    && var.iter().all(|&v| v > 0.0 && v.is_finite())
            }
            Likelihood::Multinomial { feature_log_prob } => {
                feature_log_prob.nrows() == k && feature_log_prob.iter().all(|v| v.is_finite())
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "naive bayes: per-class tables do not match {k} classes or hold bad numbers"
            ))
        }
    }

    /// Joint log-likelihood, rows × classes.
    fn joint_log_likelihood(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut jll = match &self.kind {
            Likelihood::Multinomial { feature_log_prob } => x.dot(&feature_log_prob.t()),
            Likelihood::Gaussian { theta, var, norm } => {
                let mut out = Array2::zeros((x.nrows(), theta.nrows()));
                for (row, mut o) in x.rows().into_iter().zip(out.rows_mut()) {
                    for c in 0..theta.nrows() {
                        let d: f64 = row
                            .iter()
                            .zip(theta.row(c))
                            .zip(var.row(c))
                            .map(|((x, m), v)| (x - m) * (x - m) / v)
                            .sum();
                        o[c] = norm[c] - 0.5 * d;
                    }
                }
                out
            }
        };
        jll += &self.log_prior.view().insert_axis(Axis(0));
        jll
    }
}

impl Fitted for FittedNb {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let mut jll = self.joint_log_likelihood(x);
        let class = jll
            .rows()
            .into_iter()
            .map(|r| argmax(r.iter().copied()))
            .collect();
        // Normalized by the log-sum-exp with the maximum taken out: exact, and no underflow.
        for mut row in jll.rows_mut() {
            let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
            let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            row.mapv_inplace(|v| (v - lse).exp());
        }
        Prediction::Classes {
            class,
            proba: Some(jll),
        }
    }

    fn to_saved(&self) -> crate::saved::SavedModel {
        crate::saved::SavedModel::NaiveBayes(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::{Fit, Predict};
    use linfa_bayes::NaiveBayes;
    use ndarray::{ShapeBuilder, array};

    fn classes_and_proba(p: Prediction) -> (Array1<usize>, Array2<f64>) {
        match p {
            Prediction::Classes {
                class,
                proba: Some(proba),
            } => (class, proba),
            other => panic!("expected classes with probabilities, got {other:?}"),
        }
    }

    /// 60 rows, 3 features, 3 classes with overlapping Gaussian-ish clouds (deterministic).
    fn clouds() -> (Array2<f64>, Array1<f64>) {
        let x = Array2::from_shape_fn((60, 3), |(i, j)| {
            let c = (i % 3) as f64;
            c * (j as f64 + 1.0) + ((i * 7 + j * 13) as f64 * 0.37).sin() * 1.5
        });
        let y = (0..60).map(|i| (i % 3) as f64).collect();
        (x, y)
    }

    /// Non-negative "counts" for the multinomial model.
    fn counts() -> (Array2<f64>, Array1<f64>) {
        let x = Array2::from_shape_fn((60, 4), |(i, j)| {
            (((i * 5 + j * 11) % 7) + if i % 2 == j % 2 { 4 } else { 0 }) as f64
        });
        let y = (0..60).map(|i| (i % 2) as f64).collect();
        (x, y)
    }

    #[test]
    fn gaussian_predictions_match_scikit_learn() {
        // scikit-learn 1.9.1: GaussianNB().fit(X, y).predict_proba([[1, 2, 3], [0, 0, 0]])
        // on X = [[0, 0, 0], [1, 1, 1], [0, 1, 0], [2, 2, 2], [3, 2, 4], [2, 3, 3]],
        // y = [0, 0, 0, 1, 1, 1].
        let x = array![
            [0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0],
            [0.0, 1.0, 0.0],
            [2.0, 2.0, 2.0],
            [3.0, 2.0, 4.0],
            [2.0, 3.0, 3.0]
        ];
        let y = array![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let fitted = GaussianNb {
            var_smoothing: 1e-9,
        }
        .fit(x.view(), y.view())
        .unwrap();
        let (class, proba) =
            classes_and_proba(fitted.predict(array![[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]].view()));
        assert_eq!(class, array![1, 0]);
        for (got, want) in proba.iter().zip(GAUSSIAN_PROBA) {
            assert!((got - want).abs() < 1e-9, "{proba} vs {GAUSSIAN_PROBA:?}");
        }
    }

    const GAUSSIAN_PROBA: [f64; 4] = [
        9.207210806578274e-08,
        0.9999999079278916,
        0.9999999999999307,
        6.937111055409843e-14,
    ];

    #[test]
    fn multinomial_predictions_match_scikit_learn() {
        // scikit-learn 1.9.1: MultinomialNB(alpha=0.5).fit(X, y).predict_proba([[1, 0, 2], [0, 3, 0]])
        // on X = [[2, 0, 1], [3, 1, 0], [0, 2, 2], [1, 4, 0]], y = [0, 0, 1, 1].
        let x = array![
            [2.0, 0.0, 1.0],
            [3.0, 1.0, 0.0],
            [0.0, 2.0, 2.0],
            [1.0, 4.0, 0.0]
        ];
        let y = array![0.0, 0.0, 1.0, 1.0];
        let fitted = MultinomialNb { alpha: 0.5 }
            .fit(x.view(), y.view())
            .unwrap();
        let (class, proba) =
            classes_and_proba(fitted.predict(array![[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]].view()));
        assert_eq!(class, array![0, 1]);
        for (got, want) in proba.iter().zip(MULTINOMIAL_PROBA) {
            assert!(
                (got - want).abs() < 1e-9,
                "{proba} vs {MULTINOMIAL_PROBA:?}"
            );
        }
    }

    const MULTINOMIAL_PROBA: [f64; 4] = [
        0.7133190800069088,
        0.2866809199930911,
        0.022641170136513265,
        0.9773588298634865,
    ];

    #[test]
    fn gaussian_agrees_with_linfa_bayes() {
        let (x, y) = clouds();
        let ours = GaussianNb {
            var_smoothing: 1e-9,
        }
        .fit(x.view(), y.view())
        .unwrap();
        let labels: Array1<usize> = y.mapv(|v| v as usize);
        let theirs = linfa_bayes::GaussianNb::params()
            .fit(&linfa::DatasetBase::new(x.view(), labels.view()))
            .unwrap();
        let (class, proba) = classes_and_proba(ours.predict(x.view()));
        assert_eq!(class, theirs.predict(&x));
        let (their_proba, their_classes) = theirs.predict_proba(x.view());
        assert_eq!(their_classes, vec![&0, &1, &2]);
        for (a, b) in proba.iter().zip(their_proba.iter()) {
            assert!((a - b).abs() < 1e-9, "{a} vs linfa {b}");
        }
    }

    #[test]
    fn multinomial_agrees_with_linfa_bayes() {
        let (x, y) = counts();
        let ours = MultinomialNb { alpha: 1.0 }
            .fit(x.view(), y.view())
            .unwrap();
        let labels: Array1<usize> = y.mapv(|v| v as usize);
        let theirs = linfa_bayes::MultinomialNb::params()
            .alpha(1.0)
            .fit(&linfa::DatasetBase::new(x.view(), labels.view()))
            .unwrap();
        let (class, proba) = classes_and_proba(ours.predict(x.view()));
        assert_eq!(class, theirs.predict(&x));
        let (their_proba, _) = theirs.predict_proba(x.view());
        for (a, b) in proba.iter().zip(their_proba.iter()) {
            assert!((a - b).abs() < 1e-9, "{a} vs linfa {b}");
        }
    }

    #[test]
    fn probabilities_stay_finite_where_every_likelihood_underflows() {
        // Far from both classes: every joint log-likelihood is below −745, where exp is 0.
        let x = array![[0.0], [0.1], [10.0], [10.1]];
        let y = array![0.0, 0.0, 1.0, 1.0];
        let fitted = GaussianNb {
            var_smoothing: 1e-9,
        }
        .fit(x.view(), y.view())
        .unwrap();
        let (class, proba) = classes_and_proba(fitted.predict(array![[1000.0]].view()));
        assert_eq!(class, array![1]);
        assert!(proba.iter().all(|p| p.is_finite()), "{proba}");
        assert!((proba.sum() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_class_missing_from_training_gets_probability_zero() {
        let x = array![[0.0], [1.0], [5.0], [6.0]];
        let y = array![0.0, 0.0, 2.0, 2.0];
        let fitted = GaussianNb {
            var_smoothing: 1e-9,
        }
        .fit(x.view(), y.view())
        .unwrap();
        let (class, proba) = classes_and_proba(fitted.predict(array![[0.5], [5.5]].view()));
        assert_eq!(class, array![0, 2]);
        assert_eq!(proba.column(1), array![0.0, 0.0]);
    }

    #[test]
    fn column_major_data_fits_the_same_model_as_row_major() {
        for (x, y, est) in [
            (
                clouds().0,
                clouds().1,
                &GaussianNb {
                    var_smoothing: 1e-9,
                } as &dyn Estimator,
            ),
            (
                counts().0,
                counts().1,
                &MultinomialNb { alpha: 1.0 } as &dyn Estimator,
            ),
        ] {
            let mut columns = Array2::zeros(x.dim().f());
            columns.assign(&x);
            assert!(columns.as_slice().is_none());
            let (_, a) = classes_and_proba(est.fit(x.view(), y.view()).unwrap().predict(x.view()));
            let (_, b) =
                classes_and_proba(est.fit(columns.view(), y.view()).unwrap().predict(x.view()));
            for (a, b) in a.iter().zip(&b) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn multinomial_refuses_negative_features() {
        let err = MultinomialNb { alpha: 1.0 }
            .fit(array![[1.0], [-1.0]].view(), array![0.0, 1.0].view())
            .err()
            .unwrap();
        assert!(err.to_string().contains("non-negative"), "{err}");
    }
}
