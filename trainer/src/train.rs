//! A trainer's side of data-parallel training: SGD on one shard, merging into the ParamArray.
//!
//! Each epoch the shard's rows are shuffled and cut into `merges_per_epoch` nearly equal
//! chunks; after each chunk the trainer merges by the study's rule. Every shard does the same
//! number of chunks, so `average`'s synchronous rounds line up across shards of unequal size.
//!
//! Where a shard starts: in `locked` and `hogwild`, at the start of `TrainSetup::start_epoch`.
//! In `average`, at the round the shared array is in ([`resume_point`]): a respawned shard may
//! be an epoch ahead of what the orchestrator heard from its predecessor, and if its slot has
//! already contributed to the current round it waits for that round instead of contributing
//! twice. It reports `EpochDone` only for epochs it trains in.
//!
//! While it trains, a shard sends `ShardProgress` at most once per second, after a chunk and
//! while it waits at a round, so a shard that stops computing falls silent.

use std::time::{Duration, Instant};

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use models::DataView;
use models::sgd::{SgdModel, epoch_order};
use tracing::{info, warn};

use crate::fault::{Faults, ShardFault};
use crate::param_array::{ParamArray, ParamArrayError};
use crate::protocol::{Event, MergeMode, Task, TrainSetup};
use crate::worker::{TrainerError, ipc_err};

/// How long an `average` round waits before checking whether the orchestrator is still there
/// (and sending a heartbeat if one is due).
const ROUND_POLL: Duration = Duration::from_millis(200);
/// The least time between two `ShardProgress` heartbeats of a shard.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Train the shard described by `setup`, reporting each epoch; a model or ParamArray failure
/// is reported as `ShardFailed` and ends the trainer.
pub fn train(
    setup: TrainSetup,
    tasks: &IpcReceiver<Task>,
    events: &IpcSender<Event>,
) -> Result<(), TrainerError> {
    let shard = setup.shard;
    match run_shard(&setup, tasks, events) {
        Ok(()) => events.send(Event::ShardFinished { shard }).map_err(ipc_err),
        Err(ShardError::Ipc(e)) => Err(e),
        Err(ShardError::Failed(message)) => events
            .send(Event::ShardFailed { shard, message })
            .map_err(ipc_err),
    }
}

enum ShardError {
    Ipc(TrainerError),
    Failed(String),
}

impl From<ParamArrayError> for ShardError {
    fn from(e: ParamArrayError) -> Self {
        ShardError::Failed(e.to_string())
    }
}

impl From<models::sgd::SgdError> for ShardError {
    fn from(e: models::sgd::SgdError) -> Self {
        ShardError::Failed(e.to_string())
    }
}

/// Map the shard's pages in one call rather than one page fault at a time during the first
/// epoch (the data is already in memory, written by the orchestrator). Best effort: kernels
/// before 5.14 refuse it, and then the first epoch simply faults the pages in.
fn populate(values: &[f64]) {
    const PAGE: usize = 4096;
    if values.is_empty() {
        return;
    }
    let start = values.as_ptr() as usize & !(PAGE - 1);
    let end = values.as_ptr() as usize + std::mem::size_of_val(values);
    // SAFETY: the range covers pages of a live mapping we hold; MADV_POPULATE_READ only
    // pre-faults them for reading and changes no contents.
    unsafe {
        libc::madvise(
            start as *mut libc::c_void,
            end - start,
            libc::MADV_POPULATE_READ,
        );
    }
}

/// Where a shard starts training, counted over the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePoint {
    /// The epoch it trains first.
    pub epoch: u32,
    /// The chunk of that epoch it trains first.
    pub chunk: u64,
    /// The round (`average`) or merge index that chunk merges into: epoch × merges per epoch +
    /// chunk.
    pub round: u64,
}

