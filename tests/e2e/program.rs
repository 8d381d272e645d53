//! Program trials: the user's own command as the trial, parameters in through argv, the
//! environment and params.json, metrics out through `cohort:` lines, one process group per
//! trial that never outlives its trial, its trainer or the orchestrator.

use crate::util::*;
use std::path::{Path, PathBuf};

/// A config running `command` (TOML array items) over `space`, objective `loss` (minimize);
/// `extra` is appended (more sections or `[run]`).
fn config(command: &str, space: &str, extra: &str) -> String {
    format!(
        r#"
[study]
name = "prog"
seed = 3
metric = "loss"
direction = "minimize"

[program]
command = [{command}]
{extra}

[search]
sampler = "grid"

[search.space]
{space}
"#
    )
}

/// Write `body` as an executable shell script `name` in the scratch directory.
fn script(s: &Scratch, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = s.write(name, &format!("#!/bin/sh\n{body}"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Run a sweep of `cfg` with 2 workers and `--json`; fault rules as in `COHORT_FAULT`.
fn sweep(s: &Scratch, cfg: &str, fault: &str) -> std::process::Output {
    let c = s.write("c.toml", cfg);
    let child = sweep_cmd(s, &c, fault, &["--json"]).spawn().unwrap();
    wait_output(child, 120.0)
}

fn trial_dir(s: &Scratch, n: u64) -> PathBuf {
    s.path().join("st/trials").join(n.to_string())
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Pids a script wrote, one a line, to `pids` in its trial directory.
fn pids(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("pids"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// A script that starts a grandchild `sleep`, records both pids, reports, then waits forever.
const FORKS_AND_WAITS: &str = r#"sleep 1000 &
echo $$ >> "$COHORT_TRIAL_DIR/pids"
echo $! >> "$COHORT_TRIAL_DIR/pids"
echo "cohort: loss=1"
echo "cohort: loss=2"
wait
"#;

#[test]
fn parameters_arrive_through_argv_environment_and_params_json_encoded_predictably() {
    let s = Scratch::new();
    script(
        &s,
        "p.sh",
        r#"printf '%s\n' "$@" > "$COHORT_TRIAL_DIR/argv"
env | grep '^COHORT_' | sort > "$COHORT_TRIAL_DIR/env"
echo "cohort: loss=$COHORT_TRIAL"
"#,
    );
    let cfg = config(
        r#""./p.sh", "--lr={lr}", "-n{layers}", "{flag}", "{args}""#,
        "lr = [1e-5, 3.0]\nlayers = [3]\nflag = [true, false]",
        "format = { flag = \"1/0\" }",
    );
    let o = sweep(&s, &cfg, "");
    assert_status(&o, 0);
    let v = json(&o);
    assert_eq!(v["trials"].as_array().unwrap().len(), 4);
    // Grid order: flag slowest (true first), then layers, then lr.
    let argv = read(&trial_dir(&s, 0).join("argv"));
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        [
            "--lr=1e-5",
            "-n3",
            "1",
            "--flag=1",
            "--layers=3",
            "--lr=1e-5"
        ],
        "{argv}"
    );
    let argv = read(&trial_dir(&s, 3).join("argv"));
    assert!(argv.starts_with("--lr=3.0\n-n3\n0\n"), "{argv}");
    let env = read(&trial_dir(&s, 3).join("env"));
    for want in [
        "COHORT_PARAM_LR=3.0",
        "COHORT_PARAM_LAYERS=3",
        "COHORT_PARAM_FLAG=0",
        "COHORT_TRIAL=3",
    ] {
        assert!(env.lines().any(|l| l == want), "{want} in\n{env}");
    }
    let dir = trial_dir(&s, 3);
    assert!(
        env.contains(&format!("COHORT_TRIAL_DIR={}", dir.display())),
        "{env}"
    );
    assert!(env.contains("COHORT_SEED="), "{env}");
    let params: serde_json::Value = serde_json::from_str(&read(&dir.join("params.json"))).unwrap();
    assert_eq!(
        params,
        serde_json::json!({"lr": 3.0, "layers": 3, "flag": false})
    );
    assert!(params["layers"].is_i64() && params["lr"].is_f64());
}

#[test]
fn a_trial_directory_holds_its_last_attempt_command_metrics_exit_and_logs() {
    let s = Scratch::new();
    // The first attempt writes to stderr and is killed; the second writes only to stdout.
    script(
        &s,
        "p.sh",
        "if [ \"$COHORT_ATTEMPT\" = 1 ]; then echo 'first attempt' >&2; echo 'cohort: loss=9'; kill -9 $$; fi\necho 'cohort: loss=1'\n",
    );
    let o = sweep(&s, &config(r#""./p.sh", "{x}""#, "x = [7]", ""), "");
    assert_status(&o, 0);
    let dir = trial_dir(&s, 0);
    let command: serde_json::Value = serde_json::from_str(&read(&dir.join("trial.json"))).unwrap();
    assert_eq!(
        command["argv"],
        serde_json::json!(["./p.sh", "7"]),
        "{command}"
    );
    assert_eq!(command["attempt"], 2, "{command}");
    assert_eq!(command["exit"]["state"], "complete", "{command}");
    assert_eq!(command["exit"]["code"], 0, "{command}");
    assert_eq!(command["env"]["COHORT_PARAM_X"], "7", "{command}");
    assert_eq!(read(&dir.join("stdout.log")), "cohort: loss=1\n");
    assert_eq!(
        command["metrics"],
        serde_json::json!([{"point": 0, "step": 0, "values": {"loss": 1.0}}]),
        "{command}"
    );
    // Nothing of the first attempt is left: its stderr line is gone with its file.
    assert!(!dir.join("stderr.log").exists());
}

#[test]
fn metric_lines_are_read_from_stdout_and_stderr_as_json_or_pairs_and_every_name_is_stored() {
    let s = Scratch::new();
    script(
        &s,
        "p.sh",
        r#"echo 'cohort: {"step": 0, "loss": 0.9, "acc": 0.5}'
echo 'noise: not a metric'
echo 'cohort: step=1 loss=0.7 acc=0.6' >&2
printf 'cohort: step=2 loss=0.5\r'
echo 'cohort: final loss=0.4'
"#,
    );
    let o = sweep(&s, &config(r#""./p.sh""#, "x = [1]", ""), "");
    assert_status(&o, 0);
    let t = &json(&o)["trials"][0];
    assert_eq!(t["state"], "complete", "{t}");
    assert_eq!(t["value"], 0.4, "{t}");
    assert_eq!(t["folds"][0]["acc"], 0.6, "{t}");
    // Two streams are read side by side: lines of one keep their order, not across both.
    let mut losses: Vec<f64> = t["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["loss"].as_f64().unwrap())
        .collect();
    losses.sort_by(f64::total_cmp);
    assert_eq!(losses, [0.5, 0.7, 0.9], "{t}");
    let record: serde_json::Value =
        serde_json::from_str(&read(&trial_dir(&s, 0).join("trial.json"))).unwrap();
    assert_eq!(
        record["metrics"].as_array().map(Vec::len),
        Some(4),
        "{record}"
    );
}

#[test]
fn a_metrics_regex_reads_a_program_that_prints_its_own_format() {
    let s = Scratch::new();
    script(
        &s,
        "p.sh",
        "echo 'epoch 0 loss: 0.8'\necho 'epoch 1 loss: 0.6'\n",
    );
    let cfg = config(
        r#""./p.sh""#,
        "x = [1]",
        r#"metrics_regex = 'epoch (?P<step>\d+) (?P<name>\w+): (?P<value>[0-9.]+)'"#,
    );
    let o = sweep(&s, &cfg, "");
    assert_status(&o, 0);
    let t = &json(&o)["trials"][0];
    assert_eq!(t["value"], 0.6, "{t}");
    assert_eq!(t["reports"].as_array().unwrap().len(), 2, "{t}");
}

#[test]
fn a_program_that_exits_zero_without_its_objective_is_a_failed_trial_saying_so() {
    let s = Scratch::new();
    script(&s, "p.sh", "echo 'cohort: acc=0.5'\n");
    let o = sweep(&s, &config(r#""./p.sh""#, "x = [1]", ""), "");
    let t = &json(&o)["trials"][0];
    assert_eq!(t["state"], "failed", "{t}");
    let e = t["error"].as_str().unwrap();
    assert!(
        e.contains("without reporting `loss`") && e.contains("acc"),
        "{e}"
    );
}

#[test]
fn a_nonzero_exit_fails_the_trial_with_the_tail_of_its_stderr_and_logs_shows_it() {
    let s = Scratch::new();
    script(
        &s,
        "p.sh",
        "echo 'cohort: loss=1'\necho 'hello from stdout'\necho 'Traceback: boom' >&2\nexit 3\n",
    );
    let o = sweep(&s, &config(r#""./p.sh""#, "x = [1]", ""), "");
    let t = &json(&o)["trials"][0];
    assert_eq!(t["state"], "failed", "{t}");
    let e = t["error"].as_str().unwrap();
    assert!(
        e.contains("exited with status 3") && e.contains("Traceback: boom"),
        "{e}"
    );
    let logs = s.run(&["logs", "st", "0"]);
    assert_status(&logs, 0);
    let text = stdout(&logs);
    assert!(text.contains("exited with status 3"), "{text}");
    assert!(
        text.contains("hello from stdout") && text.contains("Traceback: boom"),
        "{text}"
    );
    let only = s.run(&["logs", "st", "0", "--stream", "stderr"]);
    assert_eq!(stdout(&only), "Traceback: boom\n");
}

#[test]
fn a_program_killed_by_a_signal_is_retried_like_a_crashed_trainer() {
    let s = Scratch::new();
    script(
        &s,
        "p.sh",
        "if [ \"$COHORT_ATTEMPT\" = 1 ]; then kill -9 $$; fi\necho 'cohort: loss=1'\n",
    );
    let o = sweep(&s, &config(r#""./p.sh""#, "x = [1, 2]", ""), "");
    assert_status(&o, 0);
    for t in json(&o)["trials"].as_array().unwrap() {
        assert_eq!(t["state"], "complete", "{t}");
        assert_eq!(t["attempts"], 2, "{t}");
    }
}

#[test]
fn a_command_that_fails_at_once_on_every_trial_stops_the_sweep_with_one_message() {
    let s = Scratch::new();
    script(&s, "p.sh", "echo 'No such file: data.csv' >&2\nexit 1\n");
    let o = sweep(
        &s,
        &config(
            r#""./p.sh""#,
            "x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]",
            "",
        ),
        "",
    );
    assert_status(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("each of the first 3 trials") && err.contains("data.csv"),
        "{err}"
    );
    let rows = trial_rows(&s.path().join("st"));
    assert!(rows.len() < 12, "{rows:?}");
}

#[test]
fn a_pruned_program_is_recorded_pruned_first_and_its_whole_group_is_killed() {
    let s = Scratch::new();
    script(&s, "p.sh", FORKS_AND_WAITS);
    let cfg = config(r#""./p.sh""#, "x = [1, 2]", "grace = \"1s\"");
    // The orchestrator's test pruner stops trial 1 at its report point 1.
    let c = s.write("c.toml", &cfg);
    let w = Watched::spawn(sweep_cmd(&s, &c, "prune@1:1", &[]));
    // Trial 0 never ends by itself: wait for trial 1's pruning, then stop the sweep.
    assert!(
        w.wait_for_line("trial pruned", 60.0),
        "trial 1 was never pruned"
    );
    let dir = trial_dir(&s, 1);
    let group = pids(&dir);
    assert_eq!(group.len(), 2, "{group:?}");
    assert!(
        wait_for(10.0, || group.iter().all(|p| !alive(*p))),
        "still alive: {group:?}"
    );
    assert!(dir.join("stop").is_file(), "the cooperative stop file");
    signal(w.id(), libc::SIGTERM);
    let _ = w.finish(60.0);
    let rows = trial_rows(&s.path().join("st"));
    assert_eq!(rows[1].1, "pruned", "{rows:?}");
}

#[test]
fn a_timed_out_program_and_its_children_are_killed() {
    let s = Scratch::new();
    script(&s, "p.sh", FORKS_AND_WAITS);
    let cfg = config(r#""./p.sh""#, "x = [1]", "") + "\n[run]\ntimeout = \"1s\"\n";
    let o = sweep(&s, &cfg, "");
    assert_status(&o, 1); // every trial failed
    let rows = trial_rows(&s.path().join("st"));
    assert_eq!(rows[0].1, "timed_out", "{rows:?}");
    let group = pids(&trial_dir(&s, 0));
    assert_eq!(group.len(), 2, "{group:?}");
    assert!(
        wait_for(10.0, || group.iter().all(|p| !alive(*p))),
        "still alive: {group:?}"
    );
}

/// Start a sweep of never-ending trials, wait until both workers' programs run, do `kill` to
/// the orchestrator, and check that no program or grandchild survives.
fn nothing_survives(kill: i32) -> std::process::Output {
    let s = Scratch::new();
    script(&s, "p.sh", FORKS_AND_WAITS);
    let c = s.write("c.toml", &config(r#""./p.sh""#, "x = [1, 2]", ""));
    let w = Watched::spawn(sweep_cmd(&s, &c, "", &[]));
    let both = wait_for(60.0, || {
        pids(&trial_dir(&s, 0)).len() == 2 && pids(&trial_dir(&s, 1)).len() == 2
    });
    assert!(both, "the programs never started");
    let group: Vec<u32> = [0, 1]
        .iter()
        .flat_map(|n| pids(&trial_dir(&s, *n)))
        .collect();
    signal(w.id(), kill);
    let o = w.finish(60.0);
    assert!(
        wait_for(10.0, || group.iter().all(|p| !alive(*p))),
        "still alive after signal {kill}: {:?}",
        group.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
    );
    o
}

/// The parent of process `pid`, from `/proc/<pid>/stat`.
fn parent_of(pid: u32) -> u32 {
    let stat = read(Path::new(&format!("/proc/{pid}/stat")));
    // The fields after the command name (in parentheses, which may hold spaces): state, ppid.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_trainer_killed_outright_has_its_programs_group_killed_and_the_trial_retried() {
    let s = Scratch::new();
    // The first attempt forks a grandchild and waits forever; the retry reports and exits.
    let body = format!(
        "if [ \"$COHORT_ATTEMPT\" = 1 ]; then\n{FORKS_AND_WAITS}fi\necho 'cohort: loss=1'\n"
    );
    script(&s, "p.sh", &body);
    let c = s.write("c.toml", &config(r#""./p.sh""#, "x = [1]", ""));
    let w = Watched::spawn(sweep_cmd(&s, &c, "", &["--json"]));
    let started = wait_for(60.0, || pids(&trial_dir(&s, 0)).len() == 2);
    assert!(started, "the program never started");
    let group = pids(&trial_dir(&s, 0));
    // The program's parent is its trainer: killed outright, it cannot end the group itself.
    signal(parent_of(group[0]), libc::SIGKILL);
    let o = w.finish(60.0);
    assert_status(&o, 0);
    assert!(
        wait_for(10.0, || group.iter().all(|p| !alive(*p))),
        "still alive after their trainer was killed: {:?}",
        group.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
    );
    let t = &json(&o)["trials"][0];
    assert_eq!(
        (t["state"].as_str(), t["attempts"].as_u64()),
        (Some("complete"), Some(2)),
        "{t}"
    );
}

#[test]
fn a_killed_orchestrator_leaves_no_program_or_grandchild_behind() {
    nothing_survives(libc::SIGKILL);
}

#[test]
fn ctrl_c_stops_program_trials_and_their_children_with_status_130() {
    let o = nothing_survives(libc::SIGINT);
    assert_status(&o, 130);
}

/// A script that records its pid, reports its objective, then runs until stopped; on SIGTERM
/// it writes `got-term` in its trial directory and exits 0, as a program that saves on SIGTERM.
const SAVES_ON_TERM: &str = r#"trap 'echo term > "$COHORT_TRIAL_DIR/got-term"; exit 0' TERM
echo $$ >> "$COHORT_TRIAL_DIR/pids"
echo "cohort: loss=1"
while true; do sleep 0.05; done
"#;

/// Start a 2-trial sweep of `body` with `grace`, wait until both programs run, press Ctrl-C (SIGINT
/// to the orchestrator's process group, trainers included); the scratch, the sweep's output and the programs' pids.
fn ctrl_c_during(body: &str, grace: &str) -> (Scratch, std::process::Output, Vec<u32>) {
    let s = Scratch::new();
    script(&s, "p.sh", body);
    let extra = format!("grace = \"{grace}\"");
    let c = s.write("c.toml", &config(r#""./p.sh""#, "x = [1, 2]", &extra));
    let mut cmd = sweep_cmd(&s, &c, "", &[]);
    // In its own group, as a terminal's foreground job: Ctrl-C reaches the whole group.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let w = Watched::spawn(cmd);
    let both = wait_for(60.0, || {
        !pids(&trial_dir(&s, 0)).is_empty() && !pids(&trial_dir(&s, 1)).is_empty()
    });
    assert!(both, "the programs never started");
    let group: Vec<u32> = [0, 1]
        .iter()
        .flat_map(|n| pids(&trial_dir(&s, *n)))
        .collect();
    // SAFETY: kill(2) on the group of the orchestrator this test started, as Ctrl-C does.
    unsafe {
        libc::kill(-(w.id() as i32), libc::SIGINT);
    }
    let o = w.finish(60.0);
    (s, o, group)
}

#[test]
fn ctrl_c_gives_programs_sigterm_and_their_grace_and_records_them_interrupted() {
    let (s, o, group) = ctrl_c_during(SAVES_ON_TERM, "10s");
    assert_status(&o, 130);
    for n in [0, 1] {
        assert!(
            trial_dir(&s, n).join("got-term").is_file(),
            "trial {n}'s program got no SIGTERM; stderr:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(
        wait_for(10.0, || group.iter().all(|p| !alive(*p))),
        "still alive: {group:?}"
    );
    // The programs exited 0 having reported their objective, but because they were told to:
    // the trials are interrupted, to run again, not complete.
    let rows = trial_rows(&s.path().join("st"));
    assert!(rows.iter().all(|r| r.1 == "interrupted"), "{rows:?}");
}

#[test]
fn ctrl_c_kills_a_program_that_ignores_sigterm_once_its_grace_is_over() {
    let body = format!("trap '' TERM\n{FORKS_AND_WAITS}");
    let (_s, o, group) = ctrl_c_during(&body, "1s");
    assert_status(&o, 130);
    assert!(
        wait_for(10.0, || group.iter().all(|p| !alive(*p))),
        "still alive: {:?}",
        group.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
    );
}

/// Bad input: exit status 2, one message naming the file and the field, nothing written.
fn refused(cfg: &str, field: &str, says: &str) {
    let s = Scratch::new();
    script(&s, "p.sh", "echo 'cohort: loss=1'\n");
    let c = s.write("c.toml", cfg);
    let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("c.toml") && err.contains(field) && err.contains(says),
        "{err}"
    );
    assert!(!s.path().join("st").exists(), "something was written");
}

#[test]
fn an_unknown_placeholder_is_refused_before_anything_runs() {
    refused(
        &config(r#""./p.sh", "--lr={lrr}""#, "lr = [0.1]", ""),
        "`program.command[1]`",
        "did you mean `lr`",
    );
}

#[test]
fn an_empty_command_is_refused() {
    refused(&config("", "lr = [0.1]", ""), "`program.command`", "empty");
}

#[test]
fn a_cwd_that_does_not_exist_is_refused() {
    refused(
        &config(r#""./p.sh""#, "lr = [0.1]", "cwd = \"nowhere\""),
        "`program.cwd`",
        "not a directory",
    );
}

#[test]
fn a_program_that_is_not_found_is_refused() {
    refused(
        &config(r#""pythn3", "x.py""#, "lr = [0.1]", ""),
        "`program.command[0]`",
        "not found on the PATH",
    );
}

#[test]
fn an_unknown_metric_without_a_direction_is_refused() {
    let cfg = config(r#""./p.sh""#, "lr = [0.1]", "").replace("direction = \"minimize\"\n", "");
    refused(&cfg, "`study.direction`", "`loss`");
}

#[test]
fn a_program_together_with_a_model_is_refused() {
    let cfg = config(r#""./p.sh""#, "lr = [0.1]", "") + "\n[model]\nname = \"ridge\"\n";
    refused(&cfg, "`model`", "replaces");
}

/// A program that records where it runs: its CPUs, its GPUs and its thread variables.
fn placement_probe(s: &Scratch) -> PathBuf {
    script(
        s,
        "probe.sh",
        "grep Cpus_allowed_list /proc/self/status | cut -f2 > \"$COHORT_TRIAL_DIR/cpus\"\n\
         echo \"${CUDA_VISIBLE_DEVICES:-none}\" > \"$COHORT_TRIAL_DIR/gpus\"\n\
         echo \"$OMP_NUM_THREADS\" > \"$COHORT_TRIAL_DIR/threads\"\n\
         echo 'cohort: loss=1'\n",
    )
}

#[test]
fn concurrent_trials_get_their_own_gpus_from_the_visible_set() {
    let s = Scratch::new();
    let probe = placement_probe(&s);
    let cfg = config(
        &format!("\"{}\"", probe.display()),
        "x = [1, 2, 3, 4, 5, 6]",
        "gpus_per_trial = 1",
    );
    let c = s.write("c.toml", &cfg);
    let o = sweep_cmd(&s, &c, "", &["--json"])
        .env("CUDA_VISIBLE_DEVICES", "3,5")
        .output()
        .unwrap();
    assert_status(&o, 0);
    let v = json(&o);
    for t in v["trials"].as_array().unwrap() {
        let n = t["trial"].as_u64().unwrap();
        let gpu = read(&trial_dir(&s, n).join("gpus")).trim().to_string();
        // Each trainer slot holds one GPU for good: worker ids 0 and 1 are slots 0 and 1.
        let expected = if t["worker"] == 0 { "3" } else { "5" };
        assert_eq!(gpu, expected, "trial {n} on worker {}", t["worker"]);
    }
}

#[test]
fn a_trial_with_more_cores_is_pinned_to_them_and_its_threads_match() {
    let s = Scratch::new();
    let probe = placement_probe(&s);
    let cfg = config(
        &format!("\"{}\"", probe.display()),
        "x = [1, 2]",
        "cores_per_trial = 2",
    );
    let o = sweep(&s, &cfg, "");
    assert_status(&o, 0);
    let cpus = read(&trial_dir(&s, 0).join("cpus"));
    assert_eq!(
        cpus.trim(),
        "0-1",
        "pinned to both cores of this 2-core machine"
    );
    assert_eq!(read(&trial_dir(&s, 0).join("threads")).trim(), "2");
    // 2 cores a trial on 2 cores: one trial at a time, whatever --workers says.
    assert!(
        json(&o)["trials"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["worker"] == 0)
    );
    let refused = config(
        &format!("\"{}\"", probe.display()),
        "x = [1]",
        "cores_per_trial = 64",
    );
    let c = s.write("big.toml", &refused);
    let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "big"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("cores_per_trial"), "{}", stderr(&o));
    assert!(!s.path().join("big").exists());
}

#[test]
fn more_gpus_a_trial_than_are_visible_is_refused() {
    let s = Scratch::new();
    let probe = placement_probe(&s);
    let cfg = config(
        &format!("\"{}\"", probe.display()),
        "x = [1]",
        "gpus_per_trial = 2",
    );
    let c = s.write("c.toml", &cfg);
    let o = s
        .cohort(&["sweep", c.to_str().unwrap(), "--study-dir", "g"])
        .env("CUDA_VISIBLE_DEVICES", "0")
        .output()
        .unwrap();
    assert_status(&o, 2);
    assert!(stderr(&o).contains("gpus_per_trial"), "{}", stderr(&o));
    assert!(!s.path().join("g").exists());
}

#[test]
fn a_median_pruner_stops_program_trials_at_their_reports() {
    let s = Scratch::new();
    // Five reports a trial, its loss x at every step: the larger x, the worse.
    let prog = script(
        &s,
        "curve.sh",
        "for i in 0 1 2 3 4; do echo \"cohort: step=$i loss=$COHORT_PARAM_X\"; done\n",
    );
    let cfg = config(
        &format!("\"{}\"", prog.display()),
        "x = [5, 4, 6, 3, 9, 8, 7, 1, 12, 11, 10, 2]",
        "",
    ) + "\n[search.pruner]\nkind = \"median\"\nmin_trials = 4\n";
    let cfg = cfg.replace("sampler = \"grid\"", "sampler = \"grid\"\nbatch = 4");
    let o = sweep(&s, &cfg, "");
    assert_status(&o, 0);
    let v = json(&o);
    let state = |n: u64| {
        v["trials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["trial"] == n)
            .map(|t| (t["state"].as_str().unwrap().to_string(), t["step"].as_u64()))
            .unwrap()
    };
    // The first batch has nothing to compare with; later, x above the median (4.5 after the
    // first batch) stops at its first report, and a small x runs to the end.
    for n in 0..4 {
        assert_eq!(state(n).0, "complete", "trial {n}");
    }
    assert_eq!(state(4), ("pruned".to_string(), Some(0)), "x = 9");
    assert_eq!(state(7).0, "complete", "x = 1");
}
