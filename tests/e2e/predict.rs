//! Refit, save, predict: a finished sweep refits its best trial on all the data and saves it;
//! `cohort predict` applies a sweep's or a training's model to a CSV file.

use crate::util::*;
use std::path::{Path, PathBuf};

/// Iris with its classes named, and the same rows without the target column.
fn named_iris(s: &Scratch) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(repo().join("configs/data/iris.csv")).unwrap();
    let names = ["setosa", "versicolor", "virginica"];
    let mut with = String::new();
    let mut without = String::new();
    for (i, line) in text.lines().enumerate() {
        let (features, label) = line.rsplit_once(',').unwrap();
        let label = if i == 0 {
            "species"
        } else {
            names[label.parse::<usize>().unwrap()]
        };
        with.push_str(&format!("{features},{label}\n"));
        without.push_str(&format!("{features}\n"));
    }
    (s.write("iris.csv", &with), s.write("rows.csv", &without))
}

/// A grid over a decision tree on `data` (target `species`).
fn tree_config(data: &Path) -> String {
    format!(
        r#"
[study]
name = "tree"
metric = "accuracy"

[data]
path = "{}"
target = "species"

[model]
name = "decision_tree"

[cv]
folds = 3

[search]
sampler = "grid"

[search.space]
max_depth = [1, 3]
"#,
        data.display()
    )
}

fn sweep(s: &Scratch, cfg: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "sweep",
        cfg.to_str().unwrap(),
        "--study-dir",
        "st",
        "--workers",
        "2",
    ];
    args.extend_from_slice(extra);
    s.run(&args)
}

