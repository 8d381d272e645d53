//! The one engine under sweeps and training: stopping a trial without killing its trainer, one
//! owner per study directory, spaces checked for size, training that keeps what it has done.

use crate::util::*;
use std::process::Stdio;

/// A sweep with one worker, its trainers misbehaving as `fault` says.
fn one_worker_sweep(s: &Scratch, fault: &str) -> serde_json::Value {
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let child = s
        .cohort(&[
            "sweep",
            c.to_str().unwrap(),
            "--study-dir",
            "st",
            "--workers",
            "1",
            "--json",
        ])
        .env("COHORT_FAULT", fault)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = wait_output(child, 120.0);
    assert_status(&o, 0);
    json(&o)
}

/// (trial, attempt, step, value) of every intermediate value of a study.
fn intermediate(study: &std::path::Path) -> Vec<(i64, i64, i64, f64)> {
    let conn = rusqlite::Connection::open(study.join("study.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT trial, attempt, step, value FROM intermediate_values ORDER BY trial, step")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_stopped_trial_is_recorded_pruned_at_its_step_and_its_trainer_takes_the_next() {
    let s = Scratch::new();
    // Slow trials report live, and wait at each report point long enough for a stop asked
    // there to arrive: the pruner stops trial 2 at its second report point (fold 1).
    let v = one_worker_sweep(&s, "sleep30@*,slowreport100@*,prune@2:1");
    let trials = v["trials"].as_array().unwrap();
    let t2 = trials.iter().find(|t| t["trial"] == 2).unwrap();
    assert_eq!(t2["state"], "pruned", "{t2}");
    assert_eq!(t2["step"], 1, "{t2}");
    assert_eq!(t2["folds"].as_array().unwrap().len(), 2, "{t2}");
    for t in trials.iter().filter(|t| t["trial"] != 2) {
        assert_eq!(t["state"], "complete", "{t}");
    }
    // No trainer was killed for it: one worker ran every trial.
    assert!(trials.iter().all(|t| t["worker"] == 0), "{trials:?}");
    let reports = intermediate(&s.path().join("st"));
    let of = |n: i64| reports.iter().filter(|r| r.0 == n).count();
    assert_eq!(of(2), 2, "{reports:?}");
    // Every report of a finished trial is stored, the last fold's included.
    assert_eq!(of(0), 3, "{reports:?}");
}

#[test]
fn the_table_says_where_a_pruned_trial_stopped() {
    let s = Scratch::new();
    one_worker_sweep(&s, "sleep30@*,slowreport100@*,prune@1:0");
    let o = s.run(&["results", "st", "--state", "pruned"]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("pruned at step 0"), "{}", stdout(&o));
    let csv = s.run(&["results", "st", "--format", "csv", "--state", "pruned"]);
    let row = stdout(&csv).lines().nth(1).unwrap_or_default().to_string();
    assert!(row.starts_with("1,,pruned,1,,0,"), "{row}");
}

#[test]
fn a_second_sweep_on_a_study_in_use_is_refused_naming_the_owner() {
    let s = Scratch::new();
    let c = s.write(
        "c.toml",
        &quick_config("sampler = \"random\"\ntrials = 200").replace(
            "C = [0.01, 0.1, 1.0, 10.0]",
            "C = { type = \"log_uniform\", low = 0.01, high = 10.0 }",
        ),
    );
    let first = sweep_cmd(&s, &c, "sleep100@*", &[]).spawn().unwrap();
    let study = s.path().join("st");
    assert!(
        wait_for(60.0, || trial_rows(&study)
            .iter()
            .any(|r| r.1 == "complete")),
        "the first sweep did not start"
    );
    let second = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&second, 2);
    let why = stderr(&second);
    assert!(
        why.contains("in use") && why.contains(&format!("pid {}", first.id())),
        "{why}"
    );
    let resume = s.run(&["resume", "st"]);
    assert_status(&resume, 2);
    signal(first.id(), libc::SIGKILL);
    let _ = wait_output(first, 30.0);
    // The kernel released the killed owner's lock: the study can be resumed at once.
    let r = s
        .cohort(&["resume", "st", "--workers", "2"])
        .env("COHORT_FAULT", "")
        .output()
        .unwrap();
    assert_status(&r, 0);
}

#[test]
fn a_grid_too_large_to_run_is_refused_with_its_size_before_anything_is_written() {
    let s = Scratch::new();
    let c = s.write(
        "c.toml",
        &quick_config("sampler = \"grid\"").replace(
            "C = [0.01, 0.1, 1.0, 10.0]",
            "C = { type = \"log_uniform\", low = 0.001, high = 100.0, points = 100000 }\ntol = { type = \"log_uniform\", low = 1e-8, high = 1e-2, points = 100000 }",
        ),
    );
    let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("20000000000 points"), "{}", stderr(&o));
    assert!(!s.path().join("st").exists());
}

