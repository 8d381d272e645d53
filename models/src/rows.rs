//! A fold's rows without a copy: the whole dataset, the indices of the rows, and the
//! standardization to apply to them on the fly.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::estimator::{Fitted, Prediction};
use crate::preprocess::Standardizer;

/// Rows of a dataset chosen by index, read in place and optionally standardized as they are
/// read: what a model is fitted on or scored on in cross-validation.
#[derive(Debug, Clone, Copy)]
pub struct RowSet<'a> {
    /// The whole feature matrix (rows × columns).
    pub x: ArrayView2<'a, f64>,
    /// The whole target vector.
    pub y: ArrayView1<'a, f64>,
    /// The rows of this set, in order (indices into `x` and `y`).
    pub rows: &'a [usize],
    /// (x − mean) / scale applied to every value read, if set.
    pub scaler: Option<&'a Standardizer>,
}

impl<'a> RowSet<'a> {
    /// Every row of `x` and `y`, as they are.
    pub fn all(x: ArrayView2<'a, f64>, y: ArrayView1<'a, f64>, rows: &'a [usize]) -> RowSet<'a> {
        RowSet {
            x,
            y,
            rows,
            scaler: None,
        }
    }

    /// The same set, borrowed for a shorter time.
    pub fn reborrow(&self) -> RowSet<'_> {
        RowSet {
            x: self.x.reborrow(),
            y: self.y.reborrow(),
            rows: self.rows,
            scaler: self.scaler,
        }
    }

    /// Number of rows in the set.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the set has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// The first `n` rows of the set (all of them if there are fewer).
    pub fn head(&self, n: usize) -> RowSet<'a> {
        RowSet {
            rows: &self.rows[..n.min(self.rows.len())],
            ..*self
        }
    }

    /// The rows `range` of the set.
    pub fn slice(&self, range: std::ops::Range<usize>) -> RowSet<'a> {
        RowSet {
            rows: &self.rows[range],
            ..*self
        }
    }

    /// Write row `i` of the set (transformed) into `out` (`n_features` long).
    #[inline]
    pub fn fill_row(&self, i: usize, out: &mut [f64]) {
        let row = self.x.row(self.rows[i]);
        match (self.scaler, row.as_slice()) {
            (Some(s), _) => {
                for (((o, &v), &m), &sc) in out.iter_mut().zip(&row).zip(&s.mean).zip(&s.scale) {
                    *o = (v - m) / sc;
                }
            }
            (None, Some(r)) => out.copy_from_slice(r),
            (None, None) => out.iter_mut().zip(&row).for_each(|(o, &v)| *o = v),
        }
    }

    /// The set's features (transformed) as a new row-major matrix: a copy, for models that
    /// need their rows contiguous.
    pub fn gather_x(&self) -> Array2<f64> {
        let p = self.n_features();
        let mut out = Array2::zeros((self.len(), p));
        if let Some(flat) = out.as_slice_mut() {
            for (i, chunk) in flat.chunks_exact_mut(p.max(1)).enumerate().take(self.len()) {
                self.fill_row(i, chunk);
            }
        }
        out
    }

    /// The set's targets, in order.
    pub fn gather_y(&self) -> Array1<f64> {
        self.rows.iter().map(|&r| self.y[r]).collect()
    }
}

/// Rows predicted per chunk in [`predict_rows`]: small enough that a chunk's copy stays in cache.
const PREDICT_CHUNK: usize = 4096;

/// `fitted`'s prediction for the rows of `set`, computed chunk by chunk so that no copy of the
/// whole set is made (every model predicts each row on its own).
pub fn predict_rows(fitted: &dyn Fitted, set: RowSet<'_>) -> Prediction {
    if set.len() <= PREDICT_CHUNK {
        return fitted.predict(set.gather_x().view());
    }
    let mut parts = Vec::with_capacity(set.len().div_ceil(PREDICT_CHUNK));
    let mut start = 0;
    while start < set.len() {
        let end = (start + PREDICT_CHUNK).min(set.len());
        parts.push(fitted.predict(set.slice(start..end).gather_x().view()));
        start = end;
    }
    concat(parts)
}