#[test]
fn a_finished_sweep_saves_its_best_model_and_predict_gives_class_names_and_probabilities() {
    let s = Scratch::new();
    let (data, rows) = named_iris(&s);
    let cfg = s.write("c.toml", &tree_config(&data));
    let o = sweep(&s, &cfg, &["--json"]);
    assert_status(&o, 0);
    let doc = json(&o);
    assert_eq!(doc["refit"]["state"], "saved", "{doc}");
    assert_eq!(doc["refit"]["rows"], 150);
    let model: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.path().join("st/best_model.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(model["params"]["max_depth"], 3, "the best of depth 1 and 3");
    assert_eq!(
        model["classes"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );

    let o = s.run(&["predict", "st", rows.to_str().unwrap()]);
    assert_status(&o, 0);
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("prediction,proba_setosa,proba_versicolor,proba_virginica")
    );
    let predicted: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(predicted.len(), 150);
    let truth: Vec<String> = std::fs::read_to_string(&data)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect();
    let right = predicted
        .iter()
        .zip(&truth)
        .filter(|(p, t)| *p == t)
        .count();
    assert!(
        right >= 140,
        "{right} of 150 right on the rows it was fitted on"
    );
}

#[test]
fn predict_accepts_the_target_column_and_writes_to_a_file() {
    let s = Scratch::new();
    let (data, _) = named_iris(&s);
    let cfg = s.write("c.toml", &tree_config(&data));
    assert_status(&sweep(&s, &cfg, &[]), 0);
    let o = s.run(&[
        "predict",
        "st/best_model.json",
        data.to_str().unwrap(),
        "--output",
        "p.csv",
    ]);
    assert_status(&o, 0);
    assert!(stdout(&o).is_empty());
    let written = std::fs::read_to_string(s.path().join("p.csv")).unwrap();
    assert_eq!(written.lines().count(), 151);
}

#[test]
fn predict_refuses_a_file_whose_columns_do_not_match_naming_the_missing_and_extra_ones() {
    let s = Scratch::new();
    let (data, _) = named_iris(&s);
    let cfg = s.write("c.toml", &tree_config(&data));
    assert_status(&sweep(&s, &cfg, &[]), 0);
    let bad = s.write("bad.csv", "sepal_length_cm,petal_width_cm,colour\n1,2,3\n");
    let o = s.run(&["predict", "st", bad.to_str().unwrap()]);
    assert_status(&o, 2);
    let err = stderr(&o);
    for needle in [
        "bad.csv",
        "missing `sepal_width_cm`, `petal_length_cm`",
        "extra `colour`",
    ] {
        assert!(err.contains(needle), "expected `{needle}` in:\n{err}");
    }
    assert_eq!(err.matches("error:").count(), 1, "one message:\n{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn predict_refuses_a_cell_that_is_not_a_number_naming_its_line_and_column() {
    let s = Scratch::new();
    let (data, _) = named_iris(&s);
    let cfg = s.write("c.toml", &tree_config(&data));
    assert_status(&sweep(&s, &cfg, &[]), 0);
    let bad = s.write(
        "bad.csv",
        "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\n1,2,3,4\n1,x,3,4\n",
    );
    let o = s.run(&["predict", "st", bad.to_str().unwrap()]);
    assert_status(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("line 3") && err.contains("`sepal_width_cm`") && err.contains("`x`"),
        "{err}"
    );
}

#[test]
fn without_refit_there_is_no_model_and_predict_says_how_to_get_one() {
    let s = Scratch::new();
    let (data, rows) = named_iris(&s);
    let cfg = s.write("c.toml", &tree_config(&data));
    assert_status(&sweep(&s, &cfg, &["--no-refit"]), 0);
    assert!(!s.path().join("st/best_model.json").exists());
    let o = s.run(&["predict", "st", rows.to_str().unwrap()]);
    assert_status(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("no saved model")
            && err.contains("--no-refit")
            && err.contains("cohort refit st"),
        "{err}"
    );

    let o = s.run(&["refit", "st"]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("best_model.json"), "{}", stdout(&o));
    assert_status(&s.run(&["predict", "st", rows.to_str().unwrap()]), 0);
}

#[test]
fn predict_refuses_a_directory_that_is_not_a_study() {
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("empty")).unwrap();
    let rows = s.write("rows.csv", "a\n1\n");
    let o = s.run(&["predict", "empty", rows.to_str().unwrap()]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("not a study or training directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn refit_refuses_a_directory_that_is_not_a_study() {
    let s = Scratch::new();
    let o = s.run(&["refit", "nowhere"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("nowhere"), "{}", stderr(&o));
}

#[test]
fn a_regressor_predicts_values_without_probabilities() {
    let s = Scratch::new();
    let cfg = s.write(
        "c.toml",
        r#"
[study]
name = "ridge"
metric = "r2"

[data]
path = "{data}/diabetes.csv"

[model]
name = "ridge"

[cv]
folds = 3

[search]
sampler = "grid"

[search.space]
alpha = [0.001, 0.1]
"#,
    );
    assert_status(&sweep(&s, &cfg, &[]), 0);
    let data = repo().join("configs/data/diabetes.csv");
    let o = s.run(&["predict", "st", data.to_str().unwrap(), "--format", "json"]);
    assert_status(&o, 0);
    let rows = json(&o);
    assert_eq!(rows.as_array().unwrap().len(), 442);
    assert!(rows[0]["prediction"].is_f64(), "{}", rows[0]);
    assert_eq!(rows[0].as_object().unwrap().len(), 1);
}

#[test]
fn a_training_run_model_predicts_too() {
    let s = Scratch::new();
    let cfg = s.write(
        "t.toml",
        r#"
[study]
name = "t"

[data]
path = "{data}/iris.csv"

[model]
name = "sgd_logistic"

[train]
epochs = 3
merge = "average"
"#,
    );
    let o = s.run(&[
        "train",
        cfg.to_str().unwrap(),
        "--study-dir",
        "run",
        "-q",
        "--format",
        "csv",
    ]);
    assert_status(&o, 0);
    let history = stdout(&o);
    let header = history.lines().next().unwrap_or("");
    assert!(
        header.contains("epoch") && header.contains("heldout_accuracy"),
        "{history}"
    );
    assert_eq!(
        history.lines().count(),
        4,
        "a header and 3 epochs:
{history}"
    );
    let data = repo().join("configs/data/iris.csv");
    let o = s.run(&["predict", "run", data.to_str().unwrap()]);
    assert_status(&o, 0);
    let out = stdout(&o);
    assert_eq!(
        out.lines().next(),
        Some("prediction,proba_0,proba_1,proba_2")
    );
    assert_eq!(out.lines().count(), 151);
}

#[test]
fn a_program_study_says_it_has_no_model_to_refit() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let prog = s.write("p.sh", "#!/bin/sh\necho \"cohort: loss=$COHORT_TRIAL\"\n");
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = s.write(
        "c.toml",
        r#"
[study]
name = "prog"
metric = "loss"
direction = "minimize"

[program]
command = ["./p.sh", "--x={x}"]

[search]
sampler = "grid"

[search.space]
x = [1, 2]
"#,
    );
    let o = sweep(&s, &cfg, &[]);
    assert_status(&o, 0);
    assert!(
        stdout(&o).contains("program trials have no model to refit"),
        "{}",
        stdout(&o)
    );
    let o = s.run(&["predict", "st", cfg.to_str().unwrap()]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("program trials have no model"),
        "{}",
        stderr(&o)
    );
}

/// Sweep the shipped mixed-type config (imputation, one-hot, standardization) on `data` into
/// `st`, with `unknown_category` set as given.
fn sweep_mixed(s: &Scratch, data: &Path, unknown: &str) {
    let cfg = std::fs::read_to_string(repo().join("configs/preprocess.toml"))
        .unwrap()
        .replace(
            "path = \"data/mixed.csv\"",
            &format!("path = \"{}\"", data.display()),
        )
        .replace(
            "unknown_category = \"zeros\"",
            &format!("unknown_category = \"{unknown}\""),
        );
    let cfg = s.write("mixed.toml", &cfg);
    assert_status(&sweep(s, &cfg, &[]), 0);
}

#[test]
fn a_model_refit_with_its_preprocessing_predicts_text_categories_and_missing_cells() {
    let s = Scratch::new();
    sweep_mixed(&s, &repo().join("configs/data/mixed.csv"), "zeros");
    let model = std::fs::read_to_string(s.path().join("st/best_model.json")).unwrap();
    assert!(model.contains("\"pipeline\""), "{model}");
    let data = repo().join("configs/data/mixed.csv");
    let o = s.run(&["predict", "st", data.to_str().unwrap()]);
    assert_status(&o, 0);
    let text = std::fs::read_to_string(&data).unwrap();
    let truth: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    let out = stdout(&o);
    let predicted: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(predicted.len(), truth.len());
    let right = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
    // The sweep's best scores about 0.9 in cross-validation: the rows it was fitted on do as well.
    assert!(right * 10 >= truth.len() * 8, "{right} of {}", truth.len());
    // A category no training row had is encoded as all zeros, as configured.
    let unseen = s.write(
        "unseen.csv",
        "a,color,b,size,c\n1.0,purple,2.0,S,0.5\n1.0,green,NA,,0.5\n",
    );
    let o = s.run(&["predict", "st", unseen.to_str().unwrap()]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
}

#[test]
fn predict_refuses_a_category_unseen_in_training_naming_the_line_and_column() {
    let s = Scratch::new();
    // Without the rare sizes, every fold's training rows have every category: no trial fails.
    let text = std::fs::read_to_string(repo().join("configs/data/mixed.csv")).unwrap();
    let common: String = text
        .lines()
        .filter(|l| !l.contains(",XL,") && !l.contains(",XXL,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let data = s.write("common.csv", &common);
    sweep_mixed(&s, &data, "error");
    let unseen = s.write(
        "unseen.csv",
        "a,color,b,size,c\n1.0,green,2.0,S,0.5\n1.0,purple,2.0,S,0.5\n",
    );
    let o = s.run(&["predict", "st", unseen.to_str().unwrap()]);
    assert_status(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("line 3") && err.contains("`color`") && err.contains("`purple`"),
        "{err}"
    );
}

/// A sweep whose refit misbehaves as `fault` says (`COHORT_FAULT`): it still finishes (its
/// trials are data), says the refit failed and why, and predict says there is no model.
fn failed_refit(fault: &str, why: &str) {
    let s = Scratch::new();
    let (data, rows) = named_iris(&s);
    let cfg = s.write("c.toml", &tree_config(&data));
    let o = sweep_cmd(&s, &cfg, fault, &[]).output().unwrap();
    assert_status(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("the refit of trial 1 failed") && out.contains(why),
        "{out}"
    );
    assert!(!s.path().join("st/best_model.json").exists());
    let o = s.run(&["predict", "st", rows.to_str().unwrap()]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("its refit failed"), "{}", stderr(&o));
}

#[test]
fn a_refit_whose_model_fails_is_recorded_and_the_sweep_still_finishes() {
    failed_refit("panic@refit", "injected panic");
}

#[test]
fn a_refit_whose_trainer_dies_is_recorded_and_the_sweep_still_finishes() {
    failed_refit("exit@refit", "its trainer died");
}

#[test]
fn a_refit_kmeans_study_predicts_a_cluster_column() {
    let s = Scratch::new();
    let (data, rows) = named_iris(&s);
    let cfg = s.write(
        "c.toml",
        &format!(
            r#"
[study]
name = "clusters"
metric = "silhouette"

[data]
path = "{}"
target = "species"

[model]
name = "kmeans"

[cv]
folds = 3

[search]
sampler = "grid"

[search.space]
n_clusters = [2, 3]
"#,
            data.display()
        ),
    );
    assert_status(&sweep(&s, &cfg, &["--no-refit"]), 0);
    assert_status(&s.run(&["refit", "st"]), 0);
    let o = s.run(&["predict", "st", rows.to_str().unwrap(), "--format", "json"]);
    assert_status(&o, 0);
    let out = json(&o);
    let out = out.as_array().unwrap();
    assert_eq!(out.len(), 150);
    let clusters: std::collections::BTreeSet<u64> =
        out.iter().map(|r| r["cluster"].as_u64().unwrap()).collect();
    assert!(clusters.len() >= 2, "{clusters:?}");
    assert!(clusters.iter().all(|&c| c < 3), "{clusters:?}");
    assert!(out[0]["sq_dist"].as_f64().unwrap() >= 0.0, "{}", out[0]);
    assert!(out[0].get("prediction").is_none(), "{}", out[0]);
}

#[test]
fn svc_and_knn_studies_predict_class_names() {
    for (model, space) in [
        ("svc", "C = [0.5, 1.0]"),
        ("knn_classifier", "n_neighbors = [3, 5]"),
    ] {
        let s = Scratch::new();
        let (data, rows) = named_iris(&s);
        let cfg = s.write(
            "c.toml",
            &tree_config(&data)
                .replace("decision_tree", model)
                .replace("max_depth = [1, 3]", space),
        );
        assert_status(&sweep(&s, &cfg, &[]), 0);
        let o = s.run(&["predict", "st", rows.to_str().unwrap(), "--format", "json"]);
        assert_status(&o, 0);
        let out = json(&o);
        let out = out.as_array().unwrap();
        assert_eq!(out.len(), 150, "{model}");
        let right = out
            .iter()
            .enumerate()
            .filter(|(i, r)| r["prediction"] == ["setosa", "versicolor", "virginica"][i / 50])
            .count();
        assert!(right > 135, "{model}: {right} of 150 right");
    }
}
