//! Models trained by stochastic gradient descent whose whole state is one flat `&[f64]`, so
//! that it can live in a shared-memory ParamArray and be merged by several trainers.
//!
//! # Models
//!
//! * `logistic`: logistic regression, binary (log-loss, one weight vector) for two classes and
//!   multinomial (softmax, one weight vector per class) for more. Penalties `l2`, `l1`
//!   (cumulative truncated gradient, as scikit-learn), `elastic_net` or `none`, strength `alpha`
//!   as scikit-learn's `SGDClassifier` (objective: mean loss + alpha·R(w)).
//! * `linear_regression`: squared loss (`(y − ŷ)²/2`), same penalties.
//! * `mlp`: a classifier with one or two hidden layers (ReLU or tanh), logistic/softmax output,
//!   cross-entropy; penalty `l2` or `none` on the weights.
//!
//! The linear models follow scikit-learn's `_plain_sgd` step for step (wscale trick for the L2
//! decay, intercept not penalised, gradient clipping), so with `batch_size = 1` and the
//! `optimal` schedule they reproduce `SGDClassifier(loss="log_loss")` up to the shuffling order.
//!
//! # How a trainer drives it
//!
//! ```text
//! let model = SgdModel::new(&spec, n_features, Target::Classes(k))?;   // validated once
//! let mut params = model.init(seed);            // or a ParamArray snapshot
//! let mut state = model.new_state();            // schedule counter, L1 memory, scratch
//! for epoch in 0.. {
//!     let order = epoch_order(&shard_rows, seed, epoch);       // deterministic shuffle
//!     for chunk in order.chunks(k_steps * spec.batch_size) {   // merge every k steps
//!         model.train_steps(&mut params, x, y, chunk, &mut state)?;
//!         /* merge params into the ParamArray */
//!     }
//!     model.evaluate(&params, x_test, y_test)?;
//! }
//! ```
//!
//! Targets are class indices `0..k` as f64 for classifiers (as [`crate::Dataset`] stores them)
//! and real values for regression. Features must have contiguous rows (row-major), which is
//! how datasets are stored; `train_steps` refuses other layouts rather than copy per call.

pub(crate) mod estimator;
pub(crate) mod kernels;
mod linear;
mod mlp;
mod schedule;

#[cfg(test)]
mod tests;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, CowArray, Ix2};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use estimator::SgdEstimator;
use kernels::{Rows, Targets};
use linear::{LogLoss, SquaredLoss};
pub use mlp::Activation;
use mlp::Net;
use schedule::Schedule;
pub use schedule::ScheduleKind;

/// Why an SGD model could not be built, trained or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SgdError {
    /// A hyperparameter out of range.
    #[error("sgd hyperparameter `{field}`: expected {expected}, found {value}")]
    InvalidSpec {
        /// The field of [`SgdSpec`].
        field: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// A model that does not fit the problem (a classifier on a regression target, ...).
    #[error("sgd model `{model}` cannot be used for {target}")]
    TargetMismatch {
        /// The model kind.
        model: &'static str,
        /// The problem's target.
        target: String,
    },
    /// A parameter vector of the wrong length.
    #[error("parameter vector has {found} values, the model has {expected}")]
    Params {
        /// The model's parameter count.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A feature matrix with the wrong number of columns.
    #[error("feature matrix has {found} columns, the model expects {expected}")]
    Features {
        /// The model's feature count.
        expected: usize,
        /// The columns given.
        found: usize,
    },
    /// Features and targets of different lengths.
    #[error("{rows} feature rows but {targets} targets")]
    Targets {
        /// Feature rows.
        rows: usize,
        /// Targets.
        targets: usize,
    },
    /// A row index beyond the data.
    #[error("row {row} is out of range (the data has {n_rows} rows)")]
    RowOutOfRange {
        /// The index given.
        row: usize,
        /// Rows in the data.
        n_rows: usize,
    },
    /// A target value the model cannot take.
    #[error("row {row}: target {value} is not {expected}")]
    Label {
        /// The row.
        row: usize,
        /// Its target.
        value: f64,
        /// What was expected.
        expected: &'static str,
    },
    /// Feature rows that are not contiguous in memory.
    #[error(
        "feature rows must be contiguous (row-major); convert with `as_standard_layout()` once"
    )]
    Layout,
    /// Training produced NaN or infinite parameters.
    #[error(
        "training diverged (non-finite parameters) after step {step}; lower the learning rate or \
         standardize the features"
    )]
    Diverged {
        /// The schedule step reached.
        step: u64,
    },
    /// A saved model that does not decode.
    #[error("saved sgd model: {0}")]
    Saved(String),
}

