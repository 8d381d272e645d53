//! What a training run reports: per-epoch records and the summary, for people and as JSON.

use std::path::PathBuf;

use models::sgd::Metrics;
use serde::{Deserialize, Serialize};

/// One epoch's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: u32,
    /// Held-out metrics of the merged parameters.
    pub heldout: Metrics,
    /// Mean training loss over all shards (progressive, before each step).
    pub train_loss: f64,
    /// Merges made this epoch, all shards.
    pub merges: u64,
    /// Sample updates this epoch, all shards.
    pub samples: u64,
    /// Wall seconds since training started.
    pub elapsed_s: f64,
}

/// The result of a training run.
#[derive(Debug, Serialize)]
pub struct TrainSummary {
    /// The run's name.
    pub name: String,
    /// The study directory.
    pub dir: PathBuf,
    /// Shards (trainers).
    pub shards: usize,
    /// Merge mode.
    pub merge: &'static str,
    /// Epochs.
    pub epochs: u32,
    /// Training rows / held-out rows / features.
    pub rows: (usize, usize, usize),
    /// Held-out metrics of the final model.
    pub heldout: Metrics,
    /// Per-epoch history.
    pub history: Vec<EpochRecord>,
    /// Seconds of training (trainers started to last shard finished).
    pub train_seconds: f64,
    /// Seconds of the training loop: per epoch the slowest shard's time, summed (what
    /// scikit-learn's `fit` time measures: no process start, no final evaluation).
    pub loop_seconds: f64,
    /// Sample updates per second of the training loop, all shards.
    pub updates_per_second: f64,
    /// Merges in all, and per second.
    pub merges: u64,
    /// Merges per second.
    pub merges_per_second: f64,
    /// Share of the trainers' time spent merging (lock waits and rounds included).
    pub merge_share: f64,
    /// Trainers respawned after dying.
    pub respawns: u32,
    /// Peak memory of the trainers, MiB: private (their own) and the shared dataset (once).
    pub trainer_private_mib: f64,
    /// The shared training data's size, MiB (mapped by every trainer, resident once).
    pub shared_data_mib: f64,
    /// The ParamArray's size, bytes.
    pub param_bytes: usize,
    /// The last epoch of an earlier, killed run this one continued from, if any.
    pub resumed_after_epoch: Option<u32>,
}

/// The summary for people.
pub fn summary_text(s: &TrainSummary) -> String {
    let heldout = match s.heldout {
        Metrics::Classification { accuracy, log_loss } => {
            format!("held-out accuracy {accuracy:.4}, log-loss {log_loss:.4}")
        }
        Metrics::Regression { rmse, r2 } => format!("held-out rmse {rmse:.4}, r2 {r2:.4}"),
    };
    let mut t = String::from("epoch  held-out                      train loss  merges  elapsed\n");
    for e in &s.history {
        let h = match e.heldout {
            Metrics::Classification { accuracy, log_loss } => {
                format!("acc {accuracy:.4} log-loss {log_loss:.4}")
            }
            Metrics::Regression { rmse, r2 } => format!("rmse {rmse:.4} r2 {r2:.4}"),
        };
        t.push_str(&format!(
            "{:<6} {:<29} {:<11.4} {:<7} {:.2}s\n",
            e.epoch + 1,
            h,
            e.train_loss,
            e.merges,
            e.elapsed_s
        ));
    }
    if let Some(e) = s.resumed_after_epoch {
        t.push_str(&format!(
            "\ncontinued from the checkpoint of epoch {} (epochs before it ran in an earlier process)",
            e + 1
        ));
    }
    t.push_str(&format!(
        "\n{heldout}\n{} shard{} ({} merges), {} epochs on {} rows x {} features in {:.2}s ({:.2}s in the training loop): {:.2} M sample-updates/s, {:.0} merges/s ({:.1}% of trainer time merging)\ntrainers: {:.1} MiB private each at most, plus {:.1} MiB of shared training data mapped once; {} respawned\nmodel: {}\n",
        s.shards,
        if s.shards == 1 { "" } else { "s" },
        s.merge,
        s.epochs,
        s.rows.0,
        s.rows.2,
        s.train_seconds,
        s.loop_seconds,
        s.updates_per_second / 1e6,
        s.merges_per_second,
        s.merge_share * 100.0,
        s.trainer_private_mib,
        s.shared_data_mib,
        s.respawns,
        s.dir.join("model.json").display()
    ));
    t
}
