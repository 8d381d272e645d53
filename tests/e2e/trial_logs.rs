//! Per-trial logs of built-in models: what a trainer logged during a trial is filed in the study
//! directory and `cohort logs DIR TRIAL` prints it with the trial's record.

use crate::util::*;

fn sweep_with_a_panicking_trial(s: &Scratch) {
    let c = s.write("c.toml", &quick_config("sampler = \"grid\""));
    let o = sweep_cmd(s, &c, "panic@3", &[]).output().expect("run");
    assert_status(&o, 0);
}

#[test]
fn a_trials_trainer_log_lines_are_filed_in_its_directory_and_printed_by_cohort_logs() {
    let s = Scratch::new();
    sweep_with_a_panicking_trial(&s);
    let file = s.path().join("st/trials/3/trainer.log");
    let log = std::fs::read_to_string(&file).expect("trial 3 has a trainer log");
    assert!(
        log.contains("ERROR") && log.contains("injected panic"),
        "{log}"
    );
    assert!(log.contains("attempt=1"), "{log}");
    // Lines are filed by trial: no other trial got trial 3's lines.
    assert!(!s.path().join("st/trials/2/trainer.log").exists());

    let o = s.run(&["logs", "st", "3"]);
    assert_status(&o, 0);
    let out = stdout(&o);
    assert!(out.starts_with("trial 3: failed"), "{out}");
    assert!(
        out.contains("C = ") && out.contains("fit_intercept = "),
        "{out}"
    );
    assert!(out.contains("--- trainer log ---"), "{out}");
    assert!(out.contains("injected panic"), "{out}");
}

#[test]
fn cohort_logs_of_a_quiet_trial_shows_its_record_and_says_nothing_was_logged() {
    let s = Scratch::new();
    sweep_with_a_panicking_trial(&s);
    let o = s.run(&["logs", "st", "2"]);
    assert_status(&o, 0);
    let out = stdout(&o);
    assert!(out.starts_with("trial 2: complete"), "{out}");
    assert!(out.contains("accuracy: 0."), "{out}");
    assert!(out.contains("logged nothing"), "{out}");
}

#[test]
fn cohort_logs_of_a_trial_the_study_does_not_have_is_bad_input() {
    let s = Scratch::new();
    sweep_with_a_panicking_trial(&s);
    let o = s.run(&["logs", "st", "99"]);
    assert_status(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("no trial 99") && err.contains("0 to 7"),
        "{err}"
    );
    let o = s.run(&["logs", "st", "2", "--stream", "stdout"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("built-in model"), "{}", stderr(&o));
}

#[test]
fn cohort_logs_of_a_directory_that_is_not_a_study_is_bad_input() {
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("empty")).expect("mkdir");
    let o = s.run(&["logs", "empty", "0"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("not a study directory"),
        "{}",
        stderr(&o)
    );
}
