//! A study keeps its data's parsed image: resume reads it instead of parsing, and a changed data
//! file is parsed again (and then refused, as the study's data changed).

use crate::util::*;

const PARSED: &str = "data parsed";
const FROM_IMAGE: &str = "data read from the study's image, not parsed";

/// A grid sweep over a copy of breast_cancer.csv in the scratch directory (so it can change).
fn setup(s: &Scratch) -> std::path::PathBuf {
    std::fs::copy(
        repo().join("configs/data/breast_cancer.csv"),
        s.path().join("bc.csv"),
    )
    .unwrap();
    let text = quick_config("sampler = \"grid\"").replace("{data}/breast_cancer.csv", "bc.csv");
    s.write("c.toml", &text)
}

#[test]
fn resume_reads_the_data_image_instead_of_parsing() {
    let s = Scratch::new();
    let c = setup(&s);
    let first = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&first, 0);
    assert!(stderr(&first).contains(PARSED), "{}", stderr(&first));
    let images: Vec<_> = std::fs::read_dir(s.path().join("st/cache"))
        .unwrap()
        .collect();
    assert_eq!(images.len(), 1, "one image in the study");

    let resumed = s.run(&["resume", "st"]);
    assert_status(&resumed, 0);
    let log = stderr(&resumed);
    assert!(log.contains(FROM_IMAGE), "{log}");
    assert!(!log.contains(PARSED), "{log}");
    // `cohort sweep` on the existing study resumes it the same way.
    let again = s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]);
    assert_status(&again, 0);
    assert!(stderr(&again).contains(FROM_IMAGE), "{}", stderr(&again));
}

