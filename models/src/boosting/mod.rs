//! Histogram gradient boosting, for classification and regression, our own, as scikit-learn's
//! `HistGradientBoostingClassifier` / `HistGradientBoostingRegressor`; each boosting round is a
//! report point.
//!
//! * **Binning** (`binning.rs`): each feature of the training rows is cut into at most
//!   `max_bins` quantile bins (scikit-learn's thresholds), and the rows are stored as bytes.
//! * **Trees** (`grower.rs`): grown leaf-wise on per-bin gradient and hessian sums; the larger
//!   child's histogram is its parent's minus the smaller child's.
//! * **Losses**: half squared error (regressor, baseline the mean); binary log-loss (baseline
//!   the log-odds of the training prior) or, with 3+ classes, the multinomial loss with one tree
//!   per class per round (baseline the log of each prior over their geometric mean). Gradients
//!   and hessians are kept in f32 and summed in f64, as in scikit-learn.
//! * **Early stopping**: a stratified (classifier) share `validation_fraction` of the training
//!   rows is held out, drawn from the trial seed; after each round the mean validation loss is
//!   compared with the one `n_iter_no_change` rounds before (scikit-learn's rule): without an
//!   improvement above `tol` training stops, and the remaining report points repeat the model.
//!
//! Not in scikit-learn's sense: missing values (cohort refuses them at load), categorical
//! features, monotonic and interaction constraints, sample weights.

mod binning;
mod grower;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::ModelError;
use crate::estimator::Prediction;
use crate::iterative::{IterativeEstimator, Learner};
use crate::staged::StagedSums;
use crate::tree::{check_input, encode_classes};
use binning::Bins;
use grower::{Binned, BoostTree, TreeLimits, grow};

/// Whether to stop early on a validation split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarlyStopping {
    /// When the training rows number more than 10,000 (scikit-learn's `"auto"`).
    Auto,
    /// Always.
    On,
    /// Never: every round is trained on all the rows.
    Off,
}

/// Histogram gradient boosting with its hyperparameters, ready to train round by round.
#[derive(Debug, Clone, PartialEq)]
pub struct BoostingSpec {
    /// Shrinkage of each tree's leaf values.
    pub learning_rate: f64,
    /// Boosting rounds (report points).
    pub max_iter: usize,
    /// Leaves per tree.
    pub max_leaf_nodes: usize,
    /// Depth limit (`None`: unlimited).
    pub max_depth: Option<usize>,
    /// Fewest rows in a leaf.
    pub min_samples_leaf: usize,
    /// L2 penalty λ on leaf values.
    pub l2_regularization: f64,
    /// Bins per feature, 2..=255.
    pub max_bins: usize,
    /// Whether to stop early.
    pub early_stopping: EarlyStopping,
    /// Share of the training rows held out for early stopping.
    pub validation_fraction: f64,
    /// Rounds without improvement before stopping.
    pub n_iter_no_change: usize,
    /// Smallest improvement of the validation loss that counts.
    pub tol: f64,
    /// Seeds the validation split.
    pub seed: u64,
}

/// The loss being minimized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Loss {
    /// Half squared error.
    Squared,
    /// Binary log-loss on class codes 0/1.
    Binary,
    /// Multinomial log-loss over `k` class codes.
    Multinomial(usize),
}

impl Loss {
    /// Raw outputs per row (trees per round).
    fn outputs(self) -> usize {
        match self {
            Loss::Multinomial(k) => k,
            _ => 1,
        }
    }

    /// The intercept-only raw prediction for targets `y` (codes for classifiers).
    fn baseline(self, y: &[f64]) -> Vec<f64> {
        let n = y.len().max(1) as f64;
        match self {
            Loss::Squared => vec![y.iter().sum::<f64>() / n],
            Loss::Binary => {
                let eps = 10.0 * f64::EPSILON;
                let p = (y.iter().sum::<f64>() / n).clamp(eps, 1.0 - eps);
                vec![(p / (1.0 - p)).ln()]
            }
            Loss::Multinomial(k) => {
                let mut logs: Vec<f64> = (0..k)
                    .map(|c| {
                        let p = y.iter().filter(|&&v| v as usize == c).count() as f64 / n;
                        p.clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln()
                    })
                    .collect();
                let mean = logs.iter().sum::<f64>() / k as f64;
                logs.iter_mut().for_each(|l| *l -= mean);
                logs
            }
        }
    }

