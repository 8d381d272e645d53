//! L2-regularized logistic regression (binary and multinomial) fitted with our own L-BFGS.
//!
//! linfa-logistic spends its time re-evaluating the objective (research/crates.md §1b: 4–20×
//! slower than scikit-learn). Here one fused pass over the rows computes the loss and its
//! gradient together, the value and gradient of every evaluated point are kept so the line
//! search never recomputes one, and the L-BFGS step of length 1 is nearly always accepted.
//!
//! The objective is scikit-learn's `LogisticRegression(solver="lbfgs")` one, so `C` means
//! the same thing and the fits agree:
//!
//! f(W, b) = (1/n) Σᵢ loss(xᵢ, yᵢ) + 1/(2·C·n) · ‖W‖²   (intercepts b unpenalized)
//!
//! with the binomial loss for two classes (one coefficient vector) and the multinomial
//! (softmax) loss for more (one vector per class). It stops when the largest gradient
//! component is at most `tol` (scipy's `pgtol`), or when an iteration lowers f by less than
//! 64 machine epsilons relatively (scipy's `ftol` as scikit-learn sets it), or after
//! `max_iter` iterations.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};

/// Logistic regression with its hyperparameters (see the catalogue for their ranges).
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// Inverse regularization strength (as scikit-learn's `C`).
    pub c: f64,
    /// Whether the L2 penalty applies (`penalty = "l2"`) or not (`"none"`).
    pub l2: bool,
    /// Whether to fit intercepts.
    pub fit_intercept: bool,
    /// Iteration limit of L-BFGS.
    pub max_iter: usize,
    /// Stop when max |gradient| ≤ tol.
    pub tol: f64,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        LogisticRegression {
            c: 1.0,
            l2: true,
            fit_intercept: true,
            max_iter: 100,
            tol: 1e-4,
        }
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone)]
pub struct LogisticModel {
    /// Coefficients: one row for two classes (of the second class), else one row per class.
    pub coef: Array2<f64>,
    /// Intercepts, one per row of `coef` (zeros without `fit_intercept`).
    pub intercept: Array1<f64>,
    /// Original class index of each class the model knows (classes present in training).
    pub classes: Vec<usize>,
    /// L-BFGS iterations run.
    pub n_iter: usize,
    /// Objective evaluations (each one pass over the training rows).
    pub n_evals: usize,
    /// Whether a stopping criterion other than `max_iter` was met.
    pub converged: bool,
    /// Width of the probability matrix: one past the largest class index seen in training.
    width: usize,
}

impl LogisticRegression {
    /// Fit on rows `x` (any layout) and class indices `y`.
    pub fn fit_model(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<LogisticModel, ModelError> {
        let n = x.nrows();
        if n == 0 || y.len() != n {
            return Err(ModelError::Fit(format!(
                "logistic regression: {} rows of features, {} targets",
                n,
                y.len()
            )));
        }
        if !(self.c > 0.0 && self.tol > 0.0) {
            return Err(ModelError::Fit(
                "logistic regression: C and tol must be > 0".into(),
            ));
        }
        let (codes, classes) = encode_classes(y)?;
        if classes.len() < 2 {
            return Err(ModelError::Fit(format!(
                "logistic regression needs at least two classes in the training rows, found only class {}",
                classes.first().copied().unwrap_or(0)
            )));
        }
        let xs = x.as_standard_layout();
        let p = x.ncols();
        let n_vec = if classes.len() == 2 { 1 } else { classes.len() };
        let objective = Objective {
            x: xs
                .as_slice()
                .ok_or_else(|| ModelError::Fit("features are not contiguous".into()))?,
            y: &codes,
            n,
            p,
            n_vec,
            intercept: self.fit_intercept,
            l2: if self.l2 {
                1.0 / (self.c * n as f64)
            } else {
                0.0
            },
        };
        let result = lbfgs(&objective, self.max_iter, self.tol)?;
        let stride = objective.stride();
        let mut coef = Array2::zeros((n_vec, p));
        let mut intercept = Array1::zeros(n_vec);
        for k in 0..n_vec {
            let v = &result.theta[k * stride..(k + 1) * stride];
            coef.row_mut(k).assign(&ArrayView1::from(&v[..p]));
            if self.fit_intercept {
                intercept[k] = v[p];
            }
        }
        let width = classes.last().map_or(0, |&c| c + 1);
        Ok(LogisticModel {
            coef,
            intercept,
            classes,
            n_iter: result.n_iter,
            n_evals: result.n_evals,
            converged: result.converged,
            width,
        })
    }
}

impl Estimator for LogisticRegression {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        Ok(Box::new(self.fit_model(x, y)?))
    }
}

impl LogisticModel {
    /// Decision scores x·wₖ + bₖ, one column per coefficient row.
    fn scores(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        x.dot(&self.coef.t()) + self.intercept.view().insert_axis(Axis(0))
    }

    /// Class probabilities, one column per class index up to the largest seen in training
    /// (classes absent from training get probability 0).
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        self.proba_from_scores(&self.scores(x))
    }

    /// Probabilities from decision scores: the logistic function (binary) or softmax.
    fn proba_from_scores(&self, scores: &Array2<f64>) -> Array2<f64> {
        let mut proba = Array2::zeros((scores.nrows(), self.width));
        if self.coef.nrows() == 1 {
            let (c0, c1) = (self.classes[0], self.classes[1]);
            for (i, &z) in scores.column(0).iter().enumerate() {
                let p1 = sigmoid(z);
                proba[[i, c0]] = 1.0 - p1;
                proba[[i, c1]] = p1;
            }
        } else {
            let mut buf = vec![0.0; self.classes.len()];
            for (i, row) in scores.axis_iter(Axis(0)).enumerate() {
                softmax(row, &mut buf);
                for (&c, &pk) in self.classes.iter().zip(&buf) {
                    proba[[i, c]] = pk;
                }
            }
        }
        proba
    }
}

