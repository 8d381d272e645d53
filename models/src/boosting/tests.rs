use ndarray::{Array1, Array2, s};

use super::*;

fn spec() -> BoostingSpec {
    BoostingSpec {
        learning_rate: 0.1,
        max_iter: 50,
        max_leaf_nodes: 31,
        max_depth: None,
        min_samples_leaf: 20,
        l2_regularization: 0.0,
        max_bins: 255,
        early_stopping: EarlyStopping::Off,
        validation_fraction: 0.1,
        n_iter_no_change: 10,
        tol: 1e-7,
        seed: 3,
    }
}

fn train(
    spec: &BoostingSpec,
    x: &Array2<f64>,
    y: &Array1<f64>,
    classes: usize,
) -> Box<dyn Learner> {
    let mut l = spec.start(x.view(), y.view(), classes).unwrap();
    for _ in 0..spec.max_iter {
        l.epoch(x.view(), y.view()).unwrap();
    }
    l
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

fn values(p: Prediction) -> Array1<f64> {
    match p {
        Prediction::Values(v) => v,
        other => panic!("expected values, got {other:?}"),
    }
}

fn mse(p: &Array1<f64>, y: ndarray::ArrayView1<'_, f64>) -> f64 {
    p.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / y.len() as f64
}

#[test]
fn regression_error_falls_round_by_round() {
    let (x, y) = crate::synth::make_regression(2000, 8, 5, 5.0, 1).unwrap();
    let (tx, vx) = (x.slice(s![..1500, ..]).to_owned(), x.slice(s![1500.., ..]));
    let (ty, vy) = (y.slice(s![..1500]).to_owned(), y.slice(s![1500..]));
    let mut l = spec().start(tx.view(), ty.view(), 0).unwrap();
    let mut last = f64::INFINITY;
    let var = mse(&Array1::from_elem(vy.len(), ty.mean().unwrap()), vy);
    for round in 0..50 {
        l.epoch(tx.view(), ty.view()).unwrap();
        let e = mse(&values(l.predict(vx).unwrap()), vy);
        if round % 10 == 9 {
            assert!(e < last, "round {round}: {e} after {last}");
            last = e;
        }
    }
    assert!(last < 0.3 * var, "{last} vs variance {var}");
}

#[test]
fn binary_and_multiclass_classifiers_learn() {
    for classes in [2, 3] {
        let (x, y) = crate::synth::make_classification(2000, 10, 5, classes, 4).unwrap();
        let (tx, vx) = (x.slice(s![..1500, ..]).to_owned(), x.slice(s![1500.., ..]));
        let (ty, vy) = (y.slice(s![..1500]).to_owned(), y.slice(s![1500..]));
        let l = train(&spec(), &tx, &ty, classes);
        let acc = accuracy(l.predict(vx).unwrap(), vy);
        assert!(acc > 0.75, "{classes} classes: {acc}");
        match l.predict(vx).unwrap() {
            Prediction::Classes { proba: Some(p), .. } => {
                assert_eq!(p.ncols(), classes);
                assert!(p.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-9));
            }
            _ => panic!("no probabilities"),
        }
    }
}

#[test]
fn a_single_round_stump_splits_where_the_target_steps() {
    // One feature, y = 0 below 30 and 10 above: one split of two leaves at bin edge 29.5,
    // leaf values learning_rate · (mean of side − baseline).
    let x = Array2::from_shape_fn((100, 1), |(i, _)| i as f64);
    let y: Array1<f64> = (0..100).map(|i| if i < 30 { 0.0 } else { 10.0 }).collect();
    let sp = BoostingSpec {
        max_iter: 1,
        max_leaf_nodes: 2,
        min_samples_leaf: 1,
        learning_rate: 1.0,
        ..spec()
    };
    let l = train(&sp, &x, &y, 0);
    let p = values(l.predict(x.view()).unwrap());
    for (i, v) in p.iter().enumerate() {
        let want = if i < 30 { 0.0 } else { 10.0 };
        assert!((v - want).abs() < 1e-9, "row {i}: {v}");
    }
}

