//! Scores of predictions against truth, and which way is better.

use serde::{Deserialize, Serialize};

use crate::dataset::ProblemKind;
use crate::error::ModelError;
use crate::estimator::Prediction;
use ndarray::{ArrayView1, ArrayView2};

/// Whether larger or smaller values of a metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Larger is better.
    Maximize,
    /// Smaller is better.
    Minimize,
}

/// A metric a study can be scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Fraction of rows classified correctly.
    Accuracy,
    /// Unweighted mean of per-class F1.
    MacroF1,
    /// Mean negative log-likelihood of the true class (needs probabilities).
    LogLoss,
    /// Root mean squared error.
    Rmse,
    /// Mean absolute error.
    Mae,
    /// Coefficient of determination.
    R2,
    /// Mean silhouette coefficient of the scored rows under their clusters (−1 to 1).
    Silhouette,
    /// Sum of squared distances from the scored rows to their cluster centres.
    Inertia,
}

impl Metric {
    /// Every metric, in display order.
    pub const ALL: [Metric; 8] = [
        Metric::Accuracy,
        Metric::MacroF1,
        Metric::LogLoss,
        Metric::Rmse,
        Metric::Mae,
        Metric::R2,
        Metric::Silhouette,
        Metric::Inertia,
    ];

    /// The name used in configs and output.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::MacroF1 => "macro_f1",
            Metric::LogLoss => "log_loss",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Silhouette => "silhouette",
            Metric::Inertia => "inertia",
        }
    }

    /// Parse a config name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Which way is better.
    pub fn direction(self) -> Direction {
        match self {
            Metric::Accuracy | Metric::MacroF1 | Metric::R2 | Metric::Silhouette => {
                Direction::Maximize
            }
            Metric::LogLoss | Metric::Rmse | Metric::Mae | Metric::Inertia => Direction::Minimize,
        }
    }

    /// The kind of problem this metric scores.
    pub fn problem(self) -> ProblemKind {
        match self {
            Metric::Accuracy | Metric::MacroF1 | Metric::LogLoss => ProblemKind::Classification,
            Metric::Rmse | Metric::Mae | Metric::R2 => ProblemKind::Regression,
            Metric::Silhouette | Metric::Inertia => ProblemKind::Clustering,
        }
    }

    /// Whether the metric scores the rows themselves ([`Metric::score_rows`]), not only the truth.
    pub fn needs_rows(self) -> bool {
        matches!(self, Metric::Silhouette | Metric::Inertia)
    }

    /// Score `pred` for the rows `x` against `truth`: as [`Metric::score`], and the clustering
    /// metrics too, which score the rows themselves (the truth is ignored).
    pub fn score_rows(
        self,
        pred: &Prediction,
        x: ArrayView2<'_, f64>,
        truth: ArrayView1<'_, f64>,
        n_classes: usize,
    ) -> Result<f64, ModelError> {
        match (self, pred) {
            (Metric::Silhouette, Prediction::Clusters { cluster, .. }) => {
                check_len(self, cluster.len(), x.nrows())?;
                crate::cluster::silhouette(x, cluster.view())
            }
            (Metric::Inertia, Prediction::Clusters { sq_dist, .. }) => {
                check_len(self, sq_dist.len(), x.nrows())?;
                Ok(crate::cluster::inertia(sq_dist.view()))
            }
            _ => self.score(pred, truth, n_classes),
        }
    }

    /// Score `pred` against `truth` (class indices for classifiers); `n_classes` for classifiers.
    ///
    /// As scikit-learn: macro F1 averages over the classes present in the truth or the
    /// prediction (a class with no true positive counts as F1 0); log-loss clips probabilities
    /// to `[ε, 1 − ε]` with ε the f64 machine epsilon (scikit-learn ≥ 1.5), and a model that
    /// never saw a class (probability columns fewer than `n_classes`) gives it probability 0;
    /// R² of a constant truth is 1 for a perfect prediction and 0 otherwise.
    pub fn score(
        self,
        pred: &Prediction,
        truth: ArrayView1<'_, f64>,
        n_classes: usize,
    ) -> Result<f64, ModelError> {
        let n = truth.len();
        if n == 0 {
            return Err(ModelError::Data(format!(
                "cannot compute {} on zero rows",
                self.name()
            )));
        }
        match (self.problem(), pred) {
            (ProblemKind::Classification, Prediction::Classes { class, proba }) => {
                check_len(self, class.len(), n)?;
                let truth = class_indices(truth, n_classes)?;
                if let Some(&bad) = class.iter().find(|&&c| c >= n_classes) {
                    return Err(ModelError::Data(format!(
                        "predicted class {bad} is not below the {n_classes} classes"
                    )));
                }
                match self {
                    Metric::Accuracy => Ok(accuracy(class, &truth)),
                    Metric::MacroF1 => Ok(macro_f1(class.iter().copied(), &truth, n_classes)),
                    _ => {
                        let Some(proba) = proba else {
                            return Err(ModelError::MetricMismatch {
                                metric: self.name().into(),
                                reason: "the model does not predict class probabilities".into(),
                            });
                        };
                        log_loss(proba.view(), &truth, n_classes)
                    }
                }
            }
            (ProblemKind::Regression, Prediction::Values(values)) => {
                check_len(self, values.len(), n)?;
                Ok(match self {
                    Metric::Rmse => (values
                        .iter()
                        .zip(truth)
                        .map(|(p, t)| (p - t) * (p - t))
                        .sum::<f64>()
                        / n as f64)
                        .sqrt(),
                    Metric::Mae => {
                        values
                            .iter()
                            .zip(truth)
                            .map(|(p, t)| (p - t).abs())
                            .sum::<f64>()
                            / n as f64
                    }
                    _ => r2(values.view(), truth),
                })
            }
            (ProblemKind::Classification, Prediction::Values(_)) => {
                Err(ModelError::MetricMismatch {
                    metric: self.name().into(),
                    reason: "it scores classifiers, and this model is a regressor".into(),
                })
            }
            (ProblemKind::Regression, Prediction::Classes { .. }) => {
                Err(ModelError::MetricMismatch {
                    metric: self.name().into(),
                    reason: "it scores regressors, and this model is a classifier".into(),
                })
            }
            (ProblemKind::Clustering, _) => Err(ModelError::MetricMismatch {
                metric: self.name().into(),
                reason: "it scores a clustering of rows: score it with the rows (score_rows)"
                    .into(),
            }),
            (_, Prediction::Clusters { .. }) => Err(ModelError::MetricMismatch {
                metric: self.name().into(),
                reason: "this model finds clusters, which only clustering metrics score".into(),
            }),
        }
    }
}

