//! The models cohort can sweep: their names, hyperparameters, and how to build them.

use crate::dataset::ProblemKind;
use crate::error::ModelError;
use crate::estimator::Estimator;
use crate::hyper::{HyperSpec, Params};

/// A model in the catalogue.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// Its name in configs.
    pub name: &'static str,
    /// Classifier or regressor.
    pub problem: ProblemKind,
    /// Whether it predicts class probabilities (needed by `log_loss`).
    pub probabilistic: bool,
    /// One line on what it is.
    pub summary: &'static str,
    /// Its hyperparameters.
    pub hyperparams: Vec<HyperSpec>,
}

/// Every model, in display order.
pub fn catalogue() -> &'static [ModelInfo] {
    todo!()
}

/// The model called `name`, or an error suggesting the closest name.
pub fn lookup(name: &str) -> Result<&'static ModelInfo, ModelError> {
    let _ = name;
    todo!()
}

/// Check `params` against the model's schema and fill in defaults: the checked, complete set.
pub fn check_params(model: &ModelInfo, params: &Params) -> Result<Params, ModelError> {
    let _ = (model, params);
    todo!()
}

/// Build the estimator for `name` with `params` (checked as by [`check_params`]); `seed` feeds
/// any randomness in the fit.
pub fn build(name: &str, params: &Params, seed: u64) -> Result<Box<dyn Estimator>, ModelError> {
    let _ = (name, params, seed);
    todo!()
}
