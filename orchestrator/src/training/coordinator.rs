//! The training coordinator: one shard per supervisor slot. It hands each new trainer its shard,
//! gathers the epochs' statistics, has every whole epoch evaluated and checkpointed, and
//! respawns a shard whose trainer died or stalled, at the epoch the shared array is in.
//!
//! Processes are the supervisor's business: this file decides only what each shard does.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use models::sgd::{Metrics, SgdError};
use tracing::{info, warn};
use trainer::param_array::ParamArray;
use trainer::{Event, Task, TrainSetup};

use super::Interrupted;
use super::checkpoint::Checkpoint;
use super::evaluation::{Evaluated, Request};
use super::summary::EpochRecord;
use crate::progress::TrainProgress;
use crate::supervisor::{Death, Notice, Stop, Supervisor, signals};

/// A shard whose trainer dies this many times in a row stops the run.
const MAX_RESPAWNS: u32 = 5;
/// The coordinator wakes at least this often to check limits and signals.
const TICK: Duration = Duration::from_millis(50);

/// What a training run did, for its summary.
pub struct Outcome {
    /// Per-epoch records (those of a run it continued included).
    pub history: Vec<EpochRecord>,
    /// Trainers respawned.
    pub respawns: u32,
    /// Per epoch the slowest shard's time, summed.
    pub loop_seconds: f64,
    /// Trainer seconds spent merging.
    pub merge_seconds: f64,
    /// Trainer seconds in all.
    pub worker_seconds: f64,
    /// Peak private memory of one trainer, MiB.
    pub private_mib: f64,
}

struct Shard {
    next_epoch: u32,
    finished: bool,
    deaths_in_a_row: u32,
}

/// One epoch's totals over the shards that reported it.
#[derive(Debug, Clone, Copy, Default)]
struct EpochStats {
    samples: u64,
    loss_sum: f64,
    merges: u64,
    /// The slowest shard's training time for the epoch (merges and round waits included).
    slowest_s: f64,
}

/// Epoch statistics waiting for their held-out evaluation.
struct PendingEpoch {
    train_loss: f64,
    merges: u64,
    samples: u64,
    elapsed_s: f64,
}

/// Drives the shards of one training run.
pub struct Coordinator<'a> {
    supervisor: Supervisor,
    epochs: u32,
    setup: &'a dyn Fn(usize, u32) -> TrainSetup,
    pa: &'a ParamArray,
    dir: &'a Path,
    to_eval: Option<mpsc::Sender<Request>>,
    from_eval: mpsc::Receiver<Evaluated>,
    pending: BTreeMap<u32, PendingEpoch>,
    shards: Vec<Shard>,
    epoch_stats: BTreeMap<u32, EpochStats>,
    evaluated: u32,
    history: Vec<EpochRecord>,
    started: Instant,
    respawns: u32,
    merge_seconds: f64,
    worker_seconds: f64,
    private_mib: f64,
    progress: TrainProgress,
}

