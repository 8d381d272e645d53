//! Specifications of the SGD models.

use ndarray::{Array1, Array2, s};

use super::kernels::{Rows, Targets};
use super::*;
use crate::synth::{ClassificationSpec, RegressionSpec, make_classification};

/// Split rows into the first `train` and the rest.
fn split(
    x: &Array2<f64>,
    y: &Array1<f64>,
    train: usize,
) -> (Array2<f64>, Array1<f64>, Array2<f64>, Array1<f64>) {
    (
        x.slice(s![..train, ..]).to_owned(),
        y.slice(s![..train]).to_owned(),
        x.slice(s![train.., ..]).to_owned(),
        y.slice(s![train..]).to_owned(),
    )
}

/// The small fixed problem the scikit-learn reference values below were computed on.
fn reference_problem() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let (n, d) = (60, 4);
    let x = Array2::from_shape_fn((n, d), |(i, j)| ((i * 7 + j * 13) % 17) as f64 / 8.0 - 1.0);
    let y = Array1::from_shape_fn(n, |i| {
        let above = x[[i, 0]] - 0.5 * x[[i, 1]] + 0.25 * x[[i, 2]] > 0.0;
        f64::from(u8::from(above != (i % 11 == 0)))
    });
    let coef = ndarray::arr1(&[1.5, -2.0, 0.5, 0.0]);
    let yr = x.dot(&coef) + 0.3 + Array1::from_shape_fn(n, |i| ((i * 5) % 7) as f64 / 7.0 - 0.5);
    (x, y, yr)
}

/// Train three in-order epochs (scikit-learn with shuffle=False) and return the parameters.
fn three_ordered_epochs(
    spec: &SgdSpec,
    target: Target,
    x: &Array2<f64>,
    y: &Array1<f64>,
) -> Vec<f64> {
    let model = SgdModel::new(spec, x.ncols(), target).unwrap();
    let mut params = model.init(0);
    let mut state = model.new_state();
    let order: Vec<usize> = (0..x.nrows()).collect();
    for _ in 0..3 {
        model
            .train_steps(&mut params, x.view(), y.view(), &order, &mut state)
            .unwrap();
    }
    assert_eq!(state.steps(), 180);
    params
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "parameter {i}: got {g}, want {w}\n{got:?}"
        );
    }
}

#[test]
fn binary_logistic_matches_scikit_learns_sgd_classifier_step_for_step() {
    // SGDClassifier(loss="log_loss", alpha=0.01, max_iter=3, tol=None, shuffle=False), sklearn 1.9.1.
    let (x, y, _) = reference_problem();
    let cases: [(PenaltyKind, f64, [f64; 5]); 3] = [
        (
            PenaltyKind::L2,
            0.15,
            [
                2.2612216956407534,
                -1.6033858053846954,
                1.7115475397667665,
                -1.1507408126992122,
                1.0291168165912854,
            ],
        ),
        (
            PenaltyKind::L1,
            0.15,
            [
                2.9851586229474565,
                -1.6400643838077729,
                2.278012917840589,
                -1.0645977536382543,
                1.2838014349630282,
            ],
        ),
        (
            PenaltyKind::ElasticNet,
            0.3,
            [
                2.4002313238010116,
                -1.617757106579316,
                1.817987122411881,
                -1.1382665617099483,
                1.0768288882607024,
            ],
        ),
    ];
    for (penalty, l1_ratio, want) in cases {
        let spec = SgdSpec {
            penalty,
            l1_ratio,
            alpha: 0.01,
            ..SgdSpec::logistic()
        };
        let got = three_ordered_epochs(&spec, Target::Classes(2), &x, &y);
        assert_close(&got, &want, 1e-9);
    }
    let spec = SgdSpec {
        alpha: 0.01,
        learning_rate: Some(ScheduleKind::Constant),
        eta0: 0.1,
        ..SgdSpec::logistic()
    };
    let want = [
        1.2696159130563476,
        -1.0164413634749248,
        0.7516068858547416,
        -0.5821530089814597,
        0.8832853323409703,
    ];
    assert_close(
        &three_ordered_epochs(&spec, Target::Classes(2), &x, &y),
        &want,
        1e-9,
    );
}

