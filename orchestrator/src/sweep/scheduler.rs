//! The sweep scheduler: hands trials to trainers as they free up, listens to their events, asks
//! the pruner, records everything in the store, and retries trials whose trainer died.
//!
//! ```text
//!   sampler ◄── tell ── queue ──► Task::Trial ──► supervisor slot ──► trainer process
//!                         ▲                                              │ events
//!                         └── retry (trainer died) ◄── scheduler ◄── Notice ◄┘
//!                                    │        └── pruner ──► Task::StopTrial
//!                                    └──► store (SQLite, group commit, own thread)
//! ```
//!
//! Processes are the supervisor's business; this file only decides what runs where. A trainer
//! that dies costs the trial it was running one attempt; trials queued behind it go back to the
//! queue free; its slot gets a fresh trainer.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use models::{FoldScores, ModelInfo};
use tracing::{debug, info, warn};
use trainer::{Event, FailureKind, Task, TrialTask};

use super::queue::TrialQueue;
use super::sampler::TrialResult;
use crate::config::MetricSpec;
use crate::progress::SweepProgress;
use crate::store::{Store, StoreError, StoreWriter, TrialState, Write, now};
use crate::supervisor::memory::TreeMemory;
use crate::supervisor::{Cause, Death, Notice, Stop, Supervisor, SupervisorError, signals};

/// A worker that dies this many times in a row without finishing a trial means trainers
/// cannot run here at all: the study stops instead of respawning forever.
const MAX_CONSECUTIVE_DEATHS: u32 = 5;
/// Trials shorter than this on average are queued ahead at each worker, so a worker never
/// idles for a round trip between short trials; longer ones go out one at a time, so the
/// queue stays a pool map (no trial waits behind a busy worker while another is free).
const PREFETCH_BELOW: Duration = Duration::from_millis(20);
/// How much work (by mean trial time) to keep queued at a worker, at most `MAX_DEPTH` trials.
const QUEUED_WORK: Duration = Duration::from_millis(2);
const MAX_DEPTH: usize = 8;
/// A program study stops when its first this-many trials all fail within `FAILS_WITHIN` of
/// their start: a typo or a missing file, not a bad hyperparameter.
const FAIL_FAST_TRIALS: u32 = 3;
const FAILS_WITHIN: f64 = 1.0;
/// The scheduler wakes at least this often to check limits, signals and progress.
const TICK: Duration = Duration::from_millis(50);

/// What the scheduler needs to run a sweep.
pub struct SweepJob<'a> {
    /// Builds the setup message (a handle on the shared dataset, or the program) for each new
    /// trainer.
    pub setup: &'a dyn Fn() -> Task,
    /// The built-in model (to complete each trial's hyperparameters with defaults); None for
    /// a program, which gets the parameters as they are.
    pub model: Option<&'static ModelInfo>,
    /// Metrics recorded; the first is the objective.
    pub metrics: Vec<MetricSpec>,
    /// Retries of a trial whose trainer died.
    pub retries: u32,
    /// Per-trial time limit.
    pub timeout: Option<Duration>,
}

/// How a sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepEnd {
    /// Every trial has a final state.
    Finished,
    /// Stopped by a signal.
    Interrupted,
}

/// Why the sweep could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The study store failed (e.g. the disk is full).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store thread stopped (its error is reported instead).
    #[error("the study store stopped")]
    StoreGone,
    /// Trainers cannot be started or keep dying before doing anything.
    #[error("trainers cannot run: {0}")]
    Pool(String),
    /// The study's program fails at once on every trial: running the rest would only burn them.
    #[error("{0}")]
    ProgramFails(String),
}

impl From<SupervisorError> for SchedulerError {
    fn from(e: SupervisorError) -> Self {
        SchedulerError::Pool(e.to_string())
    }
}

/// A trial handed to a worker.
#[derive(Debug)]
struct Assignment {
    trial: u64,
    attempt: u32,
    /// When the trainer says it started (Unix seconds); None while queued there.
    started_at: Option<f64>,
    /// A stop was asked for.
    stopping: bool,
}

/// What the user sees of the sweep, and the trial times that set the queue depth.
struct Progress {
    display: SweepProgress,
    durations: (f64, u64),
}

