//! What runs inside a trainer process: the worker loop, the IPC protocol shared with the
//! orchestrator, and the ParamArray (shared-memory parameters under a lock).

pub mod fault;
pub mod param_array;
pub mod process;
pub mod program;
pub mod protocol;
pub mod refit;
pub mod train;
pub mod worker;

pub use protocol::{
    Event, FailureKind, MergeMode, PROTOCOL_VERSION, ProgramSetup, RefitSetup, StopRule,
    SweepSetup, Task, TrainSetup, TrialId, TrialTask,
};
pub use worker::{TrainerArgs, TrainerError, run};