impl Fitted for LogisticModel {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let scores = self.scores(x);
        // As scikit-learn: the second class iff its decision score is > 0 (binary), else the
        // first class with the highest score.
        let class = scores
            .axis_iter(Axis(0))
            .map(|row| {
                if self.coef.nrows() == 1 {
                    self.classes[usize::from(row[0] > 0.0)]
                } else {
                    let best = (0..row.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b });
                    self.classes[best]
                }
            })
            .collect();
        let proba = self.proba_from_scores(&scores);
        Prediction::Classes {
            class,
            proba: Some(proba),
        }
    }
}

/// Class codes 0..k for the classes present in `y`, and the original index of each code.
fn encode_classes(y: ArrayView1<'_, f64>) -> Result<(Vec<u32>, Vec<usize>), ModelError> {
    let mut max = 0usize;
    for &v in y {
        if !(v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64) {
            return Err(ModelError::Fit(format!(
                "logistic regression: target {v} is not a class index"
            )));
        }
        max = max.max(v as usize);
    }
    let mut present = vec![false; max + 1];
    for &v in y {
        present[v as usize] = true;
    }
    let classes: Vec<usize> = (0..=max).filter(|&c| present[c]).collect();
    let mut code = vec![0u32; max + 1];
    for (k, &c) in classes.iter().enumerate() {
        code[c] = k as u32;
    }
    Ok((y.iter().map(|&v| code[v as usize]).collect(), classes))
}

/// 1 / (1 + e^−z), without overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Softmax of `z` into `out`.
fn softmax(z: ArrayView1<'_, f64>, out: &mut [f64]) {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = 0.0;
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (v - m).exp();
        s += *o;
    }
    for o in out.iter_mut() {
        *o /= s;
    }
}

/// The mean penalized log-loss over row-major training data, with its gradient.
struct Objective<'a> {
    /// Features, n × p row-major.
    x: &'a [f64],
    /// Class code per row.
    y: &'a [u32],
    n: usize,
    p: usize,
    /// Coefficient vectors: 1 (binomial) or the number of classes (multinomial).
    n_vec: usize,
    intercept: bool,
    /// Penalty weight on ‖W‖²/2 in the mean objective: 1/(C·n), or 0.
    l2: f64,
}

impl Objective<'_> {
    /// Parameters per coefficient vector: p weights, then the intercept if fitted.
    fn stride(&self) -> usize {
        self.p + usize::from(self.intercept)
    }

    /// Number of parameters.
    fn dim(&self) -> usize {
        self.n_vec * self.stride()
    }

    /// f(θ), writing ∇f(θ) into `grad`: one pass over the rows.
    fn eval(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        grad.fill(0.0);
        if theta.iter().any(|t| !t.is_finite()) {
            return f64::NAN; // a diverged trial step: the line search rejects it
        }
        let data_loss = if self.n_vec == 1 {
            self.binomial_pass(theta, grad)
        } else {
            self.multinomial_pass(theta, grad)
        };
        let inv_n = 1.0 / self.n as f64;
        let mut penalty = 0.0;
        let stride = self.stride();
        for k in 0..self.n_vec {
            let w = &theta[k * stride..k * stride + self.p];
            let g = &mut grad[k * stride..(k + 1) * stride];
            for (gj, &wj) in g[..self.p].iter_mut().zip(w) {
                *gj = *gj * inv_n + self.l2 * wj;
                penalty += wj * wj;
            }
            if self.intercept {
                g[self.p] *= inv_n;
            }
        }
        data_loss * inv_n + 0.5 * self.l2 * penalty
    }

    /// Σᵢ [log(1 + e^zᵢ) − yᵢ zᵢ], accumulating Σᵢ (σ(zᵢ) − yᵢ)·(xᵢ, 1) into `grad`.
    fn binomial_pass(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { self.binomial_pass_avx2(theta, grad) };
        }
        self.binomial_pass_generic(theta, grad)
    }

    /// [`Self::binomial_pass_generic`] compiled for AVX2: wider vectors, the same operations
    /// in the same order (no FMA), so the same result to the bit.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn binomial_pass_avx2(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        self.binomial_pass_generic(theta, grad)
    }

    /// The binomial pass, written so it vectorizes (inlined into each target-feature variant).
    #[inline(always)]
    fn binomial_pass_generic(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let p = self.p;
        let w = &theta[..p];
        let b = if self.intercept { theta[p] } else { 0.0 };
        let (gw, gb) = grad.split_at_mut(p);
        let mut acc = Accumulators::default();
        let mut buf = Block::default();
        let zeros = vec![0.0; p];
        for (x, y) in self.x.chunks(BLOCK * p).zip(self.y.chunks(BLOCK)) {
            let rows = BlockRows {
                x,
                p,
                n: y.len(),
                zeros: &zeros,
            };
            buf.load_targets(y);
            for g in 0..BLOCK / 4 {
                let d = dot4(rows.group(g), w);
                buf.z[4 * g..4 * g + 4].copy_from_slice(&d);
            }
            for i in 0..BLOCK {
                buf.z[i] += b;
                // log(1 + e^z) = max(z, 0) + log(1 + e^−|z|): one exp per row, no overflow.
                buf.u[i] = -buf.z[i].abs();
            }
            exp_nonpositive(&buf.u, &mut buf.e);
            let mut term = [0.0; BLOCK];
            let mut onepe = [0.0; BLOCK];
            let mut r = [0.0; BLOCK];
            for i in 0..BLOCK {
                let (z, e, y, live) = (buf.z[i], buf.e[i], buf.y[i], buf.live[i]);
                term[i] = (z.max(0.0) - y * z) * live;
                onepe[i] = 1.0 + e * live;
                let sig = if z >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                r[i] = (sig - y) * live;
            }
            for g in 0..BLOCK / 4 {
                let lanes = 4 * g..4 * g + 4;
                acc.add(
                    &term[lanes.clone()],
                    &r[lanes.clone()],
                    &onepe[lanes.clone()],
                );
                axpy4(&r[lanes], rows.group(g), gw);
            }
        }
        if self.intercept {
            gb[0] = (acc.sum_r[0] + acc.sum_r[1]) + (acc.sum_r[2] + acc.sum_r[3]);
        }
        acc.total()
    }

    /// Σᵢ [logsumexp(zᵢ) − zᵢ,yᵢ], accumulating Σᵢ (softmax(zᵢ) − onehot(yᵢ)) ⊗ (xᵢ, 1).
    fn multinomial_pass(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { self.multinomial_pass_avx2(theta, grad) };
        }
        self.multinomial_pass_generic(theta, grad)
    }

    /// [`Self::multinomial_pass_generic`] compiled for AVX2 (same result to the bit).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn multinomial_pass_avx2(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        self.multinomial_pass_generic(theta, grad)
    }

    /// The multinomial pass, written so it vectorizes (inlined into each target-feature variant).
    #[inline(always)]
    fn multinomial_pass_generic(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (p, stride, n_vec) = (self.p, self.stride(), self.n_vec);
        // z[c]: scores of class c for the rows of a block, then their exponentials.
        let mut z = vec![[0.0f64; BLOCK]; n_vec];
        let mut acc = Accumulators::default();
        let mut buf = Block::default();
        let zeros = vec![0.0; p];
        for (x, y) in self.x.chunks(BLOCK * p).zip(self.y.chunks(BLOCK)) {
            let rows = BlockRows {
                x,
                p,
                n: y.len(),
                zeros: &zeros,
            };
            buf.load_targets(y);
            let mut m = [f64::NEG_INFINITY; BLOCK];
            for (c, zc) in z.iter_mut().enumerate() {
                let v = &theta[c * stride..(c + 1) * stride];
                let b = if self.intercept { v[p] } else { 0.0 };
                for g in 0..BLOCK / 4 {
                    let d = dot4(rows.group(g), &v[..p]);
                    zc[4 * g..4 * g + 4].copy_from_slice(&d);
                }
                for i in 0..BLOCK {
                    zc[i] += b;
                    m[i] = m[i].max(zc[i]);
                }
            }
            let mut term = [0.0; BLOCK];
            for (i, t) in term.iter_mut().enumerate() {
                *t = (m[i] - z[buf.class[i]][i]) * buf.live[i];
            }
            let mut s = [0.0; BLOCK];
            for zc in z.iter_mut() {
                for i in 0..BLOCK {
                    buf.u[i] = zc[i] - m[i];
                }
                exp_nonpositive(&buf.u, zc);
                for i in 0..BLOCK {
                    s[i] += zc[i];
                }
            }
            let mut inv_s = [0.0; BLOCK];
            for i in 0..BLOCK {
                inv_s[i] = 1.0 / s[i];
                // Padding rows multiply the product by 1.
                s[i] = if buf.live[i] > 0.0 { s[i] } else { 1.0 };
            }
            let mut r = [0.0; BLOCK];
            for (c, zc) in z.iter().enumerate() {
                for i in 0..BLOCK {
                    let hit = if buf.class[i] == c { 1.0 } else { 0.0 };
                    r[i] = (zc[i] * inv_s[i] - hit) * buf.live[i];
                }
                let g = &mut grad[c * stride..(c + 1) * stride];
                let mut sum_r = 0.0;
                for grp in 0..BLOCK / 4 {
                    axpy4(&r[4 * grp..4 * grp + 4], rows.group(grp), &mut g[..p]);
                }
                for chunk in r.as_chunks::<4>().0 {
                    sum_r += (chunk[0] + chunk[1]) + (chunk[2] + chunk[3]);
                }
                if self.intercept {
                    g[p] += sum_r;
                }
            }
            for g in 0..BLOCK / 4 {
                let lanes = 4 * g..4 * g + 4;
                acc.add(&term[lanes.clone()], &[0.0; 4], &s[lanes]);
            }
        }
        acc.total()
    }
}