impl<'a> Coordinator<'a> {
    /// A coordinator of one shard per supervisor slot, starting at epoch `start` (after a
    /// checkpoint, with its history and respawn count).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        supervisor: Supervisor,
        epochs: u32,
        setup: &'a dyn Fn(usize, u32) -> TrainSetup,
        pa: &'a ParamArray,
        dir: &'a Path,
        evaluation: (mpsc::Sender<Request>, mpsc::Receiver<Evaluated>),
        resumed: Option<&Checkpoint>,
    ) -> Coordinator<'a> {
        let start = resumed.map_or(0, |c| c.epoch + 1);
        let shards = (0..supervisor.slots())
            .map(|_| Shard {
                next_epoch: start,
                finished: false,
                deaths_in_a_row: 0,
            })
            .collect();
        let progress = TrainProgress::new(epochs, start, supervisor.slots());
        Coordinator {
            supervisor,
            epochs,
            setup,
            pa,
            dir,
            to_eval: Some(evaluation.0),
            from_eval: evaluation.1,
            pending: BTreeMap::new(),
            shards,
            epoch_stats: BTreeMap::new(),
            evaluated: start,
            history: resumed.map(|c| c.history.clone()).unwrap_or_default(),
            started: Instant::now(),
            respawns: resumed.map_or(0, |c| c.respawns),
            merge_seconds: 0.0,
            worker_seconds: 0.0,
            private_mib: 0.0,
            progress,
        }
    }

    /// Train every shard to the last epoch, or stop on a signal or a failure.
    pub fn run(mut self) -> Result<Outcome> {
        let result = self.drive();
        let how = if result.is_ok() {
            Stop::Finish
        } else {
            Stop::Interrupt
        };
        self.supervisor.stop_all(how);
        // No more epochs to evaluate: let the evaluation thread finish what it has.
        drop(self.to_eval.take());
        let evaluated = self.collect_evaluations(true);
        self.progress.finish();
        result?;
        evaluated?;
        Ok(Outcome {
            history: self.history,
            respawns: self.respawns,
            loop_seconds: self.epoch_stats.values().map(|e| e.slowest_s).sum(),
            merge_seconds: self.merge_seconds,
            worker_seconds: self.worker_seconds,
            private_mib: self.private_mib,
        })
    }

    fn drive(&mut self) -> Result<()> {
        for shard in 0..self.shards.len() {
            self.supervisor.spawn(shard)?;
        }
        self.started = Instant::now();
        while !self.shards.iter().all(|s| s.finished) {
            if signals::received() > 0 {
                return Err(anyhow::Error::new(Interrupted));
            }
            if let Some(notice) = self.supervisor.next(TICK) {
                self.handle(notice)?;
            }
            self.collect_evaluations(false)?;
            self.progress.tick();
        }
        Ok(())
    }

    fn handle(&mut self, notice: Notice) -> Result<()> {
        match notice {
            Notice::Ready { slot, .. } => {
                let setup = (self.setup)(slot, self.shards[slot].next_epoch);
                if self.supervisor.send(slot, Task::Train(Box::new(setup))) {
                    self.supervisor.set_busy(slot, true);
                }
            }
            Notice::Died(death) => self.died(death)?,
            Notice::Event { slot, event, .. } => match event {
                Event::EpochDone {
                    epoch,
                    samples,
                    mean_loss,
                    merges,
                    seconds,
                    merge_seconds,
                    ..
                } => {
                    self.sample_memory(slot);
                    self.progress.shard_epoch(slot, epoch);
                    let shard = &mut self.shards[slot];
                    // A respawned shard may start past epochs its predecessor finished.
                    shard.next_epoch = shard.next_epoch.max(epoch + 1);
                    shard.deaths_in_a_row = 0;
                    self.merge_seconds += merge_seconds;
                    self.worker_seconds += seconds;
                    let e = self.epoch_stats.entry(epoch).or_default();
                    e.samples += samples;
                    e.loss_sum += mean_loss * samples as f64;
                    e.merges += merges;
                    e.slowest_s = e.slowest_s.max(seconds);
                    self.evaluate_done_epochs()?;
                }
                Event::ShardProgress { round, .. } => self.progress.shard_round(slot, round),
                Event::ShardFinished { .. } => {
                    let shard = &mut self.shards[slot];
                    shard.finished = true;
                    shard.next_epoch = self.epochs;
                    self.supervisor.set_busy(slot, false);
                    self.supervisor.send(slot, Task::Shutdown);
                    self.evaluate_done_epochs()?;
                }
                Event::ShardFailed { message, .. } => {
                    return Err(anyhow!("shard {slot} failed: {message}"));
                }
                other => warn!(slot, "unexpected event: {other:?}"),
            },
        }
        Ok(())
    }

    /// After every shard has finished an epoch, hand a snapshot of the merged parameters to
    /// the evaluation thread.
    fn evaluate_done_epochs(&mut self) -> Result<()> {
        let done = self.shards.iter().map(|s| s.next_epoch).min().unwrap_or(0);
        while self.evaluated < done.min(self.epochs) {
            let epoch = self.evaluated;
            let mut params = vec![0.0; self.pa.len()];
            self.pa.snapshot(&mut params)?;
            let EpochStats {
                samples,
                loss_sum: loss,
                merges,
                ..
            } = self.epoch_stats.get(&epoch).copied().unwrap_or_default();
            let elapsed_s = self.started.elapsed().as_secs_f64();
            self.pending.insert(
                epoch,
                PendingEpoch {
                    train_loss: loss / samples.max(1) as f64,
                    merges,
                    samples,
                    elapsed_s,
                },
            );
            if let Some(tx) = &self.to_eval {
                tx.send((epoch, params))
                    .map_err(|_| anyhow!("the evaluation thread stopped"))?;
            }
            self.evaluated += 1;
        }
        Ok(())
    }

    /// Record, log and checkpoint the evaluations that are done; with `wait`, all of them.
    fn collect_evaluations(&mut self, wait: bool) -> Result<()> {
        loop {
            let (epoch, params, heldout) = if wait {
                match self.from_eval.recv() {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            } else {
                match self.from_eval.try_recv() {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            };
            let heldout: Metrics =
                heldout.map_err(|e: SgdError| anyhow!("evaluating the merged parameters: {e}"))?;
            let Some(p) = self.pending.remove(&epoch) else {
                continue;
            };
            let shown = match heldout {
                Metrics::Classification { accuracy, log_loss } => {
                    format!("held-out accuracy {accuracy:.4}, log-loss {log_loss:.4}")
                }
                Metrics::Regression { rmse, r2 } => format!("held-out rmse {rmse:.4}, r2 {r2:.4}"),
            };
            self.progress.evaluated(epoch, &shown);
            info!(
                "epoch {}/{}: {shown}; train loss {:.4}; {} merges; {:.1}s",
                epoch + 1,
                self.epochs,
                p.train_loss,
                p.merges,
                p.elapsed_s
            );
            self.history.push(EpochRecord {
                epoch,
                heldout,
                train_loss: p.train_loss,
                merges: p.merges,
                samples: p.samples,
                elapsed_s: p.elapsed_s,
            });
            Checkpoint::new(epoch, params, self.history.clone(), self.respawns).write(self.dir)?;
        }
    }

    /// A trainer is gone: unless its shard is finished, start a new one on it, which joins
    /// the shared array where it is.
    fn died(&mut self, death: Death) -> Result<()> {
        let Death {
            slot, cause, how, ..
        } = death;
        let shard = &mut self.shards[slot];
        if shard.finished {
            return Ok(());
        }
        shard.deaths_in_a_row += 1;
        if shard.deaths_in_a_row > MAX_RESPAWNS {
            return Err(anyhow!(
                "the trainer of shard {slot} died {} times in a row; the last {how}",
                shard.deaths_in_a_row
            ));
        }
        warn!(
            shard = slot,
            epoch = shard.next_epoch,
            ?cause,
            "{how}; respawning it on its shard from the shared parameters"
        );
        self.respawns += 1;
        self.progress.respawned(slot);
        self.supervisor.spawn(slot)?;
        Ok(())
    }

    /// Track the trainers' private memory (their own pages; the shared data counts once).
    fn sample_memory(&mut self, slot: usize) {
        let Some(pid) = self.supervisor.pid(slot) else {
            return;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            return;
        };
        let kib = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let private = (kib("Private_Clean:") + kib("Private_Dirty:")) / 1024.0;
        self.private_mib = self.private_mib.max(private);
    }
}