/// Refuse a prediction whose length is not the truth's.
fn check_len(metric: Metric, got: usize, n: usize) -> Result<(), ModelError> {
    if got == n {
        Ok(())
    } else {
        Err(ModelError::Data(format!(
            "{}: {got} predictions for {n} rows",
            metric.name()
        )))
    }
}

/// Truth labels as class indices, refusing anything that is not one.
fn class_indices(truth: ArrayView1<'_, f64>, n_classes: usize) -> Result<Vec<usize>, ModelError> {
    truth
        .iter()
        .map(|&t| {
            if t >= 0.0 && t.fract() == 0.0 && t < n_classes as f64 {
                Ok(t as usize)
            } else {
                Err(ModelError::Data(format!(
                    "true label {t} is not a class index below {n_classes}"
                )))
            }
        })
        .collect()
}

/// Fraction of rows predicted right.
fn accuracy(class: &ndarray::Array1<usize>, truth: &[usize]) -> f64 {
    let right = class.iter().zip(truth).filter(|(p, t)| p == t).count();
    right as f64 / truth.len() as f64
}

/// Mean F1 over the classes that occur in the truth or the prediction.
fn macro_f1(pred: impl Iterator<Item = usize>, truth: &[usize], n_classes: usize) -> f64 {
    let (mut tp, mut fp, mut fn_) = (
        vec![0usize; n_classes],
        vec![0usize; n_classes],
        vec![0usize; n_classes],
    );
    for (p, &t) in pred.zip(truth) {
        if p == t {
            tp[p] += 1;
        } else {
            fp[p] += 1;
            fn_[t] += 1;
        }
    }
    let mut sum = 0.0;
    let mut present = 0usize;
    for c in 0..n_classes {
        let denom = 2 * tp[c] + fp[c] + fn_[c];
        if denom == 0 {
            continue; // neither true nor predicted: not one of the labels
        }
        present += 1;
        // F1 = 2·tp / (2·tp + fp + fn): equal to 2PR/(P+R), and 0 when tp is 0.
        sum += 2.0 * tp[c] as f64 / denom as f64;
    }
    sum / present as f64
}

/// Mean negative log-probability of the true class, probabilities clipped to [ε, 1 − ε].
fn log_loss(
    proba: ArrayView2<'_, f64>,
    truth: &[usize],
    n_classes: usize,
) -> Result<f64, ModelError> {
    if proba.nrows() != truth.len() || proba.ncols() > n_classes {
        return Err(ModelError::Data(format!(
            "log_loss: probabilities are {}×{}, expected {} rows and at most {n_classes} classes",
            proba.nrows(),
            proba.ncols(),
            truth.len()
        )));
    }
    let eps = f64::EPSILON;
    let total: f64 = truth
        .iter()
        .enumerate()
        .map(|(row, &t)| {
            let p = if t < proba.ncols() {
                proba[[row, t]]
            } else {
                0.0
            };
            -p.clamp(eps, 1.0 - eps).ln()
        })
        .sum();
    Ok(total / truth.len() as f64)
}

