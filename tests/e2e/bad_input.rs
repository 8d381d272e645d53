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
    assert!(
        !s.path().join("st").exists(),
        "a refused study left a directory behind"
    );
}

#[test]
fn malformed_toml_names_line_and_column() {
    refused(
        &quick_config("sampler = \"grid\"").replace("folds = 3", "folds = = 3"),
        &["bad.toml:", ":16:"],
    );
}

#[test]
fn unknown_key_suggests_the_closest_valid_one() {
    refused(
        &quick_config("sampler = \"grid\"").replace("folds = 3", "fodls = 3"),
        &["bad.toml", "fodls", "did you mean `folds`"],
    );
}

#[test]
fn unknown_model_suggests_the_closest_one() {
    refused(
        &quick_config("sampler = \"grid\"").replace("logistic_regression", "logistic_regresion"),
        &["model.name", "logistic_regresion", "logistic_regression"],
    );
}

#[test]
fn hyperparameter_out_of_range_is_refused() {
    refused(
        &quick_config("sampler = \"grid\"")
            .replace("C = [0.01, 0.1, 1.0, 10.0]", "C = [0.01, -1.0]"),
        &["search.space.C", "-1"],
    );
}

#[test]
fn hyperparameter_of_the_wrong_type_is_refused() {
    refused(
        &quick_config("sampler = \"grid\"")
            .replace("fit_intercept = [true, false]", "fit_intercept = [\"yes\"]"),
        &["search.space.fit_intercept", "true or false"],
    );
}

#[test]
fn metric_of_the_wrong_kind_is_refused() {
    refused(
        &quick_config("sampler = \"grid\"").replace("metric = \"accuracy\"", "metric = \"rmse\""),
        &["study.metric", "rmse"],
    );
}

#[test]
fn missing_data_file_names_the_file() {
    refused(
        &quick_config("sampler = \"grid\"").replace("breast_cancer.csv", "nope.csv"),
        &["nope.csv"],
    );
}

#[test]
fn grid_over_a_continuous_range_without_points_is_refused() {
    refused(
        &quick_config("sampler = \"grid\"").replace(
            "C = [0.01, 0.1, 1.0, 10.0]",
            "C = { type = \"log_uniform\", low = 0.01, high = 10.0 }",
        ),
        &["search.space.C", "points"],
    );
}

#[test]
fn zero_workers_is_a_usage_error() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = s.run(&["sweep", c.to_str().unwrap(), "--workers", "0"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("--workers"), "{}", stderr(&o));
}

/// A sweep of the quick config over a CSV with `csv` as its contents.
fn refused_data(csv: &str, needles: &[&str]) {
    let s = Scratch::new();
    std::fs::write(s.path().join("d.csv"), csv).unwrap();
    let config = quick_config("sampler = \"grid\"").replace("{data}/breast_cancer.csv", "d.csv");
    let c = s.write("bad.toml", &config);
    let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&o, 2);
    let err = stderr(&o);
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in:\n{err}");
    }
    assert!(
        !s.path().join("st").exists(),
        "a refused study left a directory behind"
    );
}

fn rows(n: usize) -> String {
    let mut s = String::from("a,b,label\n");
    for i in 0..n {
        s.push_str(&format!(
            "{},{},{}\n",
            i as f64 * 0.5,
            (i * 7 % 5) as f64,
            i % 2
        ));
    }
    s
}

#[test]
fn a_csv_row_with_the_wrong_number_of_fields_names_its_line() {
    refused_data(&(rows(10) + "1.0,2.0\n"), &["d.csv", "line 12", "3 fields"]);
}

#[test]
fn a_non_numeric_cell_names_line_and_column() {
    refused_data(
        &rows(10)
            .replacen("1,0,1\n", "1,zero,1\n", 1)
            .replacen("0.5,2,1", "0.5,x2,1", 1),
        &["d.csv", "line 3", "column 2", "x2"],
    );
}