fn slow_training(epochs: u32) -> String {
    format!(
        r#"
[study]
name = "ck"
seed = 1

[data]
synthetic = {{ rows = 100000, features = 32, informative = 8, classes = 2, seed = 4 }}

[model]
name = "sgd_logistic"
alpha = 1e-4

[train]
epochs = {epochs}
shards = 2
merge = "average"
merges_per_epoch = 20
"#
    )
}

#[test]
fn a_killed_training_continues_from_its_last_whole_epoch() {
    let s = Scratch::new();
    let c = s.write("c.toml", &slow_training(40));
    let child = s
        .cohort(&["train", c.to_str().unwrap(), "--study-dir", "ck"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = s.path().join("ck/checkpoint.json");
    let epoch_of = |p: &std::path::Path| -> Option<u64> {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
        v["epoch"].as_u64()
    };
    assert!(
        wait_for(120.0, || epoch_of(&checkpoint).is_some_and(|e| e >= 1)),
        "no checkpoint after the second epoch"
    );
    signal(child.id(), libc::SIGKILL);
    let _ = wait_output(child, 30.0);
    let kept = epoch_of(&checkpoint).unwrap();
    assert!(
        !s.path().join("ck/summary.json").exists(),
        "it had finished"
    );
    let o = s.run(&["train", c.to_str().unwrap(), "--study-dir", "ck", "--json"]);
    assert_status(&o, 0);
    assert!(
        stderr(&o).contains("continuing from the checkpoint"),
        "{}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["resumed_after_epoch"].as_u64(), Some(kept), "{v}");
    let epochs: Vec<u64> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, (0..40).collect::<Vec<_>>());
    assert!(v["heldout"]["accuracy"].as_f64().unwrap() > 0.9, "{v}");
}

#[test]
fn a_second_training_on_a_run_in_use_is_refused() {
    let s = Scratch::new();
    let c = s.write("c.toml", &slow_training(200));
    let mut first = s
        .cohort(&["train", c.to_str().unwrap(), "--study-dir", "ck"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(60.0, || s.path().join("ck/owner.lock").exists()
            && std::fs::read_to_string(s.path().join("ck/owner.lock"))
                .is_ok_and(|t| t.contains("pid"))),
        "the first run did not start"
    );
    let o = s.run(&["train", c.to_str().unwrap(), "--study-dir", "ck"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains(&format!("pid {}", first.id())),
        "{}",
        stderr(&o)
    );
    let _ = first.kill();
    let _ = first.wait();
}

#[test]
fn a_sweep_trainer_that_dies_before_its_hello_is_replaced_at_once() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let child = sweep_cmd(&s, &c, "prehello@w0", &["--json"])
        .spawn()
        .unwrap();
    // Noticed from its output closing: well before the 20 s connect limit would fire.
    let o = wait_output(child, 15.0);
    assert_status(&o, 0);
    let v = json(&o);
    let trials = v["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 8);
    assert!(
        trials.iter().all(|t| t["state"] == "complete"),
        "{trials:?}"
    );
    assert!(
        trials.iter().all(|t| t["worker"] != 0),
        "worker 0 never connected"
    );
}

/// `cohort train` on 2 shards in `average` mode with `fault`, run to completion.
fn faulty_training(s: &Scratch, fault: &str, run: &str, secs: f64) -> (serde_json::Value, String) {
    let text = format!(
        "{}\n[run]\n{run}\n",
        slow_training(4).replace("rows = 100000", "rows = 40000")
    );
    let c = s.write("t.toml", &text);
    let child = s
        .cohort(&["train", c.to_str().unwrap(), "--study-dir", "t", "--json"])
        .env("COHORT_FAULT", fault)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = wait_output(child, secs);
    assert_status(&o, 0);
    (json(&o), stderr(&o))
}

fn epochs(v: &serde_json::Value) -> Vec<u64> {
    v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["epoch"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_shard_trainer_that_dies_before_its_hello_is_respawned_and_training_finishes() {
    let s = Scratch::new();
    let (v, _) = faulty_training(&s, "prehello@w1", "", 15.0);
    assert!(v["respawns"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(epochs(&v), [0, 1, 2, 3]);
}

#[test]
fn a_stalled_shard_is_killed_after_the_stall_limit_and_respawned() {
    let s = Scratch::new();
    // Shard 1 stops making progress at round 10; shard 0 waits for it at the barrier.
    let (v, log) = faulty_training(&s, "hang@shard1:r10", "stall = \"2s\"", 60.0);
    assert!(log.contains("stall"), "{log}");
    assert!(v["respawns"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(epochs(&v), [0, 1, 2, 3]);
    assert!(v["heldout"]["accuracy"].as_f64().unwrap() > 0.85, "{v}");
}

#[test]
fn a_shard_killed_right_after_the_last_round_of_an_epoch_rejoins_and_training_finishes() {
    let s = Scratch::new();
    // 20 rounds an epoch: round 19 is the last of epoch 0, round 39 of epoch 1.
    for fault in [
        "exit@shard0:after19",
        "exit@shard1:after39",
        "exit@shard0:r20",
    ] {
        let (v, log) = faulty_training(&s, fault, "", 60.0);
        assert_eq!(v["respawns"].as_u64(), Some(1), "{fault}: {v}\n{log}");
        assert_eq!(epochs(&v), [0, 1, 2, 3], "{fault}");
        std::fs::remove_dir_all(s.path().join("t")).unwrap();
    }
}

#[test]
fn an_iterative_model_reports_every_epoch_and_stops_at_the_epoch_it_is_told() {
    let s = Scratch::new();
    let c = s.write(
        "c.toml",
        "[study]\nseed = 3\nmetric = \"accuracy\"\n[data]\npath = \"{data}/iris.csv\"\n[model]\nname = \"sgd_logistic\"\nparams = { epochs = 6 }\n[cv]\nfolds = 3\n[search]\nsampler = \"grid\"\n[search.space]\nalpha = [0.0001, 0.001, 0.01]\n",
    );
    let child = s
        .cohort(&[
            "sweep",
            c.to_str().unwrap(),
            "--study-dir",
            "st",
            "--workers",
            "1",
            "--json",
        ])
        .env("COHORT_FAULT", "sleep30@*,slowreport50@1,prune@1:2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = wait_output(child, 120.0);
    assert_status(&o, 0);
    let v = json(&o);
    let trial = |n: u64| {
        v["trials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["trial"] == n)
            .unwrap()
            .clone()
    };
    let (t0, t1) = (trial(0), trial(1));
    assert_eq!(t0["state"], "complete", "{t0}");
    assert_eq!(t0["reports"].as_array().unwrap().len(), 6, "{t0}");
    assert_eq!(t0["folds"].as_array().unwrap().len(), 3, "{t0}");
    assert_eq!(t1["state"], "pruned", "{t1}");
    assert_eq!(t1["step"], 2, "{t1}");
    assert_eq!(t1["reports"].as_array().unwrap().len(), 3, "{t1}");
    let steps: Vec<i64> = intermediate(&s.path().join("st"))
        .into_iter()
        .filter(|r| r.0 == 0)
        .map(|r| r.2)
        .collect();
    assert_eq!(steps, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn a_row_budget_reports_each_share_and_scores_the_full_fit_as_without_it() {
    let s = Scratch::new();
    let plain = s.write("plain.toml", &quick_config("sampler = \"grid\""));
    let budgeted = s.write(
        "budget.toml",
        &quick_config("sampler = \"grid\"\nbudget = { rows = 0.2, factor = 3 }"),
    );
    let run = |c: &std::path::Path, dir: &str| {
        let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", dir, "--json"]);
        assert_status(&o, 0);
        json(&o)
    };
    let (a, b) = (run(&plain, "a"), run(&budgeted, "b"));
    for (x, y) in a["trials"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["trials"].as_array().unwrap())
    {
        assert_eq!(x["value"], y["value"], "trial {}", x["trial"]);
        // 20%, 60%, then every training row.
        assert_eq!(y["reports"].as_array().map(Vec::len), Some(3), "{y}");
        assert!(x["reports"].is_null(), "{x}");
    }
}

/// An MLP sweep of 24 random trials, pruned by `pruner`, on `workers` workers.
fn pruned_sweep(s: &Scratch, pruner: &str, workers: &str, dir: &str) -> serde_json::Value {
    let c = s.write(
        &format!("{dir}.toml"),
        &format!(
            "[study]\nseed = 11\nmetric = \"accuracy\"\n[data]\npath = \"{{data}}/wine.csv\"\n[model]\nname = \"mlp\"\nparams = {{ epochs = 12, batch_size = 16 }}\n[cv]\nfolds = 3\n[search]\nsampler = \"random\"\ntrials = 24\nbatch = 4\n[search.space]\neta0 = {{ type = \"log_uniform\", low = 1e-4, high = 0.3 }}\nhidden_units = {{ type = \"int\", low = 2, high = 32 }}\n[search.pruner]\n{pruner}\n"
        ),
    );
    let o = s.run(&[
        "sweep",
        c.to_str().unwrap(),
        "--study-dir",
        dir,
        "--workers",
        workers,
        "--json",
    ]);
    assert_status(&o, 0);
    json(&o)
}

/// (trial, state, step, value) of every trial.
fn outcomes(v: &serde_json::Value) -> Vec<(u64, String, Option<u64>, Option<f64>)> {
    v["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["trial"].as_u64().unwrap(),
                t["state"].as_str().unwrap().to_string(),
                t["step"].as_u64(),
                t["value"].as_f64(),
            )
        })
        .collect()
}

#[test]
fn pruned_sweeps_end_the_same_whatever_the_number_of_workers() {
    let s = Scratch::new();
    for pruner in [
        "kind = \"median\"\nmin_trials = 4",
        "kind = \"asha\"\nmin_trials = 4",
    ] {
        let one = outcomes(&pruned_sweep(&s, pruner, "1", "one"));
        let two = outcomes(&pruned_sweep(&s, pruner, "2", "two"));
        assert_eq!(one, two, "{pruner}");
        let pruned = one.iter().filter(|t| t.1 == "pruned").count();
        assert!(pruned >= 3, "{pruner}: only {pruned} pruned: {one:?}");
        assert!(
            one.iter().filter(|t| t.1 == "complete").count() >= 4,
            "{one:?}"
        );
        for dir in ["one", "two"] {
            std::fs::remove_dir_all(s.path().join(dir)).unwrap();
        }
    }
}

#[test]
fn a_pruned_sweep_killed_mid_way_resumes_to_the_same_end_as_an_unbroken_one() {
    let s = Scratch::new();
    let pruner = "kind = \"median\"\nmin_trials = 4";
    let whole = outcomes(&pruned_sweep(&s, pruner, "2", "whole"));
    // The same study, slowed down so it can be killed with some trials final and some not.
    let c = s.path().join("whole.toml");
    let child = sweep_cmd(&s, &c, "sleep40@*", &[]).spawn().unwrap();
    let study = s.path().join("st");
    let finals = |rows: &[(i64, String, i64, Option<f64>)]| {
        rows.iter()
            .filter(|r| r.1 == "complete" || r.1 == "pruned")
            .count()
    };
    assert!(
        wait_for(60.0, || finals(&trial_rows(&study)) >= 9),
        "the sweep made no progress"
    );
    signal(child.id(), libc::SIGKILL);
    let _ = wait_output(child, 30.0);
    assert!(finals(&trial_rows(&study)) < 24, "it had finished");
    let o = s.run(&["resume", "st", "--workers", "2", "--json"]);
    assert_status(&o, 0);
    assert_eq!(outcomes(&json(&o)), whole);
}

/// The shipped TPE example, shortened.
fn tpe_config(s: &Scratch) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("configs/tpe-search.toml"))
        .unwrap()
        .replace("path = \"data/wine.csv\"", "path = \"{data}/wine.csv\"")
        .replace("trials = 48", "trials = 24")
        .replace("epochs = 27", "epochs = 9");
    s.write("tpe.toml", &text)
}

#[test]
fn tpe_sweeps_end_the_same_whatever_the_workers_and_after_a_kill() {
    let s = Scratch::new();
    let c = tpe_config(&s);
    let run = |dir: &str, workers: &str| {
        let o = s.run(&[
            "sweep",
            c.to_str().unwrap(),
            "--study-dir",
            dir,
            "--workers",
            workers,
            "--json",
        ]);
        assert_status(&o, 0);
        let v = json(&o);
        let params: Vec<String> = v["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["params"].to_string())
            .collect();
        (outcomes(&v), params)
    };
    let one = run("one", "1");
    assert_eq!(one, run("two", "2"));
    assert!(one.0.iter().any(|t| t.1 == "pruned"), "{:?}", one.0);
    // Killed with some batches told and some not, then resumed: the same end.
    let child = sweep_cmd(&s, &c, "sleep30@*", &[]).spawn().unwrap();
    let study = s.path().join("st");
    assert!(
        wait_for(60.0, || trial_rows(&study)
            .iter()
            .filter(|r| r.1 == "complete" || r.1 == "pruned")
            .count()
            >= 10),
        "the sweep made no progress"
    );
    signal(child.id(), libc::SIGKILL);
    let _ = wait_output(child, 30.0);
    let finals = trial_rows(&study)
        .iter()
        .filter(|r| r.1 == "complete" || r.1 == "pruned")
        .count();
    assert!(finals < 24, "it had finished");
    let o = s.run(&["resume", "st", "--workers", "2", "--json"]);
    assert_status(&o, 0);
    assert_eq!(outcomes(&json(&o)), one.0);
}