/// Rows per block: the scores, exponentials and residuals of a block are computed in
/// separate simple loops over it, which the compiler turns into vector code.
const BLOCK: usize = 64;

/// Per-block scratch: targets, scores, exponentials.
struct Block {
    /// Target (0 or 1, binomial) per row.
    y: [f64; BLOCK],
    /// Class code per row (multinomial).
    class: [usize; BLOCK],
    /// 1 for a real row, 0 for padding after the last row.
    live: [f64; BLOCK],
    z: [f64; BLOCK],
    u: [f64; BLOCK],
    e: [f64; BLOCK],
}

impl Default for Block {
    fn default() -> Self {
        Block {
            y: [0.0; BLOCK],
            class: [0; BLOCK],
            live: [0.0; BLOCK],
            z: [0.0; BLOCK],
            u: [0.0; BLOCK],
            e: [0.0; BLOCK],
        }
    }
}

impl Block {
    /// Targets of the block's rows; padding rows get class 0 and weight 0.
    #[inline(always)]
    fn load_targets(&mut self, y: &[u32]) {
        for i in 0..BLOCK {
            let (class, live) = y.get(i).map_or((0, 0.0), |&c| (c as usize, 1.0));
            self.class[i] = class;
            self.y[i] = class as f64;
            self.live[i] = live;
        }
    }
}

/// The rows of one block, padded with zero rows to `BLOCK`.
struct BlockRows<'a> {
    x: &'a [f64],
    p: usize,
    n: usize,
    zeros: &'a [f64],
}

impl<'a> BlockRows<'a> {
    /// Rows 4g .. 4g+4 of the block.
    #[inline(always)]
    fn group(&self, g: usize) -> [&'a [f64]; 4] {
        std::array::from_fn(|k| {
            let i = 4 * g + k;
            if i < self.n {
                &self.x[i * self.p..(i + 1) * self.p]
            } else {
                self.zeros
            }
        })
    }
}

/// Running sums of one pass, one lane per row of a group of four so rows do not wait on
/// each other.
#[derive(Default)]
struct Accumulators {
    /// Σ of the loss terms that need no logarithm.
    linear: [f64; 4],
    /// Σ of the residuals (the intercept's gradient, binomial).
    sum_r: [f64; 4],
    /// Σ of the logarithms, as the log of a product.
    logs: LogSum,
}

impl Accumulators {
    /// Add four rows: their linear loss terms, residuals, and the arguments (≥ 1) of their logs.
    #[inline(always)]
    fn add(&mut self, term: &[f64], r: &[f64], log_args: &[f64]) {
        for k in 0..4 {
            self.linear[k] += term[k];
            self.sum_r[k] += r[k];
        }
        self.logs
            .add_ln_of((log_args[0] * log_args[1]) * (log_args[2] * log_args[3]));
    }

