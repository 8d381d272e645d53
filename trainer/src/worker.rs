//! The trainer process's main loop: connect, pin, receive tasks, evaluate, report events.

use std::ops::ControlFlow;
use std::panic::{self, AssertUnwindSafe};

use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use models::{CrossValidator, DataView, Folds, Problem};
use tracing::{debug, info, warn};

use crate::fault::{Faults, WorkerFault};
use crate::protocol::{
    Event, FailureKind, PROTOCOL_VERSION, SweepSetup, Task, TrialId, TrialStart, TrialTask,
    unix_now,
};

/// What the orchestrator tells a trainer on its command line.
#[derive(Debug, Clone)]
pub struct TrainerArgs {
    /// The orchestrator's one-shot server name.
    pub connect: String,
    /// This worker's id.
    pub worker: u32,
    /// The cores to pin to (empty: unpinned).
    pub cores: Vec<usize>,
    /// Address-space cap in bytes (setrlimit), if any.
    pub memory: Option<u64>,
    /// The orchestrator's pid: the trainer exits if it is no longer its parent.
    pub parent: Option<u32>,
}

/// Why a trainer could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainerError {
    /// Connecting to or talking with the orchestrator failed.
    #[error("ipc with the orchestrator failed: {0}")]
    Ipc(String),
    /// The first task was not what the protocol requires.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The orchestrator exited before this trainer.
    #[error("the orchestrator (pid {0}) is gone")]
    Orphaned(u32),
}

pub(crate) fn ipc_err(e: impl std::fmt::Display) -> TrainerError {
    TrainerError::Ipc(e.to_string())
}

/// Run a trainer until told to shut down or until the orchestrator disappears.
pub fn run(args: TrainerArgs) -> Result<(), TrainerError> {
    let faults = Faults::from_env();
    if faults.worker_has(args.worker, WorkerFault::IgnoreTerm) {
        crate::fault::ignore_sigterm();
    }
    if faults.worker_has(args.worker, WorkerFault::PreHello) {
        std::process::exit(3);
    }
    crate::process::die_with_parent(args.parent)?;
    if let Some(bytes) = args.memory {
        crate::process::cap_memory(bytes);
    }
    let pinned = crate::process::pin(&args.cores);
    let to_orchestrator: IpcSender<Event> =
        IpcSender::connect(args.connect.clone()).map_err(ipc_err)?;
    let (task_tx, tasks) = ipc::channel::<Task>().map_err(ipc_err)?;
    to_orchestrator
        .send(Event::Hello {
            protocol: PROTOCOL_VERSION,
            worker: args.worker,
            pid: std::process::id(),
            pinned,
            tasks: task_tx,
        })
        .map_err(ipc_err)?;
    let Some(first) = next_task(&tasks)? else {
        return Ok(());
    };
    match first {
        Task::Setup(setup) => sweep(*setup, &tasks, &to_orchestrator),
        Task::ProgramSetup(setup) => crate::program::sweep(*setup, tasks, &to_orchestrator),
        Task::Train(setup) => crate::train::train(*setup, &tasks, &to_orchestrator),
        Task::Refit(setup) => crate::refit::refit(*setup, &tasks, &to_orchestrator),
        Task::Shutdown => Ok(()),
        Task::Trial(TrialTask { trial, .. }) | Task::StopTrial { trial, .. } => Err(
            TrainerError::Protocol(format!("trial {trial} arrived before the setup")),
        ),
    }
}

/// The next task, or None when the orchestrator hung up (it exited: so do we).
pub(crate) fn next_task(tasks: &IpcReceiver<Task>) -> Result<Option<Task>, TrainerError> {
    match tasks.recv() {
        Ok(t) => Ok(Some(t)),
        Err(ipc_channel::IpcError::Disconnected) => Ok(None),
        Err(e) => Err(ipc_err(e)),
    }
}

