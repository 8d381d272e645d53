use ndarray::{Array1, Array2, s};

use super::*;

fn spec(extra: bool) -> ForestSpec {
    ForestSpec {
        n_estimators: 20,
        max_depth: None,
        min_samples_split: 2,
        min_samples_leaf: 1,
        min_impurity_decrease: 0.0,
        entropy: false,
        max_features: MaxFeatures::Sqrt,
        bootstrap: !extra,
        max_samples: 1.0,
        oob_score: false,
        extra,
        seed: 7,
    }
}

/// Train `spec` on `x`, `y` for all its trees; the learner.
fn train(
    spec: &ForestSpec,
    x: &Array2<f64>,
    y: &Array1<f64>,
    n_classes: usize,
) -> Box<dyn Learner> {
    let mut learner = spec.start(x.view(), y.view(), n_classes).unwrap();
    for _ in 0..spec.n_estimators {
        learner.epoch(x.view(), y.view()).unwrap();
    }
    learner
}

fn proba(p: Prediction) -> Array2<f64> {
    match p {
        Prediction::Classes { proba: Some(p), .. } => p,
        other => panic!("expected probabilities, got {other:?}"),
    }
}

fn values(p: Prediction) -> Array1<f64> {
    match p {
        Prediction::Values(v) => v,
        other => panic!("expected values, got {other:?}"),
    }
}

fn accuracy(p: Prediction, y: ndarray::ArrayView1<'_, f64>) -> f64 {
    match p {
        Prediction::Classes { class, .. } => {
            class
                .iter()
                .zip(y)
                .filter(|(c, t)| **c as f64 == **t)
                .count() as f64
                / y.len() as f64
        }
        Prediction::Values(_) | Prediction::Clusters { .. } => panic!("expected classes"),
    }
}

fn r2(pred: &Array1<f64>, y: ndarray::ArrayView1<'_, f64>) -> f64 {
    let mean = y.mean().unwrap();
    let res: f64 = pred.iter().zip(y).map(|(p, t)| (t - p).powi(2)).sum();
    let tot: f64 = y.iter().map(|t| (t - mean).powi(2)).sum();
    1.0 - res / tot
}

#[test]
fn max_features_resolves_as_in_scikit_learn() {
    assert_eq!(MaxFeatures::Sqrt.resolve(30), 5);
    assert_eq!(MaxFeatures::Log2.resolve(30), 4);
    assert_eq!(MaxFeatures::All.resolve(30), 30);
    assert_eq!(MaxFeatures::Fraction(0.5).resolve(30), 15);
    assert_eq!(MaxFeatures::Fraction(0.01).resolve(30), 1);
    assert_eq!(MaxFeatures::Count(100).resolve(30), 30);
    assert_eq!(MaxFeatures::Log2.resolve(1), 1);
}

#[test]
fn the_same_seed_grows_the_same_forest_and_another_seed_another() {
    // Predicted on other rows: fully grown trees without bootstrap fit their training rows
    // exactly, whatever the seed.
    let (x, y) = crate::synth::make_classification(300, 8, 4, 3, 1).unwrap();
    let (v, _) = crate::synth::make_classification(100, 8, 4, 3, 2).unwrap();
    for extra in [false, true] {
        let a = proba(train(&spec(extra), &x, &y, 3).predict(v.view()).unwrap());
        let b = proba(train(&spec(extra), &x, &y, 3).predict(v.view()).unwrap());
        assert_eq!(a, b, "extra {extra}");
        let other = ForestSpec {
            seed: 8,
            ..spec(extra)
        };
        let c = proba(train(&other, &x, &y, 3).predict(v.view()).unwrap());
        assert_ne!(a, c, "extra {extra}");
    }
}

#[test]
fn without_bootstrap_or_feature_draws_a_random_forest_is_one_tree_repeated() {
    // Nothing random is left: every tree is the deterministic CART tree, whatever the seed,
    // while extra trees still draw their thresholds.
    let (x, y) = crate::synth::make_classification(300, 6, 4, 2, 3).unwrap();
    let plain = |extra: bool, seed: u64| ForestSpec {
        bootstrap: false,
        max_features: MaxFeatures::All,
        n_estimators: 3,
        seed,
        extra,
        ..spec(extra)
    };
    let tree = crate::tree::Tree {
        max_depth: None,
        min_samples_split: 2,
        min_samples_leaf: 1,
        min_impurity_decrease: 0.0,
        entropy: false,
    };
    let single = match crate::Estimator::fit(&tree, x.view(), y.view())
        .unwrap()
        .predict(x.view())
    {
        Prediction::Classes { proba: Some(p), .. } => p,
        _ => unreachable!(),
    };
    for seed in [1, 2] {
        let p = proba(
            train(&plain(false, seed), &x, &y, 2)
                .predict(x.view())
                .unwrap(),
        );
        assert_eq!(p, single);
    }
    let (v, _) = crate::synth::make_classification(100, 6, 4, 2, 4).unwrap();
    let e1 = proba(train(&plain(true, 1), &x, &y, 2).predict(v.view()).unwrap());
    let e2 = proba(train(&plain(true, 2), &x, &y, 2).predict(v.view()).unwrap());
    assert_ne!(e1, e2);
}