#[test]
fn linear_regression_matches_scikit_learns_sgd_regressor_step_for_step() {
    // SGDRegressor(alpha=0.01, max_iter=3, tol=None, shuffle=False): invscaling, eta0 0.01.
    let (x, _, yr) = reference_problem();
    let spec = SgdSpec {
        alpha: 0.01,
        ..SgdSpec::linear_regression()
    };
    let want = [
        0.31919755252972465,
        -0.46433648058211524,
        0.017870356719400987,
        0.12503310018255956,
        0.11122808827633503,
    ];
    assert_close(
        &three_ordered_epochs(&spec, Target::Regression, &x, &yr),
        &want,
        1e-9,
    );
}

#[test]
fn binary_logistic_learns_a_generated_problem() {
    let (x, y) = make_classification(6000, 20, 6, 2, 1).unwrap();
    let (xt, yt, xv, yv) = split(&x, &y, 5000);
    // alpha 1e-4 (the default) suits large data: on 5000 rows its `optimal` rates stay large.
    let spec = SgdSpec {
        alpha: 1e-3,
        ..SgdSpec::logistic()
    };
    let model = SgdModel::new(&spec, 20, Target::Classes(2)).unwrap();
    let (params, reports) = model.fit(xt.view(), yt.view(), 5, 7).unwrap();
    let Metrics::Classification { accuracy, log_loss } =
        model.evaluate(&params, xv.view(), yv.view()).unwrap()
    else {
        panic!("classifier gave regression metrics")
    };
    assert!(accuracy > 0.8, "held-out accuracy {accuracy}");
    assert!(log_loss < 0.5, "held-out log-loss {log_loss}");
    assert!(
        reports[4].mean_loss() < reports[0].mean_loss(),
        "training loss did not fall: {reports:?}"
    );
}

#[test]
fn multinomial_logistic_learns_a_generated_problem() {
    let (x, y) = make_classification(6000, 12, 5, 4, 2).unwrap();
    let (xt, yt, xv, yv) = split(&x, &y, 5000);
    for batch_size in [1, 16] {
        let spec = SgdSpec {
            batch_size,
            alpha: 1e-3,
            ..SgdSpec::logistic()
        };
        let model = SgdModel::new(&spec, 12, Target::Classes(4)).unwrap();
        assert_eq!(model.n_params(), 4 * 13);
        let (params, _) = model.fit(xt.view(), yt.view(), 8, 3).unwrap();
        let Metrics::Classification { accuracy, .. } =
            model.evaluate(&params, xv.view(), yv.view()).unwrap()
        else {
            panic!()
        };
        assert!(
            accuracy > 0.6,
            "batch {batch_size}: held-out accuracy {accuracy} (chance 0.25)"
        );
        let proba = model.predict_proba(&params, xv.view()).unwrap();
        assert!(
            proba
                .rows()
                .into_iter()
                .all(|p| (p.sum() - 1.0).abs() < 1e-12)
        );
    }
}

#[test]
fn linear_regression_reaches_the_noise_level() {
    let data = RegressionSpec {
        n_rows: 6000,
        n_features: 10,
        n_informative: 4,
        noise: 1.0,
        bias: 2.0,
    }
    .generate(4)
    .unwrap();
    let (xt, yt, xv, yv) = split(&data.x, &data.y, 5000);
    for spec in [
        SgdSpec {
            alpha: 1e-6,
            ..SgdSpec::linear_regression()
        },
        SgdSpec {
            alpha: 1e-6,
            batch_size: 8,
            learning_rate: Some(ScheduleKind::Constant),
            ..SgdSpec::linear_regression()
        },
    ] {
        let model = SgdModel::new(&spec, 10, Target::Regression).unwrap();
        let (params, _) = model.fit(xt.view(), yt.view(), 10, 5).unwrap();
        let Metrics::Regression { rmse, r2 } =
            model.evaluate(&params, xv.view(), yv.view()).unwrap()
        else {
            panic!()
        };
        assert!(rmse < 1.1, "{spec:?}: held-out RMSE {rmse} (noise 1.0)");
        assert!(r2 > 0.99, "R² {r2}");
    }
}

