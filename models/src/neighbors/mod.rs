//! k-nearest neighbours for classification (`knn_classifier`) and regression
//! (`knn_regressor`), as scikit-learn's `KNeighborsClassifier` and `KNeighborsRegressor`,
//! with our k-d tree (`kdtree.rs`, checked against linfa-nn's) or linfa-nn's ball tree or linear
//! scan as the search structure.
//!
//! Fitting keeps the training rows. The search structure is built at prediction time from the
//! fitted model's own rows (O(n log n), small next to the queries; linfa-nn's index borrows the
//! rows it indexes). Probabilities are the neighbours' (weighted) class shares, as scikit-learn's
//! `predict_proba`; the predicted class is the largest share, ties to the lowest class index.

use linfa_nn::distance::{L1Dist, L2Dist, LInfDist};
use linfa_nn::{CommonNearestNeighbour, NearestNeighbour, NearestNeighbourIndex};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::classes::{argmax, check_rows, class_indices};
use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};

mod kdtree;

use kdtree::KdTree;

/// How neighbours are weighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    /// Every neighbour counts the same.
    Uniform,
    /// By the inverse of its distance; neighbours at distance 0, if any, count alone.
    Distance,
}

/// The distance between rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistanceKind {
    /// L2.
    Euclidean,
    /// L1.
    Manhattan,
    /// L∞.
    Chebyshev,
}

/// The search structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    /// A k-d tree.
    KdTree,
    /// A ball tree.
    BallTree,
    /// A linear scan of every row.
    Brute,
}

/// k-NN hyperparameters shared by the classifier and the regressor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Knn {
    /// Neighbours consulted.
    pub n_neighbors: usize,
    /// How they are weighted.
    pub weights: Weights,
    /// The distance.
    pub metric: DistanceKind,
    /// The search structure.
    pub search: Search,
    /// Rows per leaf of the trees.
    pub leaf_size: usize,
}

/// k-NN classifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnnClassifier(pub Knn);

/// k-NN regressor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnnRegressor(pub Knn);

/// Fitted k-NN: the training rows and their targets.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FittedKnn {
    knn: Knn,
    x: Array2<f64>,
    /// Class indices (classifier) or values (regressor).
    y: Array1<f64>,
    /// Classes, for a classifier; `None` for a regressor.
    n_classes: Option<usize>,
}

impl DistanceKind {
    /// The distance between two rows.
    fn between(self, a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
        let diffs = a.iter().zip(b).map(|(x, y)| (x - y).abs());
        match self {
            DistanceKind::Euclidean => diffs.map(|d| d * d).sum::<f64>().sqrt(),
            DistanceKind::Manhattan => diffs.sum(),
            DistanceKind::Chebyshev => diffs.fold(0.0, f64::max),
        }
    }
}

impl Knn {
    /// Keep the training rows, refusing fewer rows than neighbours.
    fn fit(
        &self,
        model: &str,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        n_classes: Option<usize>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        check_rows(model, x.nrows(), y.len())?;
        if self.n_neighbors > x.nrows() {
            return Err(ModelError::Fit(format!(
                "{model}: n_neighbors = {} but the training rows are only {}",
                self.n_neighbors,
                x.nrows()
            )));
        }
        Ok(Box::new(FittedKnn {
            knn: *self,
            x: x.as_standard_layout().into_owned(),
            y: y.to_owned(),
            n_classes,
        }))
    }
}

impl Estimator for KnnClassifier {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        let (_, n_classes) = class_indices(y, "knn_classifier")?;
        self.0.fit("knn_classifier", x, y, Some(n_classes))
    }
}

impl Estimator for KnnRegressor {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        self.0.fit("knn_regressor", x, y, None)
    }
}

impl FittedKnn {
    /// Feature columns it takes.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// Whether a model read back from a file can predict: a target per training row, at least
    /// `n_neighbors` rows, finite numbers, class indices below the class count.
    pub fn check(&self) -> Result<(), String> {
        let n = self.x.nrows();
        if self.y.len() != n {
            return Err(format!(
                "knn: {n} training rows but {} targets",
                self.y.len()
            ));
        }
        if self.knn.n_neighbors == 0 || self.knn.n_neighbors > n || self.knn.leaf_size == 0 {
            return Err(format!(
                "knn: n_neighbors = {} and leaf_size = {} with {n} training rows",
                self.knn.n_neighbors, self.knn.leaf_size
            ));
        }
        if self.x.iter().chain(&self.y).any(|v| !v.is_finite()) {
            return Err("knn: a training value is not a finite number".into());
        }
        if let Some(k) = self.n_classes
            && self
                .y
                .iter()
                .any(|&c| c < 0.0 || c.fract() != 0.0 || c as usize >= k)
        {
            return Err(format!(
                "knn: a training target is not a class index below {k}"
            ));
        }
        Ok(())
    }