#[test]
fn a_forest_stopped_after_t_trees_is_the_forest_of_t_trees() {
    let (x, y) = crate::synth::make_regression(200, 5, 3, 1.0, 2).unwrap();
    let full = spec(false);
    let mut learner = full.start(x.view(), y.view(), 0).unwrap();
    for _ in 0..5 {
        learner.epoch(x.view(), y.view()).unwrap();
    }
    let five = ForestSpec {
        n_estimators: 5,
        ..full
    };
    assert_eq!(
        values(learner.predict(x.view()).unwrap()),
        values(train(&five, &x, &y, 0).predict(x.view()).unwrap())
    );
}

#[test]
fn predictions_after_each_tree_equal_a_fresh_prediction() {
    // The staged sums: the same test rows after every tree, with other rows in between.
    let (x, y) = crate::synth::make_classification(300, 6, 4, 3, 5).unwrap();
    let (train_x, test_x) = (x.slice(s![..200, ..]), x.slice(s![200.., ..]));
    let train_y = y.slice(s![..200]);
    let sp = spec(false);
    let mut staged = sp.start(train_x, train_y, 3).unwrap();
    // A forest of t trees predicting once: nothing cached before.
    let fresh = |t: usize, rows: ndarray::ArrayView2<'_, f64>| {
        let spec = ForestSpec {
            n_estimators: t,
            ..sp.clone()
        };
        proba(
            train(&spec, &train_x.to_owned(), &train_y.to_owned(), 3)
                .predict(rows)
                .unwrap(),
        )
    };
    let close = |a: &Array2<f64>, b: &Array2<f64>| {
        a.dim() == b.dim() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    };
    for t in 1..=6 {
        staged.epoch(train_x, train_y).unwrap();
        let warm = proba(staged.predict(test_x).unwrap());
        assert!(close(&warm, &fresh(t, test_x)), "after {t} trees");
        if t == 3 {
            // Other rows in between: their own prediction, and the test rows' after them.
            let other = proba(staged.predict(train_x).unwrap());
            assert!(close(&other, &fresh(t, train_x)));
        }
    }
}

#[test]
fn a_forest_beats_its_single_tree_on_held_out_rows() {
    let (x, y) = crate::synth::make_classification(1500, 20, 6, 2, 11).unwrap();
    let (tx, vx) = (x.slice(s![..1000, ..]).to_owned(), x.slice(s![1000.., ..]));
    let (ty, vy) = (y.slice(s![..1000]).to_owned(), y.slice(s![1000..]));
    for extra in [false, true] {
        let one = ForestSpec {
            n_estimators: 1,
            ..spec(extra)
        };
        let many = ForestSpec {
            n_estimators: 60,
            ..spec(extra)
        };
        let a1 = accuracy(train(&one, &tx, &ty, 2).predict(vx).unwrap(), vy);
        let a60 = accuracy(train(&many, &tx, &ty, 2).predict(vx).unwrap(), vy);
        assert!(
            a60 > a1 + 0.03 && a60 > 0.85,
            "extra {extra}: {a1} -> {a60}"
        );
    }
}

#[test]
fn a_regression_forest_fits_a_smooth_target() {
    let (x, y) = crate::synth::make_regression(1200, 5, 3, 5.0, 4).unwrap();
    let (tx, vx) = (x.slice(s![..900, ..]).to_owned(), x.slice(s![900.., ..]));
    let (ty, vy) = (y.slice(s![..900]).to_owned(), y.slice(s![900..]));
    for extra in [false, true] {
        let sp = ForestSpec {
            max_features: MaxFeatures::All,
            n_estimators: 40,
            ..spec(extra)
        };
        let score = r2(&values(train(&sp, &tx, &ty, 0).predict(vx).unwrap()), vy);
        assert!(score > 0.8, "extra {extra}: R² {score}");
    }
}

