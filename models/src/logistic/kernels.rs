//! The fused loss-and-gradient kernels: one pass over the rows computes the mean penalized
//! log-loss and its gradient, in blocks of 64 rows, with an AVX2 path chosen at run time.

/// Where the training rows are read from.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    /// n × p row-major, contiguous.
    Contiguous(&'a [f64]),
    /// The rows `rows` of a row-major matrix of p columns, read in place, each value
    /// standardized as (v − mean) / scale when `scaler` is set (a fold of the shared dataset:
    /// no copy of it exists; each block's rows are assembled in a small buffer).
    Indexed {
        x: &'a [f64],
        rows: &'a [usize],
        scaler: Option<(&'a [f64], &'a [f64])>,
    },
}

/// The mean penalized log-loss over row-major training data, with its gradient.
pub(super) struct Objective<'a> {
    /// Features: n rows of p.
    pub(super) x: Source<'a>,
    /// Class code per row.
    pub(super) y: &'a [u32],
    pub(super) n: usize,
    pub(super) p: usize,
    /// Coefficient vectors: 1 (binomial) or the number of classes (multinomial).
    pub(super) n_vec: usize,
    pub(super) intercept: bool,
    /// Penalty weight on ‖W‖²/2 in the mean objective: 1/(C·n), or 0.
    pub(super) l2: f64,
}

impl Objective<'_> {
    /// Parameters per coefficient vector: p weights, then the intercept if fitted.
    pub(super) fn stride(&self) -> usize {
        self.p + usize::from(self.intercept)
    }

    /// Number of parameters.
    pub(super) fn dim(&self) -> usize {
        self.n_vec * self.stride()
    }

    /// The `len` rows of block `b`, row-major: borrowed in place, or assembled (and
    /// standardized) in `scratch` with the same operations as a standardized copy, so the
    /// result is the same to the bit.
    #[inline(always)]
    fn block<'s>(&'s self, b: usize, len: usize, scratch: &'s mut [f64]) -> &'s [f64] {
        let p = self.p;
        match self.x {
            Source::Contiguous(x) => &x[b * BLOCK * p..(b * BLOCK + len) * p],
            Source::Indexed { x, rows, scaler } => {
                let rows = &rows[b * BLOCK..b * BLOCK + len];
                for (dst, &r) in scratch.chunks_exact_mut(p.max(1)).zip(rows) {
                    let src = &x[r * p..(r + 1) * p];
                    match scaler {
                        Some((mean, scale)) => {
                            for j in 0..p {
                                dst[j] = (src[j] - mean[j]) / scale[j];
                            }
                        }
                        None => dst.copy_from_slice(src),
                    }
                }
                &scratch[..len * p]
            }
        }
    }

    /// f(θ), writing ∇f(θ) into `grad`: one pass over the rows.
    pub(super) fn eval(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
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
        let mut scratch = vec![0.0; BLOCK * p];
        for (bi, y) in self.y.chunks(BLOCK).enumerate() {
            let x = self.block(bi, y.len(), &mut scratch);
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
        let mut scratch = vec![0.0; BLOCK * p];
        for (bi, y) in self.y.chunks(BLOCK).enumerate() {
            let x = self.block(bi, y.len(), &mut scratch);
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{small_problem, tight};
    use super::*;
    use ndarray::Axis;

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
            x: Source::Contiguous(copy.as_slice().unwrap()),
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
            x: Source::Contiguous(x.as_slice().unwrap()),
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
                x: Source::Contiguous(x.as_slice().unwrap()),
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
}
