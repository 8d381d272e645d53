use super::*;
use linfa::prelude::Fit;
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

/// `n` rows of `width` features with two overlapping classes (±1) and a noisy linear target:
/// deterministic, scattered by a sine hash.
fn scattered(n: usize, width: usize) -> (Array2<f64>, Vec<i8>, Array1<f64>) {
    let x = Array2::from_shape_fn((n, width), |(i, j)| {
        ((i * 7919 + j * 104_729) as f64 * 0.618_034).sin() * 2.0
    });
    let noise = |i: usize| (i as f64 * 12.9898).sin();
    let label: Vec<i8> = (0..n)
        .map(|i| {
            if x[[i, 0]] + x[[i, 1]] + noise(i) > 0.0 {
                1
            } else {
                -1
            }
        })
        .collect();
    let target = (0..n)
        .map(|i| 3.0 * x[[i, 0]] - x[[i, 1]] + 0.5 * noise(i))
        .collect();
    (x, label, target)
}

fn resolved(kind: KernelKind, x: ArrayView2<'_, f64>) -> Resolved {
    kernel(kind, None, 3, 1.0).resolve(x)
}

fn settings(eps: f64, shrinking: bool, cache_bytes: usize) -> Settings {
    Settings {
        eps,
        shrinking,
        cache_bytes,
    }
}

/// |a − b| ≤ tol for every pair.
fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "{what}[{k}]: {x} vs {y}");
    }
}

/// The decision Σ coefᵢK(xᵢ, x) − ρ at each of `rows`.
fn decisions(k: &Resolved, rows: &Array2<f64>, coef: &[f64], rho: f64) -> Vec<f64> {
    let machine = Machine::new(rows.view(), coef, rho, k);
    rows.rows()
        .into_iter()
        .map(|r| machine.decision(k, r))
        .collect()
}

#[test]
fn binary_svc_solution_matches_linfa_svm_for_every_kernel() {
    let (x, label, _) = scattered(80, 3);
    for kind in [KernelKind::Linear, KernelKind::Rbf, KernelKind::Poly] {
        let k = resolved(kind, x.view());
        let rows = k.rows(x.view());
        let ours = solve_svc(&k, rows.view(), &label, 2.0, &settings(1e-9, true, 1 << 20));
        let coef: Vec<f64> = label
            .iter()
            .zip(&ours.alpha)
            .map(|(&t, &a)| f64::from(t) * a)
            .collect();
        let target: Array1<bool> = label.iter().map(|&t| t > 0).collect();
        let theirs = k
            .apply(linfa_svm::Svm::<f64, bool>::params())
            .pos_neg_weights(2.0, 2.0)
            .eps(1e-9)
            .shrinking(false)
            .fit(&linfa::DatasetBase::new(rows.view(), target.view()))
            .unwrap();
        // The kernel cache holds f32 (as libsvm's): agreement to about its precision. A linear
        // kernel of 3 features has many dual optima; the decision is unique.
        assert_close(
            &decisions(&k, &rows, &coef, ours.rho),
            &decisions(&k, &rows, &theirs.alpha, theirs.rho),
            1e-4,
            &format!("{kind:?} decisions"),
        );
        assert!(
            (ours.rho - theirs.rho).abs() < 1e-4,
            "{kind:?} rho {} vs {}",
            ours.rho,
            theirs.rho
        );
        if kind != KernelKind::Linear {
            let support = |c: &[f64]| -> Vec<bool> { c.iter().map(|a| a.abs() > 1e-6).collect() };
            assert_eq!(
                support(&coef),
                support(&theirs.alpha),
                "{kind:?} support vectors"
            );
            assert_close(
                &coef,
                &theirs.alpha,
                1e-3,
                &format!("{kind:?} coefficients"),
            );
        }
    }
}

#[test]
fn svr_solution_matches_linfa_svm() {
    let (x, _, y) = scattered(60, 2);
    for kind in [KernelKind::Linear, KernelKind::Rbf] {
        let k = resolved(kind, x.view());
        let rows = k.rows(x.view());
        let ours = solve_svr(
            &k,
            rows.view(),
            y.view(),
            5.0,
            0.2,
            &settings(1e-9, true, 1 << 20),
        );
        let coef: Vec<f64> = (0..60)
            .map(|i| ours.alpha[i] - ours.alpha[i + 60])
            .collect();
        let theirs = k
            .apply(linfa_svm::Svm::<f64, f64>::params())
            .c_svr(5.0, Some(0.2))
            .eps(1e-9)
            .shrinking(false)
            .fit(&linfa::DatasetBase::new(rows.view(), y.view()))
            .unwrap();
        assert_close(
            &coef,
            &theirs.alpha,
            1e-4,
            &format!("{kind:?} coefficients"),
        );
        assert!(
            (ours.rho - theirs.rho).abs() < 1e-4,
            "{kind:?} rho {} vs {}",
            ours.rho,
            theirs.rho
        );
    }
}

