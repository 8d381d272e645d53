//! The wire protocol between the orchestrator and a trainer: `Task`s go out, `Event`s come back.
//!
//! Messages stay small (well under ipc-channel's ~212 KB fragment size: a larger send to a child
//! that dies mid-send blocks the sender forever); bulk data travels as `IpcSharedMemory`.

use ipc_channel::ipc::{IpcSender, IpcSharedMemory};
use models::{FoldScores, Metric, Params, Problem};
use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes shape or meaning; checked in `Hello`.
pub const PROTOCOL_VERSION: u32 = 8;

/// Identifies one trial of a study (its 0-based number).
pub type TrialId = u64;

/// What the orchestrator sends a trainer.
#[derive(Debug, Serialize, Deserialize)]
pub enum Task {
    /// Sent once, first: the dataset and how every trial of this sweep is evaluated.
    Setup(Box<SweepSetup>),
    /// Sent once, first, instead of `Setup`: every trial of this sweep runs the user's program.
    ProgramSetup(Box<ProgramSetup>),
    /// Evaluate one hyperparameter set.
    Trial(TrialTask),
    /// Stop this trial at its next report point: it ends with `TrialPruned`. Ignored when the
    /// trial is no longer running; a queued trial it names is dropped unrun (also `TrialPruned`).
    StopTrial {
        /// Which trial.
        trial: TrialId,
        /// Which attempt.
        attempt: u32,
    },
    /// Train on one shard, merging into the ParamArray, until the last epoch.
    Train(Box<TrainSetup>),
    /// Sent once, first: fit one hyperparameter set on every row and write the fitted model.
    Refit(Box<RefitSetup>),
    /// Finish the current work and exit.
    Shutdown,
}

/// How a sweep's trials are evaluated: identical for every trial, so sent once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepSetup {
    /// The dataset image (see `models::Dataset::to_image`), shared, never copied.
    pub data: IpcSharedMemory,
    /// Classes or regression.
    pub problem: Problem,
    /// The model every trial fits.
    pub model: String,
    /// Number of CV folds.
    pub folds: usize,
    /// Shuffle rows before splitting (with `seed`); false gives scikit-learn's unshuffled folds.
    pub shuffle: bool,
    /// The study seed: folds and model randomness derive from it.
    pub seed: u64,
    /// Standardize features, fitted on each training fold only.
    pub standardize: bool,
    /// Bytes of standardized training-fold copies the trainer may keep (0: read folds in place).
    pub fold_cache: u64,
    /// The `[preprocess]` pipeline, fitted on each training fold only (replaces `standardize`).
    pub preprocess: Option<models::preprocess::Preprocess>,
    /// Metrics to compute on each fold (built-in models compute these names).
    pub metrics: Vec<Metric>,
    /// The objective's name: its value at each report point feeds pruning.
    pub objective: String,
    /// Successive halving over rows: the shares of each training fold a trial is fitted on, in
    /// turn, each a report point (None: the folds are the report points). Models that learn
    /// epoch by epoch ignore it.
    pub row_budgets: Option<Vec<f64>>,
    /// Live reports are sent for trials running at least this long (shorter trials report
    /// every fold inside their result): a report costs an IPC message.
    pub live_reports_after: std::time::Duration,
}

/// How a sweep's trials run the user's own program: identical for every trial, so sent once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgramSetup {
    /// The argv template (see `program::template`), checked by the orchestrator.
    pub command: Vec<String>,
    /// The program's working directory (absolute).
    pub cwd: std::path::PathBuf,
    /// Variables added to the program's environment (they win over cohort's own).
    pub env: std::collections::BTreeMap<String, String>,
    /// How boolean parameters are written, by name: the words for true and false.
    pub bool_styles: std::collections::BTreeMap<String, (String, String)>,
    /// A regex with groups `name`, `value` (and optional `step`) read on every output line.
    pub metrics_regex: Option<String>,
    /// The objective's name: a trial that ends without reporting it failed.
    pub objective: String,
    /// The study directory (absolute): trial directories go to `trials/<n>/` in it.
    pub study_dir: std::path::PathBuf,
    /// The study seed (each trial's seed derives from it).
    pub seed: u64,
    /// How long a stopped program gets between SIGTERM and SIGKILL.
    pub grace: std::time::Duration,
    /// Threads each trial may use (OMP, MKL, OpenBLAS, RAYON variables): its cores.
    pub threads: usize,
}

/// How shards merge into the ParamArray.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMode {
    /// Synchronous rounds: k local steps, then the shared array becomes the average (local SGD).
    Average,
    /// Every k steps, add the accumulated update under the lock; no barrier.
    Locked,
    /// Every k steps, add the accumulated update with no lock (Hogwild!): updates can be lost.
    Hogwild,
}

