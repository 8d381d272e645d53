//! Preprocessing fitted on training rows only: the standardization that cross-validation fuses
//! into its models, and the configurable pipeline (imputation, scaling, one-hot encoding, PCA).

mod pipeline;

pub use pipeline::{Column, FittedPipeline, Imputation, Impute, Preprocess, Scale, Unknown};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};

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
        Standardizer::fit_iter(x.ncols(), x.nrows(), || x.axis_iter(Axis(0)))
    }

    /// As [`Standardizer::fit`] on `x.select(Axis(0), rows)`, without copying the rows: the same
    /// sums in the same order, so the same result to the bit.
    pub fn fit_rows(x: ArrayView2<'_, f64>, rows: &[usize]) -> Standardizer {
        // Rows in shuffled order are cache misses: each is prefetched a few rows ahead.
        Standardizer::fit_iter(x.ncols(), rows.len(), || {
            rows.iter().enumerate().map(move |(i, &r)| {
                if let Some(&ahead) = rows.get(i + AHEAD) {
                    prefetch_row(x, ahead);
                }
                row_of(x, r)
            })
        })
    }

    /// Fit on the `n` rows of `p` columns that `rows()` walks (twice).
    fn fit_iter<'a, I: Iterator<Item = ArrayView1<'a, f64>>>(
        p: usize,
        n: usize,
        rows: impl Fn() -> I,
    ) -> Standardizer {
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

    /// (row − mean) / scale written into `out` (as [`Standardizer::transform_in_place`] computes it).
    pub fn transform_row(&self, row: ArrayView1<'_, f64>, out: &mut [f64]) {
        let each = out
            .iter_mut()
            .zip(row.iter())
            .zip(self.mean.iter().zip(self.scale.iter()));
        for ((o, &v), (&m, &s)) in each {
            *o = (v - m) / s;
        }
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

/// How many rows ahead a gather over shuffled rows prefetches (as the SGD loop does).
const AHEAD: usize = 8;

/// Row `r` of `x`, borrowing the data for as long as `x` does (not just the call).
fn row_of<'a>(x: ArrayView2<'a, f64>, r: usize) -> ArrayView1<'a, f64> {
    x.index_axis_move(Axis(0), r)
}

/// Ask for row `r` of `x` in cache (a hint; nothing if `r` is out of range).
fn prefetch_row(x: ArrayView2<'_, f64>, r: usize) {
    if r < x.nrows() {
        let row = x.row(r);
        let mut j = 0;
        while j < row.len() {
            crate::sgd::kernels::prefetch(&row[j]);
            j += 8;
        }
    }
}

/// Copy rows `rows` of `x` and `y`, in that order, into `x_out` (row-major) and `y_out`,
/// standardized by `scaler` when given: the gather that builds a shuffled training split in place.
pub fn gather_rows(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    rows: &[usize],
    scaler: Option<&Standardizer>,
    x_out: &mut [f64],
    y_out: &mut [f64],
) {
    let d = x.ncols().max(1);
    let outs = x_out.chunks_exact_mut(d).zip(y_out.iter_mut());
    for (i, (&r, (out, y_out))) in rows.iter().zip(outs).enumerate() {
        if let Some(&ahead) = rows.get(i + AHEAD) {
            prefetch_row(x, ahead);
        }
        let row = x.row(r);
        match scaler {
            Some(s) => s.transform_row(row, out),
            None => out.iter_mut().zip(row.iter()).for_each(|(o, &v)| *o = v),
        }
        *y_out = y[r];
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
    fn fit_rows_and_transform_row_match_fit_and_transform_of_the_selected_rows() {
        let x = array![
            [1.0, 10.0],
            [3.0, 11.0],
            [5.0, 40.0],
            [7.5, 41.0],
            [0.1, 3.0]
        ];
        let rows = [3, 0, 4];
        let picked = x.select(Axis(0), &rows);
        let a = Standardizer::fit(picked.view());
        let b = Standardizer::fit_rows(x.view(), &rows);
        assert_eq!((&a.mean, &a.scale), (&b.mean, &b.scale));
        let expected = a.transform(picked.view());
        for (i, &r) in rows.iter().enumerate() {
            let mut out = [0.0; 2];
            b.transform_row(x.row(r), &mut out);
            assert_eq!(out.to_vec(), expected.row(i).to_vec());
        }
    }

    #[test]
    fn gather_rows_copies_the_rows_in_order_standardized() {
        let x = array![[1.0, 10.0], [3.0, 11.0], [5.0, 40.0]];
        let y = array![0.0, 1.0, 2.0];
        let s = Standardizer::fit(x.view());
        let (mut xs, mut ys) = ([0.0; 4], [0.0; 2]);
        gather_rows(x.view(), y.view(), &[2, 0], Some(&s), &mut xs, &mut ys);
        let expected = s.transform(x.select(Axis(0), &[2, 0]).view());
        assert_eq!(xs.to_vec(), expected.iter().copied().collect::<Vec<_>>());
        assert_eq!(ys, [2.0, 0.0]);
        gather_rows(x.view(), y.view(), &[1], None, &mut xs[..2], &mut ys[..1]);
        assert_eq!((xs[..2].to_vec(), ys[0]), (vec![3.0, 11.0], 1.0));
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
