//! Standardization fitted on training rows only.

use ndarray::{Array1, Array2, ArrayView2};

/// Per-column mean and scale learned from training rows.
#[derive(Debug, Clone)]
pub struct Standardizer {
    /// Column means.
    pub mean: Array1<f64>,
    /// Column standard deviations (population); 1 where a column is constant.
    pub scale: Array1<f64>,
}

impl Standardizer {
    /// Learn means and scales from `x`.
    pub fn fit(x: ArrayView2<'_, f64>) -> Standardizer {
        let _ = x;
        todo!()
    }

    /// (x − mean) / scale, as a new array.
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let _ = x;
        todo!()
    }
}