    /// The mean loss of raw predictions `raw` (rows × outputs) for targets `y`.
    fn mean_loss(self, raw: &Array2<f64>, y: &[f64]) -> f64 {
        let n = y.len().max(1) as f64;
        let total: f64 = raw
            .rows()
            .into_iter()
            .zip(y)
            .map(|(r, &t)| match self {
                Loss::Squared => 0.5 * (t - r[0]) * (t - r[0]),
                Loss::Binary => {
                    // log(1 + e^r) − t·r, stable for large |r|.
                    let z = r[0];
                    (if z > 0.0 {
                        z + (-z).exp().ln_1p()
                    } else {
                        z.exp().ln_1p()
                    }) - t * z
                }
                Loss::Multinomial(_) => log_sum_exp(r) - r[t as usize],
            })
            .sum();
        total / n
    }
}

/// log Σ e^v, stably.
fn log_sum_exp(v: ArrayView1<'_, f64>) -> f64 {
    let m = v.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    m + v.iter().map(|&x| (x - m).exp()).sum::<f64>().ln()
}

/// 1/(1 + e^−z).
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl IterativeEstimator for BoostingSpec {
    fn epochs(&self) -> usize {
        self.max_iter
    }

    fn start(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        n_classes: usize,
    ) -> Result<Box<dyn Learner>, ModelError> {
        check_input(x, y, "histogram gradient boosting")?;
        let (targets, classes, loss) = if n_classes > 0 {
            let (code, classes) = encode_classes(y)?;
            let loss = if classes.len() > 2 {
                Loss::Multinomial(classes.len())
            } else {
                Loss::Binary
            };
            (code.iter().map(|&c| f64::from(c)).collect(), classes, loss)
        } else {
            (y.to_vec(), Vec::new(), Loss::Squared)
        };
        let n = x.nrows();
        let early = match self.early_stopping {
            EarlyStopping::Auto => n > 10_000,
            EarlyStopping::On => true,
            EarlyStopping::Off => false,
        };
        let (train_rows, val_rows) = if early {
            split_rows(
                &targets,
                loss != Loss::Squared,
                self.validation_fraction,
                self.seed,
            )
        } else {
            ((0..n).collect(), Vec::new())
        };
        let train_x = x.select(Axis(0), &train_rows);
        let bins = Bins::fit(train_x.view(), self.max_bins);
        let binned = bins.transform(train_x.view());
        let train_y: Vec<f64> = train_rows.iter().map(|&r| targets[r]).collect();
        let baseline = loss.baseline(&train_y);
        let k = loss.outputs();
        let m = train_rows.len();
        let mut raw = Array2::zeros((m, k));
        for mut row in raw.rows_mut() {
            row.assign(&ArrayView1::from(&baseline));
        }
        let validation = (!val_rows.is_empty()).then(|| {
            let vx = x.select(Axis(0), &val_rows);
            let vy: Vec<f64> = val_rows.iter().map(|&r| targets[r]).collect();
            let mut vraw = Array2::zeros((vx.nrows(), k));
            for mut row in vraw.rows_mut() {
                row.assign(&ArrayView1::from(&baseline));
            }
            let first = -loss.mean_loss(&vraw, &vy);
            Validation {
                x: vx,
                y: vy,
                raw: vraw,
                scores: vec![first],
            }
        });
        let width = n_classes.max(classes.last().map_or(0, |&c| c + 1));
        Ok(Box::new(BoostingLearner {
            spec: self.clone(),
            loss,
            n_bins: (0..x.ncols()).map(|f| bins.n_bins(f)).collect(),
            bins,
            binned,
            train_y,
            raw,
            baseline,
            classes,
            width,
            rounds: Vec::new(),
            validation,
            stopped: false,
            staged: StagedSums::default(),
        }))
    }
}

/// Training rows and held-out rows for early stopping: `fraction` of the rows (of each class,
/// when `stratify`), at least one, drawn by a seeded shuffle; each list ascending.
fn split_rows(y: &[f64], stratify: bool, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let n = y.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut groups: Vec<Vec<usize>> = if stratify {
        let k = y.iter().fold(0usize, |m, &v| m.max(v as usize + 1));
        let mut g = vec![Vec::new(); k];
        for (r, &v) in y.iter().enumerate() {
            g[v as usize].push(r);
        }
        g
    } else {
        vec![(0..n).collect()]
    };
    let mut held = Vec::new();
    for g in &mut groups {
        g.shuffle(&mut rng);
        let take = ((g.len() as f64 * fraction).round() as usize).min(g.len().saturating_sub(1));
        held.extend_from_slice(&g[..take]);
    }
    if held.is_empty() && n > 1 {
        held.push(groups.iter().flatten().copied().next().unwrap_or(0));
    }
    held.sort_unstable();
    let mut is_held = vec![false; n];
    for &r in &held {
        is_held[r] = true;
    }
    ((0..n).filter(|&r| !is_held[r]).collect(), held)
}

