//! The checkpoint of a training run: the shared parameters after the last whole epoch, with the
//! history so far, written atomically every epoch. A run whose orchestrator was killed continues
//! from it.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::run_dir::write_atomic;
use super::summary::EpochRecord;
use crate::error::BadInput;

/// The checkpoint file in the run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
const FORMAT: &str = "cohort-checkpoint/1";

/// The state of a run after a whole epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always `cohort-checkpoint/1`.
    pub format: String,
    /// The last epoch done on every shard (0-based).
    pub epoch: u32,
    /// The merged parameters when every shard had finished it.
    pub params: Vec<f64>,
    /// The per-epoch records up to it.
    pub history: Vec<EpochRecord>,
    /// Trainers respawned so far.
    pub respawns: u32,
}

impl Checkpoint {
    /// A checkpoint after `epoch`.
    pub fn new(
        epoch: u32,
        params: Vec<f64>,
        history: Vec<EpochRecord>,
        respawns: u32,
    ) -> Checkpoint {
        Checkpoint {
            format: FORMAT.into(),
            epoch,
            params,
            history,
            respawns,
        }
    }

    /// Write it into `dir`, replacing the previous one atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        // serde_json writes the shortest text that reads back as the same f64.
        let text = serde_json::to_string(self).context("encoding the checkpoint")?;
        write_atomic(&dir.join(CHECKPOINT_FILE), &text)
    }

    /// The checkpoint in `dir`, if there is one; a damaged one is bad input naming the file.
    pub fn read(dir: &Path) -> Result<Option<Checkpoint>> {
        let path = dir.join(CHECKPOINT_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let c: Checkpoint = serde_json::from_str(&text).map_err(|e| {
            BadInput::new(anyhow::anyhow!(
                "{}: not a readable checkpoint ({e}); use --force-new to start over",
                path.display()
            ))
        })?;
        if c.format != FORMAT {
            return Err(BadInput::new(anyhow::anyhow!(
                "{}: checkpoint format {}, but this cohort reads {FORMAT}",
                path.display(),
                c.format
            ))
            .into());
        }
        Ok(Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_reads_back_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let params = vec![0.1, -1.0 / 3.0, 1e-300, f64::MAX];
        let c = Checkpoint::new(4, params.clone(), Vec::new(), 1);
        c.write(dir.path()).unwrap();
        let back = Checkpoint::read(dir.path()).unwrap().unwrap();
        assert_eq!(back, c);
        assert!(
            back.params
                .iter()
                .zip(&params)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    #[test]
    fn no_checkpoint_file_means_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Checkpoint::read(dir.path()).unwrap(), None);
    }
}