    /// The loss summed over the rows seen.
    fn total(&self) -> f64 {
        (self.linear[0] + self.linear[1]) + (self.linear[2] + self.linear[3]) + self.logs.value()
    }
}

/// e^x for x ≤ 0, in straight-line arithmetic that vectorizes (fdlibm's `exp`: Cody–Waite
/// reduction by ln 2 and its rational approximation, under 1 ulp of error). Results below
/// the smallest normal number (x < −708.39) are flushed to 0, far below anything that changes
/// a loss or a gradient here.
#[inline(always)]
#[allow(clippy::excessive_precision)] // fdlibm's constants, as published
fn exp_nonpositive(x: &[f64; BLOCK], out: &mut [f64; BLOCK]) {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    const P1: f64 = 1.666_666_666_666_660_190_37e-1;
    const P2: f64 = -2.777_777_777_701_559_338_42e-3;
    const P3: f64 = 6.613_756_321_437_934_361_17e-5;
    const P4: f64 = -1.653_390_220_546_525_153_90e-6;
    const P5: f64 = 4.138_136_797_057_238_460_39e-8;
    // Adding and subtracting 1.5·2^52 rounds to the nearest integer (ties to even), and the
    // low bits of the sum are that integer.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    const MIN_NORMAL_ARG: f64 = -708.39;
    for (o, &xi) in out.iter_mut().zip(x) {
        let xk = if xi < MIN_NORMAL_ARG {
            MIN_NORMAL_ARG
        } else {
            xi
        };
        let shifted = xk * INV_LN2 + SHIFTER;
        let kf = shifted - SHIFTER;
        let ki = (shifted.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
        let hi = xk - kf * LN2_HI;
        let lo = kf * LN2_LO;
        let r = hi - lo;
        let t = r * r;
        let c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
        let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
        // 2^k for k in [−1022, 0]: a normal number built from its exponent bits.
        let scale = f64::from_bits(((ki + 1023) as u64) << 52);
        *o = if xi < MIN_NORMAL_ARG { 0.0 } else { y * scale };
    }
}

/// Σ ln(vᵢ) for vᵢ ≥ 1 computed as the log of a running product, so a row costs a multiply
/// instead of a logarithm. The product's binary exponent is moved into an integer every row,
/// so it never overflows; the result is as accurate as summing the logs.
#[derive(Debug)]
struct LogSum {
    mantissa: f64,
    exponent: i64,
}

impl Default for LogSum {
    fn default() -> Self {
        LogSum {
            mantissa: 1.0,
            exponent: 0,
        }
    }
}

impl LogSum {
    /// Add ln(v), v ≥ 1 and finite.
    #[inline(always)]
    fn add_ln_of(&mut self, v: f64) {
        let m = self.mantissa * v;
        // m is finite, ≥ 1 and normal: split off its exponent, keep the mantissa in [1, 2).
        let bits = m.to_bits();
        let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
        self.exponent += e;
        self.mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1023 << 52));
    }

    /// Σ ln(vᵢ) so far.
    fn value(&self) -> f64 {
        self.mantissa.ln() + self.exponent as f64 * std::f64::consts::LN_2
    }
}

/// The dot products of four rows with `w`, each with four accumulators (so the additions
/// pipeline and vectorize).
#[inline(always)]
fn dot4(rows: [&[f64]; 4], w: &[f64]) -> [f64; 4] {
    let (wc, wt) = w.as_chunks::<4>();
    let mut out = [0.0; 4];
    let mut acc = [[0.0f64; 4]; 4];
    for (k, row) in rows.iter().enumerate() {
        let (xc, _) = row.as_chunks::<4>();
        for (a, b) in xc.iter().zip(wc) {
            for l in 0..4 {
                acc[k][l] += a[l] * b[l];
            }
        }
    }
    for (k, row) in rows.iter().enumerate() {
        let tail: f64 = row[wc.len() * 4..].iter().zip(wt).map(|(x, y)| x * y).sum();
        out[k] = (acc[k][0] + acc[k][1]) + (acc[k][2] + acc[k][3]) + tail;
    }
    out
}

/// g += Σₖ rₖ · rowsₖ, four rows per pass over g.
#[inline(always)]
fn axpy4(r: &[f64], rows: [&[f64]; 4], g: &mut [f64]) {
    let p = g.len();
    let (r0, r1, r2, r3) = (r[0], r[1], r[2], r[3]);
    let (gc, gt) = g.as_chunks_mut::<4>();
    let [x0, x1, x2, x3] = rows.map(|row| row[..p].as_chunks::<4>());
    for (j, gj) in gc.iter_mut().enumerate() {
        let (a, b, c, d) = (&x0.0[j], &x1.0[j], &x2.0[j], &x3.0[j]);
        for l in 0..4 {
            gj[l] += ((r0 * a[l] + r1 * b[l]) + r2 * c[l]) + r3 * d[l];
        }
    }
    for (l, gj) in gt.iter_mut().enumerate() {
        *gj += ((r0 * x0.1[l] + r1 * x1.1[l]) + r2 * x2.1[l]) + r3 * x3.1[l];
    }
}

/// y += a · x.
#[inline(always)]
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Where L-BFGS stopped.
struct LbfgsResult {
    theta: Vec<f64>,
    n_iter: usize,
    n_evals: usize,
    converged: bool,
}

/// Memory of L-BFGS (pairs kept), as scipy's default `maxcor`.
const MEMORY: usize = 10;

/// A point with its value and gradient.
#[derive(Clone)]
struct Point {
    theta: Vec<f64>,
    grad: Vec<f64>,
    f: f64,
}

