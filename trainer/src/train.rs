//! A trainer's side of data-parallel training: SGD on one shard, merging into the ParamArray.
//!
//! Each epoch the shard's rows are shuffled and cut into `merges_per_epoch` nearly equal
//! chunks; after each chunk the trainer merges by the study's rule. Every shard does the same
//! number of chunks, so `average`'s synchronous rounds line up across shards of unequal size.

use std::time::{Duration, Instant};

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use models::DataView;
use models::sgd::{SgdModel, epoch_order};
use tracing::info;

use crate::param_array::{ParamArray, ParamArrayError};
use crate::protocol::{Event, MergeMode, Task, TrainSetup};
use crate::worker::{TrainerError, ipc_err};

/// How long an `average` round waits before checking whether the orchestrator is still there.
const ROUND_POLL: Duration = Duration::from_millis(200);

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

fn run_shard(
    setup: &TrainSetup,
    tasks: &IpcReceiver<Task>,
    events: &IpcSender<Event>,
) -> Result<(), ShardError> {
    let view = DataView::from_image(&setup.data).map_err(|e| ShardError::Failed(e.to_string()))?;
    let model = SgdModel::new(&setup.spec, view.x.ncols(), setup.target)?;
    let pa = ParamArray::open(&setup.params_path)?;
    let (lo, hi) = setup.rows;
    let hi = hi.min(view.n_rows());
    populate(
        view.x
            .slice(ndarray::s![lo..hi, ..])
            .as_slice()
            .unwrap_or(&[]),
    );
    populate(view.y.slice(ndarray::s![lo..hi]).as_slice().unwrap_or(&[]));
    let rows: Vec<usize> = (lo..hi).collect();
    let chunks = setup.merges_per_epoch.max(1) as usize;
    let mut local = vec![0.0; model.n_params()];
    let mut base = vec![0.0; model.n_params()];
    let snap = pa.snapshot(&mut local)?;
    base.copy_from_slice(&local);
    let mut state = model.new_state();
    // Resume the learning-rate schedule where the shard's predecessor left it.
    let steps_per_epoch = rows.len().div_ceil(setup.spec.batch_size.max(1)) as u64;
    state.set_steps(setup.start_epoch as u64 * steps_per_epoch);
    // In `average`, the round to contribute to next; a respawned trainer joins the current one.
    let mut round = snap.round;
    let mut start_chunk = 0;
    if setup.mode == MergeMode::Average {
        let epoch_of_round = (round / chunks as u64) as u32;
        start_chunk = (round % chunks as u64) as usize;
        if epoch_of_round != setup.start_epoch {
            start_chunk = 0;
            round = setup.start_epoch as u64 * chunks as u64;
        }
    }
    info!(
        shard = setup.shard,
        rows = rows.len(),
        mode = setup.mode.name(),
        start_epoch = setup.start_epoch,
        "shard training"
    );
    for epoch in setup.start_epoch..setup.epochs {
        let order = epoch_order(
            &rows,
            setup.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(setup.shard as u64 + 1)),
            epoch as u64,
        );
        let started = Instant::now();
        let (mut merge_time, mut merges, mut samples, mut loss_sum) =
            (Duration::ZERO, 0u64, 0u64, 0.0);
        for c in start_chunk..chunks {
            let part = &order[c * order.len() / chunks..(c + 1) * order.len() / chunks];
            let report = model.train_steps(&mut local, view.x, view.y, part, &mut state)?;
            samples += report.samples;
            loss_sum += report.loss_sum;
            let m = Instant::now();
            match setup.mode {
                MergeMode::Locked => pa.merge_local(&mut local, &mut base)?,
                MergeMode::Hogwild => pa.hogwild_merge_local(&mut local, &mut base)?,
                MergeMode::Average => {
                    match pa.contribute(setup.shard as usize, round, &local) {
                        Ok(_) | Err(ParamArrayError::AlreadyContributed { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                    round += 1;
                    while pa.wait_round(round, &mut local, ROUND_POLL)?.is_none() {
                        // Still waiting for a slower (or respawning) shard; give up only if
                        // the orchestrator is gone.
                        match tasks.try_recv() {
                            Err(ipc_channel::TryRecvError::Empty) => {}
                            Err(ipc_channel::TryRecvError::IpcError(e)) => {
                                return Err(ShardError::Ipc(ipc_err(e)));
                            }
                            Ok(_) => {
                                return Err(ShardError::Failed(
                                    "stopped by the orchestrator".into(),
                                ));
                            }
                        }
                    }
                }
            }
            merge_time += m.elapsed();
            merges += 1;
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
