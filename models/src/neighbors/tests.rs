use super::*;
use ndarray::array;

/// The same 40 × 2 problem as the SVM tests (three classes; a regression target).
fn problem() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let x = Array2::from_shape_fn((40, 2), |(i, j)| {
        (i as f64 * (j + 1) as f64 * 0.7).sin() + if j == 0 { (i % 3) as f64 * 0.8 } else { 0.0 }
    });
    let y = (0..40).map(|i| (i % 3) as f64).collect();
    let values = (0..40)
        .map(|i| 2.0 * x[[i, 0]] - x[[i, 1]] + 0.1 * (i as f64).cos())
        .collect();
    (x, y, values)
}

fn queries() -> Array2<f64> {
    Array2::from_shape_fn((3, 2), |(i, j)| {
        if j == 0 {
            (i as f64 * 0.9).cos() * 1.5
        } else {
            (i as f64 * 1.3).sin()
        }
    })
}

fn knn(n_neighbors: usize, weights: Weights, metric: DistanceKind, search: Search) -> Knn {
    Knn {
        n_neighbors,
        weights,
        metric,
        search,
        leaf_size: 30,
    }
}

#[test]
fn classifier_matches_scikit_learn_with_distance_weights_and_manhattan() {
    // scikit-learn 1.9.1: KNeighborsClassifier(n_neighbors=4, weights="distance",
    // metric="manhattan") on problem(), predict and predict_proba of queries().
    let want_proba = [
        0.0,
        0.489177223135928,
        0.5108227768640718,
        0.0,
        0.4907179457182046,
        0.5092820542817955,
        1.0,
        0.0,
        0.0,
    ];
    let (x, y, _) = problem();
    for search in [Search::KdTree, Search::BallTree, Search::Brute] {
        let fitted = KnnClassifier(knn(4, Weights::Distance, DistanceKind::Manhattan, search))
            .fit(x.view(), y.view())
            .unwrap();
        let Prediction::Classes {
            class,
            proba: Some(proba),
        } = fitted.predict(queries().view())
        else {
            panic!("no probabilities");
        };
        assert_eq!(class, array![2, 2, 0], "{search:?}");
        for (g, w) in proba.iter().zip(want_proba) {
            assert!((g - w).abs() < 1e-12, "{search:?}: {proba}");
        }
    }
}

#[test]
fn regressor_matches_scikit_learn_with_uniform_weights() {
    // scikit-learn 1.9.1: KNeighborsRegressor(n_neighbors=3) on problem(), predicting queries().
    let want = [2.456430782580744, 1.7446301606940162, 0.008163879643832339];
    let (x, _, values) = problem();
    for search in [Search::KdTree, Search::BallTree, Search::Brute] {
        let fitted = KnnRegressor(knn(3, Weights::Uniform, DistanceKind::Euclidean, search))
            .fit(x.view(), values.view())
            .unwrap();
        let Prediction::Values(got) = fitted.predict(queries().view()) else {
            panic!("classes from a regressor");
        };
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{search:?}: {got}");
        }
    }
}

#[test]
fn with_distance_weights_a_training_point_predicts_its_own_target() {
    let (x, _, values) = problem();
    let fitted = KnnRegressor(knn(
        5,
        Weights::Distance,
        DistanceKind::Chebyshev,
        Search::KdTree,
    ))
    .fit(x.view(), values.view())
    .unwrap();
    let Prediction::Values(got) = fitted.predict(x.slice(ndarray::s![..5, ..])) else {
        panic!("classes from a regressor");
    };
    for (g, w) in got.iter().zip(&values) {
        assert_eq!(g, w);
    }
}

#[test]
fn more_neighbours_than_training_rows_is_refused() {
    let err = KnnClassifier(knn(
        5,
        Weights::Uniform,
        DistanceKind::Euclidean,
        Search::KdTree,
    ))
    .fit(array![[0.0], [1.0]].view(), array![0.0, 1.0].view())
    .err()
    .unwrap();
    assert!(err.to_string().contains("n_neighbors = 5"), "{err}");
}

/// `n` rows of `d` features: small integers (many equal distances and repeated rows) or
/// spread-out values.
fn rows(n: usize, d: usize, ties: bool) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| {
        let t = ((i * 31 + j * 17) as f64 * 0.61).sin();
        if ties { (t * 3.0).round() } else { t * 10.0 }
    })
}

#[test]
fn the_kd_tree_finds_the_first_k_rows_by_distance_then_row() {
    for ties in [true, false] {
        let x = rows(300, 3, ties);
        let queries = rows(40, 3, ties).mapv(|v| v + 0.5 * f64::from(u8::from(!ties)));
        let flat = x.as_slice().unwrap();
        for metric in [
            DistanceKind::Euclidean,
            DistanceKind::Manhattan,
            DistanceKind::Chebyshev,
        ] {
            for (k, leaf_size) in [(1, 1), (5, 30), (7, 4), (300, 10)] {
                let tree = kdtree::KdTree::build(flat, 300, 3, leaf_size, metric);
                let mut found = Vec::new();
                for q in queries.rows() {
                    let q = q.as_slice().unwrap();
                    tree.query(q, k, &mut found);
                    let want = kdtree::KdTree::brute(flat, 3, metric, q, k);
                    assert_eq!(found, want, "{metric:?} k {k} leaf {leaf_size} ties {ties}");
                }
            }
        }
    }
}

#[test]
fn the_kd_tree_finds_the_rows_linfa_nn_finds() {
    let x = rows(500, 4, false);
    let tree = kdtree::KdTree::build(x.as_slice().unwrap(), 500, 4, 8, DistanceKind::Euclidean);
    let linfa = CommonNearestNeighbour::KdTree
        .from_batch_with_leaf_size(&x, 8, L2Dist)
        .unwrap();
    let mut found = Vec::new();
    for q in rows(50, 4, false).mapv(|v| v * 0.9 + 0.3).rows() {
        tree.query(q.as_slice().unwrap(), 6, &mut found);
        let mut ours: Vec<usize> = found.iter().map(|&(r, _)| r).collect();
        let mut theirs: Vec<usize> = linfa
            .k_nearest(q, 6)
            .unwrap()
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs);
        for &(r, dist) in &found {
            assert_eq!(dist, DistanceKind::Euclidean.between(q, x.row(r)));
        }
    }
}

#[test]
fn without_features_every_row_is_at_distance_zero_and_the_first_k_are_found() {
    let tree = kdtree::KdTree::build(&[], 10, 0, 3, DistanceKind::Euclidean);
    let mut found = Vec::new();
    tree.query(&[], 4, &mut found);
    assert_eq!(found, vec![(0, 0.0), (1, 0.0), (2, 0.0), (3, 0.0)]);
}
