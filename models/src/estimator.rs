//! The two traits every model implements: unfitted `Estimator`, fitted `Fitted`.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::error::ModelError;
use crate::rows::RowSet;

/// A model with its hyperparameters fixed, ready to fit.
pub trait Estimator: Send {
    /// Fit on rows `x` with targets `y` (class indices 0..k as f64 for classifiers).
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError>;

    /// Fit on the rows of `train`, read in place (cross-validation's folds). By default the rows
    /// are gathered into a contiguous copy for [`Estimator::fit`]; a model that can read them
    /// where they are (fusing the standardization) overrides this and saves the copy.
    fn fit_rows(&self, train: RowSet<'_>) -> Result<Box<dyn Fitted>, ModelError> {
        self.fit(train.gather_x().view(), train.gather_y().view())
    }
}

/// A fitted model.
pub trait Fitted: Send {
    /// Predict for rows `x`.
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction;
    /// The fitted model in its saved form (what `predict` needs, nothing of the training data).
    fn to_saved(&self) -> crate::saved::SavedModel;
}

/// What a fitted model predicts.
#[derive(Debug, Clone)]
pub enum Prediction {
    /// Class indices, with class probabilities (rows × classes) where the model has them.
    Classes {
        /// Predicted class index per row.
        class: Array1<usize>,
        /// Probability of each class per row, if the model estimates them.
        proba: Option<Array2<f64>>,
    },
    /// Real-valued predictions of a regressor.
    Values(Array1<f64>),
    /// The cluster of each row, and its squared distance to that cluster's centre.
    Clusters {
        /// Cluster index per row.
        cluster: Array1<usize>,
        /// Squared Euclidean distance from the row to its cluster's centre.
        sq_dist: Array1<f64>,
    },
}