impl MergeMode {
    /// The name used in configs and output.
    pub fn name(self) -> &'static str {
        match self {
            MergeMode::Average => "average",
            MergeMode::Locked => "locked",
            MergeMode::Hogwild => "hogwild",
        }
    }
}

/// One shard's training job: data, model, where the shared parameters live, how to merge.
#[derive(Debug, Serialize, Deserialize)]
pub struct TrainSetup {
    /// The dataset's image (see `models::Dataset::to_image`), standardized, shared: every row,
    /// the held-out ones too (the trainer reads only its shard's rows, in place).
    pub data: IpcSharedMemory,
    /// Which of the image's rows are the training split (in its order).
    pub split: models::Holdout,
    /// The model and its hyperparameters.
    pub spec: models::sgd::SgdSpec,
    /// What it predicts.
    pub target: models::sgd::Target,
    /// The ParamArray's file.
    pub params_path: std::path::PathBuf,
    /// Which shard (0-based); its rows are `rows.0..rows.1` of the training split (positions in
    /// the split's order, after the held-out rows).
    pub shard: u32,
    /// The shard's row range.
    pub rows: (usize, usize),
    /// Epochs in all.
    pub epochs: u32,
    /// The epoch to start from (after a respawn: the one in progress) in `locked` and
    /// `hogwild`; an `average` shard starts at the round the ParamArray is in.
    pub start_epoch: u32,
    /// Merge rule.
    pub mode: MergeMode,
    /// Synchronization rounds (average) or merges (locked, hogwild) per epoch: every shard does
    /// the same number, so synchronous rounds line up.
    pub merges_per_epoch: u64,
    /// The training seed (the shard's epoch order derives from it and the shard).
    pub seed: u64,
}

/// A refit: the best trial's hyperparameters fitted on every row of the sweep's data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefitSetup {
    /// The dataset image (as in [`SweepSetup`]), shared.
    pub data: IpcSharedMemory,
    /// Classes or regression.
    pub problem: Problem,
    /// The model.
    pub model: String,
    /// Its complete hyperparameters (the trial's).
    pub params: Params,
    /// The study seed (model randomness derives from it, as in the trials).
    pub seed: u64,
    /// Standardize the features first (fitted on every row).
    pub standardize: bool,
    /// The `[preprocess]` pipeline, fitted on every row (replaces `standardize`).
    pub preprocess: Option<models::preprocess::Preprocess>,
    /// Where the fitted model and its preprocessing go (`models::saved::Refit` as JSON): the
    /// file can be large, so it travels on disk, not in a message.
    pub out: std::path::PathBuf,
}

/// One trial to evaluate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialTask {
    /// Which trial.
    pub trial: TrialId,
    /// Which attempt at it (1 for the first run, more after a retry).
    pub attempt: u32,
    /// Its complete, checked hyperparameters.
    pub params: Params,
    /// When the pruner has a say: the trial stops at the first report point whose objective is
    /// worse than that point's threshold.
    pub stop: Option<StopRule>,
}

/// A pruner's decision for one trial, made before it starts from the results of earlier
/// batches only: so whether and where a trial stops depends on the seed and those results,
/// never on timing. The trainer applies it at each report point without a round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopRule {
    /// Which way the objective is better.
    pub direction: models::Direction,
    /// The threshold at each report point (None: the trial cannot stop there).
    pub thresholds: Vec<Option<f64>>,
}

impl StopRule {
    /// Whether a trial that reported `value` at `step` stops there.
    pub fn stops(&self, step: usize, value: f64) -> bool {
        let Some(Some(t)) = self.thresholds.get(step) else {
            return false;
        };
        // A NaN (a diverged model) is worse than any threshold.
        value.is_nan()
            || match self.direction {
                models::Direction::Maximize => value < *t,
                models::Direction::Minimize => value > *t,
            }
    }
}

/// How a trial failed inside a trainer that is still alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// The model returned an error.
    Error,
    /// The model panicked.
    Panic,
    /// The trial's program was killed by a signal it did not ask for: retried like a trial
    /// whose trainer died.
    Crashed,
}