impl ResumePoint {
    /// The point that merges into `round`, with `merges_per_epoch` chunks an epoch.
    pub fn at_round(round: u64, merges_per_epoch: u64) -> ResumePoint {
        let chunks = merges_per_epoch.max(1);
        ResumePoint {
            epoch: u32::try_from(round / chunks).unwrap_or(u32::MAX),
            chunk: round % chunks,
            round,
        }
    }
}

/// Where an `average` shard (re)starts, from the array's current `round` and whether its slot
/// already `contributed` to it: a shard killed after contributing (even to the last round of an
/// epoch) must not contribute again, so it waits for that round and starts at the next one.
/// The array, not the orchestrator's `start_epoch`, knows which round the other shards are in.
pub fn resume_point(round: u64, merges_per_epoch: u64, contributed: bool) -> ResumePoint {
    ResumePoint::at_round(round + u64::from(contributed), merges_per_epoch)
}

/// The SGD steps a shard of `rows` rows, cut into `chunks` chunks an epoch and trained in
/// mini-batches of `batch`, takes before `at`: the learning-rate schedule resumes there.
pub fn steps_before(rows: usize, chunks: u64, batch: usize, at: ResumePoint) -> u64 {
    let chunks = chunks.max(1) as usize;
    let batch = batch.max(1);
    // Chunk c holds rows c·n/chunks .. (c+1)·n/chunks of the epoch's order (see `run_shard`),
    // and each chunk ends with its own, possibly short, mini-batch.
    let chunk_steps =
        |c: usize| ((c + 1) * rows / chunks - c * rows / chunks).div_ceil(batch) as u64;
    let per_epoch: u64 = (0..chunks).map(chunk_steps).sum();
    let in_epoch: u64 = (0..(at.chunk as usize).min(chunks)).map(chunk_steps).sum();
    u64::from(at.epoch) * per_epoch + in_epoch
}

/// Sends `ShardProgress` at most once per `HEARTBEAT`.
struct Heartbeat<'a> {
    shard: u32,
    events: &'a IpcSender<Event>,
    last: Instant,
}

impl Heartbeat<'_> {
    /// Report `round` if the last report is at least `HEARTBEAT` old.
    fn beat(&mut self, round: u64) -> Result<(), ShardError> {
        if self.last.elapsed() < HEARTBEAT {
            return Ok(());
        }
        self.last = Instant::now();
        let progress = Event::ShardProgress {
            shard: self.shard,
            round,
        };
        self.events
            .send(progress)
            .map_err(|e| ShardError::Ipc(ipc_err(e)))
    }
}

/// Wait until the array reaches `round`, copying its parameters into `local`; beats while
/// waiting, and gives up only if the orchestrator is gone or stops us.
fn wait_for_round(
    pa: &ParamArray,
    round: u64,
    local: &mut [f64],
    tasks: &IpcReceiver<Task>,
    heartbeat: &mut Heartbeat<'_>,
) -> Result<(), ShardError> {
    while pa.wait_round(round, local, ROUND_POLL)?.is_none() {
        // Still waiting for a slower (or respawning) shard: show we are alive.
        heartbeat.beat(round)?;
        match tasks.try_recv() {
            Err(ipc_channel::TryRecvError::Empty) => {}
            Err(ipc_channel::TryRecvError::IpcError(e)) => {
                return Err(ShardError::Ipc(ipc_err(e)));
            }
            Ok(_) => {
                return Err(ShardError::Failed("stopped by the orchestrator".into()));
            }
        }
    }
    Ok(())
}

/// Fire the `COHORT_FAULT` shard rule of kind `fault` at `round`, if one is set and no earlier
/// trainer of this run fired it.
fn inject(faults: &Faults, pa: &ParamArray, shard: u32, round: u64, fault: ShardFault) {
    if let Some(t) = faults.shard_at(shard, round, fault)
        && pa.claim_once(t.token)
    {
        warn!(shard, round, fault = ?t.fault, "injected shard fault");
        crate::fault::trigger_shard(t.fault);
    }
}

