//! K-fold splits: plain and stratified, shuffled with a seed or in scikit-learn's unshuffled order.

use ndarray::ArrayView1;

use crate::error::ModelError;

/// One split: rows to train on and rows to score on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Training row indices, ascending.
    pub train: Vec<usize>,
    /// Test row indices, ascending.
    pub test: Vec<usize>,
}

/// All k folds of a study: every row is in exactly one test set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folds(pub Vec<Fold>);

impl Folds {
    /// Plain k-fold over `n` rows; `shuffle_seed: None` gives scikit-learn's `KFold` contiguous blocks.
    pub fn kfold(n: usize, k: usize, shuffle_seed: Option<u64>) -> Result<Folds, ModelError> {
        let _ = (n, k, shuffle_seed);
        todo!()
    }

    /// Stratified k-fold over class indices `y`; `shuffle_seed: None` gives scikit-learn's
    /// `StratifiedKFold(shuffle=False)` folds exactly.
    pub fn stratified(y: ArrayView1<'_, f64>, n_classes: usize, k: usize, shuffle_seed: Option<u64>) -> Result<Folds, ModelError> {
        let _ = (y, n_classes, k, shuffle_seed);
        todo!()
    }
}