/// The model families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SgdKind {
    /// Logistic regression: binary for two classes, multinomial (softmax) for more.
    Logistic,
    /// Least-squares linear regression.
    LinearRegression,
    /// Multi-layer perceptron classifier.
    Mlp,
}

impl SgdKind {
    /// Its model's name in the catalogue.
    pub fn catalogue_name(self) -> &'static str {
        match self {
            SgdKind::Logistic => "sgd_logistic",
            SgdKind::LinearRegression => "sgd_linear_regression",
            SgdKind::Mlp => "mlp",
        }
    }
}

/// The regularisation term R(w) (weights only; intercepts and biases are never penalised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyKind {
    /// No penalty.
    None,
    /// ½‖w‖², applied as weight decay.
    #[default]
    L2,
    /// ‖w‖₁, applied by cumulative truncated gradient.
    L1,
    /// (1 − l1_ratio)·½‖w‖² + l1_ratio·‖w‖₁.
    ElasticNet,
}

/// What the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Class indices 0..k (k ≥ 2).
    Classes(usize),
    /// Real values.
    Regression,
}

/// A model and its hyperparameters as a config states them (flat, scikit-learn's names);
/// [`SgdModel::new`] validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgdSpec {
    /// The model family.
    pub model: SgdKind,
    /// The penalty (default `l2`).
    #[serde(default)]
    pub penalty: PenaltyKind,
    /// Regularisation strength, ≥ 0 (default 1e-4); also sets the `optimal` schedule's rates.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Share of L1 in `elastic_net`, in [0, 1] (default 0.15).
    #[serde(default = "default_l1_ratio")]
    pub l1_ratio: f64,
    /// Schedule; unset means scikit-learn's default: `optimal` for logistic (SGDClassifier),
    /// `inverse_scaling` for linear regression (SGDRegressor), `constant` for the MLP.
    #[serde(default)]
    pub learning_rate: Option<ScheduleKind>,
    /// Initial rate for `constant` and `inverse_scaling`, > 0 (default 0.01).
    #[serde(default = "default_eta0")]
    pub eta0: f64,
    /// Exponent of `inverse_scaling`, ≥ 0 (default 0.25).
    #[serde(default = "default_power_t")]
    pub power_t: f64,
    /// Rows per step, ≥ 1 (default 1: plain SGD).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// MLP only: one or two hidden layer sizes.
    #[serde(default)]
    pub hidden: Vec<usize>,
    /// MLP only: the hidden units' non-linearity (default `relu`).
    #[serde(default)]
    pub activation: Activation,
}

fn default_alpha() -> f64 {
    1e-4
}
fn default_l1_ratio() -> f64 {
    0.15
}
fn default_eta0() -> f64 {
    0.01
}
fn default_power_t() -> f64 {
    0.25
}
fn default_batch_size() -> usize {
    1
}

impl SgdSpec {
    /// scikit-learn's defaults for a model family (no hidden layers).
    pub fn new(model: SgdKind) -> SgdSpec {
        SgdSpec {
            model,
            penalty: PenaltyKind::L2,
            alpha: default_alpha(),
            l1_ratio: default_l1_ratio(),
            learning_rate: None,
            eta0: default_eta0(),
            power_t: default_power_t(),
            batch_size: default_batch_size(),
            hidden: Vec::new(),
            activation: Activation::Relu,
        }
    }

