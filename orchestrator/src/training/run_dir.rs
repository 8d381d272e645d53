//! A training run's directory: created, or continued after a killed run, and owned by one
//! process at a time.
//!
//! It holds `config.toml` (the config as run), `checkpoint.json` (the shared parameters after
//! the last whole epoch), and at the end `model.json` and `summary.json`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use tracing::info;

use super::checkpoint::{CHECKPOINT_FILE, Checkpoint};
use super::config::TrainConfig;
use crate::error::BadInput;
use crate::store::lock::StudyLock;

/// The run's config as run.
const CONFIG_FILE: &str = "config.toml";
/// Written when the run finishes.
pub const SUMMARY_FILE: &str = "summary.json";

/// Whether `open` will continue an unfinished run of this config in `dir` (so its data's
/// image there can be read instead of parsing).
pub fn continues(dir: &Path, cfg: &TrainConfig, force_new: bool) -> bool {
    !force_new
        && !dir.join(SUMMARY_FILE).is_file()
        && std::fs::read_to_string(dir.join(CONFIG_FILE)).is_ok_and(|t| t == cfg.text)
}

/// Create the run directory, or take up the checkpoint of an unfinished run of the same config;
/// refuse a live owner, a finished run and a run of another config unless `force_new` (which
/// keeps the old run aside).
pub fn open(
    dir: &Path,
    cfg: &TrainConfig,
    force_new: bool,
) -> Result<(StudyLock, Option<Checkpoint>)> {
    let occupied = dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true);
    if occupied {
        let is_run = dir.join(CONFIG_FILE).is_file();
        let lock = if is_run {
            Some(StudyLock::acquire(dir).map_err(BadInput::new)?)
        } else {
            None
        };
        if !force_new {
            let refuse = |why: &str| -> anyhow::Error {
                BadInput::new(anyhow!(
                    "{}: {why}; use --force-new to start over (the old run is kept aside) or --study-dir",
                    dir.display()
                ))
                .into()
            };
            let Some(lock) = lock else {
                return Err(refuse("exists and holds no training run"));
            };
            if dir.join(SUMMARY_FILE).is_file() {
                return Err(refuse("already holds a finished run"));
            }
            let stored = std::fs::read_to_string(dir.join(CONFIG_FILE)).unwrap_or_default();
            if stored != cfg.text {
                return Err(refuse("holds an unfinished run of a different config"));
            }
            let checkpoint = Checkpoint::read(dir)?;
            if checkpoint.is_none() {
                info!(dir = %dir.display(), "the earlier run ended before its first epoch: starting over");
            }
            return Ok((lock, checkpoint));
        }
        drop(lock);
        let aside = crate::store::set_aside(dir)
            .with_context(|| format!("moving the old run in {} aside", dir.display()))?;
        info!(old = %aside.display(), "the previous run was moved aside");
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        BadInput::new(anyhow!(
            "{}: cannot create the study directory: {e}",
            dir.display()
        ))
    })?;
    let lock = StudyLock::acquire(dir).map_err(BadInput::new)?;
    write_atomic(&dir.join(CONFIG_FILE), &cfg.text)?;
    // A stale checkpoint of a run moved aside cannot be here; one of a run started over can.
    let _ = std::fs::remove_file(dir.join(CHECKPOINT_FILE));
    Ok((lock, None))
}

/// Write a file whole or not at all: a temporary file, flushed to disk, renamed over.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(parent) = path.parent() {
            // The rename itself must survive a crash too.
            std::fs::File::open(parent)?.sync_all()?;
        }
        Ok(())
    };
    write().with_context(|| format!("writing {}", path.display()))
}