/// The held-out rows of early stopping and their raw predictions so far.
struct Validation {
    /// Rows.
    x: Array2<f64>,
    /// Targets (codes for classifiers).
    y: Vec<f64>,
    /// Raw predictions, rows × outputs.
    raw: Array2<f64>,
    /// −(mean validation loss) after the baseline and after each round.
    scores: Vec<f64>,
}

/// A boosted ensemble in training on one fold.
struct BoostingLearner {
    spec: BoostingSpec,
    loss: Loss,
    bins: Bins,
    n_bins: Vec<usize>,
    /// Training rows (without the validation rows), binned, feature-major.
    binned: Vec<u8>,
    /// Their targets (codes for classifiers).
    train_y: Vec<f64>,
    /// Their raw predictions, rows × outputs.
    raw: Array2<f64>,
    /// The raw prediction before any tree.
    baseline: Vec<f64>,
    /// Class index of each code.
    classes: Vec<usize>,
    /// Width of the probability matrix.
    width: usize,
    /// Trees of each round (one per output).
    rounds: Vec<Vec<BoostTree>>,
    /// Early stopping's held-out rows, when it is on.
    validation: Option<Validation>,
    /// Whether early stopping has ended the training.
    stopped: bool,
    /// Test-row raw predictions summed over the rounds so far.
    staged: StagedSums,
}

impl BoostingLearner {
    /// Gradients and hessians of every output (output-major; hessians empty for squared error).
    fn gradients(&self) -> (Vec<f32>, Vec<f32>) {
        let m = self.train_y.len();
        let k = self.loss.outputs();
        let mut g = vec![0f32; m * k];
        let mut h = Vec::new();
        match self.loss {
            Loss::Squared => {
                for (i, (&r, &t)) in self.raw.column(0).iter().zip(&self.train_y).enumerate() {
                    g[i] = (r - t) as f32;
                }
            }
            Loss::Binary => {
                h = vec![0f32; m];
                for (i, (&r, &t)) in self.raw.column(0).iter().zip(&self.train_y).enumerate() {
                    let p = sigmoid(r);
                    g[i] = (p - t) as f32;
                    h[i] = (p * (1.0 - p)) as f32;
                }
            }
            Loss::Multinomial(_) => {
                h = vec![0f32; m * k];
                let mut p = vec![0.0; k];
                for (i, row) in self.raw.rows().into_iter().enumerate() {
                    softmax(row, &mut p);
                    let t = self.train_y[i] as usize;
                    for c in 0..k {
                        let y = if c == t { 1.0 } else { 0.0 };
                        g[c * m + i] = (p[c] - y) as f32;
                        h[c * m + i] = (p[c] * (1.0 - p[c])) as f32;
                    }
                }
            }
        }
        (g, h)
    }

    /// scikit-learn's `_should_stop`: no score of the last `n_iter_no_change` beats the one
    /// before them by more than `tol`.
    fn should_stop(&self, scores: &[f64]) -> bool {
        let reference = self.spec.n_iter_no_change + 1;
        if scores.len() < reference {
            return false;
        }
        let bar = scores[scores.len() - reference] + self.spec.tol;
        !scores[scores.len() - reference + 1..]
            .iter()
            .any(|&s| s > bar)
    }
}

