//! Nothing finished is lost: resume after a kill, clean stop on Ctrl-C, studies that refuse to mix.

use crate::util::*;

fn slow_config(s: &Scratch, trials: u32) -> std::path::PathBuf {
    let text = quick_config(&format!("sampler = \"random\"\ntrials = {trials}")).replace(
        "C = [0.01, 0.1, 1.0, 10.0]",
        "C = { type = \"log_uniform\", low = 0.01, high = 10.0 }",
    );
    s.write("c.toml", &text)
}

fn complete(rows: &[(i64, String, i64, Option<f64>)]) -> usize {
    rows.iter().filter(|r| r.1 == "complete").count()
}

#[test]
fn a_killed_orchestrator_loses_no_finished_trial_and_resume_completes_the_rest() {
    let s = Scratch::new();
    let c = slow_config(&s, 20);
    let child = sweep_cmd(&s, &c, "sleep150@*", &[]).spawn().unwrap();
    let pid = child.id();
    let study = s.path().join("st");
    assert!(
        wait_for(60.0, || complete(&trial_rows(&study)) >= 4),
        "no progress"
    );
    let trainers = children(pid);
    assert!(!trainers.is_empty());
    signal(pid, libc::SIGKILL);
    let _ = wait_output(child, 10.0);
    let before = trial_rows(&study);
    let done_before: Vec<_> = before
        .iter()
        .filter(|r| r.1 == "complete")
        .cloned()
        .collect();
    assert!(done_before.len() >= 4);
    assert!(
        wait_for(5.0, || trainers.iter().all(|t| !alive(*t))),
        "trainers outlived the orchestrator"
    );

    let o = s
        .cohort(&["resume", "st", "--json"])
        .env("COHORT_FAULT", "sleep10@*")
        .output()
        .unwrap();
    assert_status(&o, 0);
    let after = trial_rows(&study);
    assert_eq!(after.len(), 20);
    assert_eq!(complete(&after), 20);
    for d in &done_before {
        let a = after.iter().find(|r| r.0 == d.0).unwrap();
        assert_eq!((a.2, a.3), (d.2, d.3), "a finished trial was run again");
    }
}

#[test]
fn sweep_again_on_a_finished_study_reruns_nothing() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    assert_status(
        &s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]),
        0,
    );
    let first = trial_rows(&s.path().join("st"));
    let o = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&o, 0);
    assert!(
        stderr(&o).contains("8 of 8 trials already done"),
        "{}",
        stderr(&o)
    );
    assert_eq!(trial_rows(&s.path().join("st")), first);
}

#[test]
fn a_config_that_contradicts_the_stored_study_is_refused_naming_what_differs() {
    let s = Scratch::new();
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    assert_status(
        &s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]),
        0,
    );
    let first = trial_rows(&s.path().join("st"));
    let c2 = s.write(
        "c2.toml",
        &quick_config("sampler = \"grid\"").replace("C = [0.01, 0.1, 1.0, 10.0]", "C = [0.5]"),
    );
    let o = s.run(&["sweep", c2.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("search space"), "{}", stderr(&o));
    assert_eq!(
        trial_rows(&s.path().join("st")),
        first,
        "the stored study changed"
    );
    let forced = s.run(&[
        "sweep",
        c2.to_str().unwrap(),
        "--study-dir",
        "st",
        "--force-new",
    ]);
    assert_status(&forced, 0);
    assert_eq!(trial_rows(&s.path().join("st")).len(), 2);
    let kept: Vec<_> = std::fs::read_dir(s.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("st.replaced-"))
        .collect();
    assert_eq!(kept.len(), 1, "the old study was not kept aside");
}

