//! The SGD models and the MLP as iterative estimators of a sweep: one epoch at a time over a
//! training fold, each epoch a report point.

use ndarray::{Array1, ArrayView1, ArrayView2};

use super::{SgdModel, SgdSpec, SgdState, Target, epoch_order};
use crate::error::ModelError;
use crate::estimator::Prediction;
use crate::iterative::{IterativeEstimator, Learner};

/// An SGD model with its hyperparameters and epoch count.
#[derive(Debug, Clone)]
pub struct SgdEstimator {
    /// The model and its hyperparameters.
    pub spec: SgdSpec,
    /// Epochs a full training runs.
    pub epochs: usize,
    /// Seeds the initial parameters and each epoch's row order.
    pub seed: u64,
}

impl IterativeEstimator for SgdEstimator {
    fn epochs(&self) -> usize {
        self.epochs
    }

    fn start(
        &self,
        x: ArrayView2<'_, f64>,
        _y: ArrayView1<'_, f64>,
        n_classes: usize,
    ) -> Result<Box<dyn Learner>, ModelError> {
        let target = if n_classes == 0 {
            Target::Regression
        } else {
            Target::Classes(n_classes)
        };
        let model = SgdModel::new(&self.spec, x.ncols(), target)
            .map_err(|e| ModelError::Fit(e.to_string()))?;
        let params = model.init(self.seed);
        let state = model.new_state();
        Ok(Box::new(SgdLearner {
            rows: (0..x.nrows()).collect(),
            model,
            params,
            state,
            seed: self.seed,
            epoch: 0,
        }))
    }
}

/// An SGD model in training on one fold.
struct SgdLearner {
    model: SgdModel,
    params: Vec<f64>,
    state: SgdState,
    rows: Vec<usize>,
    seed: u64,
    epoch: u64,
}

impl Learner for SgdLearner {
    fn epoch(&mut self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<(), ModelError> {
        let order = epoch_order(&self.rows, self.seed, self.epoch);
        self.model
            .train_steps(&mut self.params, x, y, &order, &mut self.state)
            .map_err(|e| ModelError::Fit(e.to_string()))?;
        self.epoch += 1;
        Ok(())
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Prediction, ModelError> {
        let out = self
            .model
            .predict_proba(&self.params, x)
            .map_err(|e| ModelError::Fit(e.to_string()))?;
        Ok(prediction(self.model.target(), out))
    }

    fn to_saved(&self) -> crate::saved::SavedModel {
        crate::saved::SavedModel::Sgd(crate::saved::SavedSgd {
            spec: self.model.spec().clone(),
            n_features: self.model.n_features(),
            target: self.model.target(),
            params: self.params.clone(),
        })
    }
}

/// Class indices (the most probable class) and probabilities, or values, from the model's
/// outputs.
pub(crate) fn prediction(target: Target, out: ndarray::Array2<f64>) -> Prediction {
    match target {
        Target::Regression => Prediction::Values(out.column(0).to_owned()),
        Target::Classes(_) => {
            let class: Array1<usize> = out
                .rows()
                .into_iter()
                .map(|p| {
                    // The first of equally probable classes, as argmax elsewhere.
                    p.iter()
                        .enumerate()
                        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                            if v > best.1 { (i, v) } else { best }
                        })
                        .0
                })
                .collect();
            Prediction::Classes {
                class,
                proba: Some(out),
            }
        }
    }
}
