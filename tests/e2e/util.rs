//! Helpers: a scratch directory per test, configs that point at the shipped datasets, and the
//! binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("orchestrator has a parent").to_path_buf()
}

/// A shipped dataset's absolute path.
pub fn data(name: &str) -> PathBuf {
    repo().join("configs/data").join(name)
}

/// A scratch directory in which a test writes configs and studies.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `text` as `name` in the scratch directory; `{data}` becomes the data directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text.replace("{data}", &repo().join("configs/data").display().to_string())).expect("write");
        p
    }

    /// `cohort ARGS` run in the scratch directory.
    pub fn cohort(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cohort"));
        c.args(args).current_dir(self.path()).env_remove("RUST_LOG").env_remove("COHORT_FAULT");
        c
    }

    /// Run `cohort ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cohort(args).output().expect("run cohort")
    }
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Stdout parsed as JSON, with the output shown on failure.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", stdout(o), stderr(o)))
}

/// A small, fast classification sweep on breast_cancer: `extra` is appended (more sections).
pub fn quick_config(sampler: &str) -> String {
    format!(
        r#"
[study]
name = "quick"
seed = 5
metric = "accuracy"
metrics = ["log_loss"]

[data]
path = "{{data}}/breast_cancer.csv"

[model]
name = "logistic_regression"

[cv]
folds = 3

[search]
{sampler}

[search.space]
C = [0.01, 0.1, 1.0, 10.0]
fit_intercept = [true, false]
"#
    )
}

/// Assert the exit status, showing the output when it is not what was expected.
pub fn assert_status(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "exit status\nstdout:\n{}\nstderr:\n{}", stdout(o), stderr(o));
}
