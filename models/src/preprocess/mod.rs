//! Preprocessing fitted on training rows only: the standardization that cross-validation fuses
//! into its models, and the configurable pipeline (imputation, scaling, one-hot encoding, PCA).

mod pipeline;

pub use pipeline::{Column, FittedPipeline, Imputation, Impute, Preprocess, Scale, Unknown};

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};

/// Per-column mean and scale learned from training rows.
///
/// Saved as two plain lists of numbers of the same length.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "SavedStandardizer", try_from = "SavedStandardizer")]
pub struct Standardizer {
    /// Column means.
    pub mean: Array1<f64>,
    /// Column standard deviations (population); 1 where a column is constant.
    pub scale: Array1<f64>,
}

/// A standardizer as saved.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedStandardizer {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl From<Standardizer> for SavedStandardizer {
    fn from(s: Standardizer) -> SavedStandardizer {
        SavedStandardizer {
            mean: s.mean.to_vec(),
            scale: s.scale.to_vec(),
        }
    }
}

impl TryFrom<SavedStandardizer> for Standardizer {
    type Error = String;

    fn try_from(s: SavedStandardizer) -> Result<Standardizer, String> {
        if s.mean.len() != s.scale.len() {
            return Err(format!(
                "standardizer: {} means but {} scales",
                s.mean.len(),
                s.scale.len()
            ));
        }
        if s.scale.iter().any(|v| !(v.is_finite() && *v > 0.0))
            || s.mean.iter().any(|v| !v.is_finite())
        {
            return Err("standardizer: scales must be finite and positive, means finite".into());
        }
        Ok(Standardizer {
            mean: s.mean.into(),
            scale: s.scale.into(),
        })
    }
}

impl Standardizer {
    /// Learn means and scales from `x`.
    ///
    /// As scikit-learn's `StandardScaler`: two-pass population variance, and a column whose
    /// variance is within the rounding error of that computation counts as constant (scale 1).
    pub fn fit(x: ArrayView2<'_, f64>) -> Standardizer {
        Standardizer::fit_on(x.ncols(), || x.axis_iter(Axis(0)))
    }

    /// Learn means and scales from the rows `rows` of `x`, read in place: the same statistics,
    /// to the bit, as [`Standardizer::fit`] on a copy of those rows.
    pub fn fit_rows(x: ArrayView2<'_, f64>, rows: &[usize]) -> Standardizer {
        Standardizer::fit_on(x.ncols(), || rows.iter().map(|&r| x.row(r)))
    }

    /// Two passes over the rows `rows()` yields, of `p` columns each.
    fn fit_on<'a, I>(p: usize, rows: impl Fn() -> I) -> Standardizer
    where
        I: Iterator<Item = ndarray::ArrayView1<'a, f64>>,
    {
        let n = rows().count();
        if n == 0 {
            return Standardizer {
                mean: Array1::zeros(p),
                scale: Array1::ones(p),
            };
        }
        // Row by row: x is row-major, and column sums accumulate in cache.
        let mut mean = Array1::<f64>::zeros(p);
        for row in rows() {
            mean += &row;
        }
        mean /= n as f64;
        let mut var = Array1::<f64>::zeros(p);
        for row in rows() {
            ndarray::Zip::from(&mut var)
                .and(&row)
                .and(&mean)
                .for_each(|v, &xi, &m| {
                    let d = xi - m;
                    *v += d * d;
                });
        }
        var /= n as f64;
        let nf = n as f64;
        let scale = ndarray::Zip::from(&var).and(&mean).map_collect(|&v, &m| {
            // scikit-learn's `_is_constant_feature` bound on the two-pass variance error.
            let bound = nf * f64::EPSILON * v + (nf * m * f64::EPSILON).powi(2);
            if v <= bound { 1.0 } else { v.sqrt() }
        });
        Standardizer { mean, scale }
    }

    /// (x − mean) / scale, as a new array.
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut out = x.as_standard_layout().into_owned();
        self.transform_in_place(out.view_mut());
        out
    }

    /// (x − mean) / scale, overwriting `x`.
    pub fn transform_in_place(&self, mut x: ArrayViewMut2<'_, f64>) {
        for mut row in x.axis_iter_mut(Axis(0)) {
            ndarray::Zip::from(&mut row)
                .and(&self.mean)
                .and(&self.scale)
                .for_each(|v, &m, &s| *v = (*v - m) / s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn scale_is_the_population_standard_deviation() {
        let s =
            Standardizer::fit(array![[1.0, 10.0], [3.0, 10.0], [5.0, 40.0], [7.0, 40.0]].view());
        assert_eq!(s.mean, array![4.0, 25.0]);
        assert!((s.scale[0] - 5.0f64.sqrt()).abs() < 1e-12);
        assert!((s.scale[1] - 15.0).abs() < 1e-12);
    }

    #[test]
    fn constant_column_gets_scale_one() {
        let s = Standardizer::fit(array![[0.5, 2.0], [0.5, 4.0], [0.5, 6.0]].view());
        assert_eq!(s.scale[0], 1.0);
        let t = s.transform(array![[0.5, 4.0], [1.5, 6.0]].view());
        assert_eq!(t.column(0).to_vec(), [0.0, 1.0]);
    }

    #[test]
    fn transformed_training_columns_have_mean_zero_and_unit_variance() {
        let x = array![[1.0, -3.0], [2.0, 0.5], [4.0, 8.0], [9.0, 1.0], [-2.0, 2.5]];
        let t = Standardizer::fit(x.view()).transform(x.view());
        for col in t.axis_iter(Axis(1)) {
            let m = col.sum() / 5.0;
            let v = col.iter().map(|c| (c - m) * (c - m)).sum::<f64>() / 5.0;
            assert!(m.abs() < 1e-12 && (v - 1.0).abs() < 1e-12, "{m} {v}");
        }
    }

    #[test]
    fn fitting_on_indexed_rows_equals_fitting_on_their_copy() {
        let x = Array2::from_shape_fn((50, 3), |(i, j)| ((i * 7 + j) as f64 * 0.37).sin() * 1e3);
        let rows: Vec<usize> = (0..50).filter(|i| i % 3 != 1).collect();
        let copy = x.select(Axis(0), &rows);
        assert_eq!(
            Standardizer::fit_rows(x.view(), &rows),
            Standardizer::fit(copy.view())
        );
    }

    #[test]
    fn transform_uses_the_training_statistics() {
        let s = Standardizer::fit(array![[0.0], [2.0]].view());
        assert_eq!(s.transform(array![[5.0]].view()), array![[4.0]]);
    }
}
