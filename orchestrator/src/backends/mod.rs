//! Backends: where trainer processes start.
//!
//! The supervisor asks its backend for the command that starts one trainer; everything after
//! that (bootstrap, pinning, watching, stopping) is the same everywhere. `local` starts trainers
//! as child processes on this machine. A cluster backend runs a local supervisor inside each of
//! its allocations, so it too starts trainers through `local`.

pub mod local;
pub mod slurm;

pub use local::Local;

use std::process::Command;

use crate::supervisor::WorkerId;

/// What a trainer is started with.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Its worker id.
    pub worker: WorkerId,
    /// The cores to pin itself to (empty: unpinned).
    pub cores: Vec<usize>,
    /// Variables set for this trainer alone (its GPUs).
    pub env: Vec<(String, String)>,
    /// Address-space cap, bytes.
    pub memory: Option<u64>,
}

/// Decides how a trainer process starts.
pub trait Backend: Send {
    /// The command that starts one trainer (the supervisor adds `--connect NAME` and wires
    /// its standard streams).
    fn trainer_command(&self, launch: &Launch) -> Command;
}
