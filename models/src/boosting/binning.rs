//! Quantile binning of features, as scikit-learn's `_BinMapper`: at most `max_bins` bins per
//! feature, a value `x` in bin `i` iff `thresholds[i − 1] < x <= thresholds[i]`.

use ndarray::ArrayView2;

/// Each feature's bin thresholds, ascending.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bins {
    /// Per feature: the upper edge of every bin but the last.
    pub thresholds: Vec<Vec<f64>>,
}

impl Bins {
    /// Thresholds for each column of `x`: midpoints between distinct values when a column has
    /// at most `max_bins` of them, else the (averaged inverted CDF) percentiles at
    /// 100·i/max_bins, duplicates removed, as scikit-learn computes them.
    pub(crate) fn fit(x: ArrayView2<'_, f64>, max_bins: usize) -> Bins {
        let thresholds = x
            .columns()
            .into_iter()
            .map(|col| {
                let mut v = col.to_vec();
                v.sort_unstable_by(f64::total_cmp);
                column_thresholds(&v, max_bins)
            })
            .collect();
        Bins { thresholds }
    }

    /// Number of bins of feature `f`.
    pub(crate) fn n_bins(&self, f: usize) -> usize {
        self.thresholds[f].len() + 1
    }

    /// `x` binned, feature-major (column `f` at `f·n..(f + 1)·n`).
    pub(crate) fn transform(&self, x: ArrayView2<'_, f64>) -> Vec<u8> {
        let (n, d) = x.dim();
        let mut out = vec![0u8; n * d];
        for (i, row) in x.rows().into_iter().enumerate() {
            for (f, &v) in row.iter().enumerate() {
                // At most 254 thresholds: the bin fits in a byte.
                out[f * n + i] = self.thresholds[f].partition_point(|&t| t < v) as u8;
            }
        }
        out
    }
}

/// The thresholds of one sorted column.
fn column_thresholds(sorted: &[f64], max_bins: usize) -> Vec<f64> {
    let mut distinct = sorted.to_vec();
    distinct.dedup();
    if distinct.len() <= 1 {
        return Vec::new();
    }
    let mut t: Vec<f64> = if distinct.len() <= max_bins {
        distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect()
    } else {
        let n = sorted.len();
        (1..max_bins)
            .map(|i| {
                // numpy's "averaged_inverted_cdf": with h = n·q, the value at rank ⌈h⌉, or the
                // mean of ranks h and h + 1 when h is whole (1-based ranks).
                let q = 100.0 * i as f64 / max_bins as f64 / 100.0;
                let h = n as f64 * q;
                let j = h.floor();
                let at = |r: f64| sorted[(r as usize).min(n - 1)];
                if h - j > 0.0 {
                    at(j)
                } else {
                    (at((j - 1.0).max(0.0)) + at(j)) / 2.0
                }
            })
            .collect()
    };
    t.dedup();
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn few_distinct_values_are_cut_at_their_midpoints() {
        let x = Array2::from_shape_vec((5, 1), vec![3.0, 1.0, 2.0, 1.0, 3.0]).unwrap();
        let bins = Bins::fit(x.view(), 255);
        assert_eq!(bins.thresholds[0], vec![1.5, 2.5]);
        assert_eq!(bins.transform(x.view()), vec![2, 0, 1, 0, 2]);
    }

    #[test]
    fn many_distinct_values_get_quantile_bins_of_equal_size() {
        let x = Array2::from_shape_fn((1000, 1), |(i, _)| i as f64);
        let bins = Bins::fit(x.view(), 10);
        // h = 1000·i/10 is whole: the mean of ranks 100·i and 100·i + 1 (values 100·i − 1, 100·i).
        assert_eq!(
            bins.thresholds[0],
            vec![99.5, 199.5, 299.5, 399.5, 499.5, 599.5, 699.5, 799.5, 899.5]
        );
        let binned = bins.transform(x.view());
        for b in 0..10u8 {
            assert_eq!(binned.iter().filter(|&&v| v == b).count(), 100);
        }
    }

    #[test]
    fn a_constant_feature_has_one_bin() {
        let x = Array2::from_elem((4, 1), 2.0);
        let bins = Bins::fit(x.view(), 255);
        assert_eq!(bins.n_bins(0), 1);
        assert_eq!(bins.transform(x.view()), vec![0; 4]);
    }
}
