use super::*;
use ndarray::array;

/// 40 rows, 2 features, 3 overlapping classes; `regression` gives 2·x0 − x1 + 0.1·cos(i).
fn problem(regression: bool) -> (Array2<f64>, Array1<f64>) {
    let x = Array2::from_shape_fn((40, 2), |(i, j)| {
        (i as f64 * (j + 1) as f64 * 0.7).sin() + if j == 0 { (i % 3) as f64 * 0.8 } else { 0.0 }
    });
    let y = (0..40)
        .map(|i| {
            if regression {
                2.0 * x[[i, 0]] - x[[i, 1]] + 0.1 * (i as f64).cos()
            } else {
                (i % 3) as f64
            }
        })
        .collect();
    (x, y)
}

/// 10 query rows away from the training rows.
fn queries() -> Array2<f64> {
    Array2::from_shape_fn((10, 2), |(i, j)| {
        if j == 0 {
            (i as f64 * 0.9).cos() * 1.5
        } else {
            (i as f64 * 1.3).sin()
        }
    })
}

fn kernel(kind: KernelKind, gamma: Option<f64>, degree: u32, coef0: f64) -> KernelSpec {
    KernelSpec {
        kind,
        gamma,
        degree,
        coef0,
    }
}

fn classes(p: Prediction) -> Vec<usize> {
    match p {
        Prediction::Classes { class, proba } => {
            assert!(proba.is_none(), "svc has no probabilities");
            class.to_vec()
        }
        other => panic!("not classes: {other:?}"),
    }
}

// scikit-learn 1.9.1 on problem(false), predicting queries():
// SVC(kernel="rbf", C=2.0), SVC(kernel="poly", degree=3, gamma=0.5, coef0=1.0, C=1.0),
// SVC(kernel="linear", C=0.5).
#[test]
fn one_vs_one_classes_match_scikit_learn_svc_for_every_kernel() {
    let (x, y) = problem(false);
    let cases = [
        (
            2.0,
            kernel(KernelKind::Rbf, None, 3, 0.0),
            [1, 1, 0, 1, 1, 0, 1, 1, 0, 1],
        ),
        (
            1.0,
            kernel(KernelKind::Poly, Some(0.5), 3, 1.0),
            [2, 1, 0, 1, 1, 0, 1, 1, 0, 0],
        ),
        (
            0.5,
            kernel(KernelKind::Linear, None, 3, 0.0),
            [2, 1, 0, 0, 0, 0, 1, 1, 0, 0],
        ),
    ];
    for (c, kernel, want) in cases {
        let fitted = SvmClassifier {
            c,
            kernel: kernel.clone(),
            tol: 1e-3,
        }
        .fit(x.view(), y.view())
        .unwrap();
        assert_eq!(
            classes(fitted.predict(queries().view())),
            want,
            "{kernel:?}"
        );
    }
}

#[test]
fn regression_matches_scikit_learn_svr() {
    // scikit-learn 1.9.1: SVR(kernel="rbf", C=3.0, epsilon=0.05, tol=1e-6) on problem(true).
    let want = [
        3.0963262244995216,
        1.0751029045264495,
        -1.4799964353929072,
        -0.04451238696510407,
    ];
    let (x, y) = problem(true);
    let fitted = SvmRegressor {
        c: 3.0,
        epsilon: 0.05,
        kernel: kernel(KernelKind::Rbf, None, 3, 0.0),
        tol: 1e-6,
    }
    .fit(x.view(), y.view())
    .unwrap();
    let Prediction::Values(got) = fitted.predict(queries().slice(ndarray::s![..4, ..])) else {
        panic!("classes from a regressor");
    };
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-4, "{got} vs {want:?}");
    }
}

#[test]
fn a_single_training_class_is_predicted_everywhere() {
    let x = array![[0.0], [1.0], [2.0]];
    let y = array![2.0, 2.0, 2.0];
    let fitted = SvmClassifier {
        c: 1.0,
        kernel: kernel(KernelKind::Rbf, None, 3, 0.0),
        tol: 1e-3,
    }
    .fit(x.view(), y.view())
    .unwrap();
    assert_eq!(
        classes(fitted.predict(array![[5.0], [-5.0]].view())),
        [2, 2]
    );
}

#[test]
fn separable_classes_are_learned_exactly() {
    let x = Array2::from_shape_fn((30, 2), |(i, j)| {
        (i / 10) as f64 * 5.0 + (i * (j + 3) % 7) as f64 * 0.1
    });
    let y: Array1<f64> = (0..30).map(|i| (i / 10) as f64).collect();
    let fitted = SvmClassifier {
        c: 1.0,
        kernel: kernel(KernelKind::Linear, None, 3, 0.0),
        tol: 1e-3,
    }
    .fit(x.view(), y.view())
    .unwrap();
    let want: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    assert_eq!(classes(fitted.predict(x.view())), want);
}
