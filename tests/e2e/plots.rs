//! `cohort plot DIR` draws a study's or a training run's figures; `cohort intermediate DIR`
//! prints the intermediate values for notebooks.

use crate::util::*;

/// A sweep with a log-uniform parameter and a categorical one, in `st`.
fn sweep(s: &Scratch) {
    let config = quick_config("sampler = \"random\"\ntrials = 8").replace(
        "C = [0.01, 0.1, 1.0, 10.0]",
        "C = { type = \"log_uniform\", low = 0.001, high = 100.0 }",
    );
    let c = s.write("c.toml", &config);
    let o = sweep_cmd(s, &c, "", &[]).output().expect("run");
    assert_status(&o, 0);
}

fn read(s: &Scratch, path: &str) -> String {
    std::fs::read_to_string(s.path().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The texts drawn in an SVG figure.
fn texts(s: &Scratch, path: &str) -> Vec<String> {
    read(s, path)
        .split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

fn assert_png(s: &Scratch, path: &str) {
    let bytes = std::fs::read(s.path().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(bytes.starts_with(b"\x89PNG"), "{path} is not a PNG");
    assert!(bytes.len() > 10_000, "{path} is nearly empty");
}

#[test]
fn plot_of_a_study_writes_history_parameter_and_intermediate_figures_as_svg_and_png() {
    let s = Scratch::new();
    sweep(&s);
    let o = s.run(&["plot", "st"]);
    assert_status(&o, 0);
    let listed = stdout(&o);
    for stem in ["history", "param-C", "param-fit_intercept", "intermediate"] {
        assert!(listed.contains(&format!("st/plots/{stem}.svg")), "{listed}");
        assert_png(&s, &format!("st/plots/{stem}.png"));
    }
    let history = texts(&s, "st/plots/history.svg");
    for label in [
        "quick: optimization history",
        "trial",
        "accuracy",
        "best so far",
    ] {
        assert!(
            history.iter().any(|t| t == label),
            "history lacks {label}: {history:?}"
        );
    }
    let c = texts(&s, "st/plots/param-C.svg");
    assert!(c.iter().any(|t| t == "C (log scale)"), "{c:?}");
    let categories = texts(&s, "st/plots/param-fit_intercept.svg");
    assert!(categories.iter().any(|t| t == "true"), "{categories:?}");
    assert!(categories.iter().any(|t| t == "false"), "{categories:?}");
    let steps = texts(&s, "st/plots/intermediate.svg");
    assert!(
        steps.iter().any(|t| t == "step (report point)"),
        "{steps:?}"
    );
}

#[test]
fn plot_of_a_training_run_writes_its_training_curve() {
    let s = Scratch::new();
    let config = repo().join("configs/sgd-logistic.toml");
    let o = s.run(&[
        "train",
        config.to_str().unwrap(),
        "--study-dir",
        "run",
        "--shards",
        "2",
    ]);
    assert_status(&o, 0);
    let o = s.run(&["plot", "run"]);
    assert_status(&o, 0);
    assert_png(&s, "run/plots/training.png");
    let svg = texts(&s, "run/plots/training.svg");
    for label in [
        "sgd-logistic: training curve",
        "epoch",
        "held-out accuracy",
        "training loss",
    ] {
        assert!(
            svg.iter().any(|t| t == label),
            "training curve lacks {label}: {svg:?}"
        );
    }
}

#[test]
fn plot_of_a_directory_that_is_neither_a_study_nor_a_run_is_bad_input() {
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("empty")).expect("mkdir");
    let o = s.run(&["plot", "empty"]);
    assert_status(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("empty: neither a study directory") && err.contains("cohort train"),
        "{err}"
    );
    assert!(!s.path().join("empty/plots").exists(), "nothing is written");
    let o = s.run(&["plot", "missing"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("missing: no such directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn intermediate_values_come_as_csv_json_and_a_table_one_row_per_report_point() {
    let s = Scratch::new();
    sweep(&s);
    let o = s.run(&["intermediate", "st", "--format", "csv"]);
    assert_status(&o, 0);
    let csv = stdout(&o);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("trial,attempt,step,value,state"));
    // 8 trials, 3 folds each.
    assert_eq!(lines.clone().count(), 24, "{csv}");
    assert!(lines.all(|l| l.ends_with(",complete")), "{csv}");
    let o = s.run(&["intermediate", "st", "--format", "json"]);
    assert_status(&o, 0);
    let rows = json(&o);
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 24);
    assert!(rows[0]["value"].as_f64().is_some_and(|v| v > 0.5));
    assert_eq!(rows[2]["step"], 2);
    let o = s.run(&["intermediate", "st"]);
    assert_status(&o, 0);
    assert!(
        stdout(&o).starts_with("trial  attempt step"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn intermediate_of_a_directory_that_is_not_a_study_is_bad_input() {
    let s = Scratch::new();
    let o = s.run(&["intermediate", "nowhere", "--format", "csv"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("nowhere"), "{}", stderr(&o));
}