/// Predictions of consecutive chunks of rows joined into one.
fn concat(parts: Vec<Prediction>) -> Prediction {
    match parts.first() {
        Some(Prediction::Values(_)) => {
            let values: Vec<f64> = parts
                .iter()
                .flat_map(|p| match p {
                    Prediction::Values(v) => v.to_vec(),
                    Prediction::Classes { .. } | Prediction::Clusters { .. } => Vec::new(),
                })
                .collect();
            Prediction::Values(Array1::from(values))
        }
        Some(Prediction::Classes { proba, .. }) => {
            let with_proba = proba.is_some();
            let mut class = Vec::new();
            let mut probas: Vec<Array2<f64>> = Vec::new();
            for p in parts {
                if let Prediction::Classes { class: c, proba } = p {
                    class.extend(c);
                    if let Some(pr) = proba {
                        probas.push(pr);
                    }
                }
            }
            let views: Vec<ArrayView2<'_, f64>> = probas.iter().map(|a| a.view()).collect();
            let proba = if with_proba {
                ndarray::concatenate(ndarray::Axis(0), &views).ok()
            } else {
                None
            };
            Prediction::Classes {
                class: Array1::from(class),
                proba,
            }
        }
        Some(Prediction::Clusters { .. }) => {
            let (mut cluster, mut sq_dist) = (Vec::new(), Vec::new());
            for p in parts {
                if let Prediction::Clusters {
                    cluster: c,
                    sq_dist: d,
                } = p
                {
                    cluster.extend(c);
                    sq_dist.extend(d);
                }
            }
            Prediction::Clusters {
                cluster: Array1::from(cluster),
                sq_dist: Array1::from(sq_dist),
            }
        }
        None => Prediction::Values(Array1::zeros(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn gathered_rows_are_the_indexed_rows_standardized() {
        let x = array![[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]];
        let y = array![0.0, 1.0, 2.0, 3.0];
        let scaler = Standardizer {
            mean: array![1.0, 10.0],
            scale: array![2.0, 10.0],
        };
        let rows = [3, 1];
        let set = RowSet {
            scaler: Some(&scaler),
            ..RowSet::all(x.view(), y.view(), &rows)
        };
        assert_eq!(set.gather_x(), array![[1.5, 3.0], [0.5, 1.0]]);
        assert_eq!(set.gather_y(), array![3.0, 1.0]);
        assert_eq!(set.head(1).gather_y(), array![3.0]);
    }

    struct RowSum;

    impl Fitted for RowSum {
        fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
            Prediction::Classes {
                class: x.rows().into_iter().map(|r| r.sum() as usize).collect(),
                proba: Some(x.to_owned()),
            }
        }

        fn to_saved(&self) -> crate::saved::SavedModel {
            unreachable!("the test model is never saved")
        }
    }

    #[test]
    fn chunked_prediction_equals_one_prediction_of_all_rows() {
        let n = PREDICT_CHUNK * 2 + 17;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| (i * (j + 1)) as f64);
        let y = Array1::zeros(n);
        let rows: Vec<usize> = (0..n).rev().collect();
        let set = RowSet::all(x.view(), y.view(), &rows);
        let whole = RowSum.predict(set.gather_x().view());
        let (
            Prediction::Classes {
                class: a,
                proba: pa,
            },
            Prediction::Classes {
                class: b,
                proba: pb,
            },
        ) = (whole, predict_rows(&RowSum, set))
        else {
            panic!("classes expected");
        };
        assert_eq!(a, b);
        assert_eq!(pa, pb);
    }

    struct RowCluster;

    impl Fitted for RowCluster {
        fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
            Prediction::Clusters {
                cluster: x.rows().into_iter().map(|r| r[0] as usize % 5).collect(),
                sq_dist: x.column(1).to_owned(),
            }
        }

        fn to_saved(&self) -> crate::saved::SavedModel {
            unreachable!("the test model is never saved")
        }
    }

    #[test]
    fn chunked_clusters_equal_one_assignment_of_all_rows() {
        let n = PREDICT_CHUNK + 9;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| (i * (j + 2)) as f64);
        let y = Array1::zeros(n);
        let rows: Vec<usize> = (0..n).rev().collect();
        let set = RowSet::all(x.view(), y.view(), &rows);
        let whole = RowCluster.predict(set.gather_x().view());
        let (
            Prediction::Clusters {
                cluster: a,
                sq_dist: da,
            },
            Prediction::Clusters {
                cluster: b,
                sq_dist: db,
            },
        ) = (whole, predict_rows(&RowCluster, set))
        else {
            panic!("clusters expected");
        };
        assert_eq!(a, b);
        assert_eq!(da, db);
    }
}
