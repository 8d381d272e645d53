//! The kernels of the support vector machines, in scikit-learn's parametrization, and their fast
//! evaluation over the training rows ([`KernelRows`]).
//!
//! The polynomial kernel (γ⟨x, x'⟩ + coef0)^degree is computed as (⟨x, x'⟩ + coef0)^degree on rows
//! scaled by √γ, and saved machines hold their support vectors scaled so (the saved format of
//! linfa-svm's days, whose polynomial kernel had no γ).

#[cfg(test)]
use linfa_svm::SvmParams;
use ndarray::{Array2, ArrayView1, ArrayView2};

/// Which kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelKind {
    /// ⟨x, x'⟩.
    Linear,
    /// exp(−γ‖x − x'‖²).
    Rbf,
    /// (γ⟨x, x'⟩ + coef0)^degree.
    Poly,
}

/// A kernel with its parameters, γ possibly still to be derived from the data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KernelSpec {
    /// Which kernel.
    pub kind: KernelKind,
    /// γ; `None` is scikit-learn's `"scale"`, 1/(n_features · Var(X)) over the training rows.
    pub gamma: Option<f64>,
    /// Degree of the polynomial kernel.
    pub degree: u32,
    /// Constant term of the polynomial kernel.
    pub coef0: f64,
}

/// A kernel fixed on training data: how to scale rows, and linfa's parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resolved {
    kind: KernelKind,
    gamma: f64,
    degree: u32,
    coef0: f64,
}

impl KernelSpec {
    /// Fix γ on the training rows `x`.
    pub fn resolve(&self, x: ArrayView2<'_, f64>) -> Resolved {
        let gamma = self.gamma.unwrap_or_else(|| {
            let var = x.var(0.0);
            // As scikit-learn: a constant X gets γ = 1.
            if var > 0.0 && var.is_finite() {
                1.0 / (x.ncols() as f64 * var)
            } else {
                1.0
            }
        });
        Resolved {
            kind: self.kind,
            gamma,
            degree: self.degree,
            coef0: self.coef0,
        }
    }
}

impl Resolved {
    /// The factor rows are scaled by before linfa sees them (√γ for the polynomial kernel).
    fn row_scale(&self) -> f64 {
        match self.kind {
            KernelKind::Poly => self.gamma.sqrt(),
            KernelKind::Linear | KernelKind::Rbf => 1.0,
        }
    }

    /// Rows as linfa's kernel must see them.
    pub fn rows(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let s = self.row_scale();
        if s == 1.0 {
            x.to_owned()
        } else {
            x.mapv(|v| v * s)
        }
    }

    /// The kernel between two rows already scaled by [`Resolved::rows`], computed as linfa does.
    pub fn between(&self, a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
        match self.kind {
            KernelKind::Linear => a.dot(&b),
            KernelKind::Rbf => {
                let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
                (-d / (1.0 / self.gamma)).exp()
            }
            KernelKind::Poly => (a.dot(&b) + self.coef0).powf(f64::from(self.degree)),
        }
    }

    /// Whether parameters read back from a file make a kernel.
    pub fn check(&self) -> Result<(), String> {
        if !(self.gamma.is_finite() && self.gamma > 0.0 && self.coef0.is_finite()) {
            return Err(format!(
                "svm kernel: gamma {} must be a number > 0 and coef0 {} a number",
                self.gamma, self.coef0
            ));
        }
        if self.degree == 0 {
            return Err("svm kernel: degree must be at least 1".into());
        }
        Ok(())
    }

    /// Whether it is the linear kernel (whose machines fold into one weight vector).
    pub(super) fn is_linear(&self) -> bool {
        self.kind == KernelKind::Linear
    }

    /// linfa's SVM parameters with this kernel (linfa writes the RBF kernel as exp(−‖x − x'‖²/ε)).
    #[cfg(test)]
    pub(super) fn apply<T>(&self, params: SvmParams<f64, T>) -> SvmParams<f64, T> {
        match self.kind {
            KernelKind::Linear => params.linear_kernel(),
            KernelKind::Rbf => params.gaussian_kernel(1.0 / self.gamma),
            KernelKind::Poly => params.polynomial_kernel(self.coef0, f64::from(self.degree)),
        }
    }
}

/// How [`KernelRows`] evaluates the kernel on its (already scaled) rows.
#[derive(Debug, Clone, Copy)]
enum Eval {
    Linear,
    Rbf { gamma: f64 },
    Poly { coef0: f64, degree: i32 },
}

/// Training rows in one contiguous row-major buffer, with what the kernel needs precomputed
/// (squared norms for the RBF kernel), as the solver's kernel columns read them.
#[derive(Debug, Clone)]
pub(super) struct KernelRows {
    data: Vec<f64>,
    width: usize,
    sq: Vec<f64>,
    eval: Eval,
}

/// ⟨a, b⟩ with four independent sums, so the loop pipelines (and vectorizes).
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut acc = [0.0; 4];
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

