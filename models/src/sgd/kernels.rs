//! The small numeric pieces the per-sample loops are made of: row access without allocation,
//! dot/axpy written so that LLVM vectorises them, the log-loss, prefetching.

use ndarray::{ArrayView1, ArrayView2, Axis};

use super::SgdError;

/// Rows of a feature matrix as slices: one contiguous buffer (the fast, usual case) or any view
/// whose rows are contiguous.
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    flat: Option<&'a [f64]>,
    view: ArrayView2<'a, f64>,
    d: usize,
}

impl<'a> Rows<'a> {
    /// Check `x` has `d` columns and contiguous rows.
    pub(crate) fn new(x: ArrayView2<'a, f64>, d: usize) -> Result<Rows<'a>, SgdError> {
        if x.ncols() != d {
            return Err(SgdError::Features {
                expected: d,
                found: x.ncols(),
            });
        }
        let flat = x.to_slice();
        if flat.is_none() && d > 1 && x.strides()[1] != 1 {
            return Err(SgdError::Layout);
        }
        Ok(Rows { flat, view: x, d })
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.view.nrows()
    }

    /// Row `r`, or an error naming it when it is out of range.
    #[inline(always)]
    pub(crate) fn row(&self, r: usize) -> Result<&'a [f64], SgdError> {
        let n = self.view.nrows();
        if r >= n {
            return Err(SgdError::RowOutOfRange { row: r, n_rows: n });
        }
        match self.flat {
            Some(flat) => Ok(&flat[r * self.d..(r + 1) * self.d]),
            None => self
                .view
                .index_axis_move(Axis(0), r)
                .to_slice()
                .ok_or(SgdError::Layout),
        }
    }

    /// Hint the CPU to start loading row `r` (no effect when out of range).
    #[inline(always)]
    pub(crate) fn prefetch(&self, r: usize) {
        if let Some(flat) = self.flat
            && let Some(row) = flat.get(r * self.d..(r + 1) * self.d)
        {
            // A row of d f64 spans d / 8 cache lines (plus one when it straddles a boundary).
            let mut i = 0;
            while i < row.len() {
                prefetch(&row[i]);
                i += 8;
            }
            if let Some(last) = row.last() {
                prefetch(last);
            }
        }
    }
}

/// Hint the CPU to bring `v`'s cache line into L2 (T1: measured a little faster than L1 here,
/// it leaves L1 to the weights). A prefetch never faults and changes no state.
#[inline(always)]
pub(crate) fn prefetch<T>(v: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
        // SAFETY: `_mm_prefetch` is a hint: it does not dereference the pointer architecturally
        // (it cannot fault), and SSE is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T1>((v as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// Targets indexed by row, with the same out-of-range check as [`Rows`].
#[derive(Clone, Copy)]
pub(crate) struct Targets<'a> {
    flat: Option<&'a [f64]>,
    view: ArrayView1<'a, f64>,
}

impl<'a> Targets<'a> {
    /// Check `y` has one target per row of `rows`.
    pub(crate) fn new(y: ArrayView1<'a, f64>, rows: &Rows<'_>) -> Result<Targets<'a>, SgdError> {
        if y.len() != rows.len() {
            return Err(SgdError::Targets {
                rows: rows.len(),
                targets: y.len(),
            });
        }
        Ok(Targets {
            flat: y.to_slice(),
            view: y,
        })
    }

    /// The target of row `r` (already checked to be a valid row).
    #[inline(always)]
    pub(crate) fn get(&self, r: usize) -> Result<f64, SgdError> {
        match self.flat {
            Some(flat) => flat.get(r).copied(),
            None => self.view.get(r).copied(),
        }
        .ok_or(SgdError::RowOutOfRange {
            row: r,
            n_rows: self.view.len(),
        })
    }

    /// Hint the CPU to load the target of row `r`.
    #[inline(always)]
    pub(crate) fn prefetch(&self, r: usize) {
        if let Some(v) = self.flat.and_then(|f| f.get(r)) {
            prefetch(v);
        }
    }
}

/// Dot product with eight independent accumulators (float addition is not associative, so a
/// plain `sum()` would be one serial chain and would not vectorise).
#[inline(always)]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `w += c · x`.
#[inline(always)]
pub(crate) fn axpy(w: &mut [f64], c: f64, x: &[f64]) {
    for (wi, xi) in w.iter_mut().zip(x) {
        *wi += c * xi;
    }
}

/// `w *= c`.
#[inline(always)]
pub(crate) fn scale(w: &mut [f64], c: f64) {
    for wi in w.iter_mut() {
        *wi *= c;
    }
}

/// Gradients larger than this are clipped (scikit-learn's MAX_DLOSS): keeps one wild sample
/// from overflowing the weights.
pub(crate) const MAX_DLOSS: f64 = 1e12;

/// Log-loss of a logit `z` against a 0/1 label and its derivative `sigmoid(z) − y`, with one
/// `exp` and one `ln_1p` and no overflow for any `z`.
#[inline(always)]
pub(crate) fn log_loss_grad(y: f64, z: f64) -> (f64, f64) {
    let e = (-z.abs()).exp();
    let p = if z >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    let loss = z.max(0.0) + e.ln_1p() - y * z;
    (loss, p - y)
}

/// The logistic function, stable for any `z`.
#[inline(always)]
pub(crate) fn sigmoid(z: f64) -> f64 {
    let e = (-z.abs()).exp();
    if z >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// In-place softmax of `z`; returns `log(sum(exp(z)))` (the log-partition) for the loss.
#[inline(always)]
pub(crate) fn softmax(z: &mut [f64]) -> f64 {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in z.iter_mut() {
        *v *= inv;
    }
    max + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_naive_sum_for_every_length() {
        for n in 0..40 {
            let a: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 3.0).collect();
            let b: Vec<f64> = (0..n).map(|i| 1.0 / (i as f64 + 1.0)).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-12);
        }
    }

    #[test]
    fn log_loss_is_stable_for_extreme_logits() {
        let (l, g) = log_loss_grad(1.0, 800.0);
        assert_eq!((l, g), (0.0, 0.0));
        let (l, g) = log_loss_grad(1.0, -800.0);
        assert_eq!((l, g), (800.0, -1.0));
        let (l, g) = log_loss_grad(0.0, 0.0);
        assert!((l - 2f64.ln()).abs() < 1e-15 && (g - 0.5).abs() < 1e-15);
    }

    #[test]
    fn softmax_sums_to_one_and_returns_the_log_partition() {
        let mut z = [1000.0, 1001.0, 999.0];
        let lse = softmax(&mut z);
        assert!((z.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        let expected = 1001.0 + (1.0 + (-1f64).exp() + (-2f64).exp()).ln();
        assert!((lse - expected).abs() < 1e-12);
    }

    #[test]
    fn rows_reject_wrong_widths_out_of_range_rows_and_strided_columns() {
        let x = ndarray::Array2::<f64>::zeros((3, 4));
        assert!(matches!(
            Rows::new(x.view(), 5),
            Err(SgdError::Features {
                expected: 5,
                found: 4
            })
        ));
        let rows = Rows::new(x.view(), 4).unwrap();
        assert!(matches!(
            rows.row(3),
            Err(SgdError::RowOutOfRange { row: 3, n_rows: 3 })
        ));
        let t = x.t();
        assert!(matches!(Rows::new(t, 3), Err(SgdError::Layout)));
        // Column-sliced views keep contiguous rows and are accepted.
        let sliced = x.slice(ndarray::s![.., 1..3]);
        assert_eq!(Rows::new(sliced, 2).unwrap().row(2).unwrap().len(), 2);
    }
}