    /// `SGDClassifier(loss="log_loss")` defaults: l2, alpha 1e-4, `optimal`, batch 1.
    pub fn logistic() -> SgdSpec {
        SgdSpec::new(SgdKind::Logistic)
    }

    /// `SGDRegressor` defaults: l2, alpha 1e-4, `inverse_scaling` with eta0 0.01, power_t 0.25.
    pub fn linear_regression() -> SgdSpec {
        SgdSpec::new(SgdKind::LinearRegression)
    }

    /// An MLP classifier with these hidden layers, ReLU, `constant` rate 0.01, batch 1.
    pub fn mlp(hidden: &[usize]) -> SgdSpec {
        SgdSpec {
            hidden: hidden.to_vec(),
            ..SgdSpec::new(SgdKind::Mlp)
        }
    }

    /// The schedule this spec uses once defaults are resolved.
    pub fn schedule_kind(&self) -> ScheduleKind {
        self.learning_rate.unwrap_or(match self.model {
            SgdKind::Logistic => ScheduleKind::Optimal,
            SgdKind::LinearRegression => ScheduleKind::InverseScaling,
            SgdKind::Mlp => ScheduleKind::Constant,
        })
    }
}

/// Validated step settings shared by the kernels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hyper {
    schedule: Schedule,
    /// alpha · (share of L2): the weight decay strength.
    l2: f64,
    /// alpha · (share of L1).
    l1: f64,
    /// Rows per step, ≥ 1.
    batch: usize,
}

/// The architecture, fixed at construction.
#[derive(Debug, Clone, PartialEq)]
enum Arch {
    /// One logistic output.
    Binary,
    /// k softmax outputs.
    Softmax(usize),
    /// One linear output.
    Regression,
    /// A network.
    Mlp(Net),
}

/// A validated SGD model: its hyperparameters, shape and target. It holds no parameters:
/// those are the `&[f64]` every method takes, so they can live in shared memory.
#[derive(Debug, Clone, PartialEq)]
pub struct SgdModel {
    spec: SgdSpec,
    target: Target,
    n_features: usize,
    arch: Arch,
    hyper: Hyper,
    n_params: usize,
}

/// Training state that is not parameters: the schedule's step counter, the L1 penalty memory
/// and scratch buffers (so that steps allocate nothing). One per trainer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SgdState {
    /// Steps taken (the schedule's t is this + 1 for the next step).
    t: u64,
    /// Cumulative L1 penalty per weight (truncated gradient's u).
    l1_u: f64,
    /// L1 penalty each weight actually received (truncated gradient's q).
    l1_q: Vec<f64>,
    scratch: Vec<f64>,
}

impl SgdState {
    /// Steps taken so far (one per mini-batch).
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Set the step counter, e.g. to resume a schedule.
    pub fn set_steps(&mut self, steps: u64) {
        self.t = steps;
    }

    /// Size the buffers (a no-op after the first call with the same model).
    fn prepare(&mut self, l1_len: usize, scratch_len: usize) {
        if self.l1_q.len() != l1_len {
            self.l1_q.resize(l1_len, 0.0);
        }
        if self.scratch.len() < scratch_len {
            self.scratch.resize(scratch_len, 0.0);
        }
    }
}

/// What one `train_steps` call did.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StepReport {
    /// Steps (mini-batches) taken.
    pub steps: u64,
    /// Rows used.
    pub samples: u64,
    /// Sum of the per-row losses, each computed before the step that used it (no penalty).
    pub loss_sum: f64,
}

impl StepReport {
    /// Mean training loss over the rows of the call (progressive validation, as scikit-learn).
    pub fn mean_loss(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.loss_sum / self.samples as f64
        }
    }
}

