//! Per-epoch evaluation of the merged parameters on the held-out rows, on a low-priority thread.
//!
//! On a busy machine it takes the gaps (a trainer waiting at a round's barrier) instead of
//! pre-empting a trainer, which in `average` mode would hold every other shard at the barrier.

use std::sync::mpsc::{Receiver, Sender};

use models::sgd::{Metrics, SgdError, SgdModel};
use ndarray::{ArrayView1, ArrayView2};

/// Parameters to evaluate, after an epoch.
pub type Request = (u32, Vec<f64>);
/// The epoch, its parameters (for the checkpoint) and their held-out metrics.
pub type Evaluated = (u32, Vec<f64>, Result<Metrics, SgdError>);

/// Evaluate each request until the sender hangs up (run it on its own thread).
pub fn serve(
    model: &SgdModel,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    requests: Receiver<Request>,
    results: Sender<Evaluated>,
) {
    lower_thread_priority();
    for (epoch, params) in requests {
        let m = model.evaluate(&params, x, y);
        if results.send((epoch, params, m)).is_err() {
            break;
        }
    }
}

/// Make the calling thread yield to every normal-priority thread (nice 19).
fn lower_thread_priority() {
    // SAFETY: gettid has no preconditions; setpriority on our own thread id only changes its
    // scheduling priority (Linux applies PRIO_PROCESS with a thread id to that thread).
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}
