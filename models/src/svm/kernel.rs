//! The kernels of the support vector machines, in scikit-learn's parametrization.
//!
//! linfa-kernel has no γ in its polynomial kernel, (⟨x, x'⟩ + c)^d, and writes the RBF kernel
//! as exp(−‖x − x'‖²/ε). scikit-learn's (γ⟨x, x'⟩ + coef0)^degree equals linfa's on rows
//! scaled by √γ, and its exp(−γ‖x − x'‖²) is linfa's with ε = 1/γ.

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

    /// linfa's SVM parameters with this kernel.
    pub fn apply<T>(&self, params: SvmParams<f64, T>) -> SvmParams<f64, T> {
        match self.kind {
            KernelKind::Linear => params.linear_kernel(),
            KernelKind::Rbf => params.gaussian_kernel(1.0 / self.gamma),
            KernelKind::Poly => params.polynomial_kernel(self.coef0, f64::from(self.degree)),
        }
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
}