/// What a trainer sends back.
#[derive(Debug, Serialize, Deserialize)]
pub enum Event {
    /// A shard finished an epoch.
    EpochDone {
        /// Which shard.
        shard: u32,
        /// Which epoch (0-based).
        epoch: u32,
        /// Rows it trained on this epoch.
        samples: u64,
        /// Mean training loss over them (before each step, as scikit-learn reports it).
        mean_loss: f64,
        /// Merges it made this epoch.
        merges: u64,
        /// Seconds spent training this epoch (merges included).
        seconds: f64,
        /// Seconds of that spent merging (waiting for the lock or the round included).
        merge_seconds: f64,
    },
    /// The process group of the program trial now running (0: it has ended; a trial's
    /// `TrialFinished` or `TrialFailed` says so too, see [`Event::ends_program_group`]): the
    /// supervisor kills it if this trainer is killed outright.
    ProgramGroup {
        /// The group's id.
        pgid: i32,
    },
    /// A shard is alive and moving: sent from its training loop at most about once a second
    /// (also while it waits at an `average` round), so a silent shard is a stalled one.
    ShardProgress {
        /// Which shard.
        shard: u32,
        /// The round (average) or merge count it has reached.
        round: u64,
    },
    /// A shard finished its last epoch.
    ShardFinished {
        /// Which shard.
        shard: u32,
    },
    /// A shard cannot go on (the model diverged, the ParamArray failed).
    ShardFailed {
        /// Which shard.
        shard: u32,
        /// Why.
        message: String,
    },
    /// First message after connecting: who it is and where to send tasks.
    Hello {
        /// Must equal [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The worker id it was started with.
        worker: u32,
        /// Its process id.
        pid: u32,
        /// The cores it pinned itself to, or why it could not.
        pinned: Result<Vec<usize>, String>,
        /// Where the orchestrator sends tasks.
        tasks: IpcSender<Task>,
    },
    /// A trial began.
    TrialStarted {
        /// Which trial.
        trial: TrialId,
        /// Which attempt.
        attempt: u32,
        /// When, in Unix seconds (stamped here: queued trials start long after they were sent).
        at: f64,
    },
    /// A report point was reached (a fold of a cross-validation): the trial's named values at
    /// `step`. Sent live once the trial has run `live_reports_after`; every fold's values are
    /// also inside `TrialFinished`, so short trials send none.
    Report {
        /// Which trial.
        trial: TrialId,
        /// Which attempt.
        attempt: u32,
        /// The report point's 0-based index (the fold).
        step: u32,
        /// Named values (metric name to value).
        values: FoldScores,
    },
    /// A trial finished with every fold's scores.
    TrialFinished {
        /// Which trial.
        trial: TrialId,
        /// Which attempt.
        attempt: u32,
        /// Scores of each fold, in fold order.
        folds: Vec<FoldScores>,
        /// The values at each report point, when those are not the folds (an iterative model's
        /// epochs).
        reports: Option<Vec<FoldScores>>,
        /// When, in Unix seconds.
        at: f64,
        /// The next trial, if it was already queued here and started at once: its start rides
        /// on this message instead of a `TrialStarted` of its own.
        next_started: Option<TrialStart>,
    },
    /// A trial stopped at a report point because the orchestrator asked (`Task::StopTrial`).
    TrialPruned {
        /// Which trial.
        trial: TrialId,
        /// Which attempt.
        attempt: u32,
        /// The last report point it reached (None: it was stopped before its first).
        step: Option<u32>,
        /// The folds' scores when it stopped (the folds it finished, or every fold at the
        /// epoch it stopped at).
        folds: Vec<FoldScores>,
        /// The values at each report point it reached, when those are not the folds.
        reports: Option<Vec<FoldScores>>,
        /// When, in Unix seconds.
        at: f64,
        /// The next trial, if it started at once (as in `TrialFinished`).
        next_started: Option<TrialStart>,
    },
    /// The refit model is written to `RefitSetup::out`.
    RefitDone {
        /// Seconds the fit took.
        seconds: f64,
    },
    /// The refit could not be done (the model failed or panicked, the file could not be
    /// written).
    RefitFailed {
        /// Why.
        message: String,
    },
    /// A trial failed; the trainer goes on.
    TrialFailed {
        /// Which trial.
        trial: TrialId,
        /// Which attempt.
        attempt: u32,
        /// Error or panic.
        kind: FailureKind,
        /// The message.
        message: String,
        /// When, in Unix seconds.
        at: f64,
        /// The next trial, if it started at once (as in `TrialFinished`).
        next_started: Option<TrialStart>,
    },
}

impl Event {
    /// Whether this event also says the trial's program group is gone: a program trial's
    /// `TrialFinished` and `TrialFailed` are sent only after its group was killed (a pruned
    /// trial's end goes out before, so its trainer sends `ProgramGroup { pgid: 0 }` after).
    pub fn ends_program_group(&self) -> bool {
        matches!(
            self,
            Event::TrialFinished { .. } | Event::TrialFailed { .. }
        )
    }

    /// Let the next trial's start ride on this trial's end (other events carry none).
    pub fn set_next_started(&mut self, start: TrialStart) {
        match self {
            Event::TrialFinished { next_started, .. }
            | Event::TrialFailed { next_started, .. }
            | Event::TrialPruned { next_started, .. } => *next_started = Some(start),
            _ => {}
        }
    }
}

/// A trial's start, announced inside the previous trial's result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrialStart {
    /// Which trial.
    pub trial: TrialId,
    /// Which attempt.
    pub attempt: u32,
    /// When, in Unix seconds.
    pub at: f64,
}

/// Now as Unix seconds (trainers and orchestrator share the machine's clock).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
