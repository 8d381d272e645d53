//! Bad input gets one clear message naming the place, exit status 2, and leaves nothing behind.

use crate::util::*;

/// Run a sweep of `config` and check it is refused with status 2, a message containing each of
/// `needles`, and no study directory created.
fn refused(config: &str, needles: &[&str]) {
    let s = Scratch::new();
    let c = s.write("bad.toml", config);
    let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&o, 2);
    let err = stderr(&o);
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in:\n{err}");
    }
    assert_eq!(err.matches("error:").count(), 1, "one message:\n{err}");
    assert!(!s.path().join("st").exists(), "a refused study left a directory behind");
}

#[test]
fn malformed_toml_names_line_and_column() {
    refused(&quick_config("sampler = \"grid\"").replace("folds = 3", "folds = = 3"), &["bad.toml:", ":14:"]);
}

#[test]
fn unknown_key_suggests_the_closest_valid_one() {
    refused(&quick_config("sampler = \"grid\"").replace("folds = 3", "fodls = 3"), &["bad.toml", "fodls", "did you mean `folds`"]);
}

#[test]
fn unknown_model_suggests_the_closest_one() {
    refused(&quick_config("sampler = \"grid\"").replace("logistic_regression", "logistic_regresion"), &["model.name", "logistic_regresion", "logistic_regression"]);
}

#[test]
fn hyperparameter_out_of_range_is_refused() {
    refused(&quick_config("sampler = \"grid\"").replace("C = [0.01, 0.1, 1.0, 10.0]", "C = [0.01, -1.0]"), &["search.space.C", "-1"]);
}

#[test]
fn hyperparameter_of_the_wrong_type_is_refused() {
    refused(&quick_config("sampler = \"grid\"").replace("fit_intercept = [true, false]", "fit_intercept = [\"yes\"]"), &["search.space.fit_intercept", "true or false"]);
}

#[test]
fn metric_of_the_wrong_kind_is_refused() {
    refused(&quick_config("sampler = \"grid\"").replace("metric = \"accuracy\"", "metric = \"rmse\""), &["study.metric", "rmse"]);
}

#[test]
fn missing_data_file_names_the_file() {
    refused(&quick_config("sampler = \"grid\"").replace("breast_cancer.csv", "nope.csv"), &["nope.csv"]);
}

#[test]
fn grid_over_a_continuous_range_without_points_is_refused() {
    refused(&quick_config("sampler = \"grid\"").replace("C = [0.01, 0.1, 1.0, 10.0]", "C = { type = \"log_uniform\", low = 0.01, high = 10.0 }"), &["search.space.C", "points"]);
}

#[test]
fn zero_workers_is_a_usage_error() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = s.run(&["sweep", c.to_str().unwrap(), "--workers", "0"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("--workers"), "{}", stderr(&o));
}