/// Minimize `obj` from θ = 0.
fn lbfgs(obj: &Objective<'_>, max_iter: usize, tol: f64) -> Result<LbfgsResult, ModelError> {
    let dim = obj.dim();
    let mut evals = 0usize;
    let mut eval = |pt: &mut Point| {
        evals += 1;
        pt.f = obj.eval(&pt.theta, &mut pt.grad);
    };
    let mut cur = Point {
        theta: vec![0.0; dim],
        grad: vec![0.0; dim],
        f: 0.0,
    };
    eval(&mut cur);
    if !cur.f.is_finite() || cur.grad.iter().any(|g| !g.is_finite()) {
        return Err(ModelError::Fit(
            "logistic regression: the features contain NaN or infinite values".into(),
        ));
    }
    let mut trial = cur.clone();
    let mut spare = cur.clone();
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(MEMORY);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(MEMORY);
    let mut rho: Vec<f64> = Vec::with_capacity(MEMORY);
    let mut dir = vec![0.0; dim];
    let mut alpha_buf = vec![0.0; MEMORY];
    let mut converged = max_abs(&cur.grad) <= tol;
    let mut n_iter = 0;
    while !converged && n_iter < max_iter {
        n_iter += 1;
        two_loop(&cur.grad, &s_hist, &y_hist, &rho, &mut alpha_buf, &mut dir);
        let mut slope = dot_full(&cur.grad, &dir);
        if slope >= 0.0 {
            // Not a descent direction (rounding): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            for (d, g) in dir.iter_mut().zip(&cur.grad) {
                *d = -g;
            }
            slope = dot_full(&cur.grad, &dir);
        }
        // First iteration: a step of length 1 in θ, as scipy's L-BFGS-B.
        let step0 = if s_hist.is_empty() {
            1.0 / norm2(&dir).max(f64::MIN_POSITIVE)
        } else {
            1.0
        };
        let Some(_) = line_search(&mut eval, &cur, &dir, slope, step0, &mut trial, &mut spare)
        else {
            break; // no acceptable step: rounding limits progress; keep the current point
        };
        // `trial` now holds the accepted point.
        let f_old = cur.f;
        let mut s: Vec<f64> = if s_hist.len() == MEMORY {
            s_hist.remove(0)
        } else {
            vec![0.0; dim]
        };
        let mut yv: Vec<f64> = if y_hist.len() == MEMORY {
            y_hist.remove(0)
        } else {
            vec![0.0; dim]
        };
        if rho.len() == MEMORY {
            rho.remove(0);
        }
        for i in 0..dim {
            s[i] = trial.theta[i] - cur.theta[i];
            yv[i] = trial.grad[i] - cur.grad[i];
        }
        let sy = dot_full(&s, &yv);
        let yy = dot_full(&yv, &yv);
        if sy > f64::EPSILON * yy {
            rho.push(1.0 / sy);
            s_hist.push(s);
            y_hist.push(yv);
        }
        std::mem::swap(&mut cur, &mut trial);
        // scipy's pgtol, then its ftol as scikit-learn sets it (64 machine epsilons).
        let small_gradient = max_abs(&cur.grad) <= tol;
        let small_decrease =
            (f_old - cur.f) <= 64.0 * f64::EPSILON * f_old.abs().max(cur.f.abs()).max(1.0);
        converged = small_gradient || small_decrease;
    }
    Ok(LbfgsResult {
        theta: cur.theta,
        n_iter,
        n_evals: evals,
        converged,
    })
}

/// dir = −H·g by the two-loop recursion (H₀ = γI with γ = sᵀy/yᵀy of the latest pair).
fn two_loop(
    g: &[f64],
    s_hist: &[Vec<f64>],
    y_hist: &[Vec<f64>],
    rho: &[f64],
    alpha: &mut [f64],
    dir: &mut [f64],
) {
    for (d, gi) in dir.iter_mut().zip(g) {
        *d = -gi;
    }
    let m = s_hist.len();
    for i in (0..m).rev() {
        let a = rho[i] * dot_full(&s_hist[i], dir);
        alpha[i] = a;
        axpy(-a, &y_hist[i], dir);
    }
    if let (Some(s), Some(y)) = (s_hist.last(), y_hist.last()) {
        let gamma = dot_full(s, y) / dot_full(y, y);
        for d in dir.iter_mut() {
            *d *= gamma;
        }
    }
    for i in 0..m {
        let b = rho[i] * dot_full(&y_hist[i], dir);
        axpy(alpha[i] - b, &s_hist[i], dir);
    }
}

/// Sufficient decrease (Armijo) and curvature constants of the strong Wolfe conditions.
const C1: f64 = 1e-4;
const C2: f64 = 0.9;
/// Line-search evaluations allowed per iteration (scikit-learn passes scipy `maxls=50`).
const MAX_LS: usize = 50;

