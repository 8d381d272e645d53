//! Elastic net, lasso and ridge regression, fitted by linfa-elasticnet's coordinate descent.
//!
//! linfa's `with_intercept` centres y but not X, which gives a wrong intercept (and wrong
//! weights under the penalty) unless the features already have mean zero. So we centre X
//! and y ourselves, fit without an intercept, and recover it as ȳ − x̄·w, as scikit-learn does.

use linfa::prelude::Fit;
use linfa_elasticnet::ElasticNetParams;
use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};
use crate::saved::SavedModel;

/// Linear regression minimizing 1/(2n)·‖y − Xw − b‖² + α·ρ·‖w‖₁ + α·(1 − ρ)/2·‖w‖².
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ElasticNet {
    /// Overall penalty α (linfa's `penalty`).
    pub alpha: f64,
    /// Share ρ of the penalty that is L1 (1: lasso, 0: ridge).
    pub l1_ratio: f64,
    /// Whether to fit an intercept b.
    pub fit_intercept: bool,
    /// Coordinate-descent sweeps allowed.
    pub max_iter: u32,
    /// Stopping tolerance (linfa's: duality gap below tol·‖y‖², checked once the largest
    /// coefficient change is below tol relative to the largest coefficient).
    pub tol: f64,
}

/// A fitted linear model: y = x·w + b.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinearModel {
    weights: Array1<f64>,
    intercept: f64,
}

impl Estimator for ElasticNet {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        if x.nrows() == 0 || x.nrows() != y.len() {
            return Err(ModelError::Fit(format!(
                "elastic net: {} rows of features, {} targets",
                x.nrows(),
                y.len()
            )));
        }
        let params = ElasticNetParams::new()
            .penalty(self.alpha)
            .l1_ratio(self.l1_ratio)
            .with_intercept(false)
            .max_iterations(self.max_iter)
            .tolerance(self.tol);
        let fit = |x: ArrayView2<'_, f64>, y: Array1<f64>| {
            params
                .fit(&linfa::DatasetBase::new(x, y))
                .map_err(|e| ModelError::Fit(format!("elastic net: {e}")))
        };
        let model = if self.fit_intercept {
            let x_mean = x
                .mean_axis(Axis(0))
                .unwrap_or_else(|| Array1::zeros(x.ncols()));
            let y_mean = y.mean().unwrap_or(0.0);
            let xc = &x - &x_mean.view().insert_axis(Axis(0));
            let fitted = fit(xc.view(), y.mapv(|v| v - y_mean))?;
            let weights = fitted.hyperplane().clone();
            let intercept = y_mean - x_mean.dot(&weights);
            LinearModel { weights, intercept }
        } else {
            let fitted = fit(x, y.to_owned())?;
            LinearModel {
                weights: fitted.hyperplane().clone(),
                intercept: 0.0,
            }
        };
        if model.weights.iter().any(|w| !w.is_finite()) || !model.intercept.is_finite() {
            return Err(ModelError::Fit(
                "elastic net: the fit diverged (non-finite weights)".into(),
            ));
        }
        Ok(Box::new(model))
    }
}

impl LinearModel {
    /// Feature columns it was fitted on.
    pub(crate) fn n_features(&self) -> usize {
        self.weights.len()
    }

    /// Whether a model read back from a file can predict (finite numbers).
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.weights.iter().all(|w| w.is_finite()) && self.intercept.is_finite() {
            Ok(())
        } else {
            Err("linear model: non-finite weights".into())
        }
    }
}

impl Fitted for LinearModel {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        Prediction::Values(x.dot(&self.weights) + self.intercept)
    }

    fn to_saved(&self) -> SavedModel {
        SavedModel::Linear(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    fn values(p: Prediction) -> Array1<f64> {
        match p {
            Prediction::Values(v) => v,
            Prediction::Classes { .. } | Prediction::Clusters { .. } => {
                panic!("classes from a regressor")
            }
        }
    }

    fn net(alpha: f64, l1_ratio: f64) -> ElasticNet {
        ElasticNet {
            alpha,
            l1_ratio,
            fit_intercept: true,
            max_iter: 10_000,
            tol: 1e-10,
        }
    }

    /// 50 rows, 3 features far from mean zero, y = 2·x0 − x1 + 0·x2 + 5 + small noise.
    fn problem() -> (Array2<f64>, Array1<f64>) {
        let x = Array2::from_shape_fn((50, 3), |(i, j)| {
            10.0 + ((i * (j + 2)) as f64 * 0.61).sin() * (j + 1) as f64
        });
        let y = x
            .rows()
            .into_iter()
            .enumerate()
            .map(|(i, r)| 2.0 * r[0] - r[1] + 5.0 + 0.01 * (i as f64 * 1.3).cos())
            .collect();
        (x, y)
    }

    #[test]
    fn unpenalized_fit_recovers_weights_and_intercept_on_uncentred_features() {
        let (x, y) = problem();
        let fitted = net(0.0, 0.5).fit(x.view(), y.view()).unwrap();
        let pred = values(fitted.predict(array![[10.0, 10.0, 10.0]].view()));
        // 2·10 − 10 + 5 = 15, up to the noise.
        assert!((pred[0] - 15.0).abs() < 0.05, "{pred}");
    }

    #[test]
    fn lasso_matches_scikit_learn() {
        // scikit-learn 1.9: Lasso(alpha=0.1, tol=1e-10, max_iter=100000).fit(x, y) on problem().
        let (x, y) = problem();
        let fitted = net(0.1, 1.0).fit(x.view(), y.view()).unwrap();
        let pred = values(fitted.predict(array![[10.0, 10.0, 10.0], [9.0, 11.0, 12.0]].view()));
        assert!(
            (pred[0] - LASSO_PRED[0]).abs() < 1e-6 && (pred[1] - LASSO_PRED[1]).abs() < 1e-6,
            "{pred}"
        );
    }

    const LASSO_PRED: [f64; 2] = [15.004211680301527, 12.256506982729922];

    #[test]
    fn elastic_net_matches_scikit_learn() {
        // scikit-learn 1.9: ElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-10, max_iter=100000).
        let (x, y) = problem();
        let fitted = net(0.1, 0.5).fit(x.view(), y.view()).unwrap();
        let pred = values(fitted.predict(array![[10.0, 10.0, 10.0], [9.0, 11.0, 12.0]].view()));
        assert!(
            (pred[0] - 15.006342713554092).abs() < 1e-6
                && (pred[1] - 12.330110744412263).abs() < 1e-6,
            "{pred}"
        );
    }

    #[test]
    fn large_l1_penalty_gives_the_mean() {
        let (x, y) = problem();
        let fitted = net(1e6, 1.0).fit(x.view(), y.view()).unwrap();
        let pred = values(fitted.predict(x.view()));
        let mean = y.mean().unwrap();
        assert!(pred.iter().all(|p| (p - mean).abs() < 1e-9));
    }

    #[test]
    fn without_intercept_a_zero_row_predicts_zero() {
        let (x, y) = problem();
        let fitted = ElasticNet {
            fit_intercept: false,
            ..net(0.1, 0.5)
        }
        .fit(x.view(), y.view())
        .unwrap();
        assert_eq!(
            values(fitted.predict(array![[0.0, 0.0, 0.0]].view()))[0],
            0.0
        );
    }
}
