//! Clustering: k-means (`kmeans`, our own, checked against linfa-clustering) and the scores of
//! a clustering.
//!
//! A clustering study ignores the target column. Cross-validation fits the centroids on the
//! training rows and scores how the held-out rows fall into them: `inertia`, the sum of squared
//! distances from each held-out row to its nearest centroid (scikit-learn's `-KMeans.score`),
//! or `silhouette`, the mean silhouette coefficient of the held-out rows under their assigned
//! clusters (scikit-learn's `silhouette_score`).

mod kmeans;
mod score;

pub(crate) use kmeans::Init;
pub(crate) use score::{inertia, silhouette};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};

/// k-means (Lloyd's algorithm) with restarts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KMeans {
    /// Clusters k.
    pub n_clusters: usize,
    /// Restarts from new initial centroids; the lowest training inertia wins.
    pub n_init: usize,
    /// Lloyd iterations allowed per restart.
    pub max_iter: usize,
    /// A restart stops when the centroids move, in total squared distance, at most tol × the
    /// mean feature variance (scikit-learn's rule).
    pub tol: f64,
    /// How the first centroids are chosen.
    pub init: Init,
    /// Seeds the initial centroids.
    pub seed: u64,
}

/// Fitted k-means (also its saved form): the centroids.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FittedKMeans {
    /// One centroid per row.
    centres: Array2<f64>,
}

impl FittedKMeans {
    /// Feature columns it takes.
    pub fn n_features(&self) -> usize {
        self.centres.ncols()
    }

    /// Whether centroids read back from a file can assign rows: at least one, finite.
    pub fn check(&self) -> Result<(), String> {
        if self.centres.nrows() == 0 {
            return Err("kmeans: no centroids".into());
        }
        if self.centres.iter().any(|v| !v.is_finite()) {
            return Err("kmeans: a centroid coordinate is not a finite number".into());
        }
        Ok(())
    }
}

impl Estimator for KMeans {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        _y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        if self.n_clusters > x.nrows() {
            return Err(ModelError::Fit(format!(
                "kmeans: n_clusters = {} but the training rows are only {}",
                self.n_clusters,
                x.nrows()
            )));
        }
        let fitted = kmeans::fit(
            x,
            self.n_clusters,
            self.n_init,
            self.max_iter,
            self.tol,
            self.init,
            self.seed,
        );
        if !fitted.inertia.is_finite() {
            return Err(ModelError::Fit("kmeans: the fit diverged".into()));
        }
        Ok(Box::new(FittedKMeans {
            centres: fitted.centres,
        }))
    }
}

impl Fitted for FittedKMeans {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let (cluster, sq_dist) = kmeans::assign(x, &self.centres);
        Prediction::Clusters {
            cluster: Array1::from(cluster),
            sq_dist: Array1::from(sq_dist),
        }
    }

    fn to_saved(&self) -> crate::saved::SavedModel {
        crate::saved::SavedModel::KMeans(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::{Fit, Predict};
    use ndarray::array;

    /// Three well-separated blobs of 20 rows.
    fn blobs() -> Array2<f64> {
        Array2::from_shape_fn((60, 2), |(i, j)| {
            let centre = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]][i / 20][j];
            centre + ((i * (j + 3)) as f64 * 0.77).sin()
        })
    }

    fn kmeans(k: usize, seed: u64) -> KMeans {
        KMeans {
            n_clusters: k,
            n_init: 3,
            max_iter: 300,
            tol: 1e-4,
            init: Init::PlusPlus,
            seed,
        }
    }

    #[test]
    fn finds_separated_blobs() {
        let x = blobs();
        let fitted = kmeans(3, 1)
            .fit(x.view(), Array1::zeros(60).view())
            .unwrap();
        let Prediction::Clusters { cluster, sq_dist } = fitted.predict(x.view()) else {
            panic!("not a clustering");
        };
        for blob in 0..3 {
            let c = cluster[blob * 20];
            assert!(
                cluster
                    .slice(ndarray::s![blob * 20..blob * 20 + 20])
                    .iter()
                    .all(|&v| v == c)
            );
        }
        assert!(sq_dist.iter().all(|&d| d < 4.0), "{sq_dist}");
        assert!(silhouette(x.view(), cluster.view()).unwrap() > 0.8);
    }

    #[test]
    fn the_same_seed_gives_the_same_centroids() {
        let x = blobs();
        let fit = |seed| {
            let f = kmeans(4, seed)
                .fit(x.view(), Array1::zeros(60).view())
                .unwrap();
            match f.predict(x.view()) {
                Prediction::Clusters { sq_dist, .. } => sq_dist,
                _ => panic!("not a clustering"),
            }
        };
        assert_eq!(fit(7), fit(7));
    }

    #[test]
    fn finds_the_same_centroids_as_linfa_clustering() {
        let x = blobs();
        let ours = kmeans::fit(x.view(), 3, 3, 300, 1e-8, Init::PlusPlus, 4);
        let theirs = linfa_clustering::KMeans::params_with_rng(
            3,
            <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(4),
        )
        .n_runs(3)
        .tolerance(1e-10)
        .fit(&linfa::DatasetBase::from(x.view()))
        .unwrap();
        let theirs_labels = theirs.predict(&x);
        // The same partition (cluster numbers may differ) and the same centres.
        let (ours_labels, _) = kmeans::assign(x.view(), &ours.centres);
        for i in 0..60 {
            let ours_c = ours_labels[i];
            let theirs_c = theirs_labels[i];
            let d: f64 = ours
                .centres
                .row(ours_c)
                .iter()
                .zip(theirs.centroids().row(theirs_c))
                .map(|(a, b)| (a - b).abs())
                .sum();
            assert!(d < 1e-9, "row {i}: centres differ by {d}");
        }
    }

    #[test]
    fn matches_scikit_learn_inertia_on_blobs() {
        // scikit-learn 1.9.1: KMeans(3, n_init=3, random_state=0).fit(blobs()).inertia_
        let x = blobs();
        let ours = kmeans::fit(x.view(), 3, 3, 300, 1e-4, Init::PlusPlus, 0);
        assert!(
            (ours.inertia - BLOBS_INERTIA).abs() < 1e-6,
            "{}",
            ours.inertia
        );
    }

    const BLOBS_INERTIA: f64 = 56.21778300051771;

    #[test]
    fn more_clusters_than_rows_is_refused() {
        let err = kmeans(5, 0)
            .fit(array![[0.0], [1.0]].view(), array![0.0, 0.0].view())
            .err()
            .unwrap();
        assert!(err.to_string().contains("n_clusters = 5"), "{err}");
    }
}