#[test]
fn a_changed_data_file_is_parsed_again_not_read_from_the_image() {
    let s = Scratch::new();
    let c = setup(&s);
    assert_status(
        &s.run(&["sweep", c.to_str().unwrap(), "--study-dir", "st"]),
        0,
    );
    let path = s.path().join("bc.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    // One digit changed: same size, different data.
    let at = text.find('\n').unwrap() + 1;
    let digit = text[at..]
        .find(|c: char| c.is_ascii_digit() && c != '9')
        .unwrap()
        + at;
    let mut bytes = text.into_bytes();
    bytes[digit] += 1;
    std::fs::write(&path, bytes).unwrap();

    let resumed = s.run(&["resume", "st"]);
    let log = stderr(&resumed);
    assert!(log.contains("data parsed (the source changed"), "{log}");
    assert!(!log.contains(FROM_IMAGE), "{log}");
    // The study's data changed: refused as before.
    assert_status(&resumed, 2);
    assert!(log.contains("changed since the study started"), "{log}");
}

/// A training run over a copy of breast_cancer.csv in the scratch directory, `epochs` long.
fn training_config(s: &Scratch, epochs: u32) -> std::path::PathBuf {
    if !s.path().join("bc.csv").exists() {
        std::fs::copy(
            repo().join("configs/data/breast_cancer.csv"),
            s.path().join("bc.csv"),
        )
        .unwrap();
    }
    s.write(
        "t.toml",
        &format!(
            "[study]\nname = \"t\"\n[data]\npath = \"bc.csv\"\n[model]\nname = \"sgd_logistic\"\n[train]\nepochs = {epochs}\nshards = 1\nmerge = \"average\"\nmerges_per_epoch = 2\n"
        ),
    )
}

/// A short training run over bc.csv.
fn training_setup(s: &Scratch) -> std::path::PathBuf {
    training_config(s, 3)
}

/// Start a long training run in `run` and kill it once its prepared data is written: an
/// unfinished run, as a crash leaves it. Returns the config.
fn killed_run(s: &Scratch) -> std::path::PathBuf {
    let c = training_config(s, 100_000);
    let child = s
        .cohort(&["train", c.to_str().unwrap(), "--study-dir", "run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let prepared = s.path().join("run/cache/train-prepared.json");
    let written = wait_for(120.0, || prepared.is_file());
    signal(child.id(), libc::SIGKILL);
    let _ = wait_output(child, 30.0);
    assert!(written, "the run did not write its prepared data");
    c
}

/// Continue the killed run in `run`, and kill it too once it says how it read its data; its
/// output.
fn continue_killed(s: &Scratch, c: &std::path::Path) -> std::process::Output {
    let run = Watched::spawn(s.cohort(&["train", c.to_str().unwrap(), "--study-dir", "run"]));
    // Logged after the data is read, however it was.
    let said = run.wait_for_line("training starting", 120.0);
    signal(run.id(), libc::SIGKILL);
    let o = run.finish(30.0);
    assert!(said, "{}", stderr(&o));
    o
}

#[test]
fn a_continued_training_run_reads_the_data_image_instead_of_parsing() {
    let s = Scratch::new();
    let c = killed_run(&s);
    let images = std::fs::read_dir(s.path().join("run/cache"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "img"))
        })
        .count();
    assert_eq!(images, 1, "one image in the run");
    let log = stderr(&continue_killed(&s, &c));
    assert!(log.contains(FROM_IMAGE), "{log}");
    assert!(!log.contains(PARSED), "{log}");
}

#[test]
fn a_continued_training_run_on_a_changed_file_parses_it_again() {
    let s = Scratch::new();
    let c = killed_run(&s);
    let path = s.path().join("bc.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    // One more row: the data changed.
    let last = text.lines().last().unwrap().to_string();
    text.push_str(&last);
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    let log = stderr(&continue_killed(&s, &c));
    assert!(log.contains("data parsed (the source changed"), "{log}");
    assert!(!log.contains(FROM_IMAGE), "{log}");
}

const PREDICT_FROM_IMAGE: &str = "data read from the model directory's image, not parsed";

/// Predict with the model of the training run in `run` on `bc.csv`, as CSV.
fn predict(s: &Scratch) -> std::process::Output {
    let o = s.run(&["predict", "run", "bc.csv", "--format", "csv"]);
    assert_status(&o, 0);
    o
}

/// A training run in `run` on `bc.csv`, and a first prediction with its model.
fn trained_and_predicted() -> (Scratch, std::process::Output) {
    let s = Scratch::new();
    let c = training_setup(&s);
    assert_status(
        &s.run(&["train", c.to_str().unwrap(), "--study-dir", "run"]),
        0,
    );
    let first = predict(&s);
    (s, first)
}

/// `second` read the model directory's image, parsed nothing, and predicted what `first` did.
fn assert_read_from_image(second: &std::process::Output, first: &std::process::Output) {
    let log = stderr(second);
    assert!(log.contains(PREDICT_FROM_IMAGE), "{log}");
    assert!(!log.contains(PARSED), "{log}");
    assert_eq!(stdout(second), stdout(first), "the same predictions");
}

#[test]
fn a_second_prediction_on_an_unchanged_file_reads_its_image_instead_of_parsing() {
    let (s, first) = trained_and_predicted();
    assert!(
        stderr(&first).contains("data parsed (no image yet)"),
        "{}",
        stderr(&first)
    );
    let second = predict(&s);
    assert_read_from_image(&second, &first);
}

#[test]
fn a_prediction_on_a_file_rewritten_with_the_same_bytes_reads_its_image() {
    let (s, first) = trained_and_predicted();
    // New file stamps, the same bytes: the image's checksum (taken as the file was parsed)
    // proves it unchanged.
    let path = s.path().join("bc.csv");
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, &text).unwrap();
    let second = predict(&s);
    assert_read_from_image(&second, &first);
}

#[test]
fn a_prediction_on_a_changed_file_parses_it_again() {
    let (s, first) = trained_and_predicted();
    let path = s.path().join("bc.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    // Only the header and the first row are kept: the file changed.
    let short: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, short).unwrap();
    let second = predict(&s);
    let log = stderr(&second);
    assert!(log.contains("data parsed (the source changed"), "{log}");
    assert!(!log.contains(PREDICT_FROM_IMAGE), "{log}");
    assert_eq!(stdout(&second).lines().count(), 2, "{}", stdout(&second));
    assert_eq!(
        stdout(&second).lines().nth(1),
        stdout(&first).lines().nth(1),
        "the first row's prediction is unchanged"
    );
}