    /// linfa-nn's index over the training rows.
    fn index(
        &self,
    ) -> Result<Box<dyn NearestNeighbourIndex<f64> + Send + Sync + '_>, linfa_nn::BuildError> {
        let algo = match self.knn.search {
            Search::KdTree => CommonNearestNeighbour::KdTree,
            Search::BallTree => CommonNearestNeighbour::BallTree,
            Search::Brute => CommonNearestNeighbour::LinearSearch,
        };
        let leaf = self.knn.leaf_size;
        match self.knn.metric {
            DistanceKind::Euclidean => algo.from_batch_with_leaf_size(&self.x, leaf, L2Dist),
            DistanceKind::Manhattan => algo.from_batch_with_leaf_size(&self.x, leaf, L1Dist),
            DistanceKind::Chebyshev => algo.from_batch_with_leaf_size(&self.x, leaf, LInfDist),
        }
    }

    /// Each query row's neighbours: (training row, distance), nearest first.
    fn search(&self, x: ArrayView2<'_, f64>) -> Result<Vec<Vec<(usize, f64)>>, String> {
        let d = self.x.ncols();
        if x.ncols() != d {
            return Err(format!(
                "trained on {d} features, asked about {}",
                x.ncols()
            ));
        }
        // Both searches need contiguous rows.
        let x = x.as_standard_layout();
        let k = self.knn.n_neighbors;
        if self.knn.search == Search::KdTree {
            let train = self.x.as_standard_layout();
            let flat = train.as_slice().ok_or("training rows not contiguous")?;
            let tree = KdTree::build(flat, self.x.nrows(), d, self.knn.leaf_size, self.knn.metric);
            return x
                .rows()
                .into_iter()
                .map(|row| {
                    let q = row.to_slice().ok_or("query row not contiguous")?;
                    let mut found = Vec::with_capacity(k);
                    tree.query(q, k, &mut found);
                    Ok(found)
                })
                .collect();
        }
        let index = self.index().map_err(|e| e.to_string())?;
        x.rows()
            .into_iter()
            .map(|row| {
                let found = index.k_nearest(row, k).map_err(|e| e.to_string())?;
                Ok(found
                    .into_iter()
                    .map(|(_, i)| (i, self.knn.metric.between(row, self.x.row(i))))
                    .collect())
            })
            .collect()
    }

    /// Each query row's neighbours: (training row, weight), or the error that stopped the search.
    fn neighbours(&self, x: ArrayView2<'_, f64>) -> Result<Vec<Vec<(usize, f64)>>, String> {
        let mut all = self.search(x)?;
        for near in &mut all {
            if self.knn.weights == Weights::Distance {
                // As scikit-learn: a query on a training point takes only the points at 0.
                let exact = near.iter().any(|&(_, d)| d == 0.0);
                for (_, d) in near.iter_mut() {
                    *d = match (exact, *d == 0.0) {
                        (true, true) => 1.0,
                        (true, false) => 0.0,
                        (false, _) => 1.0 / *d,
                    };
                }
            } else {
                near.iter_mut().for_each(|(_, w)| *w = 1.0);
            }
        }
        Ok(all)
    }
}

impl Fitted for FittedKnn {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        // The index is built on rows checked at fit and queried with rows of the same width:
        // a failure here means a caller passed rows of another width, a programming error.
        let near = match self.neighbours(x) {
            Ok(n) => n,
            Err(e) => panic!("k-NN search failed: {e}"),
        };
        match self.n_classes {
            Some(k) => {
                let mut proba = Array2::zeros((x.nrows(), k));
                for (mut p, row) in proba.rows_mut().into_iter().zip(&near) {
                    for &(i, w) in row {
                        p[self.y[i] as usize] += w;
                    }
                    let total = p.sum();
                    p.mapv_inplace(|v| v / total);
                }
                let class = proba
                    .rows()
                    .into_iter()
                    .map(|r| argmax(r.iter().copied()))
                    .collect();
                Prediction::Classes {
                    class,
                    proba: Some(proba),
                }
            }
            None => Prediction::Values(
                near.iter()
                    .map(|row| {
                        let total: f64 = row.iter().map(|&(_, w)| w).sum();
                        row.iter().map(|&(i, w)| w * self.y[i]).sum::<f64>() / total
                    })
                    .collect(),
            ),
        }
    }

    fn to_saved(&self) -> crate::saved::SavedModel {
        crate::saved::SavedModel::Knn(self.clone())
    }
}

#[cfg(test)]
mod tests;
