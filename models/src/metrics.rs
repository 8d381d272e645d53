//! Scores of predictions against truth, and which way is better.

use serde::{Deserialize, Serialize};

use crate::dataset::ProblemKind;
use crate::estimator::Prediction;
use crate::error::ModelError;
use ndarray::ArrayView1;

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
}

impl Metric {
    /// Every metric, in display order.
    pub const ALL: [Metric; 6] = [Metric::Accuracy, Metric::MacroF1, Metric::LogLoss, Metric::Rmse, Metric::Mae, Metric::R2];

    /// The name used in configs and output.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::MacroF1 => "macro_f1",
            Metric::LogLoss => "log_loss",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
        }
    }

    /// Parse a config name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Which way is better.
    pub fn direction(self) -> Direction {
        match self {
            Metric::Accuracy | Metric::MacroF1 | Metric::R2 => Direction::Maximize,
            Metric::LogLoss | Metric::Rmse | Metric::Mae => Direction::Minimize,
        }
    }

    /// The kind of problem this metric scores.
    pub fn problem(self) -> ProblemKind {
        match self {
            Metric::Accuracy | Metric::MacroF1 | Metric::LogLoss => ProblemKind::Classification,
            Metric::Rmse | Metric::Mae | Metric::R2 => ProblemKind::Regression,
        }
    }

    /// Score `pred` against `truth` (class indices for classifiers); `n_classes` for classifiers.
    pub fn score(self, pred: &Prediction, truth: ArrayView1<'_, f64>, n_classes: usize) -> Result<f64, ModelError> {
        let _ = (pred, truth, n_classes);
        todo!()
    }
}
