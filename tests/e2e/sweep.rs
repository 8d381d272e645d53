//! A sweep runs to completion and reports what a user needs.

use crate::util::*;

#[test]
fn quickstart_config_runs_and_prints_a_ranked_table_with_the_best_params() {
    let s = Scratch::new();
    let config = repo().join("configs/quickstart.toml");
    let o = s.run(&["sweep", config.to_str().unwrap(), "--workers", "2"]);
    assert_status(&o, 0);
    let out = stdout(&o);
    assert!(out.lines().next().unwrap().starts_with("rank"), "{out}");
    assert!(out.contains("best: trial"), "{out}");
    assert!(out.contains("C = "), "{out}");
    assert!(s.path().join("runs/quickstart/study.db").is_file());
    assert!(s.path().join("runs/quickstart/config.toml").is_file());
}

#[test]
fn json_output_has_every_trial_with_params_scores_state_and_duration() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = s.run(&["sweep", c.to_str().unwrap(), "--json", "--study-dir", "st"]);
    assert_status(&o, 0);
    let v = json(&o);
    let trials = v["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 8);
    for t in trials {
        assert_eq!(t["state"], "complete");
        assert!(t["params"]["C"].is_number());
        assert!(t["params"]["fit_intercept"].is_boolean());
        let acc = &t["metrics"]["accuracy"];
        assert!(acc["mean"].as_f64().unwrap() > 0.8 && acc["std"].as_f64().unwrap() >= 0.0);
        assert!(t["metrics"]["log_loss"]["mean"].as_f64().unwrap() > 0.0);
        assert_eq!(t["folds"].as_array().unwrap().len(), 3);
        assert!(t["duration_s"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(v["study"]["objective"], "accuracy");
    assert_eq!(v["study"]["direction"], "maximize");
    let best = v["best_trial"]["value"].as_f64().unwrap();
    assert!(trials.iter().all(|t| t["value"].as_f64().unwrap() <= best));
}

#[test]
fn logs_and_progress_go_to_stderr_leaving_stdout_pure_json() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = s.run(&[
        "sweep",
        c.to_str().unwrap(),
        "--json",
        "--study-dir",
        "st",
        "-v",
    ]);
    assert_status(&o, 0);
    json(&o);
    assert!(stderr(&o).contains("sweep starting"), "{}", stderr(&o));
}

#[test]
fn trainer_log_lines_reach_the_orchestrator_tagged_with_their_worker() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = s.run(&[
        "sweep",
        c.to_str().unwrap(),
        "--study-dir",
        "st",
        "--workers",
        "2",
    ]);
    assert_status(&o, 0);
    let err = stderr(&o);
    assert!(
        err.lines()
            .any(|l| l.contains("sweep setup received") && l.contains("worker=")),
        "{err}"
    );
}

/// Each trial's params and fold scores, in trial order.
type Scores = Vec<(serde_json::Value, serde_json::Value)>;

fn scores(o: &std::process::Output) -> Scores {
    json(o)["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["params"].clone(), t["folds"].clone()))
        .collect()
}

/// Each trial's params and fold scores from a sweep of `config` with 1 and then 2 workers.
fn with_one_and_two_workers(config: &str) -> (Scores, Scores) {
    let s = Scratch::new();
    let c = s.write("c.toml", config);
    let run = |workers: &str| {
        let o = s.run(&[
            "sweep",
            c.to_str().unwrap(),
            "--json",
            "--study-dir",
            workers,
            "--workers",
            workers,
        ]);
        assert_status(&o, 0);
        scores(&o)
    };
    (run("1"), run("2"))
}

#[test]
fn same_seed_gives_the_same_grid_study_with_one_or_two_workers() {
    let (one, two) = with_one_and_two_workers(&quick_config("sampler = \"grid\""));
    assert_eq!(one.len(), 8);
    assert_eq!(one, two);
}

#[test]
fn same_seed_gives_the_same_random_study_with_one_or_two_workers() {
    let text = quick_config("sampler = \"random\"\ntrials = 10").replace(
        "C = [0.01, 0.1, 1.0, 10.0]",
        "C = { type = \"log_uniform\", low = 0.001, high = 100.0 }",
    );
    let (one, two) = with_one_and_two_workers(&text);
    assert_eq!(one.len(), 10);
    assert_eq!(one, two);
}

#[test]
fn a_panicking_trial_is_one_failed_row_and_every_other_trial_completes() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = sweep_cmd(&s, &c, "panic@2,error@5", &["--json"])
        .output()
        .unwrap();
    assert_status(&o, 0);
    let v = json(&o);
    let trials = v["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 8);
    for t in trials {
        let n = t["trial"].as_u64().unwrap();
        if n == 2 || n == 5 {
            assert_eq!(t["state"], "failed", "{t}");
            let msg = t["error"].as_str().unwrap();
            assert!(
                msg.contains(if n == 2 {
                    "injected panic"
                } else {
                    "injected model error"
                }),
                "{msg}"
            );
        } else {
            assert_eq!(t["state"], "complete", "{t}");
        }
    }
}

#[test]
fn a_sweep_where_every_trial_fails_exits_with_status_1() {
    let s = Scratch::new();
    let text = quick_config("sampler = \"grid\"").replace(
        "C = [0.01, 0.1, 1.0, 10.0]\nfit_intercept = [true, false]",
        "C = [1.0]",
    );
    let c = s.write("c.toml", &text);
    let o = sweep_cmd(&s, &c, "error@0", &[]).output().unwrap();
    assert_status(&o, 1);
}

#[test]
fn results_best_and_status_read_a_finished_study() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    assert_status(
        &s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]),
        0,
    );
    let table = s.run(&["results", "st", "--top", "3"]);
    assert_status(&table, 0);
    assert_eq!(stdout(&table).lines().count(), 2 + 3);
    let csv = s.run(&["results", "st", "--format", "csv"]);
    assert_eq!(stdout(&csv).lines().count(), 1 + 8);
    assert!(stdout(&csv).starts_with("trial,rank,state,attempts,value,step,accuracy_mean"));
    let best = s.run(&["best", "st"]);
    assert_status(&best, 0);
    assert_eq!(json(&best)["rank"], 1);
    let status = s.run(&["status", "st"]);
    assert!(
        stdout(&status).contains("complete") && stdout(&status).contains('8'),
        "{}",
        stdout(&status)
    );
}