impl KernelRows {
    /// The rows `x`, already scaled by [`Resolved::rows`], for `kernel`.
    pub fn new(kernel: &Resolved, x: ArrayView2<'_, f64>) -> KernelRows {
        let width = x.ncols();
        let data: Vec<f64> = x.iter().copied().collect();
        let eval = match kernel.kind {
            KernelKind::Linear => Eval::Linear,
            KernelKind::Rbf => Eval::Rbf {
                gamma: kernel.gamma,
            },
            KernelKind::Poly => Eval::Poly {
                coef0: kernel.coef0,
                degree: i32::try_from(kernel.degree).unwrap_or(i32::MAX),
            },
        };
        let mut rows = KernelRows {
            data,
            width,
            sq: Vec::new(),
            eval,
        };
        rows.sq = (0..x.nrows())
            .map(|i| dot(rows.row(i), rows.row(i)))
            .collect();
        rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.sq.len()
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.width..(i + 1) * self.width]
    }

    /// K(xᵢ, xᵢ).
    pub fn diagonal(&self, i: usize) -> f64 {
        self.column_entry(i, i)
    }

    fn column_entry(&self, i: usize, j: usize) -> f64 {
        let d = dot(self.row(i), self.row(j));
        match self.eval {
            Eval::Linear => d,
            // As libsvm: ‖xᵢ − xⱼ‖² = ‖xᵢ‖² + ‖xⱼ‖² − 2⟨xᵢ, xⱼ⟩ (exactly 0 on the diagonal).
            Eval::Rbf { gamma } => (-gamma * (self.sq[i] + self.sq[j] - 2.0 * d)).exp(),
            Eval::Poly { coef0, degree } => (d + coef0).powi(degree),
        }
    }

    /// `out[j] = factor(j) · K(xᵢ, xⱼ)` for j in `from..out.len()`, rounded to f32 as libsvm's
    /// kernel cache holds them.
    pub fn column(&self, i: usize, from: usize, out: &mut [f32], factor: impl Fn(usize) -> f64) {
        let xi = self.row(i);
        let w = self.width;
        // Rows `from..`, with their index and squared norm, beside their output entries.
        let rows = self.data[from * w..]
            .chunks_exact(w)
            .zip(&self.sq[from..])
            .zip(out[from..].iter_mut())
            .enumerate()
            .map(|(k, ((xj, &sqj), o))| (from + k, xj, sqj, o));
        // One loop per kernel, so the kernel's match is not inside the loop.
        match self.eval {
            Eval::Linear => {
                for (j, xj, _, o) in rows {
                    *o = (factor(j) * dot(xi, xj)) as f32;
                }
            }
            Eval::Rbf { gamma } => {
                let si = self.sq[i];
                for (j, xj, sqj, o) in rows {
                    *o = (factor(j) * (-gamma * (si + sqj - 2.0 * dot(xi, xj))).exp()) as f32;
                }
            }
            Eval::Poly { coef0, degree } => {
                for (j, xj, _, o) in rows {
                    *o = (factor(j) * (dot(xi, xj) + coef0).powi(degree)) as f32;
                }
            }
        }
    }

    /// Exchange rows `i` and `j` (the solver's shrinking reorders its variables).
    pub fn swap(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        let w = self.width;
        let (lo, hi) = (i.min(j), i.max(j));
        let (head, tail) = self.data.split_at_mut(hi * w);
        head[lo * w..(lo + 1) * w].swap_with_slice(&mut tail[..w]);
        self.sq.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn scale_gamma_is_one_over_features_times_variance() {
        let x = array![[0.0, 2.0], [2.0, 0.0]];
        let r = KernelSpec {
            kind: KernelKind::Rbf,
            gamma: None,
            degree: 3,
            coef0: 0.0,
        }
        .resolve(x.view());
        // Var over all entries is 1; two features.
        assert_eq!(r.gamma, 0.5);
    }

    #[test]
    fn constant_data_gets_gamma_one() {
        let x = array![[3.0, 3.0], [3.0, 3.0]];
        let spec = KernelSpec {
            kind: KernelKind::Rbf,
            gamma: None,
            degree: 3,
            coef0: 0.0,
        };
        assert_eq!(spec.resolve(x.view()).gamma, 1.0);
    }

    #[test]
    fn polynomial_rows_are_scaled_by_root_gamma() {
        let x = array![[1.0, 2.0]];
        let spec = KernelSpec {
            kind: KernelKind::Poly,
            gamma: Some(4.0),
            degree: 2,
            coef0: 1.0,
        };
        assert_eq!(spec.resolve(x.view()).rows(x.view()), array![[2.0, 4.0]]);
    }

    #[test]
    fn kernel_rows_compute_each_kernel_as_between_does() {
        let x = array![
            [0.5, -1.0, 2.0, 0.25, 1.5],
            [1.0, 0.0, -0.5, 2.0, 0.75],
            [0.0, 0.0, 0.0, 0.0, 0.0]
        ];
        for (kind, gamma) in [
            (KernelKind::Linear, 1.0),
            (KernelKind::Rbf, 0.3),
            (KernelKind::Poly, 0.7),
        ] {
            let r = KernelSpec {
                kind,
                gamma: Some(gamma),
                degree: 3,
                coef0: 1.5,
            }
            .resolve(x.view());
            let scaled = r.rows(x.view());
            let rows = KernelRows::new(&r, scaled.view());
            for i in 0..3 {
                let mut col = vec![0.0f32; 3];
                rows.column(i, 0, &mut col, |_| 1.0);
                for (j, &got) in col.iter().enumerate() {
                    let want = r.between(scaled.row(i), scaled.row(j));
                    assert!(
                        (f64::from(got) - want).abs() <= 1e-6 * want.abs().max(1.0),
                        "{kind:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn swapped_rows_swap_their_kernel_values() {
        let x = array![[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]];
        let r = KernelSpec {
            kind: KernelKind::Rbf,
            gamma: Some(0.5),
            degree: 3,
            coef0: 0.0,
        }
        .resolve(x.view());
        let mut rows = KernelRows::new(&r, x.view());
        let before = rows.column_entry(0, 2);
        rows.swap(0, 2);
        assert_eq!(rows.column_entry(2, 0), before);
        assert_eq!(rows.row(0), &[0.5, 0.5]);
    }
}
