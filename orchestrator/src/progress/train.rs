//! A training run's progress: epochs evaluated (with the ETA and the last held-out score) and
//! where each shard is. Without bars the coordinator's per-epoch log lines are the progress.

use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar};

use super::{Mode, end_bars, start_bars, style};

pub(super) const EPOCH_TEMPLATE: &str =
    "{spinner} [{bar:25}] epoch {pos}/{len} · ETA {eta} · {wide_msg}";
pub(super) const SHARD_TEMPLATE: &str = "  {wide_msg}";
/// Shards shown one line each.
const MAX_SHARD_LINES: usize = 12;
const DRAW_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, Default)]
struct Shard {
    epoch: Option<u32>,
    round: Option<u64>,
    respawns: u32,
}

/// A training run's live progress, fed by the coordinator (bars only; see the module doc).
pub struct TrainProgress {
    epochs: u32,
    shards: Vec<Shard>,
    last_drawn: Instant,
    bars: Option<(MultiProgress, ProgressBar, Vec<ProgressBar>)>,
}

impl TrainProgress {
    /// Progress of a run of `epochs` epochs on `shards` shards, `done` of the epochs already
    /// trained (a continued run).
    pub fn new(epochs: u32, done: u32, shards: usize) -> TrainProgress {
        let bars = (super::mode() == Mode::Bars).then(|| {
            let multi = start_bars();
            let bar = multi.add(
                ProgressBar::new(u64::from(epochs))
                    .with_style(style(EPOCH_TEMPLATE))
                    .with_position(u64::from(done)),
            );
            bar.reset_eta();
            bar.enable_steady_tick(DRAW_EVERY);
            bar.set_message("training");
            // Each line has its text from the start: a run shorter than DRAW_EVERY still shows
            // its shards on the first draw.
            let lines = (0..shards.min(MAX_SHARD_LINES))
                .map(|i| {
                    multi.add(
                        ProgressBar::new(1)
                            .with_style(style(SHARD_TEMPLATE))
                            .with_message(format!("shard {i}: training first epoch/{epochs}")),
                    )
                })
                .collect();
            (multi, bar, lines)
        });
        TrainProgress {
            epochs,
            shards: vec![Shard::default(); shards],
            last_drawn: Instant::now(),
            bars,
        }
    }

    /// A shard finished `epoch` (0-based).
    pub fn shard_epoch(&mut self, shard: usize, epoch: u32) {
        if let Some(s) = self.shards.get_mut(shard) {
            s.epoch = Some(s.epoch.map_or(epoch, |e| e.max(epoch)));
        }
    }

    /// A shard's heartbeat: the round (or merge count) it reached.
    pub fn shard_round(&mut self, shard: usize, round: u64) {
        if let Some(s) = self.shards.get_mut(shard) {
            s.round = Some(round);
        }
    }

    /// A shard's trainer was respawned.
    pub fn respawned(&mut self, shard: usize) {
        if let Some(s) = self.shards.get_mut(shard) {
            s.respawns += 1;
        }
    }

    /// Epoch `epoch` (0-based) was evaluated: `shown` is its held-out score.
    pub fn evaluated(&mut self, epoch: u32, shown: &str) {
        if let Some((_, bar, _)) = &self.bars {
            bar.set_position(u64::from(epoch) + 1);
            bar.set_message(format!("after epoch {}: {shown}", epoch + 1));
        }
    }

    /// Redraw the shard lines if it is time.
    pub fn tick(&mut self) {
        let Some((_, _, lines)) = &self.bars else {
            return;
        };
        if self.last_drawn.elapsed() < DRAW_EVERY {
            return;
        }
        self.last_drawn = Instant::now();
        for (i, (line, s)) in lines.iter().zip(&self.shards).enumerate() {
            let epoch = s
                .epoch
                .map_or_else(|| "first epoch".to_string(), |e| format!("epoch {}", e + 2));
            let at = if s.epoch.is_some_and(|e| e + 1 >= self.epochs) {
                "done".to_string()
            } else {
                format!("training {epoch}/{}", self.epochs)
            };
            let round = s
                .round
                .map_or_else(String::new, |r| format!(" · round {r}"));
            let respawns = match s.respawns {
                0 => String::new(),
                n => format!(" · respawned {n}×"),
            };
            line.set_message(format!("shard {i}: {at}{round}{respawns}"));
        }
    }

    /// The run is over: clear the bars.
    pub fn finish(&mut self) {
        if let Some((multi, bar, lines)) = self.bars.take() {
            for l in &lines {
                l.finish_and_clear();
            }
            bar.finish_and_clear();
            end_bars(&multi);
        }
    }
}

impl Drop for TrainProgress {
    fn drop(&mut self) {
        self.finish();
    }
}