impl Progress {
    fn mean_duration(&self) -> Option<Duration> {
        (self.durations.1 >= 4)
            .then(|| Duration::from_secs_f64(self.durations.0 / self.durations.1 as f64))
    }
}

/// How a sweep went.
pub struct SweepOutcome {
    /// Finished or interrupted.
    pub end: SweepEnd,
    /// The store, every write committed.
    pub store: Store,
    /// The peak memory of the orchestrator and its trainers, sampled as it ran.
    pub peak_memory: TreeMemory,
}

/// How often the process tree's memory is sampled.
const MEMORY_EVERY: Duration = Duration::from_millis(250);

/// Run `queue` on the supervisor's pool until every trial is final or a signal stops it.
pub fn run_sweep(
    job: SweepJob<'_>,
    supervisor: Supervisor,
    queue: TrialQueue,
    store: Store,
    already: u64,
) -> Result<SweepOutcome, SchedulerError> {
    let objective = job.metrics[0].name.clone();
    let display = SweepProgress::new(
        &objective,
        job.metrics[0].direction,
        queue.total(),
        already,
        supervisor.slots(),
    );
    let store = StoreWriter::spawn(store, objective)
        .map_err(|e| SchedulerError::Pool(format!("cannot start the store writer: {e}")))?;
    let slots = supervisor.slots();
    let mut s = Scheduler {
        progress: Progress {
            display,
            durations: (0.0, 0),
        },
        job,
        queue,
        store,
        supervisor,
        assigned: (0..slots).map(|_| VecDeque::new()).collect(),
        consecutive_deaths: 0,
        peak_memory: TreeMemory::default(),
        memory_sampled: Instant::now(),
        quick_failures: 0,
        any_success: false,
    };
    let result = s.run();
    s.progress.display.finish();
    // A last sample while the trainers still hold what they built (a short sweep may end
    // before the first periodic one).
    s.peak_memory = s.peak_memory.max(s.supervisor.memory());
    let interrupted = result.as_ref().map_or(true, |e| *e != SweepEnd::Finished);
    s.stop_all(interrupted);
    // A store failure is the cause when both failed (the scheduler then saw the writer gone).
    let peak_memory = s.peak_memory;
    match (result, s.store.finish()) {
        (_, Err(e)) => Err(e.into()),
        (Err(e), Ok(_)) => Err(e),
        (Ok(end), Ok(store)) => Ok(SweepOutcome {
            end,
            store,
            peak_memory,
        }),
    }
}

struct Scheduler<'j> {
    job: SweepJob<'j>,
    queue: TrialQueue,
    store: StoreWriter,
    supervisor: Supervisor,
    /// Per slot, the trials sent to its trainer, in the order it runs them.
    assigned: Vec<VecDeque<Assignment>>,
    consecutive_deaths: u32,
    /// Trials of this run that failed within `FAILS_WITHIN` before any trial succeeded.
    quick_failures: u32,
    /// Whether a trial of this run finished or was pruned.
    any_success: bool,
    progress: Progress,
    peak_memory: TreeMemory,
    memory_sampled: Instant,
}

