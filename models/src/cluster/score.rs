//! Scores of a clustering of rows: inertia and the silhouette coefficient.

use ndarray::{ArrayView1, ArrayView2};

use crate::error::ModelError;

/// The sum of the squared distances to the assigned centroids.
pub(crate) fn inertia(sq_dist: ArrayView1<'_, f64>) -> f64 {
    sq_dist.sum()
}

/// The mean silhouette coefficient of rows `x` in clusters `labels`, as scikit-learn's
/// `silhouette_score` with the Euclidean distance: for each row, a = mean distance to the other
/// rows of its cluster, b = the smallest mean distance to the rows of another cluster, and
/// s = (b − a)/max(a, b), 0 for a row alone in its cluster. Defined only for 2 to n − 1
/// distinct clusters, as in scikit-learn. O(n²) distances.
pub(crate) fn silhouette(
    x: ArrayView2<'_, f64>,
    labels: ArrayView1<'_, usize>,
) -> Result<f64, ModelError> {
    let n = x.nrows();
    let k = labels.iter().max().map_or(0, |&m| m + 1);
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&c| sizes[c] += 1);
    let distinct = sizes.iter().filter(|&&s| s > 0).count();
    if distinct < 2 || distinct >= n {
        return Err(ModelError::Data(format!(
            "silhouette needs 2 to {} distinct clusters among the {n} rows scored, found {distinct}",
            n.saturating_sub(1)
        )));
    }
    let mut total = 0.0;
    let mut sums = vec![0.0; k];
    for i in 0..n {
        sums.iter_mut().for_each(|s| *s = 0.0);
        let xi = x.row(i);
        for j in 0..n {
            let d: f64 = xi
                .iter()
                .zip(x.row(j))
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            sums[labels[j]] += d.sqrt();
        }
        let own = labels[i];
        if sizes[own] > 1 {
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            if m > 0.0 {
                total += (b - a) / m;
            }
        }
    }
    Ok(total / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn silhouette_matches_scikit_learn() {
        // scikit-learn 1.9.1: silhouette_score(X, [0, 0, 1, 1, 1, 2]) with
        // X = [[0, 0], [0, 1], [4, 4], [5, 4], [4, 6], [9, 0]].
        let x = array![
            [0.0, 0.0],
            [0.0, 1.0],
            [4.0, 4.0],
            [5.0, 4.0],
            [4.0, 6.0],
            [9.0, 0.0]
        ];
        let got = silhouette(x.view(), array![0, 0, 1, 1, 1, 2].view()).unwrap();
        assert!((got - SILHOUETTE).abs() < 1e-12, "{got}");
    }

    const SILHOUETTE: f64 = 0.6319271380927388;

    #[test]
    fn one_cluster_has_no_silhouette() {
        let x = array![[0.0], [1.0], [2.0]];
        assert!(silhouette(x.view(), array![0, 0, 0].view()).is_err());
    }
}
