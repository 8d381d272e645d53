//! The wire protocol between the orchestrator and a trainer: `Task`s go out, `Event`s come back.
//!
//! Messages stay small (well under ipc-channel's ~212 KB fragment size: a larger send to a child
//! that dies mid-send blocks the sender forever); bulk data travels as `IpcSharedMemory`.

use ipc_channel::ipc::{IpcSender, IpcSharedMemory};
use models::{FoldScores, Metric, Params, Problem};
use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes shape; checked in `Hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Identifies one trial of a study (its 0-based number).
pub type TrialId = u64;

/// What the orchestrator sends a trainer.
#[derive(Debug, Serialize, Deserialize)]
pub enum Task {
    /// Sent once, first: the dataset and how every trial of this sweep is evaluated.
    Setup(Box<SweepSetup>),
    /// Evaluate one hyperparameter set.
    Trial(TrialTask),
    /// Finish the current work and exit.
    Shutdown,
}

/// How a sweep's trials are evaluated: identical for every trial, so sent once.
#[derive(Debug, Serialize, Deserialize)]
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
    /// Metrics to compute on each fold; the first is the objective.
    pub metrics: Vec<Metric>,
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
}

/// How a trial failed inside a trainer that is still alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// The model returned an error.
    Error,
    /// The model panicked.
    Panic,
}

/// What a trainer sends back.
#[derive(Debug, Serialize, Deserialize)]
pub enum Event {
    /// First message after connecting: who it is and where to send tasks.
    Hello {
        /// Must equal [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The worker id it was started with.
        worker: u32,
        /// Its process id.
        pid: u32,
        /// The core it pinned itself to, or why it could not.
        pinned: Result<usize, String>,
        /// Where the orchestrator sends tasks.
        tasks: IpcSender<Task>,
    },
    /// A trial began.
    TrialStarted {
        /// Which trial.
        trial: TrialId,
        /// Which attempt.
        attempt: u32,
    },
    /// A fold finished: the intermediate value of a trial (all but the last fold).
    FoldScored {
        /// Which trial.
        trial: TrialId,
        /// Which attempt.
        attempt: u32,
        /// The fold's 0-based index.
        fold: u32,
        /// The fold's scores.
        scores: FoldScores,
    },
    /// A trial finished with every fold's scores.
    TrialFinished {
        /// Which trial.
        trial: TrialId,
        /// Which attempt.
        attempt: u32,
        /// Scores of each fold, in fold order.
        folds: Vec<FoldScores>,
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
    },
}
