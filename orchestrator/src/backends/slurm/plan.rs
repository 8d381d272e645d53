//! What a submission asks of each node, and the study's record of its jobs, in the study's
//! `slurm/` folder. Written only by the submitting `cohort sweep` (which holds the study
//! directory's lock), read by the nodes, `status` and `cancel`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The study directory's folder for batch scripts, plans, the job record and Slurm's output.
pub const SLURM_DIR: &str = "slurm";
const JOBS_FILE: &str = "jobs.json";

/// Which node runs which trial, fixed at submission so every node agrees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The submission's number (1 for the first).
    pub submission: u32,
    /// Array tasks, one per node.
    pub nodes: u32,
    /// Trials started before this submission and not final then, in order: dealt out in turn,
    /// so a resubmission spreads them over every node.
    pub pending: Vec<u64>,
}

impl Plan {
    /// The array task that runs `trial`: a pending trial by its place in `pending`, a new one
    /// by its number (each batch of a learning sampler is split across the nodes).
    pub fn owner(&self, trial: u64) -> u32 {
        let n = u64::from(self.nodes.max(1));
        let i = match self.pending.binary_search(&trial) {
            Ok(i) => i as u64,
            Err(_) => trial,
        };
        (i % n) as u32
    }

    /// Where the plan of submission `n` lives.
    pub fn path(dir: &Path, n: u32) -> PathBuf {
        dir.join(SLURM_DIR).join(format!("plan-{n}.json"))
    }

    /// Read a plan.
    pub fn read(path: &Path) -> anyhow::Result<Plan> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the plan: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not a plan: {e}", path.display()))
    }
}

/// One submitted job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Slurm's job id.
    pub job: String,
    /// The submission's number.
    pub submission: u32,
    /// Array tasks.
    pub nodes: u32,
    /// Trials not final when it was submitted.
    pub trials: u64,
    /// Unix seconds.
    pub submitted_at: f64,
}

/// The jobs submitted for the study in `dir`, oldest first.
pub fn jobs(dir: &Path) -> Vec<JobRecord> {
    std::fs::read_to_string(dir.join(SLURM_DIR).join(JOBS_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Write `path` whole or not at all (a temporary file renamed over it).
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Add `job` to the study's record.
pub fn record_job(dir: &Path, job: JobRecord) -> std::io::Result<()> {
    let mut all = jobs(dir);
    all.push(job);
    let text = serde_json::to_string_pretty(&all).map_err(std::io::Error::other)?;
    write_atomic(&dir.join(SLURM_DIR).join(JOBS_FILE), &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_trials_are_dealt_to_every_node_in_turn() {
        let plan = Plan {
            submission: 2,
            nodes: 2,
            pending: vec![3, 5, 7, 9],
        };
        let owners: Vec<u32> = [3, 5, 7, 9].iter().map(|&t| plan.owner(t)).collect();
        assert_eq!(owners, [0, 1, 0, 1], "all odd, yet both nodes get two");
        assert_eq!((plan.owner(10), plan.owner(11)), (0, 1));
    }
}
