//! `[preprocess]`: fitted inside each training fold, as scikit-learn's Pipeline in GridSearchCV,
//! and refused with status 2 when it names what the data does not have.

use crate::util::*;

/// scikit-learn 1.9.1, GridSearchCV(cv=5, scoring="accuracy") over C of the pipeline in
/// configs/preprocess.toml (median imputation with missing indicators, StandardScaler, one-hot
/// ignoring unknown categories, LogisticRegression(max_iter=1000)) on configs/data/mixed.csv:
/// mean test accuracy per C, from tests/e2e/reference/preprocess_parity.py.
const SKLEARN: [(f64, f64); 4] = [
    (0.01, 0.82),
    (0.1, 0.8333333333333333),
    (1.0, 0.8300000000000001),
    (10.0, 0.8333333333333333),
];

/// The same for configs/preprocess-pca.toml (mean imputation, MinMaxScaler, PCA(4)).
const SKLEARN_PCA: [(f64, f64); 4] = [
    (0.01, 0.55),
    (0.1, 0.6066666666666667),
    (1.0, 0.6066666666666667),
    (10.0, 0.6066666666666667),
];

/// Each trial's (C, mean accuracy) from a sweep of `config` (under configs/).
fn scores(config: &str) -> Vec<(f64, f64)> {
    let s = Scratch::new();
    let path = repo().join("configs").join(config);
    let o = s.run(&[
        "sweep",
        path.to_str().unwrap(),
        "--json",
        "--study-dir",
        "st",
    ]);
    assert_status(&o, 0);
    json(&o)["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["params"]["C"].as_f64().unwrap(),
                t["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn imputation_scaling_and_one_hot_inside_the_folds_match_scikit_learn() {
    let got = scores("preprocess.toml");
    assert_eq!(got.len(), SKLEARN.len());
    for ((c, v), (want_c, want)) in got.into_iter().zip(SKLEARN) {
        assert_eq!(c, want_c);
        assert!((v - want).abs() < 1e-9, "C={c}: {v} vs scikit-learn {want}");
    }
}

#[test]
fn pca_after_min_max_scaling_matches_scikit_learn_within_one_test_row() {
    let got = scores("preprocess-pca.toml");
    assert_eq!(got.len(), SKLEARN_PCA.len());
    for ((c, v), (want_c, want)) in got.into_iter().zip(SKLEARN_PCA) {
        assert_eq!(c, want_c);
        // A test fold has 60 rows: one row moves the mean accuracy by 1/300.
        assert!(
            (v - want).abs() <= 1.0 / 300.0 + 1e-9,
            "C={c}: {v} vs scikit-learn {want}"
        );
    }
}

/// A config over configs/data/mixed.csv with `preprocess` as its `[preprocess]` table.
fn mixed_config(preprocess: &str) -> String {
    let data = repo().join("configs/data/mixed.csv");
    format!(
        "[study]\nname = \"p\"\nmetric = \"accuracy\"\n\n[data]\npath = \"{}\"\n\n\
         [model]\nname = \"logistic_regression\"\n\n[cv]\nfolds = 5\nshuffle = false\n\n\
         [preprocess]\n{preprocess}\n\n[search]\nsampler = \"grid\"\n\n[search.space]\nC = [1.0]\n",
        data.display()
    )
}

/// A sweep of `preprocess` over mixed.csv is refused with status 2 and a message holding each
/// of `needles`.
fn refused(preprocess: &str, needles: &[&str]) {
    let s = Scratch::new();
    let c = s.write("bad.toml", &mixed_config(preprocess));
    let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&o, 2);
    let err = stderr(&o);
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in:\n{err}");
    }
    assert!(
        !s.path().join("st").exists(),
        "a refused study left a directory"
    );
}

const FULL: &str = "categorical = [\"color\", \"size\"]\nimpute = \"median\"";

#[test]
fn a_categorical_column_not_in_the_data_is_refused_naming_the_field() {
    refused(
        "categorical = [\"colour\", \"size\"]\nimpute = \"median\"",
        &["preprocess.categorical", "colour"],
    );
}

#[test]
fn an_unknown_preprocessing_step_is_refused_naming_it() {
    refused(
        &format!("{FULL}\nnormalise = true"),
        &["bad.toml", "normalise"],
    );
    refused(
        &format!("{FULL}\nscale = \"robust\""),
        &["preprocess.scale", "robust"],
    );
    refused(
        "categorical = [\"color\", \"size\"]\nimpute = \"mode\"",
        &["preprocess.impute", "mode"],
    );
}

#[test]
fn bad_constants_are_refused_naming_the_field() {
    refused(
        "categorical = [\"color\", \"size\"]\nimpute = \"constant\"",
        &["preprocess.fill_value", "needs fill_value"],
    );
    refused(
        "categorical = [\"color\", \"size\"]\nimpute = \"constant\"\nfill_value = \"zero\"",
        &["preprocess.fill_value", "expected a number"],
    );
    refused(&format!("{FULL}\npca = 0"), &["preprocess.pca", "found 0"]);
    refused(&format!("{FULL}\npca = 99"), &["preprocess.pca", "99"]);
    refused(
        &format!("{FULL}\nunknown_category = \"skip\""),
        &["preprocess.unknown_category", "skip"],
    );
}

#[test]
fn missing_cells_without_imputation_keep_the_clear_error() {
    refused(
        "categorical = [\"color\", \"size\"]",
        &["mixed.csv", "line 2", "column 1 (`a`)"],
    );
}

#[test]
fn an_unseen_category_fails_the_trial_when_configured_as_an_error() {
    let s = Scratch::new();
    let c = s.write(
        "c.toml",
        &mixed_config(&format!("{FULL}\nunknown_category = \"error\"")),
    );
    let o = s.run(&["sweep", c.to_str().unwrap(), "--json", "--study-dir", "st"]);
    let v = json(&o);
    let error = v["trials"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains("column `size`") && error.contains("category `XXL`"),
        "{error}"
    );
}