/// The problems below take several times more steps than they have variables, so the solver
/// shrinks (every min(l, 1000) steps) and evicts.
fn hard_svc() -> (Resolved, Array2<f64>, Vec<i8>) {
    let (x, label, _) = scattered(300, 2);
    let k = resolved(KernelKind::Rbf, x.view());
    let rows = k.rows(x.view());
    (k, rows, label)
}

#[test]
fn a_cache_of_two_columns_gives_the_unlimited_cache_solution() {
    let (k, rows, label) = hard_svc();
    // One byte: the floor of two columns, so nearly every column read is computed afresh and
    // shrinking's swaps meet part-held columns.
    let small = solve_svc(&k, rows.view(), &label, 50.0, &settings(1e-3, true, 1));
    let large = solve_svc(
        &k,
        rows.view(),
        &label,
        50.0,
        &settings(1e-3, true, 1 << 30),
    );
    assert!(large.fewest_active < 300, "the problem shrinks");
    assert_eq!(small, large);
    let (x, _, y) = scattered(200, 2);
    let k = resolved(KernelKind::Rbf, x.view());
    let rows = k.rows(x.view());
    let small = solve_svr(
        &k,
        rows.view(),
        y.view(),
        50.0,
        0.1,
        &settings(1e-3, true, 1),
    );
    let large = solve_svr(
        &k,
        rows.view(),
        y.view(),
        50.0,
        0.1,
        &settings(1e-3, true, 1 << 30),
    );
    assert!(large.fewest_active < 400, "the problem shrinks");
    assert_eq!(small, large);
}

#[test]
fn shrinking_gives_the_solution_without_shrinking() {
    let (k, rows, label) = hard_svc();
    let shrunk = solve_svc(
        &k,
        rows.view(),
        &label,
        50.0,
        &settings(1e-6, true, 1 << 20),
    );
    let whole = solve_svc(
        &k,
        rows.view(),
        &label,
        50.0,
        &settings(1e-6, false, 1 << 20),
    );
    assert!(shrunk.iterations > 3 * 300, "{} steps", shrunk.iterations);
    assert!(shrunk.fewest_active < 300, "the problem shrinks");
    assert_eq!(whole.fewest_active, 300);
    let coef = |s: &Solution| -> Vec<f64> {
        label
            .iter()
            .zip(&s.alpha)
            .map(|(&t, &a)| f64::from(t) * a)
            .collect()
    };
    assert_close(
        &decisions(&k, &rows, &coef(&shrunk), shrunk.rho),
        &decisions(&k, &rows, &coef(&whole), whole.rho),
        1e-3,
        "decisions",
    );
    let (x, _, y) = scattered(200, 2);
    let k = resolved(KernelKind::Rbf, x.view());
    let rows = k.rows(x.view());
    let shrunk = solve_svr(
        &k,
        rows.view(),
        y.view(),
        50.0,
        0.1,
        &settings(1e-6, true, 1 << 20),
    );
    let whole = solve_svr(
        &k,
        rows.view(),
        y.view(),
        50.0,
        0.1,
        &settings(1e-6, false, 1 << 20),
    );
    assert!(shrunk.fewest_active < 400, "the problem shrinks");
    let coef =
        |s: &Solution| -> Vec<f64> { (0..200).map(|i| s.alpha[i] - s.alpha[i + 200]).collect() };
    assert_close(
        &decisions(&k, &rows, &coef(&shrunk), shrunk.rho),
        &decisions(&k, &rows, &coef(&whole), whole.rho),
        1e-3,
        "svr decisions",
    );
}

#[test]
fn a_fitted_machine_keeps_only_rows_with_nonzero_coefficients() {
    let (x, label, _) = scattered(80, 3);
    let y: Array1<f64> = label
        .iter()
        .map(|&t| if t > 0 { 0.0 } else { 1.0 })
        .collect();
    let fitted = SvmClassifier {
        c: 1.0,
        kernel: kernel(KernelKind::Rbf, None, 3, 0.0),
        tol: 1e-3,
    }
    .fit_with(x.view(), y.view(), &Settings::new(1e-3))
    .unwrap();
    let WeightedSum::Kernel { support, coef } = &fitted.pairs[0].machine.sum else {
        panic!("an RBF machine keeps its support vectors");
    };
    assert_eq!(support.nrows(), coef.len());
    assert!(coef.iter().all(|&c| c != 0.0 && c.abs() <= 1.0));
    assert!(support.nrows() < 80);
}