#[test]
fn ctrl_c_stops_cleanly_with_status_130_and_leaves_no_process_or_socket_behind() {
    let s = Scratch::new();
    let tmp = s.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let c = slow_config(&s, 40);
    let child = sweep_cmd(&s, &c, "sleep300@*", &[])
        .env("TMPDIR", &tmp)
        .spawn()
        .unwrap();
    let pid = child.id();
    let study = s.path().join("st");
    assert!(
        wait_for(60.0, || complete(&trial_rows(&study)) >= 2
            && children(pid).len() == 2),
        "no progress"
    );
    let trainers = children(pid);
    // The dataset lives in a memfd that every trainer maps: find it where it really is.
    let datasets: Vec<u64> = trainers.iter().flat_map(|t| memfd_inodes(*t)).collect();
    assert!(!datasets.is_empty(), "the trainers map no memfd");
    signal(pid, libc::SIGINT);
    let o = wait_output(child, 15.0);
    assert_status(&o, 130);
    for inode in &datasets {
        assert!(
            mapped_by(*inode).is_empty(),
            "the dataset memfd (inode {inode}) is still mapped by {:?}",
            mapped_by(*inode)
        );
    }
    assert!(
        trainers.iter().all(|t| !alive(*t)),
        "a trainer outlived the stop"
    );
    let rows = trial_rows(&study);
    assert!(rows.iter().any(|r| r.1 == "interrupted"), "{rows:?}");
    assert!(rows.iter().all(|r| r.1 != "running"), "{rows:?}");
    let leftovers: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(leftovers.is_empty(), "left in TMPDIR: {leftovers:?}");
    // And the interrupted study resumes to completion.
    let r = s
        .cohort(&["resume", "st"])
        .env("COHORT_FAULT", "sleep5@*")
        .output()
        .unwrap();
    assert_status(&r, 0);
    assert_eq!(complete(&trial_rows(&study)), 40);
}

#[test]
fn results_and_status_work_while_the_sweep_is_running() {
    let s = Scratch::new();
    let c = slow_config(&s, 12);
    let child = sweep_cmd(&s, &c, "sleep200@*", &[]).spawn().unwrap();
    let study = s.path().join("st");
    assert!(
        wait_for(60.0, || complete(&trial_rows(&study)) >= 1),
        "no progress"
    );
    let status = s.run(&["status", "st"]);
    assert_status(&status, 0);
    assert!(
        stdout(&status).contains("running: trial"),
        "{}",
        stdout(&status)
    );
    let results = s.run(&["results", "st", "--format", "json", "--state", "complete"]);
    assert_status(&results, 0);
    assert!(!json(&results).as_array().unwrap().is_empty());
    assert_status(&wait_output(child, 60.0), 0);
}

#[test]
fn sigterm_stops_like_ctrl_c() {
    let s = Scratch::new();
    let c = slow_config(&s, 20);
    let child = sweep_cmd(&s, &c, "sleep300@*", &[]).spawn().unwrap();
    let pid = child.id();
    assert!(
        wait_for(60.0, || children(pid).len() == 2
            && complete(&trial_rows(&s.path().join("st"))) >= 1),
        "no progress"
    );
    let trainers = children(pid);
    signal(pid, libc::SIGTERM);
    assert_status(&wait_output(child, 15.0), 130);
    assert!(trainers.iter().all(|t| !alive(*t)));
    assert!(
        trial_rows(&s.path().join("st"))
            .iter()
            .all(|r| r.1 != "running")
    );
}

#[test]
fn a_second_ctrl_c_stops_at_once() {
    let s = Scratch::new();
    let text = std::fs::read_to_string(slow_config(&s, 20)).unwrap() + "\n[run]\ngrace = \"60s\"\n";
    let c = s.write("c.toml", &text);
    // Trials that never end, on trainers deaf to SIGTERM: only the second signal's SIGKILL
    // ends them before the 60 s grace.
    let mut cmd = sweep_cmd(&s, &c, "hang@*,ignoreterm@*", &[]);
    cmd.env("RUST_LOG", "info");
    let run = Watched::spawn(cmd);
    let pid = run.id();
    assert!(
        wait_for(60.0, || children(pid).len() == 2
            && trial_rows(&s.path().join("st"))
                .iter()
                .filter(|r| r.1 == "running")
                .count()
                == 2),
        "trainers did not start"
    );
    let trainers = children(pid);
    let t = std::time::Instant::now();
    signal(pid, libc::SIGINT);
    // The second signal must come after the first was taken (the kernel merges pending ones).
    assert!(
        run.wait_for_line("stopping", 10.0),
        "the first Ctrl-C was not seen"
    );
    signal(pid, libc::SIGINT);
    assert_status(&run.finish(30.0), 130);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}: the second signal did not cut the grace short",
        t.elapsed()
    );
    assert!(wait_for(2.0, || trainers.iter().all(|p| !alive(*p))));
    let rows = trial_rows(&s.path().join("st"));
    assert_eq!(
        rows.iter().filter(|r| r.1 == "interrupted").count(),
        2,
        "{rows:?}"
    );
}