#[test]
fn mlp_learns_a_problem_a_linear_model_cannot() {
    // Two classes on alternating hypercube vertices (XOR-like): linear accuracy stays near 0.5.
    let spec = ClassificationSpec {
        n_clusters_per_class: 4,
        n_redundant: 0,
        flip_y: 0.0,
        class_sep: 2.0,
        ..ClassificationSpec::new(6000, 3, 3, 2)
    };
    let (x, y) = spec.generate(8).unwrap();
    let (xt, yt, xv, yv) = split(&x, &y, 5000);
    let linear = SgdModel::new(&SgdSpec::logistic(), 3, Target::Classes(2)).unwrap();
    let (lp, _) = linear.fit(xt.view(), yt.view(), 5, 1).unwrap();
    let Metrics::Classification {
        accuracy: linear_acc,
        ..
    } = linear.evaluate(&lp, xv.view(), yv.view()).unwrap()
    else {
        panic!()
    };
    for (hidden, activation) in [
        (vec![32], Activation::Relu),
        (vec![16, 16], Activation::Tanh),
    ] {
        let spec = SgdSpec {
            activation,
            eta0: 0.05,
            batch_size: 4,
            ..SgdSpec::mlp(&hidden)
        };
        let model = SgdModel::new(&spec, 3, Target::Classes(2)).unwrap();
        let (params, _) = model.fit(xt.view(), yt.view(), 20, 2).unwrap();
        let Metrics::Classification { accuracy, .. } =
            model.evaluate(&params, xv.view(), yv.view()).unwrap()
        else {
            panic!()
        };
        assert!(
            accuracy > 0.9 && accuracy > linear_acc + 0.15,
            "{hidden:?} {activation:?}: mlp {accuracy} vs linear {linear_acc}"
        );
    }
}

#[test]
fn mlp_learns_a_multiclass_problem() {
    let (x, y) = make_classification(5000, 10, 4, 3, 6).unwrap();
    let (xt, yt, xv, yv) = split(&x, &y, 4000);
    let spec = SgdSpec {
        eta0: 0.02,
        ..SgdSpec::mlp(&[24])
    };
    let model = SgdModel::new(&spec, 10, Target::Classes(3)).unwrap();
    let (params, _) = model.fit(xt.view(), yt.view(), 10, 4).unwrap();
    let Metrics::Classification { accuracy, .. } =
        model.evaluate(&params, xv.view(), yv.view()).unwrap()
    else {
        panic!()
    };
    assert!(
        accuracy > 0.75,
        "held-out accuracy {accuracy} (chance 0.33)"
    );
}