/// scikit-learn's `r2_score` with `force_finite`: 1 − SS_res / SS_tot.
fn r2(pred: ArrayView1<'_, f64>, truth: ArrayView1<'_, f64>) -> f64 {
    let n = truth.len() as f64;
    let mean = truth.sum() / n;
    let ss_tot: f64 = truth.iter().map(|t| (t - mean) * (t - mean)).sum();
    let ss_res: f64 = pred.iter().zip(truth).map(|(p, t)| (t - p) * (t - p)).sum();
    if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};

    fn classes(c: &[usize], proba: Option<ndarray::Array2<f64>>) -> Prediction {
        Prediction::Classes {
            class: Array1::from(c.to_vec()),
            proba,
        }
    }

    fn truth(t: &[usize]) -> Array1<f64> {
        t.iter().map(|&c| c as f64).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn accuracy_is_the_fraction_right() {
        let s = Metric::Accuracy
            .score(
                &classes(&[0, 1, 1, 2], None),
                truth(&[0, 1, 2, 2]).view(),
                3,
            )
            .unwrap();
        assert_eq!(s, 0.75);
    }

    #[test]
    fn macro_f1_averages_over_classes_in_truth_or_prediction() {
        // scikit-learn: f1_score(t, p, average="macro") = 0.5 (class 3 only predicted: F1 0).
        let p = classes(&[0, 1, 1, 1, 0, 2, 0, 3], None);
        let s = Metric::MacroF1
            .score(&p, truth(&[0, 0, 1, 1, 2, 2, 0, 1]).view(), 5)
            .unwrap();
        assert!(close(s, 0.5), "{s}");
    }

    #[test]
    fn macro_f1_ignores_a_class_absent_from_truth_and_prediction() {
        let s = Metric::MacroF1
            .score(&classes(&[0, 1], None), truth(&[0, 1]).view(), 3)
            .unwrap();
        assert_eq!(s, 1.0);
    }

    #[test]
    fn log_loss_matches_scikit_learn() {
        let proba = array![[0.7, 0.2, 0.1], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]];
        let s = Metric::LogLoss
            .score(
                &classes(&[0, 2, 0], Some(proba)),
                truth(&[0, 2, 1]).view(),
                3,
            )
            .unwrap();
        assert!(close(s, 0.34994070816622597), "{s}");
    }

    #[test]
    fn log_loss_clips_a_zero_probability_to_machine_epsilon() {
        // scikit-learn 1.9: log_loss([0, 1], [[1, 0], [1, 0]]) = 18.021826694558577.
        let proba = array![[1.0, 0.0], [1.0, 0.0]];
        let s = Metric::LogLoss
            .score(&classes(&[0, 0], Some(proba)), truth(&[0, 1]).view(), 2)
            .unwrap();
        assert!(close(s, 18.021826694558577), "{s}");
    }

    #[test]
    fn log_loss_gives_probability_zero_to_a_class_the_model_never_saw() {
        let proba = array![[0.5, 0.5]];
        let s = Metric::LogLoss
            .score(&classes(&[0], Some(proba)), truth(&[2]).view(), 3)
            .unwrap();
        assert!(close(s, -f64::EPSILON.ln()), "{s}");
    }

    #[test]
    fn log_loss_without_probabilities_is_a_metric_mismatch() {
        let err = Metric::LogLoss
            .score(&classes(&[0, 1], None), truth(&[0, 1]).view(), 2)
            .unwrap_err();
        assert!(matches!(err, ModelError::MetricMismatch { .. }), "{err}");
    }

    #[test]
    fn regression_metrics_match_scikit_learn() {
        let p = Prediction::Values(array![2.5, 0.0, 2.0, 8.0]);
        let t = array![3.0, -0.5, 2.0, 7.0];
        assert!(close(
            Metric::R2.score(&p, t.view(), 0).unwrap(),
            0.9486081370449679
        ));
        assert!(close(
            Metric::Rmse.score(&p, t.view(), 0).unwrap(),
            0.6123724356957945
        ));
        assert!(close(Metric::Mae.score(&p, t.view(), 0).unwrap(), 0.5));
    }

    #[test]
    fn r2_of_constant_truth_is_one_if_perfect_else_zero() {
        let t = array![2.0, 2.0];
        assert_eq!(
            Metric::R2
                .score(&Prediction::Values(array![2.0, 2.0]), t.view(), 0)
                .unwrap(),
            1.0
        );
        assert_eq!(
            Metric::R2
                .score(&Prediction::Values(array![2.0, 3.0]), t.view(), 0)
                .unwrap(),
            0.0
        );
    }

    #[test]
    fn classification_metric_on_regressor_output_is_a_metric_mismatch() {
        let err = Metric::Accuracy
            .score(&Prediction::Values(array![1.0]), array![1.0].view(), 2)
            .unwrap_err();
        assert!(matches!(err, ModelError::MetricMismatch { .. }), "{err}");
    }

    #[test]
    fn regression_metric_on_classifier_output_is_a_metric_mismatch() {
        let err = Metric::Rmse
            .score(&classes(&[1], None), array![1.0].view(), 2)
            .unwrap_err();
        assert!(matches!(err, ModelError::MetricMismatch { .. }), "{err}");
    }

    #[test]
    fn prediction_of_the_wrong_length_is_refused() {
        assert!(
            Metric::Accuracy
                .score(&classes(&[1], None), truth(&[1, 0]).view(), 2)
                .is_err()
        );
    }

    #[test]
    fn metric_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("f1"), None);
    }
}