#[test]
fn max_leaf_nodes_min_samples_leaf_and_max_depth_bound_each_tree() {
    let (x, y) = crate::synth::make_regression(1000, 5, 5, 1.0, 2).unwrap();
    let distinct = |sp: &BoostingSpec| {
        let l = train(
            &BoostingSpec {
                max_iter: 1,
                learning_rate: 1.0,
                ..sp.clone()
            },
            &x,
            &y,
            0,
        );
        let mut v: Vec<f64> = values(l.predict(x.view()).unwrap()).to_vec();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v.len()
    };
    assert_eq!(
        distinct(&BoostingSpec {
            max_leaf_nodes: 7,
            ..spec()
        }),
        7
    );
    assert_eq!(
        distinct(&BoostingSpec {
            max_depth: Some(2),
            ..spec()
        }),
        4
    );
    // 1000 rows with at least 400 a leaf: two leaves.
    assert_eq!(
        distinct(&BoostingSpec {
            min_samples_leaf: 400,
            ..spec()
        }),
        2
    );
}

#[test]
fn l2_regularization_shrinks_leaf_values() {
    let (x, y) = crate::synth::make_regression(500, 4, 4, 1.0, 3).unwrap();
    let spread = |l2: f64| {
        let sp = BoostingSpec {
            max_iter: 1,
            l2_regularization: l2,
            ..spec()
        };
        let p = values(train(&sp, &x, &y, 0).predict(x.view()).unwrap());
        p.iter().map(|v| (v - p.mean().unwrap()).abs()).sum::<f64>()
    };
    assert!(spread(10_000.0) < 0.2 * spread(0.0));
}

#[test]
fn early_stopping_ends_training_and_later_rounds_change_nothing() {
    // Pure noise: the validation loss stops improving almost at once.
    let x = Array2::from_shape_fn((3000, 3), |(i, j)| ((i * 7 + j * 13) as f64 * 0.37).sin());
    let y: Array1<f64> = (0..3000).map(|i| ((i * 31) as f64 * 1.7).sin()).collect();
    let sp = BoostingSpec {
        early_stopping: EarlyStopping::On,
        max_iter: 200,
        n_iter_no_change: 3,
        ..spec()
    };
    let mut l = sp.start(x.view(), y.view(), 0).unwrap();
    let mut changed_at = 0;
    let mut last = values(l.predict(x.view()).unwrap());
    for round in 1..=200 {
        l.epoch(x.view(), y.view()).unwrap();
        let now = values(l.predict(x.view()).unwrap());
        if now != last {
            changed_at = round;
        }
        last = now;
    }
    assert!(
        changed_at > 0 && changed_at < 100,
        "last change at round {changed_at}"
    );
    let off = BoostingSpec {
        early_stopping: EarlyStopping::Off,
        ..sp
    };
    let full = train(&off, &x, &y, 0);
    assert_ne!(values(full.predict(x.view()).unwrap()), last);
}

#[test]
fn the_validation_split_is_stratified_seeded_and_disjoint() {
    let y: Vec<f64> = (0..1000)
        .map(|i| if i % 10 == 0 { 1.0 } else { 0.0 })
        .collect();
    let (train_rows, held) = split_rows(&y, true, 0.2, 5);
    assert_eq!(held.len(), 200);
    assert_eq!(held.iter().filter(|&&r| y[r] == 1.0).count(), 20);
    assert_eq!(train_rows.len() + held.len(), 1000);
    assert!(held.iter().all(|r| train_rows.binary_search(r).is_err()));
    assert_eq!(split_rows(&y, true, 0.2, 5).1, held);
    assert_ne!(split_rows(&y, true, 0.2, 6).1, held);
}

#[test]
fn the_same_inputs_give_the_same_model() {
    let (x, y) = crate::synth::make_classification(800, 6, 4, 3, 8).unwrap();
    let sp = BoostingSpec {
        max_iter: 10,
        ..spec()
    };
    let a = train(&sp, &x, &y, 3).predict(x.view()).unwrap();
    let b = train(&sp, &x, &y, 3).predict(x.view()).unwrap();
    match (a, b) {
        (
            Prediction::Classes { proba: Some(p), .. },
            Prediction::Classes { proba: Some(q), .. },
        ) => {
            assert_eq!(p, q)
        }
        _ => panic!("no probabilities"),
    }
}