#[test]
fn a_regression_tree_learns_a_step_exactly() {
    let x = Array2::from_shape_fn((40, 2), |(i, j)| if j == 0 { i as f64 } else { 0.0 });
    let y: Array1<f64> = (0..40).map(|i| if i < 13 { 1.5 } else { -2.0 }).collect();
    let sp = ForestSpec {
        n_estimators: 1,
        bootstrap: false,
        max_features: MaxFeatures::All,
        max_depth: Some(1),
        ..spec(false)
    };
    assert_eq!(values(train(&sp, &x, &y, 0).predict(x.view()).unwrap()), y);
}

#[test]
fn min_samples_leaf_and_max_depth_limit_every_tree() {
    let (x, y) = crate::synth::make_classification(400, 6, 4, 2, 9).unwrap();
    let sp = ForestSpec {
        max_depth: Some(2),
        ..spec(false)
    };
    let learner = train(&sp, &x, &y, 2);
    // Depth 2: at most 4 leaves per tree, so at most 4 distinct probability rows per tree;
    // averaged over 20 trees the rows still take few values compared with unlimited depth.
    let p = proba(learner.predict(x.view()).unwrap());
    let deep = proba(train(&spec(false), &x, &y, 2).predict(x.view()).unwrap());
    let fit = |p: &Array2<f64>| {
        p.rows()
            .into_iter()
            .zip(&y)
            .filter(|(r, t)| r[**t as usize] > 0.5)
            .count()
    };
    assert!(fit(&deep) > fit(&p), "{} vs {}", fit(&deep), fit(&p));
}

#[test]
fn the_out_of_bag_score_tracks_held_out_accuracy() {
    let (x, y) = crate::synth::make_classification(1500, 10, 5, 2, 13).unwrap();
    let (tx, vx) = (x.slice(s![..1000, ..]).to_owned(), x.slice(s![1000.., ..]));
    let (ty, vy) = (y.slice(s![..1000]).to_owned(), y.slice(s![1000..]));
    let sp = ForestSpec {
        n_estimators: 50,
        oob_score: true,
        ..spec(false)
    };
    let learner = train(&sp, &tx, &ty, 2);
    let held_out = accuracy(learner.predict(vx).unwrap(), vy);
    let own = learner.own_values();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].0, "oob_score");
    assert!((own[0].1 - held_out).abs() < 0.04, "{own:?} vs {held_out}");
    let no_oob = train(&spec(false), &tx, &ty, 2);
    assert!(no_oob.own_values().is_empty());
}

#[test]
fn a_class_missing_from_the_fold_gets_a_zero_column() {
    let (x, _) = crate::synth::make_classification(200, 4, 3, 2, 2).unwrap();
    let y = x.column(0).mapv(|v| if v > 0.0 { 3.0 } else { 0.0 });
    let p = proba(train(&spec(false), &x, &y, 4).predict(x.view()).unwrap());
    assert_eq!(p.ncols(), 4);
    assert!(p.column(1).iter().chain(p.column(2)).all(|&v| v == 0.0));
    assert!(p.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12));
}

#[test]
fn unsorted_extra_trees_grow_the_presorted_growers_tree() {
    // The fast path for extra trees without bootstrap draws what the presorted grower draws:
    // with integer class counts the trees are identical.
    use crate::tree::{GrowParams, Labels, SampleLayout, grow_extra_tree, grow_tree};
    let (x, y) = crate::synth::make_classification(500, 7, 4, 3, 21).unwrap();
    let (code, classes) = crate::tree::encode_classes(y.view()).unwrap();
    let columns: Vec<f64> = x.t().iter().copied().collect();
    for (criterion, max_features, min_samples_leaf) in [
        (Criterion::Gini, 2, 1),
        (Criterion::Entropy, 7, 3),
        (Criterion::Gini, 3, 10),
    ] {
        let params = GrowParams {
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf,
            min_impurity_decrease: 0.0,
            criterion,
            max_features,
            random_thresholds: true,
        };
        let labels = Labels::Classes {
            code: code.clone(),
            k: classes.len(),
        };
        let mut a = ChaCha8Rng::seed_from_u64(4);
        let mut b = ChaCha8Rng::seed_from_u64(4);
        let sorted = grow_tree(
            &params,
            SampleLayout::presort(x.view()),
            labels.clone(),
            classes.clone(),
            Some(&mut a),
        );
        let unsorted = grow_extra_tree(&params, &columns, 7, &labels, classes.clone(), &mut b);
        assert_eq!(sorted, unsorted, "{criterion:?}");
    }
}
