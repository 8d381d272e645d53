//! Refit: after a sweep, the best trial's hyperparameters fitted on every row (as
//! scikit-learn's `GridSearchCV(refit=True)`), in a trainer like every other fit, and saved in
//! the study directory with its preprocessing, feature names and class names.
//!
//! The trainer writes the fitted model to a file and says so in a small message; the
//! orchestrator adds the names and writes the model file atomically. How the refit ended is
//! recorded in the study (meta key `refit`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use ipc_channel::ipc::IpcSharedMemory;
use models::saved::{MODEL_FORMAT, ModelFile, Refit};
use models::{Params, Problem};
use serde::{Deserialize, Serialize};
use tracing::info;
use trainer::{Event, RefitSetup, Task};

use crate::store::Store;
use crate::supervisor::{Limits, Notice, PoolSpec, Stop, Supervisor, signals};

/// The saved model's file in the study directory.
pub const MODEL_FILE: &str = "best_model.json";

/// Where the trainer writes the fitted part before the orchestrator completes it.
const FITTED_PART: &str = ".best_model.fitted.json";

/// The meta key the refit's end is recorded under.
pub const META_KEY: &str = "refit";

/// What a refit needs of the sweep: its data (already in shared memory) and how it was fitted.
pub struct RefitJob {
    /// The dataset image the trials used.
    pub data: IpcSharedMemory,
    /// Classes or regression.
    pub problem: Problem,
    /// The model.
    pub model: String,
    /// Standardize first, as the trials did.
    pub standardize: bool,
    /// The `[preprocess]` pipeline the trials fitted in each fold.
    pub preprocess: Option<models::preprocess::Preprocess>,
    /// The study seed.
    pub seed: u64,
    /// Feature column names.
    pub features: Vec<String>,
    /// Target column name.
    pub target: String,
    /// Rows in the data.
    pub rows: usize,
}

/// How a refit ended (recorded in the study as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RefitEnd {
    /// The model file is written.
    Saved {
        /// The trial whose hyperparameters were refit.
        trial: u64,
        /// The model file's name in the study directory.
        file: String,
        /// Rows it was fitted on.
        rows: usize,
        /// Seconds the fit took in the trainer.
        seconds: f64,
    },
    /// The fit failed, or its trainer died.
    Failed {
        /// The trial whose hyperparameters were refit.
        trial: u64,
        /// Why.
        message: String,
    },
    /// Not done, and why (`--no-refit`, no complete trial, a program study).
    Skipped {
        /// Why.
        reason: String,
    },
    /// Stopped by Ctrl-C or SIGTERM before the model was saved.
    Interrupted,
}

impl RefitEnd {
    /// One line for people.
    pub fn describe(&self, dir: &Path) -> String {
        match self {
            RefitEnd::Saved {
                trial,
                file,
                rows,
                seconds,
            } => format!(
                "model: trial {trial}'s hyperparameters refit on all {rows} rows in {seconds:.2} s: {}",
                dir.join(file).display()
            ),
            RefitEnd::Failed { trial, message } => {
                format!("model: the refit of trial {trial} failed: {message}")
            }
            RefitEnd::Skipped { reason } => format!("model: not refit ({reason})"),
            RefitEnd::Interrupted => {
                "model: the refit was interrupted; `cohort refit DIR` does it again".into()
            }
        }
    }

    /// Record it in the study.
    pub fn record(&self, store: &mut Store) -> Result<()> {
        store.set_meta(META_KEY, &serde_json::to_string(self)?)?;
        store.commit()?;
        Ok(())
    }
}

/// Fit `params` (trial `trial`'s) on every row in one trainer and save the model in `dir`.
pub fn refit(
    job: &RefitJob,
    trial: u64,
    params: &Params,
    pool: PoolSpec,
    limits: Limits,
    dir: &Path,
) -> Result<RefitEnd> {
    let part = std::path::absolute(dir.join(FITTED_PART)).unwrap_or_else(|_| dir.join(FITTED_PART));
    let setup = RefitSetup {
        data: job.data.clone(),
        problem: job.problem.clone(),
        model: job.model.clone(),
        params: params.clone(),
        seed: job.seed,
        standardize: job.standardize,
        preprocess: job.preprocess.clone(),
        out: part.clone(),
    };
    info!(
        trial,
        rows = job.rows,
        "refitting the best hyperparameters on every row"
    );
    let mut supervisor = Supervisor::new(pool, limits, 1);
    supervisor
        .spawn(0)
        .context("starting a trainer for the refit")?;
    let mut task = Some(Task::Refit(Box::new(setup)));
    let outcome = loop {
        if signals::received() > 0 {
            supervisor.stop_all(Stop::Interrupt);
            let _ = std::fs::remove_file(&part);
            return Ok(RefitEnd::Interrupted);
        }
        match supervisor.next(Duration::from_millis(50)) {
            Some(Notice::Ready { slot, .. }) => {
                // A failed send is followed by the trainer's `Died`.
                if let Some(t) = task.take() {
                    supervisor.send(slot, t);
                }
            }
            Some(Notice::Event {
                event: Event::RefitDone { seconds },
                ..
            }) => break Ok(seconds),
            Some(Notice::Event {
                event: Event::RefitFailed { message },
                ..
            }) => break Err(message),
            Some(Notice::Died(death)) => break Err(format!("its trainer died: {}", death.how)),
            Some(Notice::Event { .. }) | None => {}
        }
    };
    supervisor.stop_all(Stop::Finish);
    let end = match outcome {
        Ok(seconds) => match complete(job, trial, params, &part, dir) {
            Ok(()) => RefitEnd::Saved {
                trial,
                file: MODEL_FILE.into(),
                rows: job.rows,
                seconds,
            },
            Err(e) => RefitEnd::Failed {
                trial,
                message: format!("{e:#}"),
            },
        },
        Err(message) => RefitEnd::Failed { trial, message },
    };
    let _ = std::fs::remove_file(&part);
    Ok(end)
}

/// Add the names to the trainer's fitted model and write the model file.
fn complete(job: &RefitJob, trial: u64, params: &Params, part: &PathBuf, dir: &Path) -> Result<()> {
    let text = std::fs::read_to_string(part)
        .with_context(|| format!("reading the refit model from {}", part.display()))?;
    let fitted: Refit = serde_json::from_str(&text)
        .with_context(|| format!("reading the refit model from {}", part.display()))?;
    let file = ModelFile {
        format: MODEL_FORMAT.into(),
        model_name: job.model.clone(),
        params: params.clone(),
        features: job.features.clone(),
        target: job.target.clone(),
        classes: match &job.problem {
            Problem::Classification { classes } => Some(classes.clone()),
            Problem::Regression | Problem::Clustering => None,
        },
        preprocessing: fitted.preprocessing,
        model: fitted.model,
        rows: job.rows,
        trial: Some(trial),
    };
    crate::training::run_dir::write_atomic(&dir.join(MODEL_FILE), &file.to_json()?)
}