/// Evaluate trials until shut down.
fn sweep(
    setup: SweepSetup,
    tasks: &IpcReceiver<Task>,
    events: &IpcSender<Event>,
) -> Result<(), TrainerError> {
    let view =
        DataView::from_image(&setup.data).map_err(|e| TrainerError::Protocol(e.to_string()))?;
    let seed = setup.shuffle.then_some(setup.seed);
    let folds = match &setup.problem {
        Problem::Classification { classes } => {
            Folds::stratified(view.y, classes.len(), setup.folds, seed)
        }
        Problem::Regression | Problem::Clustering => Folds::kfold(view.n_rows(), setup.folds, seed),
    };
    // A fold error is a property of the data: every trial reports it rather than the trainer dying.
    // Prepared once here (folds checked, each fold's standardization or pipeline fitted), so a
    // trial's time is only its own.
    let mut validator = folds.and_then(|f| {
        let mut v = CrossValidator::new(view, setup.problem.clone(), f, setup.standardize)
            .with_fold_cache(usize::try_from(setup.fold_cache).unwrap_or(usize::MAX));
        if let Some(p) = &setup.preprocess {
            v = v.with_preprocess(p.clone());
        }
        v.prepare_all().map(|()| v)
    });
    let faults = Faults::from_env();
    info!(rows = view.n_rows(), model = %setup.model, "sweep setup received");
    let mut inbox = Inbox::default();
    // The start already announced (inside the previous trial's result).
    let mut announced: Option<(TrialId, u32)> = None;
    loop {
        let task = match inbox.queued.pop_front() {
            Some(t) => t,
            None => match next_task(tasks)? {
                Some(t) => t,
                None => break,
            },
        };
        match task {
            Task::Trial(trial) => {
                // Every line logged while the trial runs carries its number: the orchestrator
                // files it in the trial's log.
                let _span =
                    tracing::info_span!("trial", trial = trial.trial, attempt = trial.attempt)
                        .entered();
                if announced.take() != Some((trial.trial, trial.attempt)) {
                    let started = Event::TrialStarted {
                        trial: trial.trial,
                        attempt: trial.attempt,
                        at: unix_now(),
                    };
                    events.send(started).map_err(ipc_err)?;
                }
                let outcome = if inbox.take_stop(trial.trial, trial.attempt) {
                    Outcome::Stopped(models::Evaluation {
                        folds: Vec::new(),
                        reports: None,
                        stopped_after: None,
                    })
                } else {
                    match &mut validator {
                        Ok(v) => run_trial(v, &setup, &trial, &faults, events, tasks, &mut inbox),
                        Err(e) => Outcome::Failed(FailureKind::Error, e.to_string()),
                    }
                };
                let at = unix_now();
                // Short trials queue up here: when the next one is waiting, it starts now and
                // its start rides on this result (one message per trial instead of two).
                if inbox.queued.is_empty()
                    && let Ok(t) = tasks.try_recv()
                {
                    inbox.push(t);
                }
                let next_started = match inbox.queued.front() {
                    Some(Task::Trial(n)) => {
                        announced = Some((n.trial, n.attempt));
                        Some(TrialStart {
                            trial: n.trial,
                            attempt: n.attempt,
                            at,
                        })
                    }
                    _ => None,
                };
                let event = match outcome {
                    Outcome::Finished(eval) => Event::TrialFinished {
                        trial: trial.trial,
                        attempt: trial.attempt,
                        folds: eval.folds,
                        reports: eval.reports,
                        at,
                        next_started,
                    },
                    Outcome::Stopped(eval) => {
                        let step = eval.stopped_after.map(|s| s as u32);
                        info!(trial = trial.trial, step, "trial stopped at a report point");
                        Event::TrialPruned {
                            trial: trial.trial,
                            attempt: trial.attempt,
                            step,
                            folds: eval.folds,
                            reports: eval.reports,
                            at,
                            next_started,
                        }
                    }
                    Outcome::Failed(kind, message) => {
                        warn!(trial = trial.trial, %message, "trial failed");
                        Event::TrialFailed {
                            trial: trial.trial,
                            attempt: trial.attempt,
                            kind,
                            message,
                            at,
                            next_started,
                        }
                    }
                };
                events.send(event).map_err(ipc_err)?;
            }
            Task::StopTrial { .. } => {} // for a trial that already ended: nothing to stop
            Task::Shutdown => {
                debug!("shutdown requested");
                return Ok(());
            }
            Task::Setup(_) | Task::ProgramSetup(_) | Task::Train(_) | Task::Refit(_) => {
                return Err(TrainerError::Protocol("a second setup arrived".into()));
            }
        }
    }
    Ok(())
}