/// Strong-Wolfe line search along `dir` from `cur` (Nocedal & Wright, algorithms 3.5 and 3.6,
/// with cubic interpolation). On success `trial` holds the accepted point and its step is
/// returned. `spare` holds the best point satisfying sufficient decrease found so far.
fn line_search(
    eval: &mut impl FnMut(&mut Point),
    cur: &Point,
    dir: &[f64],
    slope0: f64,
    step0: f64,
    trial: &mut Point,
    lo: &mut Point,
) -> Option<f64> {
    let f0 = cur.f;
    let at = |pt: &mut Point, step: f64, eval: &mut dyn FnMut(&mut Point)| -> f64 {
        for ((t, c), d) in pt.theta.iter_mut().zip(&cur.theta).zip(dir) {
            *t = c + step * d;
        }
        eval(pt);
        dot_full(&pt.grad, dir)
    };
    // Bracketing phase. `lo` is the last step with sufficient decrease (0 at the start).
    let (mut a_lo, mut f_lo, mut d_lo) = (0.0, f0, slope0);
    let mut lo_is_cur = true;
    let mut step = step0;
    let mut evals = 0;
    let (a_hi, f_hi, d_hi);
    loop {
        let d = at(trial, step, eval);
        evals += 1;
        let f = trial.f;
        if !f.is_finite() || f > f0 + C1 * step * slope0 || (!lo_is_cur && f >= f_lo) {
            (a_hi, f_hi, d_hi) = (step, f, d);
            break;
        }
        if d.abs() <= -C2 * slope0 {
            return Some(step);
        }
        if d >= 0.0 {
            // Overshot the minimum along dir: zoom between here (new lo) and the old lo.
            let old = (a_lo, f_lo, d_lo);
            std::mem::swap(trial, lo);
            lo_is_cur = false;
            (a_lo, f_lo, d_lo) = (step, f, d);
            (a_hi, f_hi, d_hi) = old;
            break;
        }
        std::mem::swap(trial, lo);
        lo_is_cur = false;
        (a_lo, f_lo, d_lo) = (step, f, d);
        if evals >= MAX_LS {
            return finish_lo(trial, lo, lo_is_cur, a_lo);
        }
        step *= 4.0;
    }
    // Zoom phase: keep lo (sufficient decrease, lowest f) and hi bracketing a Wolfe point.
    let (mut a_hi, mut f_hi, mut d_hi) = (a_hi, f_hi, d_hi);
    while evals < MAX_LS {
        let step = cubic_min(a_lo, f_lo, d_lo, a_hi, f_hi, d_hi);
        if (a_hi - a_lo).abs() <= f64::EPSILON * a_lo.abs().max(a_hi.abs()) {
            break;
        }
        let d = at(trial, step, eval);
        evals += 1;
        let f = trial.f;
        if !f.is_finite() || f > f0 + C1 * step * slope0 || f >= f_lo {
            (a_hi, f_hi, d_hi) = (step, f, d);
        } else {
            if d.abs() <= -C2 * slope0 {
                return Some(step);
            }
            if d * (a_hi - a_lo) >= 0.0 {
                (a_hi, f_hi, d_hi) = (a_lo, f_lo, d_lo);
            }
            std::mem::swap(trial, lo);
            lo_is_cur = false;
            (a_lo, f_lo, d_lo) = (step, f, d);
        }
    }
    finish_lo(trial, lo, lo_is_cur, a_lo)
}

/// End a line search that found no Wolfe point: accept the best point with sufficient decrease.
fn finish_lo(trial: &mut Point, lo: &mut Point, lo_is_cur: bool, a_lo: f64) -> Option<f64> {
    if lo_is_cur {
        return None;
    }
    std::mem::swap(trial, lo);
    Some(a_lo)
}

/// Minimizer of the cubic through (a, fa, da) and (b, fb, db), kept inside the middle 80 % of
/// the interval (bisection if the cubic has no usable minimum).
fn cubic_min(a: f64, fa: f64, da: f64, b: f64, fb: f64, db: f64) -> f64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let width = hi - lo;
    let d1 = da + db - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - da * db;
    let mut t = if disc >= 0.0 {
        let d2 = (b - a).signum() * disc.sqrt();
        b - (b - a) * ((db + d2 - d1) / (db - da + 2.0 * d2))
    } else {
        f64::NAN
    };
    if !t.is_finite() {
        t = 0.5 * (lo + hi);
    }
    t.clamp(lo + 0.1 * width, hi - 0.1 * width)
}

