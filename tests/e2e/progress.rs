//! Live progress, as a user sees it in a terminal: run under `script`, which gives the command a
//! real pseudo-terminal, and replay what it wrote through a terminal emulator (vt100).

use std::num::NonZeroU16;
use std::path::Path;
use std::process::Stdio;

use crate::util::*;

const ROWS: NonZeroU16 = NonZeroU16::new(200).unwrap();
const COLS: NonZeroU16 = NonZeroU16::new(100).unwrap();

/// Run `cohort ARGS` in a pseudo-terminal of ROWS x COLS, stdout redirected as `stdout_to` says
/// (empty: the terminal); the bytes written to the terminal and the exit status.
fn in_terminal(s: &Scratch, args: &str, stdout_to: &str, fault: &str) -> (Vec<u8>, i32) {
    let bin = env!("CARGO_BIN_EXE_cohort");
    let inner = format!("stty rows {ROWS} cols {COLS}; exec '{bin}' {args} {stdout_to}");
    let o = std::process::Command::new("script")
        .args(["-qfec", &inner, "/dev/null"])
        .current_dir(s.path())
        .env("TERM", "xterm")
        .env("COHORT_FAULT", fault)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run `script` (util-linux) to get a pseudo-terminal");
    (o.stdout, o.status.code().unwrap_or(-1))
}

/// What the terminal shows after `bytes` were written to it.
fn screen(bytes: &[u8]) -> String {
    let mut p = vt100::Parser::new(ROWS, COLS, 0);
    p.process(bytes);
    p.screen().contents()
}

/// A small grid sweep (8 trials, 3 folds each).
fn slow_sweep(s: &Scratch) -> &'static str {
    s.write("c.toml", &quick_config("sampler = \"grid\""));
    "sweep c.toml --study-dir st --workers 2"
}

#[test]
fn a_sweep_in_a_terminal_draws_a_study_bar_and_worker_lines_then_leaves_only_the_report() {
    let s = Scratch::new();
    let args = slow_sweep(&s);
    let (raw, code) = in_terminal(&s, args, "", "panic@3,sleep200@*,slowreport150@*");
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("trials done"), "no study bar:\n{text}");
    assert!(text.contains("best accuracy 0."), "no best value:\n{text}");
    assert!(
        text.contains("worker 0: trial") || text.contains("worker 1: trial"),
        "no worker line with its trial:\n{text}"
    );
    assert!(
        text.contains("step "),
        "no worker line with a report:\n{text}"
    );
    let shown = screen(&raw);
    for gone in ["trials done", "worker 0:", "worker 1:", "running ·"] {
        assert!(
            !shown.contains(gone),
            "`{gone}` left on the screen:\n{shown}"
        );
    }
    assert!(
        shown.contains("rank  trial"),
        "table header missing:\n{shown}"
    );
    assert!(
        shown.contains("best: trial"),
        "best trial missing:\n{shown}"
    );
    // The failed trial's warning was written above the bars, whole, on a line of its own.
    assert!(
        shown
            .lines()
            .any(|l| l.contains("WARN") && l.contains("trial failed")),
        "the warning is missing or garbled:\n{shown}"
    );
    // Every table row is intact: 7 ranked trials and the failed one.
    let ranked = shown
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<u32>().is_ok())
        })
        .count();
    assert_eq!(ranked, 7, "table rows missing:\n{shown}");
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("-     3") && l.contains("failed")),
        "{shown}"
    );
}

#[test]
fn progress_goes_to_stderr_only_and_quiet_shows_none() {
    let s = Scratch::new();
    let args = slow_sweep(&s);
    let (raw, code) = in_terminal(&s, args, "> out.txt", "");
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&raw));
    assert!(String::from_utf8_lossy(&raw).contains("trials done"));
    let out = std::fs::read_to_string(s.path().join("out.txt")).expect("stdout file");
    assert!(out.starts_with("rank"), "{out}");
    assert!(
        !out.contains("trials done") && !out.contains('\x1b'),
        "{out}"
    );

    std::fs::remove_dir_all(s.path().join("st")).expect("remove the study");
    let (raw, code) = in_terminal(&s, &format!("{args} --quiet"), "", "");
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(code, 0, "{text}");
    assert!(
        !text.contains("trials done") && !text.contains("worker 0"),
        "{text}"
    );
    assert!(text.contains("rank  trial"), "{text}");
}

#[test]
fn without_a_terminal_progress_is_plain_log_lines() {
    let s = Scratch::new();
    let args: Vec<&str> = slow_sweep(&s).split(' ').collect();
    let o = s.run(&args);
    assert_status(&o, 0);
    let err = stderr(&o);
    assert!(err.contains("8/8 trials done"), "{err}");
    assert!(!err.contains("\x1b["), "escape sequences in a pipe:\n{err}");
}

#[test]
fn training_in_a_terminal_shows_epoch_progress_and_clears_it() {
    let s = Scratch::new();
    let config = crate::util::repo().join("configs/sgd-logistic.toml");
    // Long enough (a few seconds) for the shard lines' periodic redraw to come round: five
    // epochs of this data end within one redraw interval.
    let args = format!(
        "train {} --study-dir run --shards 2 --set train.epochs=300",
        Path::new(&config).display()
    );
    let (raw, code) = in_terminal(&s, &args, "", "");
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("epoch 0/"), "no epoch bar:\n{text}");
    assert!(text.contains("shard 0:"), "no shard line:\n{text}");
    let shown = screen(&raw);
    assert!(
        !shown.contains("shard 0:"),
        "bars left on the screen:\n{shown}"
    );
    assert!(!shown.contains("ETA"), "bars left on the screen:\n{shown}");
}
