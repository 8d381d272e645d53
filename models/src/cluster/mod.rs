//! Clustering: k-means (`kmeans`, fitted by linfa-clustering) and the scores of a clustering.
//!
//! A clustering study ignores the target column. Cross-validation fits the centroids on the
//! training rows and scores how the held-out rows fall into them: `inertia`, the sum of squared
//! distances from each held-out row to its nearest centroid (scikit-learn's `-KMeans.score`),
//! or `silhouette`, the mean silhouette coefficient of the held-out rows under their assigned
//! clusters (scikit-learn's `silhouette_score`).

mod score;

pub(crate) use score::{inertia, silhouette};

use linfa::prelude::{Fit, Predict};
use linfa_clustering::{KMeans as LinfaKMeans, KMeansInit};
use linfa_nn::distance::L2Dist;
use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};

/// How the first centroids are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Init {
    /// k-means++: spread out, each drawn with probability proportional to squared distance.
    PlusPlus,
    /// k distinct training rows drawn at random.
    Random,
}

/// k-means (Lloyd's algorithm) with restarts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KMeans {
    /// Clusters k.
    pub n_clusters: usize,
    /// Restarts from new initial centroids; the lowest training inertia wins.
    pub n_init: usize,
    /// Lloyd iterations allowed per restart.
    pub max_iter: u64,
    /// A restart stops when the centroids move less than this (Euclidean norm of the change).
    pub tol: f64,
    /// How the first centroids are chosen.
    pub init: Init,
    /// Seeds the initial centroids.
    pub seed: u64,
}

/// Fitted k-means: the centroids.
struct FittedKMeans {
    model: LinfaKMeans<f64, L2Dist>,
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
        let init = match self.init {
            Init::PlusPlus => KMeansInit::KMeansPlusPlus,
            Init::Random => KMeansInit::Random,
        };
        let model = LinfaKMeans::params_with(
            self.n_clusters,
            ChaCha8Rng::seed_from_u64(self.seed),
            L2Dist,
        )
        .n_runs(self.n_init)
        .max_n_iterations(self.max_iter)
        .tolerance(self.tol)
        .init_method(init)
        .fit(&linfa::DatasetBase::from(x))
        .map_err(|e| ModelError::Fit(format!("kmeans: {e}")))?;
        Ok(Box::new(FittedKMeans { model }))
    }
}

impl Fitted for FittedKMeans {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let cluster = self.model.predict(&x);
        let centroids: &Array2<f64> = self.model.centroids();
        let sq_dist = cluster
            .iter()
            .zip(x.rows())
            .map(|(&c, row)| {
                row.iter()
                    .zip(centroids.row(c))
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum()
            })
            .collect();
        Prediction::Clusters { cluster, sq_dist }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};

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
    fn more_clusters_than_rows_is_refused() {
        let err = kmeans(5, 0)
            .fit(array![[0.0], [1.0]].view(), array![0.0, 0.0].view())
            .err()
            .unwrap();
        assert!(err.to_string().contains("n_clusters = 5"), "{err}");
    }
}
