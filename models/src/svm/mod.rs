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

pub(crate) use kernel::KernelSpec;
pub use kernel::{KernelKind, Resolved};

use linfa::prelude::Fit;
use linfa_svm::Svm;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::classes::{check_rows, class_indices};
use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};
use crate::saved::SavedModel;

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

/// A fitted binary machine as saved: its decision on a kernel-scaled row is
/// Σ coefᵢ·K(svᵢ, row) − rho (the linear kernel's folded into one weight vector).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Machine {
    /// How the decision is computed before the offset.
    sum: WeightedSum,
    /// The offset subtracted from the weighted sum.
    rho: f64,
}

/// The weighted sum of a machine.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WeightedSum {
    /// The linear kernel: Σ coefᵢ·svᵢ, dotted with the row.
    Linear {
        /// The separating hyperplane's normal.
        w: Array1<f64>,
    },
    /// Any other kernel: the support vectors (kernel-scaled) and their signed coefficients.
    Kernel {
        /// Support vectors, one per row.
        support: Array2<f64>,
        /// Signed dual coefficient of each support vector.
        coef: Array1<f64>,
    },
}

impl Machine {
    /// The machine linfa fitted on the kernel-scaled `rows`: the rows with a nonzero dual
    /// coefficient kept, as linfa keeps them (linfa's own fields are private).
    fn from_linfa<T>(svm: &Svm<f64, T>, rows: ArrayView2<'_, f64>, kernel: &Resolved) -> Machine {
        let sum = if kernel.is_linear() {
            let mut w = Array1::zeros(rows.ncols());
            for (row, &a) in rows.rows().into_iter().zip(&svm.alpha) {
                w.scaled_add(a, &row);
            }
            WeightedSum::Linear { w }
        } else {
            let keep: Vec<usize> = (0..svm.alpha.len())
                .filter(|&i| svm.alpha[i].abs() > 100.0 * f64::EPSILON)
                .collect();
            WeightedSum::Kernel {
                support: rows.select(ndarray::Axis(0), &keep),
                coef: keep.iter().map(|&i| svm.alpha[i]).collect(),
            }
        };
        Machine { sum, rho: svm.rho }
    }

    /// The decision value for one kernel-scaled row.
    fn decision(&self, kernel: &Resolved, row: ArrayView1<'_, f64>) -> f64 {
        let sum = match &self.sum {
            WeightedSum::Linear { w } => w.dot(&row),
            WeightedSum::Kernel { support, coef } => support
                .rows()
                .into_iter()
                .zip(coef)
                .map(|(sv, &a)| kernel.between(sv, row) * a)
                .sum(),
        };
        sum - self.rho
    }

    /// Whether a machine read back from a file fits rows of `n_features` columns.
    fn check(&self, n_features: usize) -> Result<(), String> {
        let (width, finite) = match &self.sum {
            WeightedSum::Linear { w } => (w.len(), w.iter().all(|v| v.is_finite())),
            WeightedSum::Kernel { support, coef } => {
                if support.nrows() != coef.len() {
                    return Err(format!(
                        "svm: {} support vectors but {} coefficients",
                        support.nrows(),
                        coef.len()
                    ));
                }
                (
                    support.ncols(),
                    support.iter().chain(coef).all(|v| v.is_finite()),
                )
            }
        };
        if width != n_features {
            return Err(format!(
                "svm: a machine of {width} features in a model of {n_features}"
            ));
        }
        if !finite || !self.rho.is_finite() {
            return Err("svm: a coefficient is not a finite number".into());
        }
        Ok(())
    }
}

/// One binary machine of the one-vs-one scheme: votes for `first` when its decision is ≥ 0.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct PairMachine {
    first: usize,
    second: usize,
    machine: Machine,
}

/// A fitted classifier (also its saved form): one machine per pair of training classes, or a
/// single class.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FittedSvc {
    kernel: Resolved,
    n_features: usize,
    n_classes: usize,
    pairs: Vec<PairMachine>,
    /// The only class seen in training, when there was one.
    only: Option<usize>,
}

/// A fitted regressor (also its saved form).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FittedSvr {
    kernel: Resolved,
    n_features: usize,
    machine: Machine,
}

impl FittedSvc {
    /// Feature columns it takes.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Whether a classifier read back from a file can predict.
    pub fn check(&self) -> Result<(), String> {
        self.kernel.check()?;
        let k = self.n_classes;
        match self.only {
            Some(c) if c < k && self.pairs.is_empty() => return Ok(()),
            Some(c) => {
                return Err(format!(
                    "svc: single class {c} of {k}, with {} machines",
                    self.pairs.len()
                ));
            }
            None if self.pairs.is_empty() => return Err("svc: no machines".into()),
            None => {}
        }
        for m in &self.pairs {
            if m.first >= k || m.second >= k || m.first == m.second {
                return Err(format!(
                    "svc: a machine between classes {} and {} of {k}",
                    m.first, m.second
                ));
            }
            m.machine.check(self.n_features)?;
        }
        Ok(())
    }
}

impl FittedSvr {
    /// Feature columns it takes.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Whether a regressor read back from a file can predict.
    pub fn check(&self) -> Result<(), String> {
        self.kernel.check()?;
        self.machine.check(self.n_features)
    }
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
                n_features: x.ncols(),
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
                let machine = Machine::from_linfa(&svm, sub.view(), &kernel);
                pairs.push(PairMachine {
                    first,
                    second,
                    machine,
                });
            }
        }
        Ok(Box::new(FittedSvc {
            kernel,
            n_features: x.ncols(),
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
                    let decision = m.machine.decision(&self.kernel, row);
                    votes[if decision >= 0.0 { m.first } else { m.second }] += 1;
                }
                crate::classes::argmax(votes.iter().map(|&v| f64::from(v)))
            })
            .collect();
        Prediction::Classes { class, proba: None }
    }

    fn to_saved(&self) -> SavedModel {
        SavedModel::Svc(self.clone())
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
        let machine = Machine::from_linfa(&svm, rows.view(), &kernel);
        Ok(Box::new(FittedSvr {
            kernel,
            n_features: x.ncols(),
            machine,
        }))
    }
}

impl Fitted for FittedSvr {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let rows = self.kernel.rows(x);
        Prediction::Values(
            rows.rows()
                .into_iter()
                .map(|row| self.machine.decision(&self.kernel, row))
                .collect(),
        )
    }

    fn to_saved(&self) -> SavedModel {
        SavedModel::Svr(self.clone())
    }
}

#[cfg(test)]
mod tests;
