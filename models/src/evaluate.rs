//! Cross-validation of an estimator over fixed folds, with prepared folds cached across trials.

use std::collections::BTreeMap;

use crate::cv::Folds;
use crate::dataset::{DataView, Problem};
use crate::error::ModelError;
use crate::estimator::Estimator;
use crate::metrics::Metric;

/// One fold's scores, by metric.
pub type FoldScores = BTreeMap<Metric, f64>;

/// Scores estimators by k-fold CV on one dataset; the folds (and their standardized copies) are
/// prepared once and reused by every trial this process runs.
pub struct CrossValidator<'a> {
    data: DataView<'a>,
    problem: Problem,
    folds: Folds,
    standardize: bool,
}

impl<'a> CrossValidator<'a> {
    /// A validator over `data` with `folds`; `standardize` fits a scaler on each training fold.
    pub fn new(data: DataView<'a>, problem: Problem, folds: Folds, standardize: bool) -> CrossValidator<'a> {
        CrossValidator { data, problem, folds, standardize }
    }

    /// Fit and score `estimator` on every fold, calling `on_fold(fold_index, &scores)` after each.
    pub fn evaluate(
        &mut self,
        estimator: &dyn Estimator,
        metrics: &[Metric],
        on_fold: &mut dyn FnMut(usize, &FoldScores),
    ) -> Result<Vec<FoldScores>, ModelError> {
        let _ = (estimator, metrics, on_fold, &self.data, &self.problem, &self.folds, self.standardize);
        todo!()
    }
}