impl Scheduler<'_> {
    fn run(&mut self) -> Result<SweepEnd, SchedulerError> {
        for slot in 0..self.supervisor.slots() {
            self.supervisor.spawn(slot)?;
        }
        self.peak_memory = self.supervisor.memory();
        loop {
            if signals::received() > 0 {
                info!("stopping: no new trials; running trials will be recorded as interrupted");
                return Ok(SweepEnd::Interrupted);
            }
            self.assign()?;
            if self.queue.is_exhausted() && self.assigned.iter().all(VecDeque::is_empty) {
                return Ok(SweepEnd::Finished);
            }
            if let Some(notice) = self.supervisor.next(TICK) {
                self.handle(notice)?;
                while let Some(n) = self.supervisor.try_next() {
                    self.handle(n)?;
                }
            }
            if self.memory_sampled.elapsed() >= MEMORY_EVERY {
                self.memory_sampled = Instant::now();
                self.peak_memory = self.peak_memory.max(self.supervisor.memory());
            }
            self.progress.display.tick();
        }
    }

    /// How many trials to keep queued at each worker.
    fn depth(&self) -> usize {
        match self.progress.mean_duration() {
            Some(d) if d < PREFETCH_BELOW => (1
                + (QUEUED_WORK.as_secs_f64() / d.as_secs_f64().max(1e-6)) as usize)
                .clamp(2, MAX_DEPTH),
            _ => 1,
        }
    }

    /// Hand trials to workers with room in their queue.
    fn assign(&mut self) -> Result<(), SchedulerError> {
        let depth = self.depth();
        for slot in 0..self.assigned.len() {
            while self.supervisor.is_ready(slot) && self.assigned[slot].len() < depth {
                let Some(next) = self.queue.next_trial() else {
                    return Ok(());
                };
                let checked = match self.job.model {
                    Some(model) => models::catalogue::check_params(model, &next.params),
                    None => Ok(next.params.clone()),
                };
                let full = match checked {
                    Ok(p) => p,
                    Err(e) => {
                        // The config was checked at the edge, so this is a sampler bug: record it, go on.
                        self.write(Write::InsertTrial {
                            trial: next.trial,
                            params: next.params.clone(),
                        })?;
                        self.end(next.trial, next.attempt, TrialState::Failed, e.to_string())?;
                        continue;
                    }
                };
                let task = Task::Trial(TrialTask {
                    trial: next.trial,
                    attempt: next.attempt,
                    params: full,
                    stop: next.stop,
                });
                if !self.supervisor.send(slot, task) {
                    // The trainer is dying; its Died notice will come. Put the trial back.
                    self.queue.put_back(next.trial, next.attempt);
                    break;
                }
                self.assigned[slot].push_back(Assignment {
                    trial: next.trial,
                    attempt: next.attempt,
                    started_at: None,
                    stopping: false,
                });
            }
        }
        Ok(())
    }

    fn handle(&mut self, notice: Notice) -> Result<(), SchedulerError> {
        match notice {
            Notice::Ready { slot, .. } => {
                let setup = (self.job.setup)();
                // A failed send means it died already: its Died notice follows.
                self.supervisor.send(slot, setup);
                Ok(())
            }
            Notice::Event {
                slot,
                worker,
                event,
            } => self.on_event(slot, worker, event),
            Notice::Died(death) => self.worker_died(death),
        }
    }

    fn on_event(&mut self, slot: usize, worker: u32, event: Event) -> Result<(), SchedulerError> {
        // A result may carry the start of the worker's next trial (see `TrialStart`).
        let follow = match &event {
            Event::TrialFinished { next_started, .. }
            | Event::TrialFailed { next_started, .. }
            | Event::TrialPruned { next_started, .. } => *next_started,
            _ => None,
        };
        match event {
            Event::TrialStarted { trial, attempt, at } => {
                self.started(slot, worker, trial, attempt, at)?
            }
            Event::Report {
                trial,
                attempt,
                step,
                values,
            } => self.report(slot, trial, attempt, step, values)?,
            Event::TrialFinished {
                trial,
                attempt,
                folds,
                reports,
                at,
                ..
            } => {
                let a = self.finish_assignment(slot, trial);
                self.consecutive_deaths = 0;
                self.any_success = true;
                let per_fold = self.objective_per_step(&folds);
                let value =
                    per_fold.iter().map(|(_, v)| *v).sum::<f64>() / per_fold.len().max(1) as f64;
                let intermediate = match &reports {
                    Some(r) => self.objective_per_step(r),
                    None => per_fold,
                };
                let took = a
                    .as_ref()
                    .and_then(|a| a.started_at)
                    .map(|s| (at - s).max(0.0));
                debug!(
                    trial,
                    worker,
                    value,
                    ms = took.map(|t| t * 1e3),
                    "trial finished"
                );
                let params = self.queue.params(trial).cloned().unwrap_or_default();
                self.write(Write::Finished {
                    trial,
                    attempt,
                    folds,
                    reports,
                    at,
                })?;
                let p = &mut self.progress;
                p.display.finished(slot, trial, value);
                if let Some(t) = took {
                    p.durations.0 += t;
                    p.durations.1 += 1;
                }
                self.queue.record(TrialResult {
                    trial,
                    params,
                    state: TrialState::Complete,
                    value: Some(value),
                    intermediate,
                });
            }
            Event::TrialPruned {
                trial,
                attempt,
                step,
                folds,
                reports,
                at,
                ..
            } => {
                self.finish_assignment(slot, trial);
                self.consecutive_deaths = 0;
                self.any_success = true;
                info!(trial, worker, step, "trial pruned");
                let intermediate = self.objective_per_step(reports.as_deref().unwrap_or(&folds));
                let params = self.queue.params(trial).cloned().unwrap_or_default();
                self.write(Write::Pruned {
                    trial,
                    attempt,
                    step,
                    folds,
                    reports,
                    at,
                })?;
                self.progress.display.pruned(slot, trial);
                self.queue.record(TrialResult {
                    trial,
                    params,
                    state: TrialState::Pruned,
                    value: None,
                    intermediate,
                });
            }
            Event::TrialFailed {
                trial,
                attempt,
                kind,
                message,
                at,
                ..
            } => {
                let a = self.finish_assignment(slot, trial);
                self.consecutive_deaths = 0;
                // A program killed by a signal is retried like a trial whose trainer died.
                let state = if kind == FailureKind::Crashed && attempt <= self.job.retries {
                    TrialState::Retrying
                } else {
                    TrialState::Failed
                };
                warn!(trial, worker, ?kind, "trial failed: {message}");
                let quick = a
                    .and_then(|a| a.started_at)
                    .is_some_and(|s| at - s < FAILS_WITHIN);
                self.end(trial, attempt, state, message.clone())?;
                if self.job.model.is_none() && kind == FailureKind::Error && !self.any_success {
                    self.quick_failures += u32::from(quick);
                    if self.quick_failures >= FAIL_FAST_TRIALS {
                        return Err(SchedulerError::ProgramFails(format!(
                            "the program failed within {FAILS_WITHIN:.0}s on each of the first {FAIL_FAST_TRIALS} trials, so the sweep stopped instead of running the rest (`cohort logs DIR TRIAL` shows each); the last failure: {message}"
                        )));
                    }
                }
            }
            other => warn!(worker, "unexpected event ignored: {other:?}"),
        }
        if let Some(next) = follow {
            self.started(slot, worker, next.trial, next.attempt, next.at)?;
        }
        Ok(())
    }

    /// The objective's value at each step of `reports`.
    fn objective_per_step(&self, reports: &[FoldScores]) -> Vec<(u32, f64)> {
        let name = &self.job.metrics[0].name;
        reports
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.get(name).map(|v| (i as u32, *v)))
            .collect()
    }

    /// A trial started on the trainer in `slot`: its row is written, its clock runs.
    fn started(
        &mut self,
        slot: usize,
        worker: u32,
        trial: u64,
        attempt: u32,
        at: f64,
    ) -> Result<(), SchedulerError> {
        if let Some(a) = self.assigned[slot]
            .iter_mut()
            .find(|a| a.trial == trial && a.attempt == attempt)
        {
            a.started_at = Some(at);
        }
        self.progress.display.started(slot, worker, trial);
        self.supervisor.set_busy(slot, true);
        self.supervisor
            .set_deadline(slot, self.job.timeout.map(|t| Instant::now() + t));
        let params = self.queue.params(trial).cloned().unwrap_or_default();
        self.write(Write::Started {
            trial,
            params,
            attempt,
            worker,
            at,
        })
    }

    /// A live report: store it, and ask the pruner whether the trial stops here.
    fn report(
        &mut self,
        slot: usize,
        trial: u64,
        attempt: u32,
        step: u32,
        values: FoldScores,
    ) -> Result<(), SchedulerError> {
        let value = values.get(&self.job.metrics[0].name).copied();
        self.write(Write::Report {
            trial,
            attempt,
            step,
            value,
            values,
        })?;
        let Some(v) = value else {
            return Ok(());
        };
        self.progress.display.report(slot, trial, step, v);
        let Some(a) = self.assigned[slot]
            .iter_mut()
            .find(|a| a.trial == trial && a.attempt == attempt)
        else {
            return Ok(());
        };
        if !a.stopping && self.queue.live_report(trial, step, v) {
            a.stopping = true;
            debug!(trial, step, "asking the trainer to stop the trial");
            self.supervisor
                .send(slot, Task::StopTrial { trial, attempt });
        }
        Ok(())
    }

    /// Remove `trial` from `slot`'s assignments; the trainer is idle if nothing else started.
    fn finish_assignment(&mut self, slot: usize, trial: u64) -> Option<Assignment> {
        let q = &mut self.assigned[slot];
        let a = q
            .iter()
            .position(|a| a.trial == trial)
            .and_then(|i| q.remove(i));
        if !q.iter().any(|a| a.started_at.is_some()) {
            self.supervisor.set_busy(slot, false);
            self.supervisor.set_deadline(slot, None);
        }
        a
    }

    /// An attempt ended without scores, in `state`: recorded, and told to the sampler when
    /// final.
    fn end(
        &mut self,
        trial: u64,
        attempt: u32,
        state: TrialState,
        error: String,
    ) -> Result<(), SchedulerError> {
        let params = self.queue.params(trial).cloned().unwrap_or_default();
        self.write(Write::Ended {
            trial,
            attempt,
            state,
            error,
            at: now(),
        })?;
        if state == TrialState::Retrying {
            self.queue.retry(trial, attempt + 1);
        } else {
            self.progress.display.failed(trial);
            self.queue.record(TrialResult {
                trial,
                params,
                state,
                value: None,
                intermediate: Vec::new(),
            });
        }
        Ok(())
    }

    /// A trainer is gone: account for its trials and start a fresh one if work remains.
    fn worker_died(&mut self, death: Death) -> Result<(), SchedulerError> {
        let Death {
            slot,
            worker,
            cause,
            how,
        } = death;
        let mut queue = std::mem::take(&mut self.assigned[slot]);
        let mut charged = false;
        // The trainer runs its queue in order: only the front can have been running.
        if let Some(front) = queue.front()
            && front.started_at.is_some()
            && let Some(a) = queue.pop_front()
        {
            charged = true;
            let (state, message) = match cause {
                Cause::TimedOut => {
                    let limit = self.job.timeout.map_or(0.0, |t| t.as_secs_f64());
                    (TrialState::TimedOut, format!("timed out after {limit:.1}s"))
                }
                Cause::OutOfMemory => (
                    TrialState::OutOfMemory,
                    format!("out of memory (the trainer's cap was exceeded); {how}"),
                ),
                Cause::Stalled if a.attempt <= self.job.retries => (
                    TrialState::Retrying,
                    format!("stalled (sent nothing within the stall limit); {how}"),
                ),
                _ if a.attempt <= self.job.retries => (TrialState::Retrying, how.clone()),
                _ => (
                    TrialState::Failed,
                    format!("{how} (after {} attempts)", a.attempt),
                ),
            };
            warn!(trial = a.trial, attempt = a.attempt, worker, "{message}");
            self.end(a.trial, a.attempt, state, message)?;
        }
        for a in queue.into_iter().rev() {
            self.queue.put_back(a.trial, a.attempt);
        }
        if !charged && cause != Cause::TimedOut {
            self.consecutive_deaths += 1;
            if self.consecutive_deaths >= MAX_CONSECUTIVE_DEATHS {
                return Err(SchedulerError::Pool(format!(
                    "{MAX_CONSECUTIVE_DEATHS} trainers in a row died without finishing a trial; the last one {how}"
                )));
            }
        }
        self.progress.display.vacated(slot);
        if signals::received() == 0 && !self.queue.is_exhausted() {
            self.supervisor.spawn(slot)?;
        }
        Ok(())
    }

    /// Stop every trainer; trials that were running are recorded as interrupted.
    fn stop_all(&mut self, interrupt: bool) {
        let how = if interrupt {
            Stop::Interrupt
        } else {
            Stop::Finish
        };
        self.supervisor.stop_all(how);
        for q in std::mem::take(&mut self.assigned) {
            for a in q.into_iter().filter(|a| a.started_at.is_some()) {
                let ended = Write::Ended {
                    trial: a.trial,
                    attempt: a.attempt,
                    state: TrialState::Interrupted,
                    error: "interrupted".into(),
                    at: now(),
                };
                let _ = self.write(ended);
            }
        }
    }

    /// Queue a write for the store thread.
    fn write(&self, w: Write) -> Result<(), SchedulerError> {
        self.store.send(w).map_err(|_| SchedulerError::StoreGone)
    }
}