/// Tasks that arrived while a trial ran (read at its report points), and stop requests.
#[derive(Default)]
struct Inbox {
    queued: std::collections::VecDeque<Task>,
    stops: Vec<(TrialId, u32)>,
}

impl Inbox {
    /// Keep a task for later; a stop request is remembered, not queued.
    fn push(&mut self, task: Task) {
        match task {
            Task::StopTrial { trial, attempt } => self.stops.push((trial, attempt)),
            other => self.queued.push_back(other),
        }
    }

    /// Whether a stop of this trial was asked for (and forget it).
    fn take_stop(&mut self, trial: TrialId, attempt: u32) -> bool {
        let before = self.stops.len();
        self.stops.retain(|s| *s != (trial, attempt));
        self.stops.len() != before
    }
}

/// How a trial ended inside a live trainer.
enum Outcome {
    /// Every fold's scores (and every report point's values).
    Finished(models::Evaluation),
    /// Stopped at a report point, with what it had scored so far.
    Stopped(models::Evaluation),
    /// Error or panic, with its message.
    Failed(FailureKind, String),
}

/// One trial: build the model, cross-validate it, report each fold; panics become failures.
///
/// Each fold is a report point. Once the trial has run `live_reports_after`, each report is sent
/// and the task channel is read there: a `StopTrial` for this trial ends it at that point.
fn run_trial(
    validator: &mut CrossValidator<'_>,
    setup: &SweepSetup,
    task: &TrialTask,
    faults: &Faults,
    events: &IpcSender<Event>,
    tasks: &IpcReceiver<Task>,
    inbox: &mut Inbox,
) -> Outcome {
    let started = std::time::Instant::now();
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        if let Some(fault) = faults.get(task.trial, task.attempt) {
            crate::fault::trigger(fault)?;
        }
        let info = models::lookup(&setup.model).map_err(|e| e.to_string())?;
        let mut report = |fold: usize, scores: &models::FoldScores| {
            // The pruner's rule, decided before the trial started, applies at every report
            // point however long the trial has run.
            let ruled_out = task.stop.as_ref().is_some_and(|rule| {
                scores
                    .get(&setup.objective)
                    .is_some_and(|v| rule.stops(fold, *v))
            });
            // Every fold's scores travel in the result; live reports are for trials long
            // enough to watch, and cost short ones nothing.
            if started.elapsed() >= setup.live_reports_after {
                let event = Event::Report {
                    trial: task.trial,
                    attempt: task.attempt,
                    step: fold as u32,
                    values: scores.clone(),
                };
                if let Err(e) = events.send(event) {
                    warn!(error = %e, "could not send a report");
                }
                if let Some(delay) = faults.report_delay(task.trial, task.attempt) {
                    std::thread::sleep(delay);
                }
                while let Ok(t) = tasks.try_recv() {
                    inbox.push(t);
                }
                if inbox.take_stop(task.trial, task.attempt) {
                    return ControlFlow::Break(());
                }
            }
            if ruled_out {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        // Each fold is a report point, or each epoch of an iterative model, or each row budget.
        let evaluated = if info.iterative {
            let estimator = models::build_iterative(&setup.model, &task.params, setup.seed)
                .map_err(|e| e.to_string())?;
            validator.evaluate_iterative(estimator.as_ref(), &setup.metrics, &mut report)
        } else {
            let estimator =
                models::build(&setup.model, &task.params, setup.seed).map_err(|e| e.to_string())?;
            match &setup.row_budgets {
                Some(shares) => validator.evaluate_budgeted(
                    estimator.as_ref(),
                    &setup.metrics,
                    shares,
                    &mut report,
                ),
                None => validator.evaluate(estimator.as_ref(), &setup.metrics, &mut report),
            }
        };
        evaluated.map_err(|e| e.to_string())
    }));
    match result {
        Ok(Ok(eval)) if eval.stopped_after.is_some() => Outcome::Stopped(eval),
        Ok(Ok(eval)) => Outcome::Finished(eval),
        Ok(Err(message)) => Outcome::Failed(FailureKind::Error, message),
        Err(payload) => Outcome::Failed(FailureKind::Panic, panic_message(payload.as_ref())),
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}
