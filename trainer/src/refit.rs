//! A trainer's side of a refit: the best hyperparameters fitted on every row of the sweep's
//! data, written to the file the orchestrator named (a fitted model can be far larger than a
//! message may be).

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use models::DataView;
use tracing::{info, warn};

use crate::protocol::{Event, RefitSetup, Task};
use crate::worker::{TrainerError, ipc_err, next_task, panic_message};

/// Fit, write the model, report; then wait to be shut down.
pub fn refit(
    setup: RefitSetup,
    tasks: &IpcReceiver<Task>,
    events: &IpcSender<Event>,
) -> Result<(), TrainerError> {
    let started = Instant::now();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| fit_and_write(&setup)))
        .unwrap_or_else(|payload| Err(panic_message(payload.as_ref())));
    let event = match outcome {
        Ok(()) => {
            let seconds = started.elapsed().as_secs_f64();
            info!(model = %setup.model, seconds, "refit done");
            Event::RefitDone { seconds }
        }
        Err(message) => {
            warn!(%message, "refit failed");
            Event::RefitFailed { message }
        }
    };
    events.send(event).map_err(ipc_err)?;
    while let Some(task) = next_task(tasks)? {
        if let Task::Shutdown = task {
            break;
        }
    }
    Ok(())
}

fn fit_and_write(setup: &RefitSetup) -> Result<(), String> {
    if let Some(fault) = crate::fault::Faults::from_env().refit() {
        crate::fault::trigger(fault)?;
    }
    let view = DataView::from_image(&setup.data).map_err(|e| e.to_string())?;
    let fitted = models::saved::refit(
        &setup.model,
        &setup.params,
        setup.seed,
        view,
        &setup.problem,
        setup.standardize,
        setup.preprocess.as_ref(),
    )
    .map_err(|e| e.to_string())?;
    let text = serde_json::to_string(&fitted).map_err(|e| e.to_string())?;
    write_file(&setup.out, &text).map_err(|e| format!("writing {}: {e}", setup.out.display()))
}

/// Written whole and synced: the orchestrator reads it only after `RefitDone`.
fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}