/// Held-out quality of a set of parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Metrics {
    /// For classifiers.
    Classification {
        /// Share of rows whose most probable class is the target.
        accuracy: f64,
        /// Mean cross-entropy, probabilities clipped to [1e-15, 1 − 1e-15] (as scikit-learn).
        log_loss: f64,
    },
    /// For regression.
    Regression {
        /// Root mean squared error.
        rmse: f64,
        /// Coefficient of determination, 1 − SSE/SST (0 when the targets are constant).
        r2: f64,
    },
}

/// A model and its parameters as saved (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    format: String,
    spec: SgdSpec,
    n_features: usize,
    target: Target,
    params: Vec<f64>,
}

/// The format tag of saved models.
const SAVED_FORMAT: &str = "cohort-sgd/1";

impl SgdModel {
    /// Validate `spec` for `n_features` inputs and `target`.
    pub fn new(spec: &SgdSpec, n_features: usize, target: Target) -> Result<SgdModel, SgdError> {
        let invalid =
            |field: &'static str, value: String, expected: &'static str| SgdError::InvalidSpec {
                field,
                value,
                expected,
            };
        if n_features == 0 {
            return Err(invalid("n_features", "0".into(), "at least 1 feature"));
        }
        if !(spec.alpha.is_finite() && spec.alpha >= 0.0) {
            return Err(invalid(
                "alpha",
                spec.alpha.to_string(),
                "a finite number >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&spec.l1_ratio) {
            return Err(invalid(
                "l1_ratio",
                spec.l1_ratio.to_string(),
                "a number in [0, 1]",
            ));
        }
        if spec.batch_size == 0 {
            return Err(invalid("batch_size", "0".into(), "at least 1"));
        }
        let schedule = match spec.schedule_kind() {
            ScheduleKind::Optimal => {
                if spec.alpha <= 0.0 {
                    return Err(invalid(
                        "alpha",
                        spec.alpha.to_string(),
                        "> 0 with learning_rate = optimal",
                    ));
                }
                Schedule::optimal(spec.alpha)
            }
            kind => {
                if !(spec.eta0.is_finite() && spec.eta0 > 0.0) {
                    return Err(invalid(
                        "eta0",
                        spec.eta0.to_string(),
                        "a finite number > 0",
                    ));
                }
                if kind == ScheduleKind::Constant {
                    Schedule::Constant { eta0: spec.eta0 }
                } else if spec.power_t.is_finite() && spec.power_t >= 0.0 {
                    Schedule::InverseScaling {
                        eta0: spec.eta0,
                        power_t: spec.power_t,
                    }
                } else {
                    return Err(invalid(
                        "power_t",
                        spec.power_t.to_string(),
                        "a finite number >= 0",
                    ));
                }
            }
        };
        let (l2, l1) = match spec.penalty {
            PenaltyKind::None => (0.0, 0.0),
            PenaltyKind::L2 => (spec.alpha, 0.0),
            PenaltyKind::L1 => (0.0, spec.alpha),
            PenaltyKind::ElasticNet => (
                spec.alpha * (1.0 - spec.l1_ratio),
                spec.alpha * spec.l1_ratio,
            ),
        };
        let mismatch = |model: &'static str| SgdError::TargetMismatch {
            model,
            target: describe(target),
        };
        if let Target::Classes(k) = target
            && k < 2
        {
            return Err(invalid("n_classes", k.to_string(), "at least 2 classes"));
        }
        if spec.model != SgdKind::Mlp && !spec.hidden.is_empty() {
            return Err(invalid(
                "hidden",
                format!("{:?}", spec.hidden),
                "no hidden layers except for mlp",
            ));
        }
        let too_big = || {
            invalid(
                "n_features",
                n_features.to_string(),
                "a model whose size fits in memory",
            )
        };
        let (arch, n_params) = match (spec.model, target) {
            (SgdKind::Logistic, Target::Classes(2)) => {
                (Arch::Binary, n_features.checked_add(1).ok_or_else(too_big)?)
            }
            (SgdKind::Logistic, Target::Classes(k)) => {
                let n = n_features
                    .checked_add(1)
                    .and_then(|d1| d1.checked_mul(k))
                    .ok_or_else(too_big)?;
                (Arch::Softmax(k), n)
            }
            (SgdKind::LinearRegression, Target::Regression) => (
                Arch::Regression,
                n_features.checked_add(1).ok_or_else(too_big)?,
            ),
            (SgdKind::Mlp, Target::Classes(k)) => {
                if spec.hidden.is_empty() || spec.hidden.len() > 2 || spec.hidden.contains(&0) {
                    return Err(invalid(
                        "hidden",
                        format!("{:?}", spec.hidden),
                        "one or two layer sizes, each >= 1",
                    ));
                }
                if l1 > 0.0 {
                    return Err(invalid(
                        "penalty",
                        format!("{:?}", spec.penalty),
                        "l2 or none for mlp",
                    ));
                }
                let net =
                    Net::new(n_features, &spec.hidden, k, spec.activation).ok_or_else(too_big)?;
                let n = net.n_params();
                (Arch::Mlp(net), n)
            }
            (SgdKind::Logistic, _) => return Err(mismatch("logistic")),
            (SgdKind::Mlp, _) => return Err(mismatch("mlp")),
            (SgdKind::LinearRegression, _) => return Err(mismatch("linear_regression")),
        };
        Ok(SgdModel {
            spec: spec.clone(),
            target,
            n_features,
            arch,
            hyper: Hyper {
                schedule,
                l2,
                l1,
                batch: spec.batch_size,
            },
            n_params,
        })
    }

    /// Length of the parameter vector.
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// What the model predicts.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The spec the model was built from.
    pub fn spec(&self) -> &SgdSpec {
        &self.spec
    }

    /// Initial parameters: zeros for the linear models (as scikit-learn), Glorot/He weights
    /// drawn from `seed` for the MLP.
    pub fn init(&self, seed: u64) -> Vec<f64> {
        match &self.arch {
            Arch::Mlp(net) => net.init(seed),
            _ => vec![0.0; self.n_params],
        }
    }

    /// A fresh training state (step 0) with its buffers sized for this model.
    pub fn new_state(&self) -> SgdState {
        let mut st = SgdState::default();
        let (d, k) = (self.n_features, self.n_params);
        match &self.arch {
            Arch::Binary | Arch::Regression => st.prepare(
                if self.hyper.l1 > 0.0 { d } else { 0 },
                if self.hyper.batch > 1 { d } else { 0 },
            ),
            Arch::Softmax(c) => st.prepare(
                if self.hyper.l1 > 0.0 { k - c } else { 0 },
                c + if self.hyper.batch > 1 { k } else { 0 },
            ),
            Arch::Mlp(net) => st.prepare(0, net.scratch_len()),
        }
        st
    }

    /// Train on the rows `rows` of (`x`, `y`), in that order, in mini-batches of `batch_size`
    /// (the last may be shorter): `ceil(rows.len() / batch_size)` steps. Rows are checked as
    /// they are used; on an error the parameters hold the steps taken before it.
    pub fn train_steps(
        &self,
        params: &mut [f64],
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        rows: &[usize],
        state: &mut SgdState,
    ) -> Result<StepReport, SgdError> {
        self.check_params(params)?;
        let data = Rows::new(x, self.n_features)?;
        let targets = Targets::new(y, &data)?;
        let hp = &self.hyper;
        let report = match &self.arch {
            Arch::Binary => linear::train_single::<LogLoss>(params, data, targets, rows, state, hp),
            Arch::Regression => {
                linear::train_single::<SquaredLoss>(params, data, targets, rows, state, hp)
            }
            Arch::Softmax(k) => linear::train_softmax(params, *k, data, targets, rows, state, hp),
            Arch::Mlp(net) => mlp::train(net, params, data, targets, rows, state, hp),
        }?;
        if params.iter().any(|p| !p.is_finite()) {
            return Err(SgdError::Diverged { step: state.t });
        }
        Ok(report)
    }

    /// Train from `init(seed)` for `epochs` passes over all rows, shuffled each epoch with
    /// [`epoch_order`]; returns the parameters and one report per epoch.
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        epochs: usize,
        seed: u64,
    ) -> Result<(Vec<f64>, Vec<StepReport>), SgdError> {
        let mut params = self.init(seed);
        let mut state = self.new_state();
        let all: Vec<usize> = (0..x.nrows()).collect();
        let mut order = all.clone();
        let mut reports = Vec::with_capacity(epochs);
        for epoch in 0..epochs {
            order.copy_from_slice(&all);
            shuffle_rows(&mut order, seed, epoch as u64);
            reports.push(self.train_steps(&mut params, x, y, &order, &mut state)?);
        }
        Ok((params, reports))
    }