/// Central finite differences of `f` at `p`.
fn numeric_gradient(p: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut q = p.to_vec();
    (0..p.len())
        .map(|i| {
            let h = 1e-6 * (1.0 + p[i].abs());
            q[i] = p[i] + h;
            let up = f(&q);
            q[i] = p[i] - h;
            let down = f(&q);
            q[i] = p[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn random_params(n: usize, seed: u64) -> Vec<f64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(-0.8..0.8)).collect()
}

#[test]
fn binary_logistic_gradient_matches_finite_differences() {
    let (x, y) = make_classification(40, 5, 3, 2, 11).unwrap();
    let rows = Rows::new(x.view(), 5).unwrap();
    let targets = Targets::new(y.view(), &rows).unwrap();
    let batch: Vec<usize> = (0..40).collect();
    let p = random_params(6, 1);
    let loss = |p: &[f64]| {
        let mut g = vec![0.0; 5];
        linear::batch_gradient::<LogLoss>(&p[..5], 1.0, p[5], rows, targets, &batch, &mut g)
            .unwrap()
            .0
    };
    let mut g = vec![0.0; 5];
    let (_, gb) =
        linear::batch_gradient::<LogLoss>(&p[..5], 1.0, p[5], rows, targets, &batch, &mut g)
            .unwrap();
    g.push(gb);
    assert_close(&g, &numeric_gradient(&p, loss), 1e-6);
}

#[test]
fn multinomial_logistic_gradient_matches_finite_differences() {
    let (x, y) = make_classification(40, 5, 3, 3, 12).unwrap();
    let rows = Rows::new(x.view(), 5).unwrap();
    let targets = Targets::new(y.view(), &rows).unwrap();
    let batch: Vec<usize> = (0..40).collect();
    let (k, d) = (3, 5);
    let p = random_params(k * d + k, 2);
    let eval = |p: &[f64]| {
        let (mut probs, mut gb, mut g) = (vec![0.0; k], vec![0.0; k], vec![0.0; k * d]);
        let loss = linear::softmax_batch_gradient(
            &p[..k * d],
            1.0,
            &p[k * d..],
            rows,
            targets,
            &batch,
            &mut probs,
            &mut gb,
            &mut g,
        )
        .unwrap();
        g.extend(gb);
        (loss, g)
    };
    assert_close(&eval(&p).1, &numeric_gradient(&p, |q| eval(q).0), 1e-6);
}

#[test]
fn mlp_gradient_matches_finite_differences() {
    for (classes, hidden, activation) in [
        (2, vec![6], Activation::Tanh),
        (3, vec![5, 4], Activation::Tanh),
        (3, vec![7], Activation::Relu),
        (2, vec![4, 3], Activation::Relu),
    ] {
        let (x, y) = make_classification(30, 4, 3, classes, 13).unwrap();
        let rows = Rows::new(x.view(), 4).unwrap();
        let targets = Targets::new(y.view(), &rows).unwrap();
        let batch: Vec<usize> = (0..30).collect();
        let net = mlp::Net::new(4, &hidden, classes, activation).unwrap();
        let p = random_params(net.n_params(), 3);
        let eval = |p: &[f64]| {
            let mut g = vec![0.0; net.n_params()];
            let loss = mlp::batch_gradient(&net, p, rows, targets, &batch, &mut g).unwrap();
            (loss, g)
        };
        // ReLU has a kink at 0: random inputs almost surely avoid it, so the same tolerance holds.
        assert_close(&eval(&p).1, &numeric_gradient(&p, |q| eval(q).0), 1e-5);
    }
}

#[test]
fn a_mini_batch_step_moves_by_the_mean_gradient_with_weight_decay() {
    let (x, y) = make_classification(32, 6, 3, 3, 14).unwrap();
    let spec = SgdSpec {
        batch_size: 32,
        alpha: 0.1,
        learning_rate: Some(ScheduleKind::Constant),
        eta0: 0.5,
        ..SgdSpec::logistic()
    };
    let model = SgdModel::new(&spec, 6, Target::Classes(3)).unwrap();
    let p0 = random_params(model.n_params(), 5);
    let mut p = p0.clone();
    let order: Vec<usize> = (0..32).collect();
    let report = model
        .train_steps(&mut p, x.view(), y.view(), &order, &mut model.new_state())
        .unwrap();
    assert_eq!((report.steps, report.samples), (1, 32));
    let rows = Rows::new(x.view(), 6).unwrap();
    let targets = Targets::new(y.view(), &rows).unwrap();
    let (mut probs, mut gb, mut g) = (vec![0.0; 3], vec![0.0; 3], vec![0.0; 18]);
    linear::softmax_batch_gradient(
        &p0[..18],
        1.0,
        &p0[18..],
        rows,
        targets,
        &order,
        &mut probs,
        &mut gb,
        &mut g,
    )
    .unwrap();
    let expected: Vec<f64> = (0..18)
        .map(|i| p0[i] * (1.0 - 0.5 * 0.1) - 0.5 * g[i] / 32.0)
        .chain((0..3).map(|c| p0[18 + c] - 0.5 * gb[c] / 32.0))
        .collect();
    assert_close(&p, &expected, 1e-12);
}

#[test]
fn l1_drives_uninformative_weights_to_exactly_zero() {
    let spec = ClassificationSpec {
        n_redundant: 0,
        ..ClassificationSpec::new(4000, 20, 3, 2)
    };
    let (x, y) = spec.generate(15).unwrap();
    let spec = SgdSpec {
        penalty: PenaltyKind::L1,
        alpha: 0.01,
        ..SgdSpec::logistic()
    };
    let model = SgdModel::new(&spec, 20, Target::Classes(2)).unwrap();
    let (params, _) = model.fit(x.view(), y.view(), 5, 1).unwrap();
    let zeros = params[..20].iter().filter(|&&w| w == 0.0).count();
    assert!(
        zeros >= 12,
        "only {zeros} of 20 weights are zero (17 features are noise): {params:?}"
    );
}

#[test]
fn the_same_seed_gives_the_same_parameters() {
    let (x, y) = make_classification(2000, 8, 4, 3, 16).unwrap();
    for spec in [
        SgdSpec::logistic(),
        SgdSpec {
            batch_size: 8,
            ..SgdSpec::mlp(&[10])
        },
    ] {
        let model = SgdModel::new(&spec, 8, Target::Classes(3)).unwrap();
        let a = model.fit(x.view(), y.view(), 2, 99).unwrap();
        let b = model.fit(x.view(), y.view(), 2, 99).unwrap();
        let c = model.fit(x.view(), y.view(), 2, 100).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.0, c.0);
    }
    assert_eq!(
        epoch_order(&[1, 2, 3, 4, 5, 6], 3, 1),
        epoch_order(&[1, 2, 3, 4, 5, 6], 3, 1)
    );
    assert_ne!(
        epoch_order(&(0..50).collect::<Vec<_>>(), 3, 1),
        epoch_order(&(0..50).collect::<Vec<_>>(), 3, 2)
    );
}

#[test]
fn training_in_chunks_equals_training_in_one_call() {
    // A trainer that merges every k steps calls train_steps on consecutive chunks of the order.
    let (x, y) = make_classification(1000, 6, 3, 2, 17).unwrap();
    let spec = SgdSpec {
        penalty: PenaltyKind::ElasticNet,
        alpha: 0.01,
        learning_rate: Some(ScheduleKind::InverseScaling),
        eta0: 0.05,
        ..SgdSpec::logistic()
    };
    let model = SgdModel::new(&spec, 6, Target::Classes(2)).unwrap();
    let order = epoch_order(&(0..1000).collect::<Vec<_>>(), 1, 0);
    let (mut whole, mut chunked) = (model.init(0), model.init(0));
    model
        .train_steps(
            &mut whole,
            x.view(),
            y.view(),
            &order,
            &mut model.new_state(),
        )
        .unwrap();
    let mut state = model.new_state();
    for chunk in order.chunks(64) {
        model
            .train_steps(&mut chunked, x.view(), y.view(), chunk, &mut state)
            .unwrap();
    }
    // Folding wscale at each chunk's end rounds differently, so equal to rounding, not bits.
    assert_close(&chunked, &whole, 1e-12);
    assert_eq!(state.steps(), 1000);
}

#[test]
fn invalid_hyperparameters_are_refused_with_the_field_named() {
    let bad = |spec: SgdSpec, target: Target| SgdModel::new(&spec, 4, target).unwrap_err();
    let field = |e: SgdError| match e {
        SgdError::InvalidSpec { field, .. } => field,
        other => panic!("expected InvalidSpec, got {other}"),
    };
    let two = Target::Classes(2);
    assert_eq!(
        field(bad(
            SgdSpec {
                alpha: -1.0,
                ..SgdSpec::logistic()
            },
            two
        )),
        "alpha"
    );
    assert_eq!(
        field(bad(
            SgdSpec {
                alpha: 0.0,
                ..SgdSpec::logistic()
            },
            two
        )),
        "alpha"
    );
    assert_eq!(
        field(bad(
            SgdSpec {
                alpha: f64::NAN,
                ..SgdSpec::logistic()
            },
            two
        )),
        "alpha"
    );
    assert_eq!(
        field(bad(
            SgdSpec {
                l1_ratio: 1.5,
                ..SgdSpec::logistic()
            },
            two
        )),
        "l1_ratio"
    );
    assert_eq!(
        field(bad(
            SgdSpec {
                batch_size: 0,
                ..SgdSpec::logistic()
            },
            two
        )),
        "batch_size"
    );
    assert_eq!(
        field(bad(
            SgdSpec {
                eta0: 0.0,
                ..SgdSpec::linear_regression()
            },
            Target::Regression
        )),
        "eta0"
    );
    assert_eq!(
        field(bad(
            SgdSpec {
                power_t: -1.0,
                ..SgdSpec::linear_regression()
            },
            Target::Regression
        )),
        "power_t"
    );
    assert_eq!(field(bad(SgdSpec::mlp(&[]), two)), "hidden");
    assert_eq!(field(bad(SgdSpec::mlp(&[3, 3, 3]), two)), "hidden");
    assert_eq!(field(bad(SgdSpec::mlp(&[0]), two)), "hidden");
    assert_eq!(
        field(bad(
            SgdSpec {
                penalty: PenaltyKind::L1,
                ..SgdSpec::mlp(&[4])
            },
            two
        )),
        "penalty"
    );
    assert_eq!(
        field(bad(
            SgdSpec {
                hidden: vec![4],
                ..SgdSpec::logistic()
            },
            two
        )),
        "hidden"
    );
    assert_eq!(
        field(bad(SgdSpec::logistic(), Target::Classes(1))),
        "n_classes"
    );
    assert!(matches!(
        bad(SgdSpec::logistic(), Target::Regression),
        SgdError::TargetMismatch { .. }
    ));
    assert!(matches!(
        bad(SgdSpec::linear_regression(), two),
        SgdError::TargetMismatch { .. }
    ));
    assert!(matches!(
        bad(SgdSpec::mlp(&[3]), Target::Regression),
        SgdError::TargetMismatch { .. }
    ));
}

#[test]
fn bad_data_is_refused_and_the_parameters_stay_true_weights() {
    let (x, mut y) = make_classification(100, 4, 2, 2, 18).unwrap();
    let model = SgdModel::new(&SgdSpec::logistic(), 4, Target::Classes(2)).unwrap();
    let mut st = model.new_state();
    let mut p = model.init(0);
    let err = model
        .train_steps(&mut p[..3], x.view(), y.view(), &[0], &mut st)
        .unwrap_err();
    assert_eq!(
        err,
        SgdError::Params {
            expected: 5,
            found: 3
        }
    );
    let err = model
        .train_steps(&mut p, x.slice(s![.., ..3]), y.view(), &[0], &mut st)
        .unwrap_err();
    assert_eq!(
        err,
        SgdError::Features {
            expected: 4,
            found: 3
        }
    );
    let err = model
        .train_steps(&mut p, x.view(), y.slice(s![..50]), &[0], &mut st)
        .unwrap_err();
    assert_eq!(
        err,
        SgdError::Targets {
            rows: 100,
            targets: 50
        }
    );
    let err = model.train_steps(&mut p, x.t(), y.view(), &[0], &mut st);
    assert!(err.is_err());
    let err = model
        .train_steps(&mut p, x.view(), y.view(), &[0, 1, 100], &mut st)
        .unwrap_err();
    assert_eq!(
        err,
        SgdError::RowOutOfRange {
            row: 100,
            n_rows: 100
        }
    );
    // The two good rows were applied with the decay folded back in: a plain logistic step.
    assert!(p.iter().any(|&w| w != 0.0) && p.iter().all(|w| w.is_finite()));
    y[7] = 0.5;
    let err = model
        .train_steps(&mut p, x.view(), y.view(), &[7], &mut st)
        .unwrap_err();
    assert!(matches!(err, SgdError::Label { row: 7, .. }));
    let mut bad_x = x.clone();
    bad_x[[3, 1]] = f64::INFINITY;
    let reg = SgdModel::new(&SgdSpec::linear_regression(), 4, Target::Regression).unwrap();
    let mut rp = reg.init(0);
    let err = reg
        .train_steps(&mut rp, bad_x.view(), y.view(), &[3], &mut reg.new_state())
        .unwrap_err();
    assert!(matches!(err, SgdError::Diverged { .. }), "{err}");
}

#[test]
fn a_saved_model_loads_back_with_the_same_predictions() {
    let (x, y) = make_classification(500, 5, 3, 3, 19).unwrap();
    let spec = SgdSpec {
        hidden: vec![6],
        activation: Activation::Tanh,
        ..SgdSpec::mlp(&[6])
    };
    let model = SgdModel::new(&spec, 5, Target::Classes(3)).unwrap();
    let (params, _) = model.fit(x.view(), y.view(), 1, 1).unwrap();
    let json = model.to_json(&params).unwrap();
    let (loaded, loaded_params) = SgdModel::from_json(&json).unwrap();
    assert_eq!(loaded, model);
    // serde_json's default float parser may be off by one ulp (exact with its `float_roundtrip`
    // feature); predictions do not move.
    for (a, b) in loaded_params.iter().zip(&params) {
        assert!((a - b).abs() <= 2.0 * f64::EPSILON * b.abs(), "{a} vs {b}");
    }
    assert_eq!(
        loaded.predict(&loaded_params, x.view()).unwrap(),
        model.predict(&params, x.view()).unwrap()
    );
    assert!(matches!(
        SgdModel::from_json("{\"format\": 3}"),
        Err(SgdError::Saved(_))
    ));
    let tampered = json.replace("cohort-sgd/1", "cohort-sgd/9");
    assert!(matches!(
        SgdModel::from_json(&tampered),
        Err(SgdError::Saved(_))
    ));
}

#[test]
fn a_spec_reads_from_toml_style_json_with_defaults() {
    let spec: SgdSpec =
        serde_json::from_str(r#"{"model": "mlp", "hidden": [16, 8], "activation": "tanh"}"#)
            .unwrap();
    assert_eq!(
        spec,
        SgdSpec {
            activation: Activation::Tanh,
            ..SgdSpec::mlp(&[16, 8])
        }
    );
    assert_eq!(spec.schedule_kind(), ScheduleKind::Constant);
    let spec: SgdSpec = serde_json::from_str(
        r#"{"model": "logistic", "penalty": "elastic_net", "learning_rate": "inverse_scaling"}"#,
    )
    .unwrap();
    assert_eq!(spec.schedule_kind(), ScheduleKind::InverseScaling);
    assert!(serde_json::from_str::<SgdSpec>(r#"{"model": "logistic", "alpah": 1}"#).is_err());
    let spec: SgdSpec = serde_json::from_str(r#"{"model": "linear_regression"}"#).unwrap();
    assert_eq!(
        (spec.schedule_kind(), &spec),
        (ScheduleKind::InverseScaling, &SgdSpec::linear_regression())
    );
}
