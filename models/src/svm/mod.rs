//! Support vector machines for classification (`svc`) and regression (`svr`), fitted by
//! linfa-svm's SMO solver (a port of libsvm's, as scikit-learn's `SVC` and `SVR` use).
//!
//! linfa-svm classifies two classes; more are handled as libsvm does: one-vs-one, one binary
//! machine per pair of classes present in the training rows, each trained on the rows of its
//! two classes, and a row goes to the class with the most votes (ties to the lowest class
//! index). There are no probabilities: libsvm's come from Platt scaling fitted by an internal
//! 5-fold cross-validation, which linfa does not do, and anything else would not be the same
//! model; `log_loss` is refused.
//!
//! linfa-svm builds the whole n × n kernel matrix before solving (libsvm caches columns):
//! memory grows with the square of the training rows, 8·n² bytes (800 MB at 10,000 rows).
//! Its shrinking heuristic stays off: in linfa-svm 0.8.1 it panics (an index underflow at
//! solver_smo.rs:601) on a 600-row, 3-class problem from `make_classification`.

mod kernel;

pub(crate) use kernel::{KernelKind, KernelSpec};

use linfa::prelude::Fit;
use linfa_svm::Svm;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::classes::{check_rows, class_indices};
use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};
use kernel::Resolved;

/// C-support vector classification (scikit-learn's `SVC`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SvmClassifier {
    /// Penalty on margin violations.
    pub c: f64,
    /// The kernel.
    pub kernel: KernelSpec,
    /// SMO stopping tolerance on the KKT gap (libsvm's `eps`, scikit-learn's `tol`).
    pub tol: f64,
}

/// ε-support vector regression (scikit-learn's `SVR`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SvmRegressor {
    /// Penalty on errors beyond the tube.
    pub c: f64,
    /// Half-width of the tube in which errors cost nothing.
    pub epsilon: f64,
    /// The kernel.
    pub kernel: KernelSpec,
    /// SMO stopping tolerance on the KKT gap.
    pub tol: f64,
}

/// One binary machine of the one-vs-one scheme: votes for `first` when its decision is ≥ 0.
struct PairMachine {
    first: usize,
    second: usize,
    svm: Svm<f64, bool>,
}

/// A fitted classifier: one machine per pair of training classes, or a single class.
struct FittedSvc {
    kernel: Resolved,
    n_classes: usize,
    pairs: Vec<PairMachine>,
    /// The only class seen in training, when there was one.
    only: Option<usize>,
}

/// A fitted regressor.
struct FittedSvr {
    kernel: Resolved,
    svm: Svm<f64, f64>,
}

impl Estimator for SvmClassifier {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        check_rows("svc", x.nrows(), y.len())?;
        let (labels, n_classes) = class_indices(y, "svc")?;
        let kernel = self.kernel.resolve(x);
        let rows = kernel.rows(x);
        let mut present = vec![false; n_classes];
        labels.iter().for_each(|&c| present[c] = true);
        let present: Vec<usize> = (0..n_classes).filter(|&c| present[c]).collect();
        if let [only] = present[..] {
            return Ok(Box::new(FittedSvc {
                kernel,
                n_classes,
                pairs: Vec::new(),
                only: Some(only),
            }));
        }
        let params = kernel
            .apply(Svm::<f64, bool>::params())
            .pos_neg_weights(self.c, self.c)
            .eps(self.tol)
            .shrinking(false);
        let mut pairs = Vec::with_capacity(present.len() * (present.len() - 1) / 2);
        for (i, &first) in present.iter().enumerate() {
            for &second in &present[i + 1..] {
                let members: Vec<usize> = (0..labels.len())
                    .filter(|&r| labels[r] == first || labels[r] == second)
                    .collect();
                let sub = rows.select(ndarray::Axis(0), &members);
                let target: Array1<bool> = members.iter().map(|&r| labels[r] == first).collect();
                let svm = params
                    .fit(&linfa::DatasetBase::new(sub.view(), target.view()))
                    .map_err(|e| ModelError::Fit(format!("svc: {e}")))?;
                pairs.push(PairMachine { first, second, svm });
            }
        }
        Ok(Box::new(FittedSvc {
            kernel,
            n_classes,
            pairs,
            only: None,
        }))
    }
}

impl Fitted for FittedSvc {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let rows = self.kernel.rows(x);
        let class = rows
            .rows()
            .into_iter()
            .map(|row| {
                if let Some(only) = self.only {
                    return only;
                }
                let mut votes = vec![0u32; self.n_classes];
                for m in &self.pairs {
                    let decision = m.svm.weighted_sum(&row) - m.svm.rho;
                    votes[if decision >= 0.0 { m.first } else { m.second }] += 1;
                }
                crate::classes::argmax(votes.iter().map(|&v| f64::from(v)))
            })
            .collect();
        Prediction::Classes { class, proba: None }
    }
}

impl Estimator for SvmRegressor {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        check_rows("svr", x.nrows(), y.len())?;
        let kernel = self.kernel.resolve(x);
        let rows: Array2<f64> = kernel.rows(x);
        let target = y.to_owned();
        let svm = kernel
            .apply(Svm::<f64, f64>::params())
            .c_svr(self.c, Some(self.epsilon))
            .eps(self.tol)
            .shrinking(false)
            .fit(&linfa::DatasetBase::new(rows.view(), target.view()))
            .map_err(|e| ModelError::Fit(format!("svr: {e}")))?;
        Ok(Box::new(FittedSvr { kernel, svm }))
    }
}

impl Fitted for FittedSvr {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let rows = self.kernel.rows(x);
        Prediction::Values(
            rows.rows()
                .into_iter()
                .map(|row| self.svm.weighted_sum(&row) - self.svm.rho)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests;