/// Softmax of `raw` into `out`.
fn softmax(raw: ArrayView1<'_, f64>, out: &mut [f64]) {
    let m = raw.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let mut sum = 0.0;
    for (o, &r) in out.iter_mut().zip(raw) {
        *o = (r - m).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
}

impl Learner for BoostingLearner {
    fn epoch(
        &mut self,
        _x: ArrayView2<'_, f64>,
        _y: ArrayView1<'_, f64>,
    ) -> Result<(), ModelError> {
        if self.stopped {
            return Ok(());
        }
        let (g, h) = self.gradients();
        let m = self.train_y.len();
        let k = self.loss.outputs();
        let limits = TreeLimits {
            max_leaf_nodes: self.spec.max_leaf_nodes,
            max_depth: self.spec.max_depth,
            min_samples_leaf: self.spec.min_samples_leaf,
            l2: self.spec.l2_regularization,
            shrinkage: self.spec.learning_rate,
        };
        let data = Binned {
            n: m,
            d: self.n_bins.len(),
            bins: &self.binned,
            n_bins: &self.n_bins,
            thresholds: &self.bins.thresholds,
        };
        let mut round = Vec::with_capacity(k);
        for c in 0..k {
            let hc = if h.is_empty() {
                &h[..]
            } else {
                &h[c * m..(c + 1) * m]
            };
            let (tree, per_row) = grow(&data, &g[c * m..(c + 1) * m], hc, &limits);
            for (r, v) in self.raw.column_mut(c).iter_mut().zip(&per_row) {
                *r += v;
            }
            if let Some(val) = self.validation.as_mut() {
                for (i, row) in val.x.rows().into_iter().enumerate() {
                    val.raw[[i, c]] += tree.predict(row);
                }
            }
            round.push(tree);
        }
        self.rounds.push(round);
        if let Some(val) = self.validation.as_ref() {
            let score = -self.loss.mean_loss(&val.raw, &val.y);
            let mut scores = val.scores.clone();
            scores.push(score);
            self.stopped = self.should_stop(&scores);
            if let Some(val) = self.validation.as_mut() {
                val.scores = scores;
            }
        }
        Ok(())
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Prediction, ModelError> {
        let k = self.loss.outputs();
        let raw = self.staged.sums(
            x,
            k,
            self.rounds.len(),
            |out| out.copy_from_slice(&self.baseline),
            |s, row, out| {
                for (o, tree) in out.iter_mut().zip(&self.rounds[s]) {
                    *o += tree.predict(row);
                }
            },
        );
        Ok(to_prediction(self.loss, &raw, &self.classes, self.width))
    }

    fn to_saved(&self) -> crate::saved::SavedModel {
        crate::saved::SavedModel::Boosting(SavedBoosting {
            loss: self.loss,
            baseline: self.baseline.clone(),
            classes: self.classes.clone(),
            width: self.width,
            rounds: self.rounds.clone(),
        })
    }
}

/// The prediction from raw outputs (rows × outputs): values, or the probabilities of the class
/// codes (sigmoid or softmax) spread into the probability width, and the most likely class.
fn to_prediction(loss: Loss, raw: &Array2<f64>, classes: &[usize], width: usize) -> Prediction {
    let proba_codes: Array2<f64> = match loss {
        Loss::Squared => return Prediction::Values(raw.column(0).to_owned()),
        Loss::Binary => {
            let mut p = Array2::zeros((raw.nrows(), 2));
            for (i, &r) in raw.column(0).iter().enumerate() {
                let p1 = sigmoid(r);
                p[[i, 0]] = 1.0 - p1;
                p[[i, 1]] = p1;
            }
            p
        }
        Loss::Multinomial(k) => {
            let mut p = Array2::zeros((raw.nrows(), k));
            for (i, row) in raw.rows().into_iter().enumerate() {
                if let Some(out) = p.row_mut(i).as_slice_mut() {
                    softmax(row, out);
                }
            }
            p
        }
    };
    let mut proba = Array2::zeros((raw.nrows(), width));
    let mut class = Array1::zeros(raw.nrows());
    for (i, row) in proba_codes.rows().into_iter().enumerate() {
        let mut best = 0;
        for (code, &c) in classes.iter().enumerate() {
            proba[[i, c]] = row[code];
            if row[code] > row[best] {
                best = code;
            }
        }
        class[i] = classes.get(best).copied().unwrap_or(0);
    }
    Prediction::Classes {
        class,
        proba: Some(proba),
    }
}

/// A fitted boosted ensemble as saved: its loss, baseline and trees.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SavedBoosting {
    /// The loss it minimized (how raw outputs become predictions).
    loss: Loss,
    /// The raw prediction before any tree.
    baseline: Vec<f64>,
    /// Class index of each code.
    classes: Vec<usize>,
    /// Width of the probability matrix.
    width: usize,
    /// Trees of each round (one per output).
    rounds: Vec<Vec<BoostTree>>,
}

impl SavedBoosting {
    /// Whether an ensemble read back from a file can predict: one baseline and one tree a round
    /// per output, trees that can be walked, class indices inside the probability width.
    pub fn check(&self) -> Result<(), String> {
        let k = self.loss.outputs();
        if self.baseline.len() != k || self.rounds.iter().any(|r| r.len() != k) {
            return Err(format!(
                "gradient boosting: {k} outputs, but a baseline of {} and rounds of other sizes",
                self.baseline.len()
            ));
        }
        for tree in self.rounds.iter().flatten() {
            tree.check()?;
        }
        if self.loss != Loss::Squared
            && (self.classes.len() != k.max(2) || self.classes.iter().any(|&c| c >= self.width))
        {
            return Err("gradient boosting: the classes do not fit the outputs".into());
        }
        Ok(())
    }

    /// Predict for rows `x`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let k = self.loss.outputs();
        let mut raw = Array2::zeros((x.nrows(), k));
        for (row, mut out) in x.rows().into_iter().zip(raw.rows_mut()) {
            for (c, o) in out.iter_mut().enumerate() {
                *o = self.baseline[c] + self.rounds.iter().map(|r| r[c].predict(row)).sum::<f64>();
            }
        }
        to_prediction(self.loss, &raw, &self.classes, self.width)
    }
}

#[cfg(test)]
mod tests;