#[test]
fn a_class_smaller_than_the_folds_is_warned_about_and_the_sweep_runs() {
    let s = Scratch::new();
    let mut csv = String::from("a,b,label\n");
    for i in 0..30 {
        let label = if i < 2 { 1 } else { 0 };
        csv.push_str(&format!("{},{},{label}\n", i as f64 * 0.1, (i % 7) as f64));
    }
    std::fs::write(s.path().join("d.csv"), csv).unwrap();
    let c = s.write(
        "c.toml",
        &quick_config("sampler = \"grid\"")
            .replace("{data}/breast_cancer.csv", "d.csv")
            .replace("metrics = [\"log_loss\"]", ""),
    );
    let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&o, 0);
    assert!(
        stderr(&o).contains("least populated class has only 2 rows"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn models_name_shows_that_model_only() {
    let s = Scratch::new();
    let o = s.run(&["models", "mlp"]);
    assert_status(&o, 0);
    let text = stdout(&o);
    assert!(text.contains("mlp (classifier, iterative"), "{text}");
    assert!(
        text.contains("hidden_units") && !text.contains("ridge"),
        "{text}"
    );
}

#[test]
fn models_with_an_unknown_name_is_refused_with_the_closest() {
    let s = Scratch::new();
    let o = s.run(&["models", "sgd_logistc"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("did you mean `sgd_logistic`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_forest_reports_after_each_tree_with_its_out_of_bag_score() {
    let s = Scratch::new();
    let c = s.write(
        "forest.toml",
        &format!(
            "[study]\nname = \"forest\"\nmetric = \"accuracy\"\n\n[data]\npath = \"{}\"\n\
             target = \"label\"\n\n[model]\nname = \"random_forest_classifier\"\n\
             params = {{ n_estimators = 6, oob_score = true, max_depth = 3 }}\n\n\
             [cv]\nfolds = 3\n\n[search]\nsampler = \"grid\"\n\n[search.space]\n\
             criterion = [\"gini\", \"entropy\"]\n",
            repo().join("configs/data/breast_cancer.csv").display()
        ),
    );
    let o = s.run(&["sweep", c.to_str().unwrap(), "--json", "--study-dir", "st"]);
    assert_status(&o, 0);
    let v = json(&o);
    for t in v["trials"].as_array().unwrap() {
        let reports = t["reports"].as_array().unwrap();
        assert_eq!(reports.len(), 6, "one report point per tree: {t}");
        for r in reports {
            let oob = r["oob_score"].as_f64().unwrap();
            assert!((0.5..=1.0).contains(&oob), "{r}");
        }
        assert!(t["value"].as_f64().unwrap() > 0.85, "{t}");
    }
}
