//! Sweeps on a real Slurm cluster: `.ci/slurm.sh up` starts one (two nodes on this machine) and
//! `.ci/test` sets `COHORT_SLURM_TESTS`; without it these tests say they were skipped. One test
//! at a time holds the cluster, so each job has both nodes to itself.

use crate::util::*;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

static CLUSTER: Mutex<()> = Mutex::new(());

/// The test cluster, held by one test; its jobs are cancelled when the test ends, passed or
/// failed, so none outlives it.
struct Held(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Drop for Held {
    fn drop(&mut self) {
        let jobs = Command::new("squeue")
            .args(["-h", "-o", "%A"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let jobs: Vec<&str> = jobs.split_whitespace().collect();
        if !jobs.is_empty() {
            let _ = Command::new("scancel").args(&jobs).status();
        }
    }
}

/// The cluster, held for one test; None (with a message) when the Slurm tests are not enabled.
fn cluster(test: &str) -> Option<Held> {
    if std::env::var_os("COHORT_SLURM_TESTS").is_none() {
        // Straight to the stream, not through the test harness's capture: a skip must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED slurm::{test}: no Slurm cluster (run .ci/test, which starts one with .ci/slurm.sh and sets COHORT_SLURM_TESTS)"
        );
        return None;
    }
    let guard = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    // A job asking for nodes that are not up would wait forever: the nodes must be idle.
    let idle = wait_for(60.0, || {
        let out = Command::new("sinfo")
            .args(["-h", "-N", "-o", "%t"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.lines().filter(|l| l.trim() == "idle").count() >= 2
    });
    assert!(idle, "the Slurm nodes are not idle (sinfo -N)");
    Some(Held(guard))
}

/// Run a command to completion, bounded.
fn run_bounded(mut cmd: Command, secs: f64) -> Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_output(child, secs)
}

/// `cohort sweep CONFIG --study-dir DIR ARGS…` to completion.
fn sweep(s: &Scratch, config: &Path, dir: &str, args: &[&str]) -> Output {
    let mut c = s.cohort(&["sweep", config.to_str().unwrap(), "--study-dir", dir]);
    c.args(args);
    run_bounded(c, 120.0)
}

/// (trial, params, value) of every trial of a `--json` document, by trial.
fn trials(doc: &serde_json::Value) -> Vec<(u64, String, Option<f64>, String)> {
    let mut out: Vec<_> = doc["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| {
            (
                t["trial"].as_u64().unwrap(),
                t["params"].to_string(),
                t["value"].as_f64(),
                t["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort_by_key(|t| t.0);
    out
}

/// What array task `task` of a study's (only) job wrote, from `DIR/slurm/<job>_<task>.out`.
fn slurm_output(study: &Path, task: u32) -> String {
    std::fs::read_dir(study.join("slurm"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with(&format!("_{task}.out"))
        })
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

/// A store's (trial, state, attempts, finished_at) rows.
type Rows = Vec<(i64, String, i64, Option<f64>)>;

/// Trials in each node store of a study: (task, rows).
fn node_rows(study: &Path) -> Vec<(String, Rows)> {
    let mut out: Vec<_> = std::fs::read_dir(study.join("nodes"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("study.db").is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                trial_rows(&e.path()),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The same study locally (2 workers) and on 2 Slurm nodes: identical trials and scores, and
/// each node ran a share.
fn assert_same_as_local(s: &Scratch, cfg: &str, n: usize) {
    let c = s.write("c.toml", cfg);
    let local = sweep(s, &c, "local", &["--workers", "2", "--json"]);
    assert_status(&local, 0);
    let on_slurm = sweep(
        s,
        &c,
        "slurm",
        &["--backend", "slurm", "--nodes", "2", "--wait", "--json"],
    );
    let study = s.path().join("slurm");
    assert_eq!(
        on_slurm.status.code(),
        Some(0),
        "{}\ntask 0:\n{}\ntask 1:\n{}",
        stderr(&on_slurm),
        slurm_output(&study, 0),
        slurm_output(&study, 1)
    );
    assert!(
        stderr(&on_slurm).contains("submitted Slurm job "),
        "{}",
        stderr(&on_slurm)
    );
    let (l, r) = (trials(&json(&local)), trials(&json(&on_slurm)));
    assert_eq!(l.len(), n);
    assert!(l.iter().all(|t| t.3 == "complete"), "{l:?}");
    assert_eq!(l, r, "local and Slurm trials differ");
    let nodes = node_rows(&s.path().join("slurm"));
    assert_eq!(nodes.len(), 2, "two node stores: {nodes:?}");
    let mut ran: Vec<i64> = Vec::new();
    for (task, rows) in &nodes {
        assert!(!rows.is_empty(), "node {task} ran no trial");
        ran.extend(rows.iter().map(|t| t.0));
    }
    ran.sort();
    assert_eq!(
        ran,
        (0..n as i64).collect::<Vec<_>>(),
        "each trial ran on exactly one node"
    );
    for task in 0..2 {
        let out = slurm_output(&s.path().join("slurm"), task);
        assert!(
            out.contains("workers=2"),
            "a whole node's CPUs, task {task}:\n{out}"
        );
    }
    let status = s.run(&["status", "slurm"]);
    assert_status(&status, 0);
    let text = stdout(&status);
    assert!(text.contains("): finished\n"), "{text}");
    assert!(text.contains(&format!("complete       {n}")), "{text}");
    assert!(text.contains("task 1: COMPLETED on n"), "{text}");
    // `cohort results` merges the node stores too.
    let results = s.run(&["results", "slurm", "--format", "json"]);
    assert_status(&results, 0);
    assert_eq!(json(&results).as_array().map(Vec::len), Some(n));
}

#[test]
fn a_two_node_grid_sweep_gives_the_same_trials_and_scores_as_local() {
    let Some(_c) = cluster("a_two_node_grid_sweep_gives_the_same_trials_and_scores_as_local")
    else {
        return;
    };
    let s = Scratch::new();
    assert_same_as_local(&s, &quick_config(r#"sampler = "grid""#), 8);
}

#[test]
fn tpe_with_a_fixed_batch_on_two_nodes_gives_the_same_trials_and_scores_as_local() {
    let Some(_c) =
        cluster("tpe_with_a_fixed_batch_on_two_nodes_gives_the_same_trials_and_scores_as_local")
    else {
        return;
    };
    let s = Scratch::new();
    let cfg = quick_config("sampler = \"tpe\"\ntrials = 12\nbatch = 4\n[search.tpe]\nstartup = 4")
        .replace(
            "C = [0.01, 0.1, 1.0, 10.0]",
            "C = { type = \"log_uniform\", low = 0.001, high = 100.0 }",
        );
    assert_same_as_local(&s, &cfg, 12);
}

/// A grid of `n` program trials `x = 1..=n`, each running `body` then reporting `loss = x`.
fn program_config(s: &Scratch, n: usize, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = s.write(
        "p.sh",
        &format!("#!/bin/sh\n{body}\necho \"cohort: loss=$1\"\n"),
    );
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let xs: Vec<String> = (1..=n).map(|x| x.to_string()).collect();
    s.write(
        "c.toml",
        &format!(
            r#"
[study]
name = "prog"
seed = 1
metric = "loss"
direction = "minimize"

[program]
command = ["./p.sh", "{{x}}"]

[search]
sampler = "grid"

[search.space]
x = [{}]
"#,
            xs.join(", ")
        ),
    )
}

#[test]
fn a_sweep_of_the_users_own_program_runs_on_slurm() {
    let Some(_c) = cluster("a_sweep_of_the_users_own_program_runs_on_slurm") else {
        return;
    };
    let s = Scratch::new();
    let c = program_config(&s, 6, "");
    // The `[slurm]` table instead of flags: two nodes, one CPU each.
    let text = std::fs::read_to_string(&c).unwrap() + "\n[slurm]\nnodes = 2\ncpus = 1\n";
    std::fs::write(&c, text).unwrap();
    let o = sweep(&s, &c, "st", &["--backend", "slurm", "--wait"]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("(2 array tasks)"), "{}", stdout(&o));
    // One trainer per CPU Slurm allocated, not per core of the machine.
    for task in 0..2 {
        let out = slurm_output(&s.path().join("st"), task);
        assert!(out.contains("workers=1"), "task {task}:\n{out}");
    }
    assert!(
        stdout(&o).contains("best: trial 0 with loss 1.0000"),
        "{}",
        stdout(&o)
    );
    // Each trial's program ran on a node, its output in the study's trial directory.
    let logs = s.run(&["logs", "st", "5"]);
    assert_status(&logs, 0);
    assert!(
        stdout(&logs).contains("cohort: loss=6"),
        "{}",
        stdout(&logs)
    );
}

/// The study's last job id, from the submission's stdout.
fn job_id(o: &Output) -> String {
    stdout(o)
        .strip_prefix("submitted Slurm job ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job id in {}", stdout(o)))
        .to_string()
}

/// Whether Slurm still has live tasks of `job`.
fn live(job: &str) -> bool {
    Command::new("squeue")
        .args(["-h", "-r", "-j", job, "-o", "%i"])
        .output()
        .is_ok_and(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
}

/// Whether node `task`'s store has two complete trials and a running one.
fn mid_way(study: &Path, task: &str) -> bool {
    let rows = trial_rows(&study.join("nodes").join(task));
    rows.iter().filter(|t| t.1 == "complete").count() == 2 && rows.iter().any(|t| t.1 == "running")
}

#[test]
fn a_node_cancelled_and_one_warned_mid_way_lose_nothing_and_a_resubmission_runs_every_trial_once() {
    let Some(_c) = cluster(
        "a_node_cancelled_and_one_warned_mid_way_lose_nothing_and_a_resubmission_runs_every_trial_once",
    ) else {
        return;
    };
    let s = Scratch::new();
    // Trials x <= 4 finish at once; the others hold while the file `hold` exists (at most a
    // minute), so each node is surely mid-way, with finished and running trials, when stopped.
    let hold = s.write("hold", "");
    let c = program_config(
        &s,
        12,
        &format!(
            "if [ \"$1\" -gt 4 ]; then i=0; while [ -e '{}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; fi",
            hold.display()
        ),
    );
    let study = s.path().join("st");
    let first = sweep(&s, &c, "st", &["--backend", "slurm", "--nodes", "2"]);
    assert_status(&first, 0);
    let job = job_id(&first);
    assert!(
        wait_for(120.0, || ["0", "1"].iter().all(|n| mid_way(&study, n))),
        "both nodes should be mid-way: {:?}\nsqueue: {}\n{}\n{}",
        node_rows(&study),
        String::from_utf8_lossy(
            &Command::new("squeue")
                .args(["-r", "-j", &job])
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default()
        ),
        slurm_output(&study, 0),
        slurm_output(&study, 1)
    );
    // A second submission while the job runs would run trials twice: refused.
    let twice = sweep(&s, &c, "st", &["--backend", "slurm", "--nodes", "2"]);
    assert_status(&twice, 2);
    assert!(
        stderr(&twice).contains(&format!("Slurm job {job} of this study is still live")),
        "{}",
        stderr(&twice)
    );
    // Node 1 is cancelled; node 0 gets the warning Slurm sends before a time limit
    // (`--signal=B:USR1@…`), here at once.
    let cancel = Command::new("scancel")
        .arg(format!("{job}_1"))
        .output()
        .unwrap();
    assert!(cancel.status.success(), "{cancel:?}");
    let warn = Command::new("scancel")
        .args(["--batch", "--signal=USR1", &format!("{job}_0")])
        .output()
        .unwrap();
    assert!(warn.status.success(), "{warn:?}");
    assert!(wait_for(60.0, || !live(&job)), "job {job} did not end");
    let rows = node_rows(&study);
    let interrupted = |task: &str| {
        rows.iter()
            .find(|(t, _)| t == task)
            .is_some_and(|(_, r)| r.iter().any(|t| t.1 == "interrupted"))
    };
    assert!(
        interrupted("0"),
        "the warned node's running trials: {rows:?}"
    );
    assert!(
        interrupted("1"),
        "the cancelled node's running trials: {rows:?}"
    );
    let done_before: usize = rows
        .iter()
        .map(|(_, r)| r.iter().filter(|t| t.1 == "complete").count())
        .sum();
    assert_eq!(
        done_before, 4,
        "the quick trials finished, no other: {rows:?}"
    );
    std::fs::remove_file(&hold).unwrap();
    let status = s.run(&["status", "st"]);
    let text = stdout(&status);
    assert!(text.contains(&format!("slurm: job {job}")), "{text}");
    assert!(
        text.contains(&format!("stopped (job {job} ended")),
        "{text}"
    );

    let again = sweep(
        &s,
        &c,
        "st",
        &["--backend", "slurm", "--nodes", "2", "--wait"],
    );
    assert_status(&again, 0);
    assert!(
        stdout(&again).contains(&format!("for {} trials", 12 - done_before)),
        "only the unfinished trials are submitted: {}",
        stdout(&again)
    );
    // Every trial complete, in exactly one store.
    let mut completions = vec![0; 12];
    for (_, r) in node_rows(&study) {
        for t in r.iter().filter(|t| t.1 == "complete") {
            completions[t.0 as usize] += 1;
        }
    }
    assert_eq!(completions, vec![1; 12], "{:?}", node_rows(&study));
    let results = s.run(&["results", "st", "--format", "json"]);
    let all = json(&results);
    let states: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["complete"; 12]);
}

#[test]
fn a_partition_that_does_not_exist_is_refused_with_slurms_words() {
    let Some(_c) = cluster("a_partition_that_does_not_exist_is_refused_with_slurms_words") else {
        return;
    };
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config(r#"sampler = "grid""#));
    let o = sweep(&s, &c, "st", &["--backend", "slurm", "--partition", "nope"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("Invalid partition name specified"),
        "{}",
        stderr(&o)
    );
    assert!(
        !s.path().join("st").exists(),
        "a refused study leaves nothing"
    );
}

#[test]
fn a_job_slurm_rejects_is_refused_with_its_words() {
    let Some(_c) = cluster("a_job_slurm_rejects_is_refused_with_its_words") else {
        return;
    };
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config(r#"sampler = "grid""#));
    let o = sweep(&s, &c, "st", &["--backend", "slurm", "--mem", "999999G"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("Batch job submission failed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn without_sbatch_on_the_path_a_slurm_sweep_is_refused() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config(r#"sampler = "grid""#));
    let mut cmd = s.cohort(&[
        "sweep",
        c.to_str().unwrap(),
        "--study-dir",
        "st",
        "--backend",
        "slurm",
    ]);
    cmd.env("PATH", s.path());
    let o = run_bounded(cmd, 60.0);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("cannot run `sbatch`"), "{}", stderr(&o));
    assert!(
        !s.path().join("st").exists(),
        "a refused study leaves nothing"
    );
}

#[test]
fn slurm_flags_without_the_slurm_backend_are_refused() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config(r#"sampler = "grid""#));
    let o = sweep(&s, &c, "st", &["--nodes", "2"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("--backend slurm"), "{}", stderr(&o));
}

#[test]
fn a_tpe_node_stops_waiting_when_the_node_it_waits_on_is_cancelled_and_a_resubmission_matches_local()
 {
    let Some(_c) = cluster(
        "a_tpe_node_stops_waiting_when_the_node_it_waits_on_is_cancelled_and_a_resubmission_matches_local",
    ) else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let hold = s.write("hold", "");
    // Trial 3 (node 1's, in batch 0) holds while `hold` exists (at most a minute).
    let p = s.write(
        "p.sh",
        &format!(
            "#!/bin/sh\nif [ \"$COHORT_TRIAL\" = 3 ]; then i=0; while [ -e '{}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; fi\necho \"cohort: loss=$1\"\n",
            hold.display()
        ),
    );
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = s.write(
        "c.toml",
        r#"
[study]
name = "tpe-prog"
seed = 4
metric = "loss"
direction = "minimize"

[program]
command = ["./p.sh", "{x}"]

[search]
sampler = "tpe"
trials = 8
batch = 4

[search.tpe]
startup = 4

[search.space]
x = { type = "uniform", low = 0.0, high = 10.0 }
"#,
    );
    let study = s.path().join("st");
    let first = sweep(&s, &c, "st", &["--backend", "slurm", "--nodes", "2"]);
    assert_status(&first, 0);
    let job = job_id(&first);
    let complete = |task: &str| {
        trial_rows(&study.join("nodes").join(task))
            .iter()
            .filter(|t| t.1 == "complete")
            .count()
    };
    let holding = || {
        trial_rows(&study.join("nodes/1"))
            .iter()
            .any(|t| t.0 == 3 && t.1 == "running")
    };
    assert!(
        wait_for(120.0, || complete("0") == 2
            && complete("1") == 1
            && holding()),
        "node 0 should wait on trial 3, which node 1 holds: {:?}",
        node_rows(&study)
    );
    let cancel = Command::new("scancel")
        .arg(format!("{job}_1"))
        .output()
        .unwrap();
    assert!(cancel.status.success(), "{cancel:?}");
    // Node 0 ends by itself: what it waits for cannot come any more.
    assert!(
        wait_for(60.0, || !live(&job)),
        "node 0 kept waiting:\n{}",
        slurm_output(&study, 0)
    );
    assert!(
        slurm_output(&study, 0).contains("cannot come any more"),
        "{}",
        slurm_output(&study, 0)
    );
    std::fs::remove_file(&hold).unwrap();
    let again = sweep(
        &s,
        &c,
        "st",
        &["--backend", "slurm", "--nodes", "2", "--wait", "--json"],
    );
    assert_status(&again, 0);
    let local = sweep(&s, &c, "local", &["--workers", "2", "--json"]);
    assert_status(&local, 0);
    assert_eq!(trials(&json(&again)), trials(&json(&local)));
}
