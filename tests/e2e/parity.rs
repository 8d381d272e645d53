//! Correct against a reference: scikit-learn's GridSearchCV on the same grid and folds.

use crate::util::*;

/// scikit-learn 1.9.1 `GridSearchCV(Pipeline([StandardScaler(), LogisticRegression(max_iter=1000)]),
/// {"C": [...], "fit_intercept": [True, False]}, cv=5, scoring="accuracy")` on
/// configs/data/breast_cancer.csv: mean test accuracy of each candidate, in grid order.
const SKLEARN: [(f64, bool, f64); 12] = [
    (0.001, true, 0.8911193913988511),
    (0.001, false, 0.9472752678155565),
    (0.01, true, 0.9490607048594939),
    (0.01, false, 0.9666511411271543),
    (0.1, true, 0.9771619313771154),
    (0.1, false, 0.9806862288464524),
    (1.0, true, 0.9806862288464524),
    (1.0, false, 0.9789318428815401),
    (10.0, true, 0.968390001552554),
    (10.0, false, 0.9719298245614034),
    (100.0, true, 0.9631423691973297),
    (100.0, false, 0.9613879832324173),
];

#[test]
fn logistic_grid_scores_match_scikit_learn_gridsearchcv_on_the_same_folds() {
    let s = Scratch::new();
    let config = repo().join("configs/sklearn-parity.toml");
    let o = s.run(&[
        "sweep",
        config.to_str().unwrap(),
        "--json",
        "--study-dir",
        "st",
    ]);
    assert_status(&o, 0);
    let v = json(&o);
    let trials = v["trials"].as_array().unwrap();
    assert_eq!(trials.len(), SKLEARN.len());
    for (t, (c, intercept, want)) in trials.iter().zip(SKLEARN) {
        assert_eq!(t["params"]["C"].as_f64().unwrap(), c);
        assert_eq!(t["params"]["fit_intercept"].as_bool().unwrap(), intercept);
        let got = t["value"].as_f64().unwrap();
        // One test row of 114 moves a fold's accuracy by 0.0088, the mean by 0.0018.
        assert!(
            (got - want).abs() <= 0.002,
            "C={c} fit_intercept={intercept}: {got} vs scikit-learn {want}"
        );
    }
    let best = &v["best_trial"];
    assert_eq!(best["params"]["C"].as_f64().unwrap(), 0.1);
    assert_eq!(best["params"]["fit_intercept"], false);
    assert!((best["value"].as_f64().unwrap() - 0.9806862288464524).abs() < 0.01);
}
