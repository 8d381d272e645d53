//! `cohort train`: one model, S trainers, one shared parameter array.

use crate::util::*;

fn config(merge: &str, epochs: u32) -> String {
    format!(
        r#"
[study]
name = "t"
seed = 0

[data]
synthetic = {{ rows = 200000, features = 32, informative = 8, classes = 2, seed = 4 }}
holdout = 0.2

[model]
name = "sgd_logistic"
alpha = 1e-4

[train]
epochs = {epochs}
merge = "{merge}"
merges_per_epoch = 50
"#
    )
}

fn train(s: &Scratch, merge: &str, shards: u32, dir: &str) -> serde_json::Value {
    let c = s.write(&format!("{merge}.toml"), &config(merge, 5));
    let o = s.run(&[
        "train",
        c.to_str().unwrap(),
        "--shards",
        &shards.to_string(),
        "--study-dir",
        dir,
        "--json",
    ]);
    assert_status(&o, 0);
    json(&o)
}

fn accuracy(v: &serde_json::Value) -> f64 {
    v["heldout"]["accuracy"].as_f64().unwrap()
}

#[test]
fn two_shards_reach_one_shards_accuracy_within_half_a_point_when_averaging() {
    let s = Scratch::new();
    let (one, two) = (train(&s, "average", 1, "a1"), train(&s, "average", 2, "a2"));
    assert!(
        (accuracy(&one) - accuracy(&two)).abs() <= 0.005,
        "1 shard {} vs 2 shards {}",
        accuracy(&one),
        accuracy(&two)
    );
    assert!(accuracy(&one) > 0.9);
}

#[test]
fn two_shards_reach_one_shards_accuracy_within_half_a_point_with_locked_merges() {
    let s = Scratch::new();
    let (one, two) = (train(&s, "locked", 1, "l1"), train(&s, "locked", 2, "l2"));
    assert!(
        (accuracy(&one) - accuracy(&two)).abs() <= 0.005,
        "1 shard {} vs 2 shards {}",
        accuracy(&one),
        accuracy(&two)
    );
    assert!(two["merges"].as_u64().unwrap() >= 2 * 50 * 5, "{two}");
}

#[test]
fn hogwild_trains_and_reports_what_it_got() {
    let s = Scratch::new();
    let v = train(&s, "hogwild", 2, "h2");
    assert!(accuracy(&v) > 0.8, "{v}");
    assert_eq!(v["merge"], "hogwild");
}

#[test]
fn progress_is_evaluated_on_held_out_rows_every_epoch() {
    let s = Scratch::new();
    let v = train(&s, "average", 2, "a2");
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.len(), 5);
    assert_eq!(
        h.iter()
            .map(|e| e["samples"].as_u64().unwrap())
            .sum::<u64>(),
        5 * 160_000
    );
    assert_eq!(v["rows"], serde_json::json!([160000, 40000, 32]));
}

#[test]
fn the_saved_model_carries_its_standardization_and_parameters() {
    let s = Scratch::new();
    train(&s, "locked", 2, "m");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.path().join("m/model.json")).unwrap())
            .unwrap();
    assert_eq!(m["format"], "cohort-model/2");
    assert_eq!(m["preprocessing"]["kind"], "standardize");
    assert_eq!(m["preprocessing"]["mean"].as_array().unwrap().len(), 32);
    assert_eq!(m["model"]["params"].as_array().unwrap().len(), 33);
    assert_eq!(m["features"].as_array().unwrap().len(), 32);
    assert_eq!(m["classes"], serde_json::json!(["0", "1"]));
    assert!(s.path().join("m/summary.json").is_file() && s.path().join("m/config.toml").is_file());
}

fn arrays_of(pid: u32) -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("cohort-{pid}-")))
        .collect()
}

fn killed_trainer_is_respawned(merge: &str) {
    let s = Scratch::new();
    let c = s.write("c.toml", &config(merge, 60));
    let run = Watched::spawn(s.cohort(&[
        "train",
        c.to_str().unwrap(),
        "--shards",
        "2",
        "--study-dir",
        "k",
        "--json",
    ]));
    let pid = run.id();
    // Kill a trainer mid-training: after the first epoch is done, not after a guessed delay.
    assert!(
        run.wait_for_line("epoch 1/60", 60.0),
        "training made no progress"
    );
    assert!(
        !arrays_of(pid).is_empty(),
        "no parameter array while training"
    );
    // Without a barrier (locked) a fast shard may be done already: kill one still training.
    let victims = children(pid);
    assert!(!victims.is_empty(), "no trainer left to kill");
    signal(victims[0], libc::SIGKILL);
    let o = run.finish(120.0);
    assert_status(&o, 0);
    let v = json(&o);
    assert!(v["respawns"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["history"].as_array().unwrap().len(), 60);
    assert!(accuracy(&v) > 0.9, "{v}");
    assert!(
        arrays_of(pid).is_empty(),
        "the parameter array outlived the run"
    );
}

#[test]
fn a_killed_trainer_is_respawned_on_its_shard_when_averaging() {
    killed_trainer_is_respawned("average");
}

#[test]
fn a_killed_trainer_is_respawned_on_its_shard_with_locked_merges() {
    killed_trainer_is_respawned("locked");
}

#[test]
fn an_unknown_merge_mode_is_refused_with_a_suggestion() {
    let s = Scratch::new();
    let c = s.write("c.toml", &config("averge", 1));
    let o = s.run(&["train", c.to_str().unwrap(), "--study-dir", "x"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("train.merge") && stderr(&o).contains("did you mean `average`"),
        "{}",
        stderr(&o)
    );
    assert!(!s.path().join("x").exists());
}

#[test]
fn linear_regression_trains_on_a_csv() {
    let s = Scratch::new();
    let c = s.write(
        "c.toml",
        "[study]\nname = \"r\"\n[data]\npath = \"{data}/diabetes.csv\"\n[model]\nname = \"sgd_linear_regression\"\nalpha = 0.001\n[train]\nepochs = 50\nshards = 2\nmerge = \"average\"\nmerges_per_epoch = 5\n",
    );
    let o = s.run(&["train", c.to_str().unwrap(), "--study-dir", "r", "--json"]);
    assert_status(&o, 0);
    let v = json(&o);
    assert!(v["heldout"]["r2"].as_f64().unwrap() > 0.3, "{v}");
}

#[test]
fn an_mlp_trains_on_a_multiclass_csv() {
    let s = Scratch::new();
    let c = s.write(
        "c.toml",
        "[study]\nname = \"m\"\n[data]\npath = \"{data}/wine.csv\"\nholdout = 0.3\n[model]\nname = \"mlp\"\nhidden = [16]\neta0 = 0.05\n[train]\nepochs = 60\nshards = 2\nmerge = \"locked\"\nmerges_per_epoch = 4\n",
    );
    let o = s.run(&["train", c.to_str().unwrap(), "--study-dir", "m", "--json"]);
    assert_status(&o, 0);
    assert!(accuracy(&json(&o)) > 0.85, "{}", stdout(&o));
}