/// Σ aᵢbᵢ (small vectors: parameters).
fn dot_full(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// ‖a‖₂.
fn norm2(a: &[f64]) -> f64 {
    dot_full(a, a).sqrt()
}

/// max |aᵢ|.
fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
    }

    fn exp_of(xs: &[f64]) -> Vec<f64> {
        let mut x = [0.0; BLOCK];
        x[..xs.len()].copy_from_slice(xs);
        let mut out = [0.0; BLOCK];
        exp_nonpositive(&x, &mut out);
        out[..xs.len()].to_vec()
    }

    #[test]
    fn vector_exp_is_within_one_ulp_of_std_exp() {
        let mut worst = 0;
        let xs: Vec<f64> = (0..200_000)
            .map(|i| -(i as f64) * 708.0 / 200_000.0 * [1.0, 0.5, 1e-3, 1e-8][i % 4])
            .collect();
        for chunk in xs.chunks(BLOCK) {
            for (g, x) in exp_of(chunk).iter().zip(chunk) {
                worst = worst.max(ulps(*g, x.exp()));
            }
        }
        assert!(worst <= 1, "worst error {worst} ulp");
    }

    #[test]
    fn vector_exp_of_very_negative_values_is_zero() {
        assert_eq!(
            exp_of(&[-709.0, -1e6, f64::NEG_INFINITY, 0.0]),
            [0.0, 0.0, 0.0, 1.0]
        );
    }

    /// The small problem of the scikit-learn cross-checks: 200 rows, 3 features, made from
    /// sines so Python rebuilds it exactly (see the expected values' comments).
    fn small_problem() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
        let n = 200;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            (i as f64 * (j as f64 + 1.0) * 0.37 + j as f64).sin()
        });
        let mut yb = Array1::zeros(n);
        let mut ym = Array1::zeros(n);
        for i in 0..n {
            let (a, b, c, fi) = (x[[i, 0]], x[[i, 1]], x[[i, 2]], i as f64);
            let s0 = a + 0.5 * b - c + 0.3 * (fi * 1.7).sin();
            let s1 = -a + c + 0.4 * (fi * 2.3).cos();
            let s2 = b - 0.5 * a + 0.4 * (fi * 0.9).sin();
            yb[i] = if s0 > 0.0 { 1.0 } else { 0.0 };
            ym[i] = if s0 >= s1 && s0 >= s2 {
                0.0
            } else if s1 >= s2 {
                1.0
            } else {
                2.0
            };
        }
        (x, yb, ym)
    }

    fn tight(c: f64) -> LogisticRegression {
        LogisticRegression {
            c,
            tol: 1e-10,
            max_iter: 1000,
            ..LogisticRegression::default()
        }
    }

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol, "got {got:?}, want {want:?}");
        }
    }

    // Expected values: scikit-learn 1.9, LogisticRegression(C, tol=1e-12, max_iter=10000).

    #[test]
    fn binary_fit_matches_scikit_learn_coefficients() {
        let (x, yb, _) = small_problem();
        let m = tight(1.0).fit_model(x.view(), yb.view()).unwrap();
        assert!(m.converged);
        assert_close(
            m.coef.as_slice().unwrap(),
            &[3.5615197297752825, 1.6295786791039217, -3.1709295130909947],
            1e-6,
        );
        assert_close(
            m.intercept.as_slice().unwrap(),
            &[-0.5086759985521001],
            1e-6,
        );
        let m = tight(0.05).fit_model(x.view(), yb.view()).unwrap();
        assert_close(
            m.coef.as_slice().unwrap(),
            &[1.021619082211884, 0.5590067640612854, -0.9232446637134654],
            1e-6,
        );
        assert_close(
            m.intercept.as_slice().unwrap(),
            &[-0.32494084592492867],
            1e-6,
        );
    }

    #[test]
    fn multinomial_fit_matches_scikit_learn_coefficients() {
        let (x, _, ym) = small_problem();
        let m = tight(1.0).fit_model(x.view(), ym.view()).unwrap();
        #[rustfmt::skip]
        let want = [
            2.592596869711996, 0.10451750397232554, -2.1679826816955625,
            -1.7527741247340105, -1.4969624481331563, 2.1450868887440864,
            -0.8398227449779858, 1.392444944160831, 0.02289579295147664,
        ];
        assert_close(m.coef.as_slice().unwrap(), &want, 1e-6);
        assert_close(
            m.intercept.as_slice().unwrap(),
            &[
                0.26660435365838825,
                0.14409351234308276,
                -0.4106978660014681,
            ],
            1e-6,
        );
    }

    #[test]
    fn fit_without_intercept_matches_scikit_learn() {
        let (x, yb, _) = small_problem();
        let m = LogisticRegression {
            fit_intercept: false,
            ..tight(1.0)
        }
        .fit_model(x.view(), yb.view())
        .unwrap();
        assert_close(
            m.coef.as_slice().unwrap(),
            &[3.478071416314191, 1.7400281395721702, -3.340426489877889],
            1e-6,
        );
        assert_eq!(m.intercept[0], 0.0);
    }

    #[test]
    fn unpenalized_fit_matches_scikit_learn() {
        let (x, yb, _) = small_problem();
        let m = LogisticRegression {
            l2: false,
            ..tight(1.0)
        }
        .fit_model(x.view(), yb.view())
        .unwrap();
        assert_close(
            m.coef.as_slice().unwrap(),
            &[10.046899947759565, 4.182567232992808, -8.827657331154366],
            1e-5,
        );
        assert_close(
            m.intercept.as_slice().unwrap(),
            &[-0.7066227083889716],
            1e-5,
        );
    }

    #[test]
    fn default_tolerance_stops_with_a_small_gradient() {
        let (x, yb, _) = small_problem();
        let m = LogisticRegression::default()
            .fit_model(x.view(), yb.view())
            .unwrap();
        assert!(m.converged && m.n_iter < 30, "{} iterations", m.n_iter);
        assert_close(
            m.coef.as_slice().unwrap(),
            &[3.5615197297752825, 1.6295786791039217, -3.1709295130909947],
            1e-2,
        );
    }

    #[test]
    fn max_iter_bounds_the_iterations() {
        let (x, yb, _) = small_problem();
        let m = LogisticRegression {
            max_iter: 2,
            ..tight(1.0)
        }
        .fit_model(x.view(), yb.view())
        .unwrap();
        assert_eq!(m.n_iter, 2);
        assert!(!m.converged);
    }

    #[test]
    fn probabilities_sum_to_one_and_classes_are_the_most_probable() {
        let (x, _, ym) = small_problem();
        let m = tight(1.0).fit_model(x.view(), ym.view()).unwrap();
        let Prediction::Classes {
            class,
            proba: Some(proba),
        } = m.predict(x.view())
        else {
            panic!("no probabilities")
        };
        for (row, &c) in proba.rows().into_iter().zip(&class) {
            assert!((row.sum() - 1.0).abs() < 1e-12);
            assert!(row.iter().all(|&v| v <= row[c]));
        }
    }

    #[test]
    fn class_absent_from_training_gets_probability_zero() {
        // Classes 0 and 2 only: a binary model whose probability columns still line up.
        let (x, yb, _) = small_problem();
        let y = yb.mapv(|v| v * 2.0);
        let m = tight(1.0).fit_model(x.view(), y.view()).unwrap();
        assert_eq!(m.classes, [0, 2]);
        let Prediction::Classes {
            class,
            proba: Some(proba),
        } = m.predict(x.view())
        else {
            panic!("no probabilities")
        };
        assert_eq!(proba.ncols(), 3);
        assert!(proba.column(1).iter().all(|&v| v == 0.0));
        assert!(class.iter().all(|&c| c == 0 || c == 2));
    }

    #[test]
    fn separable_data_without_penalty_stops_with_finite_weights() {
        let x = Array2::from_shape_fn((40, 2), |(i, j)| i as f64 - 20.0 + j as f64 * 0.1);
        let y = x.column(0).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
        let m = LogisticRegression {
            l2: false,
            ..LogisticRegression::default()
        }
        .fit_model(x.view(), y.view())
        .unwrap();
        assert!(m.coef.iter().chain(&m.intercept).all(|v| v.is_finite()));
        let Prediction::Classes { class, .. } = m.predict(x.view()) else {
            panic!()
        };
        assert_eq!(class, y.mapv(|v| v as usize));
    }

    #[test]
    fn a_single_class_is_refused() {
        let x = Array2::zeros((4, 2));
        let err = LogisticRegression::default()
            .fit_model(x.view(), Array1::ones(4).view())
            .unwrap_err();
        assert!(err.to_string().contains("at least two classes"), "{err}");
    }

    #[test]
    fn non_finite_features_are_refused() {
        let mut x = Array2::zeros((4, 2));
        x[[2, 1]] = f64::NAN;
        let y = ndarray::array![0.0, 1.0, 0.0, 1.0];
        assert!(
            LogisticRegression::default()
                .fit_model(x.view(), y.view())
                .is_err()
        );
    }

    #[test]
    fn odd_row_counts_use_the_padded_last_block() {
        // 200 rows fill three 64-row blocks and pad the fourth; 133 rows is not a multiple of 4.
        let (x, yb, _) = small_problem();
        let full = tight(1.0)
            .fit_model(
                x.slice(ndarray::s![..133, ..]),
                yb.slice(ndarray::s![..133]),
            )
            .unwrap();
        let rows: Vec<usize> = (0..133).collect();
        let copy = x.select(Axis(0), &rows);
        let again = tight(1.0)
            .fit_model(copy.view(), yb.slice(ndarray::s![..133]))
            .unwrap();
        assert_eq!(full.coef, again.coef);
        // The objective over 133 rows equals the sum of per-row losses computed directly.
        let codes: Vec<u32> = yb.iter().take(133).map(|&v| v as u32).collect();
        let obj = Objective {
            x: copy.as_slice().unwrap(),
            y: &codes,
            n: 133,
            p: 3,
            n_vec: 1,
            intercept: true,
            l2: 0.0,
        };
        let theta = [0.3, -0.2, 0.5, 0.1];
        let mut grad = [0.0; 4];
        let f = obj.eval(&theta, &mut grad);
        let direct: f64 = (0..133)
            .map(|i| {
                let z = 0.1 + 0.3 * copy[[i, 0]] - 0.2 * copy[[i, 1]] + 0.5 * copy[[i, 2]];
                (1.0 + z.exp()).ln() - codes[i] as f64 * z
            })
            .sum::<f64>()
            / 133.0;
        assert!((f - direct).abs() < 1e-14, "{f} vs {direct}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (x, _, ym) = small_problem();
        let codes: Vec<u32> = ym.iter().map(|&v| v as u32).collect();
        let obj = Objective {
            x: x.as_slice().unwrap(),
            y: &codes,
            n: 200,
            p: 3,
            n_vec: 3,
            intercept: true,
            l2: 0.01,
        };
        let theta: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin()).collect();
        let mut grad = vec![0.0; 12];
        obj.eval(&theta, &mut grad);
        for i in 0..12 {
            let h = 1e-6;
            let (mut up, mut down) = (theta.clone(), theta.clone());
            up[i] += h;
            down[i] -= h;
            let mut g = vec![0.0; 12];
            let numeric = (obj.eval(&up, &mut g) - obj.eval(&down, &mut g)) / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 1e-7,
                "component {i}: {numeric} vs {}",
                grad[i]
            );
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_and_plain_passes_agree_to_the_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let (x, yb, ym) = small_problem();
        for (y, n_vec) in [(&yb, 1), (&ym, 3)] {
            let codes: Vec<u32> = y.iter().map(|&v| v as u32).collect();
            let obj = Objective {
                x: x.as_slice().unwrap(),
                y: &codes,
                n: 200,
                p: 3,
                n_vec,
                intercept: true,
                l2: 0.0,
            };
            let theta: Vec<f64> = (0..4 * n_vec).map(|i| (i as f64 * 1.3).cos()).collect();
            let (mut g1, mut g2) = (vec![0.0; 4 * n_vec], vec![0.0; 4 * n_vec]);
            let (f1, f2) = if n_vec == 1 {
                // SAFETY: AVX2 checked above.
                (obj.binomial_pass_generic(&theta, &mut g1), unsafe {
                    obj.binomial_pass_avx2(&theta, &mut g2)
                })
            } else {
                // SAFETY: AVX2 checked above.
                (obj.multinomial_pass_generic(&theta, &mut g1), unsafe {
                    obj.multinomial_pass_avx2(&theta, &mut g2)
                })
            };
            assert_eq!(f1.to_bits(), f2.to_bits());
            assert_eq!(g1, g2);
        }
    }

    fn accuracy_of(class: &Array1<usize>, y: &Array1<f64>) -> f64 {
        class
            .iter()
            .zip(y)
            .filter(|(c, t)| **c as f64 == **t)
            .count() as f64
            / y.len() as f64
    }

    #[test]
    fn binary_accuracy_matches_linfa_with_alpha_one_over_c() {
        use linfa::prelude::{Fit, Predict};
        let (x, yb, _) = small_problem();
        for c in [0.05, 1.0, 20.0] {
            let ours = LogisticRegression {
                c,
                ..LogisticRegression::default()
            }
            .fit_model(x.view(), yb.view())
            .unwrap();
            let Prediction::Classes { class, .. } = ours.predict(x.view()) else {
                panic!()
            };
            let data = linfa::Dataset::new(x.clone(), yb.mapv(|v| v as usize));
            let theirs = linfa_logistic::LogisticRegression::default()
                .alpha(1.0 / c)
                .fit(&data)
                .unwrap();
            let theirs_class = theirs.predict(&x);
            assert!(
                (accuracy_of(&class, &yb) - accuracy_of(&theirs_class, &yb)).abs() <= 0.01,
                "C = {c}"
            );
            // Same objective (linfa sums where we average): the coefficients agree too, up to
            // linfa's choice of which class is positive.
            let sign = if theirs.labels().pos.class == 1 {
                1.0
            } else {
                -1.0
            };
            let theirs_coef: Vec<f64> = theirs.params().iter().map(|v| sign * v).collect();
            // Within 1 %: linfa's tolerance is on the summed gradient, n times tighter than ours.
            for (o, t) in ours.coef.iter().zip(&theirs_coef) {
                assert!(
                    (o - t).abs() <= 0.01 * t.abs().max(1.0),
                    "C = {c}: {o} vs {t}"
                );
            }
        }
    }

    #[test]
    fn multiclass_accuracy_matches_linfa_with_alpha_one_over_c() {
        use linfa::prelude::{Fit, Predict};
        let (x, _, ym) = small_problem();
        for c in [0.05, 1.0, 20.0] {
            let ours = LogisticRegression {
                c,
                ..LogisticRegression::default()
            }
            .fit_model(x.view(), ym.view())
            .unwrap();
            let Prediction::Classes { class, .. } = ours.predict(x.view()) else {
                panic!()
            };
            let data = linfa::Dataset::new(x.clone(), ym.mapv(|v| v as usize));
            let theirs = linfa_logistic::MultiLogisticRegression::default()
                .alpha(1.0 / c)
                .fit(&data)
                .unwrap();
            let theirs_class = theirs.predict(&x);
            assert!(
                (accuracy_of(&class, &ym) - accuracy_of(&theirs_class, &ym)).abs() <= 0.01,
                "C = {c}"
            );
        }
    }
}
