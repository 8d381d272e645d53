//! Models that learn step by step (the SGD models, the MLP): each epoch is a report point, so a
//! sweep can watch them learn and stop a bad one early.

use ndarray::{ArrayView1, ArrayView2};

use crate::error::ModelError;
use crate::estimator::Prediction;

/// An iterative model with its hyperparameters fixed, ready to train.
pub trait IterativeEstimator: Send {
    /// Epochs a full training runs.
    fn epochs(&self) -> usize;
    /// Start training on rows `x` with targets `y` (class indices for a classifier of
    /// `n_classes` classes; 0 for a regressor): nothing is trained yet.
    fn start(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        n_classes: usize,
    ) -> Result<Box<dyn Learner>, ModelError>;
}

/// A model in training.
pub trait Learner: Send {
    /// One more pass over the rows it started with (`x`, `y` are the same rows again).
    fn epoch(&mut self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<(), ModelError>;
    /// Predict for rows `x` with the parameters as they are now.
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Prediction, ModelError>;
    /// Values of its own to report with the scores at each report point (a forest's
    /// `oob_score`); none by default.
    fn own_values(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
    /// The model with its parameters as they are now, in its saved form.
    fn to_saved(&self) -> crate::saved::SavedModel;
}