#[test]
fn nan_or_infinite_values_are_refused() {
    refused_data(
        &rows(10).replacen("1.5,", "NaN,", 1),
        &["d.csv", "line 5", "not finite"],
    );
    refused_data(
        &rows(10).replacen("1.5,", "inf,", 1),
        &["d.csv", "line 5", "not finite"],
    );
}

#[test]
fn a_missing_target_column_is_named() {
    refused_data(&rows(10).replacen("label", "y", 1), &["d.csv", "label"]);
}

#[test]
fn a_classifier_needs_two_classes() {
    let one_class: String = rows(10)
        .lines()
        .map(|l| {
            if l.starts_with('a') {
                l.to_string()
            } else {
                format!("{}0", &l[..l.len() - 1])
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    refused_data(&one_class, &["d.csv", "one class"]);
}

#[test]
fn fewer_rows_than_folds_is_refused() {
    refused_data(&rows(2), &["cv.folds"]);
}

#[test]
fn an_unwritable_study_directory_is_refused_and_nothing_is_created() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    std::fs::write(s.path().join("file"), "not a directory").unwrap();
    let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "file/st"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("file"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(s.path().join("file")).unwrap(),
        "not a directory"
    );
}

/// Run with the file-size limit set: writes past it fail as on a full disk.
fn with_file_limit(cmd: &mut std::process::Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit in the forked child before exec; async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let l = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &l);
            Ok(())
        });
    }
}