    /// Class probabilities (rows × classes) for classifiers; for regression, the predictions
    /// as one column.
    pub fn predict_proba(
        &self,
        params: &[f64],
        x: ArrayView2<'_, f64>,
    ) -> Result<Array2<f64>, SgdError> {
        self.check_params(params)?;
        let x: CowArray<'_, f64, Ix2> = x.as_standard_layout();
        let data = Rows::new(x.view(), self.n_features)?;
        let width = match self.target {
            Target::Classes(k) => k,
            Target::Regression => 1,
        };
        let mut out = Array2::zeros((data.len(), width));
        let mut scratch = match &self.arch {
            Arch::Mlp(net) => vec![0.0; net.units()],
            _ => Vec::new(),
        };
        for (r, mut row) in out.rows_mut().into_iter().enumerate() {
            let xr = data.row(r)?;
            // `out` is freshly allocated in standard layout, so its rows are contiguous.
            let Some(o) = row.as_slice_mut() else {
                return Err(SgdError::Layout);
            };
            self.outputs(params, xr, &mut scratch, o);
        }
        Ok(out)
    }

    /// Predictions: the most probable class index (as f64) or the regression value.
    pub fn predict(&self, params: &[f64], x: ArrayView2<'_, f64>) -> Result<Array1<f64>, SgdError> {
        let proba = self.predict_proba(params, x)?;
        Ok(match self.target {
            Target::Regression => proba.column(0).to_owned(),
            Target::Classes(_) => proba
                .rows()
                .into_iter()
                .map(|p| argmax(p.iter().copied()) as f64)
                .collect(),
        })
    }