fn run_shard(
    setup: &TrainSetup,
    tasks: &IpcReceiver<Task>,
    events: &IpcSender<Event>,
) -> Result<(), ShardError> {
    let view = DataView::from_image(&setup.data).map_err(|e| ShardError::Failed(e.to_string()))?;
    let model = SgdModel::new(&setup.spec, view.x.ncols(), setup.target)?;
    let pa = ParamArray::open(&setup.params_path)?;
    let faults = Faults::from_env();
    let order = setup.split.order(view.n_rows());
    let training = order.get(setup.split.held_out..).unwrap_or(&[]);
    let (lo, hi) = setup.rows;
    let rows: Vec<usize> = training
        .get(lo..hi.min(training.len()))
        .unwrap_or(&[])
        .to_vec();
    drop(order);
    // The shard's rows are spread over the whole image: map all of it at once.
    populate(view.x.as_slice().unwrap_or(&[]));
    populate(view.y.as_slice().unwrap_or(&[]));
    let chunks = setup.merges_per_epoch.max(1) as usize;
    let mut local = vec![0.0; model.n_params()];
    let mut base = vec![0.0; model.n_params()];
    let mut heartbeat = Heartbeat {
        shard: setup.shard,
        events,
        last: Instant::now(),
    };
    let snap = pa.snapshot(&mut local)?;
    let slot = setup.shard as usize;
    let start = match setup.mode {
        MergeMode::Average => {
            let contributed = pa.contributed(slot, snap.round)?;
            if contributed {
                wait_for_round(&pa, snap.round + 1, &mut local, tasks, &mut heartbeat)?;
            }
            resume_point(snap.round, chunks as u64, contributed)
        }
        MergeMode::Locked | MergeMode::Hogwild => {
            ResumePoint::at_round(setup.start_epoch as u64 * chunks as u64, chunks as u64)
        }
    };
    base.copy_from_slice(&local);
    let mut state = model.new_state();
    // Resume the learning-rate schedule where this shard's training actually resumes.
    state.set_steps(steps_before(
        rows.len(),
        chunks as u64,
        setup.spec.batch_size,
        start,
    ));
    info!(
        shard = setup.shard,
        rows = rows.len(),
        mode = setup.mode.name(),
        start_epoch = setup.start_epoch,
        epoch = start.epoch,
        chunk = start.chunk,
        round = start.round,
        "shard training"
    );
    // The round (`average`) or merge index the next chunk merges into.
    let mut round = start.round;
    let mut start_chunk = start.chunk as usize;
    for epoch in start.epoch..setup.epochs {
        let order = epoch_order(
            &rows,
            setup.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(setup.shard as u64 + 1)),
            epoch as u64,
        );
        let started = Instant::now();
        let (mut merge_time, mut merges, mut samples, mut loss_sum) =
            (Duration::ZERO, 0u64, 0u64, 0.0);
        for c in start_chunk..chunks {
            inject(&faults, &pa, setup.shard, round, ShardFault::Hang);
            let part = &order[c * order.len() / chunks..(c + 1) * order.len() / chunks];
            let report = model.train_steps(&mut local, view.x, view.y, part, &mut state)?;
            samples += report.samples;
            loss_sum += report.loss_sum;
            inject(&faults, &pa, setup.shard, round, ShardFault::ExitBefore);
            let m = Instant::now();
            match setup.mode {
                MergeMode::Locked => pa.merge_local(&mut local, &mut base)?,
                MergeMode::Hogwild => pa.hogwild_merge_local(&mut local, &mut base)?,
                MergeMode::Average => {
                    pa.contribute(slot, round, &local)?;
                }
            }
            inject(&faults, &pa, setup.shard, round, ShardFault::ExitAfter);
            round += 1;
            if setup.mode == MergeMode::Average {
                wait_for_round(&pa, round, &mut local, tasks, &mut heartbeat)?;
            }
            merge_time += m.elapsed();
            merges += 1;
            heartbeat.beat(round)?;
        }
        start_chunk = 0;
        let mean_loss = if samples > 0 {
            loss_sum / samples as f64
        } else {
            0.0
        };
        let done = Event::EpochDone {
            shard: setup.shard,
            epoch,
            samples,
            mean_loss,
            merges,
            seconds: started.elapsed().as_secs_f64(),
            merge_seconds: merge_time.as_secs_f64(),
        };
        events.send(done).map_err(|e| ShardError::Ipc(ipc_err(e)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, ExitStatus, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    use ipc_channel::ipc::{self, IpcSharedMemory};
    use models::sgd::{SgdKind, SgdSpec, Target};

    const SHARDS: usize = 2;
    const EPOCHS: u32 = 2;
    const CHUNKS: u64 = 3;
    const ROUNDS: u64 = EPOCHS as u64 * CHUNKS;
    const SEED: u64 = 7;

    const CHILD_PATH: &str = "COHORT_TRAIN_CHILD_PATH";
    const CHILD_SHARD: &str = "COHORT_TRAIN_CHILD_SHARD";
    const CHILD_START: &str = "COHORT_TRAIN_CHILD_START_EPOCH";
    /// Starts each event line a child prints.
    const EVENT_MARK: &str = "@@event ";
    /// How long a test waits for a child's line before calling it stuck.
    const PATIENCE: Duration = Duration::from_secs(30);

    #[test]
    fn a_fresh_average_shard_starts_at_round_zero() {
        assert_eq!(
            resume_point(0, 3, false),
            ResumePoint {
                epoch: 0,
                chunk: 0,
                round: 0
            }
        );
    }

    #[test]
    fn an_average_shard_that_has_not_contributed_joins_the_current_round() {
        assert_eq!(
            resume_point(4, 3, false),
            ResumePoint {
                epoch: 1,
                chunk: 1,
                round: 4
            }
        );
    }

    #[test]
    fn an_average_shard_that_contributed_to_the_last_round_of_an_epoch_starts_the_next_epoch() {
        assert_eq!(
            resume_point(2, 3, true),
            ResumePoint {
                epoch: 1,
                chunk: 0,
                round: 3
            }
        );
    }

    #[test]
    fn steps_before_a_point_are_the_steps_an_unbroken_shard_takes_to_reach_it() {
        let (x, y) = tiny_data(23);
        let mut spec = SgdSpec::new(SgdKind::Logistic);
        spec.batch_size = 4;
        let model = SgdModel::new(&spec, 2, Target::Classes(2)).unwrap();
        let mut params = model.init(SEED);
        let mut state = model.new_state();
        let rows: Vec<usize> = (0..23).collect();
        let chunks = 5u64;
        for epoch in 0..2u32 {
            for c in 0..chunks {
                let at = ResumePoint {
                    epoch,
                    chunk: c,
                    round: epoch as u64 * chunks + c,
                };
                assert_eq!(
                    steps_before(rows.len(), chunks, spec.batch_size, at),
                    state.steps(),
                    "at epoch {epoch}, chunk {c}"
                );
                let n = rows.len() as u64;
                let part = &rows[(c * n / chunks) as usize..((c + 1) * n / chunks) as usize];
                model
                    .train_steps(&mut params, x.view(), y.view(), part, &mut state)
                    .unwrap();
            }
        }
    }

    /// A shard killed at round `r` before contributing is respawned by the orchestrator with
    /// the epoch of that round as `start_epoch`; it joins round `r`, training completes, and
    /// every round is published exactly once.
    #[test]
    fn a_shard_killed_before_contributing_to_any_round_rejoins_that_round() {
        for r in 0..ROUNDS {
            let run = run_with_respawn(r, false);
            let trained: Vec<u32> = ((r / CHUNKS) as u32..EPOCHS).collect();
            assert_eq!(run.respawn_epochs, trained, "killed at round {r}");
        }
    }

    /// A shard killed right after contributing to round `r` (its peer has not contributed yet)
    /// is respawned with the epoch of `r` as `start_epoch`: it does not contribute to `r` again,
    /// waits for it, and goes on from round `r + 1`, reporting only the epochs it trains in.
    #[test]
    fn a_shard_killed_after_contributing_to_any_round_waits_for_it_and_goes_on_from_the_next() {
        for r in 0..ROUNDS {
            let run = run_with_respawn(r, true);
            let trained: Vec<u32> = (((r + 1) / CHUNKS) as u32..EPOCHS).collect();
            assert_eq!(run.respawn_epochs, trained, "killed after round {r}");
        }
    }

    #[test]
    fn a_shard_killed_after_the_last_round_of_an_epoch_does_not_redo_that_epoch() {
        let run = run_with_respawn(CHUNKS - 1, true);
        assert_eq!(run.respawn_epochs, vec![1]);
    }

    #[test]
    fn a_shard_waiting_for_a_missing_peer_keeps_sending_progress() {
        let (_owner, path) = create_array("wait");
        let waiting = ShardChild::spawn(&path, 1, 0, None);
        // Shard 0 has not started: shard 1 contributes to round 0 and waits for round 1.
        waiting.wait_for(|l| l == "PROGRESS 1");
        waiting.wait_for(|l| l == "PROGRESS 1");
        let late = ShardChild::spawn(&path, 0, 0, None);
        assert!(late.finish().0.success());
        let (status, lines) = waiting.finish();
        assert!(status.success(), "{lines:?}");
        assert_all_rounds_published_once(&path);
    }

    #[test]
    fn a_hung_shard_sends_nothing_while_its_peer_keeps_beating_and_its_respawn_completes() {
        let (_owner, path) = create_array("hang");
        let hung = ShardChild::spawn(&path, 0, 0, Some("hang@shard0:r1"));
        let peer = ShardChild::spawn(&path, 1, 0, None);
        // The peer contributed to round 1 and waits for it: two beats are a second apart.
        peer.wait_for(|l| l == "PROGRESS 2");
        peer.wait_for(|l| l == "PROGRESS 2");
        let mut hung = hung;
        hung.child.kill().unwrap();
        let (_, hung_lines) = hung.finish();
        assert!(
            !hung_lines.iter().any(|l| l.starts_with("PROGRESS")),
            "a hung shard reported progress: {hung_lines:?}"
        );
        let respawn = ShardChild::spawn(&path, 0, 0, Some("hang@shard0:r1"));
        let (status, lines) = respawn.finish();
        assert!(status.success(), "the respawn hung or failed: {lines:?}");
        assert!(peer.finish().0.success());
        assert_all_rounds_published_once(&path);
    }

    /// What the respawned shard 0 reported.
    struct Run {
        respawn_epochs: Vec<u32>,
    }

    /// Train two shards with a fault that kills shard 0 at round `r`, before or `after`
    /// contributing (set for every trainer, as the orchestrator does); shard 0 is respawned
    /// with the epoch of `r` as `start_epoch`. When shard 0 dies after contributing, shard 1
    /// hangs at round `r` first (so round `r` is still open) and is killed and respawned too.
    fn run_with_respawn(r: u64, after: bool) -> Run {
        let (_owner, path) = create_array("respawn");
        let fault = if after {
            format!("exit@shard0:after{r},hang@shard1:r{r}")
        } else {
            format!("exit@shard0:r{r}")
        };
        let start_epoch = (r / CHUNKS) as u32;
        let first = ShardChild::spawn(&path, 0, 0, Some(&fault));
        let mut peer = ShardChild::spawn(&path, 1, 0, Some(&fault));
        let (status, lines) = first.finish();
        assert_eq!(
            status.code(),
            Some(3),
            "{fault}: the fault did not fire: {lines:?}"
        );
        let respawn = if after {
            // The hang rule is the second shard rule: token 1, claimed just before it hangs.
            let pa = ParamArray::open(&path).unwrap();
            let start = Instant::now();
            while !pa.claimed(1) {
                assert!(start.elapsed() < PATIENCE, "{fault}: shard 1 never hung");
                std::thread::yield_now();
            }
            assert!(!pa.contributed(1, r).unwrap() && pa.contributed(0, r).unwrap());
            peer.child.kill().unwrap();
            peer.finish();
            // Shard 0 comes back first and must wait for round r, beating, without contributing.
            let respawn = ShardChild::spawn(&path, 0, start_epoch, Some(&fault));
            let waiting = format!("PROGRESS {}", r + 1);
            respawn.wait_for(|l| l == waiting);
            assert_eq!(pa.round(), r, "{fault}: round {r} closed without shard 1");
            peer = ShardChild::spawn(&path, 1, start_epoch, Some(&fault));
            respawn
        } else {
            ShardChild::spawn(&path, 0, start_epoch, Some(&fault))
        };
        let (status, respawn_lines) = respawn.finish();
        assert!(
            status.success(),
            "{fault}: respawn failed: {respawn_lines:?}"
        );
        assert_eq!(
            respawn_lines.last().map(String::as_str),
            Some("FINISHED"),
            "{fault}: {respawn_lines:?}"
        );
        let (status, peer_lines) = peer.finish();
        assert!(status.success(), "{fault}: peer failed: {peer_lines:?}");
        assert_all_rounds_published_once(&path);
        Run {
            respawn_epochs: epochs_of(&respawn_lines),
        }
    }

    fn epochs_of(lines: &[String]) -> Vec<u32> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix("EPOCH "))
            .map(|e| e.parse().unwrap())
            .collect()
    }

    /// The run ended at its last round, each round published once and nothing repaired.
    fn assert_all_rounds_published_once(path: &Path) {
        let pa = ParamArray::open(path).unwrap();
        assert_eq!(pa.round(), ROUNDS);
        assert_eq!(pa.merges(), ROUNDS, "rounds published");
        assert_eq!(pa.version(), ROUNDS, "publications of any kind");
    }

    /// Features and class targets of `n` rows, the same in every process.
    fn tiny_data(n: usize) -> (ndarray::Array2<f64>, ndarray::Array1<f64>) {
        let x = ndarray::Array2::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 3) as f64).sin());
        let y = x.column(0).mapv(|v| f64::from(v > 0.0));
        (x, y)
    }

    fn spec() -> SgdSpec {
        SgdSpec::new(SgdKind::Logistic)
    }

    /// A fresh `average` array for the test shards: the returned owner removes it when dropped.
    fn create_array(name: &str) -> (ParamArray, PathBuf) {
        static N: AtomicUsize = AtomicUsize::new(0);
        let k = N.fetch_add(1, Ordering::Relaxed);
        let path = ParamArray::shm_path(&format!(
            "cohort-train-test-{}-{name}-{k}",
            std::process::id()
        ));
        let model = SgdModel::new(&spec(), 2, Target::Classes(2)).unwrap();
        let pa = ParamArray::create_with_slots(&path, model.n_params(), &model.init(SEED), SHARDS)
            .unwrap();
        (pa, path)
    }

    /// A shard trainer running in a child process; its events arrive as stdout lines.
    struct ShardChild {
        child: Child,
        lines: mpsc::Receiver<String>,
    }

    impl ShardChild {
        /// Run this test binary again as shard `shard` starting at `start_epoch`.
        fn spawn(path: &Path, shard: u32, start_epoch: u32, fault: Option<&str>) -> ShardChild {
            let name = concat!(module_path!(), "::shard_child");
            let name = name.split_once("::").map_or(name, |(_, rest)| rest);
            let mut cmd = Command::new(std::env::current_exe().unwrap());
            cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
                .env(CHILD_PATH, path)
                .env(CHILD_SHARD, shard.to_string())
                .env(CHILD_START, start_epoch.to_string())
                .env_remove(crate::fault::ENV)
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            if let Some(f) = fault {
                cmd.env(crate::fault::ENV, f);
            }
            let mut child = cmd.spawn().unwrap();
            let stdout = child.stdout.take().unwrap();
            let (tx, lines) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    // The test harness may print on the same line before the first event.
                    let Some((_, event)) = line.split_once(EVENT_MARK) else {
                        continue;
                    };
                    if tx.send(event.to_owned()).is_err() {
                        break;
                    }
                }
            });
            ShardChild { child, lines }
        }

        /// Read lines until one satisfies `pred` (fail after `PATIENCE`).
        fn wait_for(&self, pred: impl Fn(&str) -> bool) {
            loop {
                let line = self
                    .lines
                    .recv_timeout(PATIENCE)
                    .expect("the child never printed the expected line");
                if pred(&line) {
                    return;
                }
            }
        }

        /// Wait for the child's exit; its event lines not read yet.
        fn finish(mut self) -> (ExitStatus, Vec<String>) {
            let start = Instant::now();
            let status = loop {
                if let Some(status) = self.child.try_wait().unwrap() {
                    break status;
                }
                if start.elapsed() > PATIENCE {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!("a shard child did not exit within {PATIENCE:?}");
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            // The reader thread ends at EOF, which follows the exit.
            let lines = self.lines.iter().collect();
            (status, lines)
        }
    }

    /// The child side: train one shard, printing each event as a line; a no-op as a normal test.
    #[test]
    fn shard_child() {
        let Ok(path) = std::env::var(CHILD_PATH) else {
            return;
        };
        let shard: u32 = std::env::var(CHILD_SHARD).unwrap().parse().unwrap();
        let start_epoch: u32 = std::env::var(CHILD_START).unwrap().parse().unwrap();
        let n = 40;
        let (x, y) = tiny_data(n);
        let data = models::Dataset {
            x,
            y,
            feature_names: vec!["a".into(), "b".into()],
            target_name: "y".into(),
            problem: models::Problem::Classification {
                classes: vec!["0".into(), "1".into()],
            },
            checksum: String::new(),
        };
        let setup = TrainSetup {
            data: IpcSharedMemory::from_bytes(&data.to_image()),
            split: models::Holdout {
                seed: SEED,
                held_out: 0,
            },
            spec: spec(),
            target: Target::Classes(2),
            params_path: PathBuf::from(path),
            shard,
            rows: (
                shard as usize * n / SHARDS,
                (shard as usize + 1) * n / SHARDS,
            ),
            epochs: EPOCHS,
            start_epoch,
            mode: MergeMode::Average,
            merges_per_epoch: CHUNKS,
            seed: SEED,
        };
        let (_task_tx, task_rx) = ipc::channel::<Task>().unwrap();
        let (event_tx, event_rx) = ipc::channel::<Event>().unwrap();
        let printer = std::thread::spawn(move || {
            while let Ok(event) = event_rx.recv() {
                match event {
                    Event::EpochDone { epoch, .. } => println!("{EVENT_MARK}EPOCH {epoch}"),
                    Event::ShardProgress { round, .. } => println!("{EVENT_MARK}PROGRESS {round}"),
                    Event::ShardFinished { .. } => println!("{EVENT_MARK}FINISHED"),
                    Event::ShardFailed { message, .. } => println!("{EVENT_MARK}FAILED {message}"),
                    other => println!("{EVENT_MARK}UNEXPECTED {other:?}"),
                }
            }
        });
        train(setup, &task_rx, &event_tx).unwrap();
        drop(event_tx);
        printer.join().unwrap();
    }
}
