//! Config ergonomics: `init`, `--set`, `check`, shell completions, and `--format` on every
//! command that reports.

use crate::util::*;

#[test]
fn init_writes_a_commented_config_that_runs_as_it_is() {
    for model in ["decision_tree", "ridge"] {
        let s = Scratch::new();
        let o = s.run(&["init", "--model", model, "start.toml"]);
        assert_status(&o, 0);
        let text = std::fs::read_to_string(s.path().join("start.toml")).unwrap();
        assert!(text.starts_with("# A starter sweep of"), "{text}");
        assert!(text.contains(&format!("name = \"{model}\"")), "{text}");
        let o = s.run(&["sweep", "start.toml", "--study-dir", "st", "--workers", "2"]);
        assert_status(&o, 0);
        assert!(s.path().join("st/best_model.json").is_file());
    }
}

#[test]
fn init_names_the_data_relative_to_the_config_when_they_share_a_directory() {
    // A config written inside the repository finds the shipped data by a relative path.
    std::fs::create_dir_all(repo().join("target")).unwrap();
    let dir = tempfile::tempdir_in(repo().join("target")).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(["init", "c.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_status(&o, 0);
    let text = std::fs::read_to_string(dir.path().join("c.toml")).unwrap();
    assert!(
        text.contains("path = \"../../configs/data/iris.csv\""),
        "{text}"
    );
}

#[test]
fn init_refuses_to_overwrite_a_file() {
    let s = Scratch::new();
    s.write("mine.toml", "precious");
    let o = s.run(&["init", "mine.toml"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("mine.toml: already exists"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(s.path().join("mine.toml")).unwrap(),
        "precious"
    );
}

#[test]
fn init_refuses_an_unknown_model_suggesting_the_closest() {
    let s = Scratch::new();
    let o = s.run(&["init", "--model", "decision_tre"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("decision_tree"), "{}", stderr(&o));
    assert!(!s.path().join("cohort.toml").exists());
}

#[test]
fn check_prints_the_grid_size_and_what_would_run_and_writes_nothing() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = s.run(&["check", c.to_str().unwrap(), "--format", "json"]);
    assert_status(&o, 0);
    let plan = json(&o);
    assert_eq!(plan["space_size"], 8);
    assert_eq!(plan["trials"], 8);
    assert_eq!(plan["rows"], 569);
    assert_eq!(plan["features"], 30);
    assert_eq!(plan["folds"], 3);
    assert_eq!(plan["model"], "logistic_regression");
    assert!(
        plan["would_run"].as_str().unwrap().contains("8 trials"),
        "{plan}"
    );
    assert!(!s.path().join("runs").exists());

    let o = s.run(&["check", c.to_str().unwrap()]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("grid of 8 points"), "{}", stdout(&o));
}

#[test]
fn check_says_a_sampled_continuous_space_is_infinite() {
    let s = Scratch::new();
    let c = s.write(
        "c.toml",
        &quick_config("sampler = \"random\"\ntrials = 5").replace(
            "C = [0.01, 0.1, 1.0, 10.0]",
            "C = { type = \"log_uniform\", low = 0.01, high = 10.0 }",
        ),
    );
    let o = s.run(&["check", c.to_str().unwrap()]);
    assert_status(&o, 0);
    assert!(
        stdout(&o).contains("5 trials sampled from an infinite space"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_refuses_a_bad_config_with_the_sweeps_message() {
    let s = Scratch::new();
    let c = s.write(
        "c.toml",
        &quick_config("sampler = \"grid\"").replace("folds = 3", "fodls = 3"),
    );
    let o = s.run(&["check", c.to_str().unwrap()]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("did you mean `folds`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn set_overrides_a_config_value_for_the_run() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = s.run(&[
        "sweep",
        c.to_str().unwrap(),
        "--study-dir",
        "st",
        "--workers",
        "2",
        "--json",
        "--no-refit",
        "--set",
        "cv.folds=4",
        "--set",
        "search.space.C=[0.5]",
    ]);
    assert_status(&o, 0);
    let doc = json(&o);
    assert_eq!(doc["study"]["folds"], 4, "{doc}");
    assert_eq!(doc["trials"].as_array().unwrap().len(), 2);
    let stored = std::fs::read_to_string(s.path().join("st/config.toml")).unwrap();
    assert!(stored.contains("--set cv.folds=4"), "{stored}");
}

#[test]
fn a_set_of_an_unknown_key_or_a_wrong_type_is_refused_naming_it() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    for (set, needle) in [
        ("cv.fodls=4", "did you mean `folds`"),
        ("cv.folds=four", "expected i64"),
        ("cv.folds=1", "`cv.folds`"),
    ] {
        for command in ["sweep", "check"] {
            let mut args = vec![command, c.to_str().unwrap()];
            if command == "sweep" {
                args.extend(["--study-dir", "st"]);
            }
            args.extend(["--set", set]);
            let o = s.run(&args);
            assert_status(&o, 2);
            let err = stderr(&o);
            assert!(
                err.contains(&format!("`--set {set}`")) && err.contains(needle),
                "{command} --set {set}:\n{err}"
            );
            assert_eq!(err.matches("error:").count(), 1, "{err}");
            assert!(!s.path().join("st").exists());
        }
    }
}

#[test]
fn shell_completions_come_from_the_command_line_definition() {
    let s = Scratch::new();
    let o = s.run(&["completions", "bash"]);
    assert_status(&o, 0);
    let script = stdout(&o);
    assert!(
        script.contains("_cohort") && script.contains("predict"),
        "{script}"
    );
    let o = s.run(&["completions", "tcsh"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("tcsh"), "{}", stderr(&o));
}

#[test]
fn every_reporting_command_takes_format_json_and_csv() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = s.run(&[
        "sweep",
        c.to_str().unwrap(),
        "--study-dir",
        "st",
        "--workers",
        "2",
        "--format",
        "csv",
    ]);
    assert_status(&o, 0);
    assert!(stdout(&o).starts_with("trial,rank,state"), "{}", stdout(&o));
    let commands: [&[&str]; 5] = [
        &["results", "st"],
        &["best", "st"],
        &["status", "st"],
        &["models", "ridge"],
        &["check", "c.toml"],
    ];
    for args in commands {
        let with = |format: &str| {
            let mut a = args.to_vec();
            a.extend(["--format", format]);
            s.run(&a)
        };
        let o = with("json");
        assert_status(&o, 0);
        assert!(
            serde_json::from_slice::<serde_json::Value>(&o.stdout).is_ok(),
            "{args:?} --format json:\n{}",
            stdout(&o)
        );
        let o = with("csv");
        assert_status(&o, 0);
        let out = stdout(&o);
        let header = out.lines().next().unwrap_or("");
        assert!(header.contains(','), "{args:?} --format csv:\n{out}");
        let o = with("table");
        assert_status(&o, 0);
        assert!(!stdout(&o).is_empty(), "{args:?} --format table");
    }
}

#[test]
fn init_away_from_the_repository_writes_a_copy_of_the_data_next_to_the_config() {
    // A binary outside the repository, run outside it, as an installed one is.
    let bin = tempfile::tempdir().unwrap();
    let exe = bin.path().join("cohort");
    std::fs::copy(env!("CARGO_BIN_EXE_cohort"), &exe).unwrap();
    let s = Scratch::new();
    let run = |args: &[&str]| {
        std::process::Command::new(&exe)
            .args(args)
            .current_dir(s.path())
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    assert_status(&run(&["init", "--model", "dummy_classifier", "c.toml"]), 0);
    let text = std::fs::read_to_string(s.path().join("c.toml")).unwrap();
    assert!(text.contains("path = \"data/iris.csv\""), "{text}");
    assert_eq!(
        std::fs::read(s.path().join("data/iris.csv")).unwrap(),
        std::fs::read(repo().join("configs/data/iris.csv")).unwrap()
    );
    assert_status(
        &run(&[
            "sweep",
            "c.toml",
            "--study-dir",
            "st",
            "--workers",
            "1",
            "-q",
        ]),
        0,
    );
}