    /// Held-out metrics: accuracy and log-loss for classifiers, RMSE and R² for regression.
    pub fn evaluate(
        &self,
        params: &[f64],
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Metrics, SgdError> {
        if y.len() != x.nrows() {
            return Err(SgdError::Targets {
                rows: x.nrows(),
                targets: y.len(),
            });
        }
        let proba = self.predict_proba(params, x)?;
        let n = y.len().max(1) as f64;
        match self.target {
            Target::Classes(k) => {
                let (mut correct, mut loss) = (0usize, 0.0);
                for (r, (p, &t)) in proba.rows().into_iter().zip(y).enumerate() {
                    class_index(t, k, r)?;
                    correct += usize::from(argmax(p.iter().copied()) == t as usize);
                    loss -= p[t as usize].clamp(1e-15, 1.0 - 1e-15).ln();
                }
                Ok(Metrics::Classification {
                    accuracy: correct as f64 / n,
                    log_loss: loss / n,
                })
            }
            Target::Regression => {
                let mean = y.sum() / n;
                let (mut sse, mut sst) = (0.0, 0.0);
                for (p, &t) in proba.column(0).iter().zip(y) {
                    sse += (p - t) * (p - t);
                    sst += (t - mean) * (t - mean);
                }
                let r2 = if sst > 0.0 { 1.0 - sse / sst } else { 0.0 };
                Ok(Metrics::Regression {
                    rmse: (sse / n).sqrt(),
                    r2,
                })
            }
        }
    }

    /// The model and `params` as JSON (spec, shape, target, parameters as numbers).
    ///
    /// Written in shortest round-trip form; serde_json's default parser may read a value back
    /// one ulp off (its `float_roundtrip` feature makes it exact).
    pub fn to_json(&self, params: &[f64]) -> Result<String, SgdError> {
        self.check_params(params)?;
        let saved = Saved {
            format: SAVED_FORMAT.into(),
            spec: self.spec.clone(),
            n_features: self.n_features,
            target: self.target,
            params: params.to_vec(),
        };
        serde_json::to_string(&saved).map_err(|e| SgdError::Saved(e.to_string()))
    }

    /// Read a model saved by [`SgdModel::to_json`], validating it again.
    pub fn from_json(json: &str) -> Result<(SgdModel, Vec<f64>), SgdError> {
        let saved: Saved =
            serde_json::from_str(json).map_err(|e| SgdError::Saved(e.to_string()))?;
        if saved.format != SAVED_FORMAT {
            return Err(SgdError::Saved(format!(
                "format `{}`, expected `{SAVED_FORMAT}`",
                saved.format
            )));
        }
        let model = SgdModel::new(&saved.spec, saved.n_features, saved.target)?;
        model.check_params(&saved.params)?;
        if saved.params.iter().any(|p| !p.is_finite()) {
            return Err(SgdError::Saved("non-finite parameter".into()));
        }
        Ok((model, saved.params))
    }

    fn check_params(&self, params: &[f64]) -> Result<(), SgdError> {
        if params.len() == self.n_params {
            Ok(())
        } else {
            Err(SgdError::Params {
                expected: self.n_params,
                found: params.len(),
            })
        }
    }

    /// Class probabilities (or the regression value) of one row into `out`.
    fn outputs(&self, params: &[f64], x: &[f64], scratch: &mut [f64], out: &mut [f64]) {
        let d = self.n_features;
        match &self.arch {
            Arch::Binary => {
                let p = kernels::sigmoid(kernels::dot(&params[..d], x) + params[d]);
                out[0] = 1.0 - p;
                out[1] = p;
            }
            Arch::Regression => out[0] = kernels::dot(&params[..d], x) + params[d],
            Arch::Softmax(k) => {
                let (w, b) = params.split_at(k * d);
                for ((o, wc), bc) in out.iter_mut().zip(w.chunks_exact(d)).zip(b) {
                    *o = kernels::dot(wc, x) + bc;
                }
                kernels::softmax(out);
            }
            Arch::Mlp(net) => net.probabilities(params, x, scratch, out),
        }
    }
}

/// Check a class index for a `k`-class model.
#[inline(always)]
pub(crate) fn class_index(value: f64, k: usize, row: usize) -> Result<usize, SgdError> {
    if value >= 0.0 && value < k as f64 && value.fract() == 0.0 {
        Ok(value as usize)
    } else {
        Err(SgdError::Label {
            row,
            value,
            expected: "a class index in 0..n_classes",
        })
    }
}

/// Shuffle `rows` in place for `epoch`, deterministically from `seed` (ChaCha8 stream `epoch`,
/// so an epoch's order does not depend on the epochs before it).
pub fn shuffle_rows(rows: &mut [usize], seed: u64, epoch: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch);
    rows.shuffle(&mut rng);
}

/// `rows` shuffled for `epoch` (see [`shuffle_rows`]).
pub fn epoch_order(rows: &[usize], seed: u64, epoch: u64) -> Vec<usize> {
    let mut order = rows.to_vec();
    shuffle_rows(&mut order, seed, epoch);
    order
}

/// Index of the largest value (the first one on ties).
fn argmax(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

fn describe(target: Target) -> String {
    match target {
        Target::Classes(k) => format!("classification with {k} classes"),
        Target::Regression => "regression".into(),
    }
}