#[test]
fn a_full_disk_while_creating_the_study_leaves_nothing_half_created() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let mut cmd = s.cohort(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    with_file_limit(&mut cmd, 2048);
    let o = cmd.output().unwrap();
    assert_status(&o, 2);
    assert!(stderr(&o).contains("full"), "{}", stderr(&o));
    let left: Vec<_> = std::fs::read_dir(s.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "c.toml")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_full_disk_mid_sweep_stops_with_a_clear_message_and_keeps_what_was_committed() {
    let s = Scratch::new();
    let text = quick_config("sampler = \"random\"\ntrials = 400").replace(
        "C = [0.01, 0.1, 1.0, 10.0]",
        "C = { type = \"log_uniform\", low = 0.01, high = 10.0 }",
    );
    let c = s.write("c.toml", &text);
    let mut cmd = s.cohort(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    with_file_limit(&mut cmd, 160 * 1024);
    let o = cmd.output().unwrap();
    assert_status(&o, 2);
    assert!(stderr(&o).contains("full"), "{}", stderr(&o));
    let rows = trial_rows(&s.path().join("st"));
    assert!(!rows.is_empty() && rows.len() < 400, "{} rows", rows.len());
    let r = s.run(&["resume", "st"]);
    assert_status(&r, 0);
    assert_eq!(
        trial_rows(&s.path().join("st"))
            .iter()
            .filter(|r| r.1 == "complete")
            .count(),
        400
    );
}

/// A forest or boosting config of `model` with `params` for its [model] table.
fn ensemble_config(model: &str, params: &str) -> String {
    format!(
        "[study]\nname = \"e\"\nmetric = \"accuracy\"\n\n[data]\npath = \"{}\"\ntarget = \"label\"\n\n\
         [model]\nname = \"{model}\"\nparams = {{ {params} }}\n\n[search]\nsampler = \"grid\"\n",
        repo().join("configs/data/breast_cancer.csv").display()
    )
}

#[test]
fn forest_hyperparameters_out_of_range_are_refused_naming_the_field() {
    refused(
        &ensemble_config("random_forest_classifier", "max_features = 0"),
        &["max_features", "\"sqrt\"", "a number in (0, 1]"],
    );
    refused(
        &ensemble_config("extra_trees_classifier", "n_estimators = 0"),
        &["n_estimators", "1..=10000"],
    );
    refused(
        &ensemble_config("random_forest_classifier", "max_samples = 1.5"),
        &["max_samples"],
    );
}

#[test]
fn boosting_hyperparameters_out_of_range_are_refused_naming_the_field() {
    refused(
        &ensemble_config("hist_gradient_boosting_classifier", "max_bins = 256"),
        &["max_bins", "2..=255"],
    );
    refused(
        &ensemble_config(
            "hist_gradient_boosting_classifier",
            "early_stopping = \"sometimes\"",
        ),
        &["early_stopping", "\"auto\"", "true or false"],
    );
    refused(
        &ensemble_config("hist_gradient_boosting_classifier", "learning_rate = 0"),
        &["learning_rate", "> 0"],
    );
}

/// A grid sweep of `model` scored by `metric` on breast_cancer, with `params` fixed and `space`
/// searched.
fn model_config(model: &str, metric: &str, params: &str, space: &str) -> String {
    format!(
        r#"
[study]
name = "bad-model"
metric = "{metric}"

[data]
path = "{{data}}/breast_cancer.csv"
target = "label"

[model]
name = "{model}"
params = {{ {params} }}

[cv]
folds = 3

[search]
sampler = "grid"

[search.space]
{space}
"#
    )
}

#[test]
fn kmeans_scored_by_accuracy_is_refused() {
    refused(
        &model_config("kmeans", "accuracy", "", "n_clusters = [2, 3]"),
        &["study.metric", "accuracy", "kmeans", "clustering"],
    );
}

#[test]
fn a_classifier_scored_by_a_clustering_metric_is_refused() {
    refused(
        &model_config("svc", "silhouette", "", "C = [1.0]"),
        &["study.metric", "silhouette", "svc", "classifier"],
    );
}

#[test]
fn a_regressor_on_a_classification_study_is_refused() {
    refused(
        &model_config("knn_regressor", "accuracy", "", "n_neighbors = [3]"),
        &["study.metric", "accuracy", "knn_regressor", "regressor"],
    );
}

#[test]
fn svm_gamma_out_of_range_is_refused() {
    refused(
        &model_config("svc", "accuracy", "", "gamma = [0.1, 0.0]"),
        &[
            "search.space.gamma",
            "svc",
            "expected a number > 0",
            "found 0",
        ],
    );
}

#[test]
fn svm_kernel_not_in_the_list_is_refused() {
    refused(
        &model_config("svc", "accuracy", "kernel = \"sigmoid\"", "C = [1.0]"),
        &[
            "model.params",
            "`kernel`",
            "sigmoid",
            "\"linear\", \"rbf\", \"poly\"",
        ],
    );
}

#[test]
fn zero_neighbours_is_refused() {
    refused(
        &model_config("knn_classifier", "accuracy", "", "n_neighbors = [0, 5]"),
        &[
            "search.space.n_neighbors",
            "expected an integer >= 1, found 0",
        ],
    );
}

#[test]
fn negative_naive_bayes_smoothing_is_refused() {
    refused(
        &model_config("multinomial_nb", "accuracy", "", "alpha = [1.0, -1.0]"),
        &["search.space.alpha", "multinomial_nb", "found -1"],
    );
}

#[test]
fn negative_ftrl_l1_is_refused() {
    refused(
        &model_config("ftrl", "accuracy", "l1 = -0.5", "alpha = [0.1]"),
        &[
            "model.params",
            "`l1`",
            "ftrl",
            "expected a number >= 0, found -0.5",
        ],
    );
}

#[test]
fn zero_kmeans_clusters_is_refused() {
    refused(
        &model_config("kmeans", "silhouette", "n_clusters = 0", "n_init = [1]"),
        &["model.params", "`n_clusters`", "kmeans", "found 0"],
    );
}

#[test]
fn ftrl_on_three_classes_is_refused_before_it_starts() {
    refused(
        &model_config("ftrl", "accuracy", "", "alpha = [0.1]").replace("breast_cancer", "iris"),
        &[
            "model.name",
            "ftrl",
            "at most 2 classes",
            "iris.csv",
            "has 3",
        ],
    );
}
