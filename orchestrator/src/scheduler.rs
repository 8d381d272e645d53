//! The sweep scheduler: the single owner of the pool, the trial queue and the store.
//!
//! ```text
//!   sampler ──► pending trials ──► Task::Trial ──► worker slot ──► trainer process
//!                    ▲                                              │ events (ipc)
//!                    └── retry (trainer died) ◄── scheduler ◄── inbox (one mpsc) ◄┘
//!                                                   │
//!                                                   └──► store (SQLite, group commit)
//! ```
//!
//! Trials go to workers as they free up (a pool map, not a static split). A trainer that dies
//! costs the trial it was running one attempt; queued-but-unstarted trials go back to the queue
//! free; the slot gets a fresh trainer.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcSender;
use models::{Direction, Metric, ModelInfo, Params};
use tracing::{debug, info, warn};
use trainer::{Event, SweepSetup, Task, TrialTask};

use crate::pool::{Inbox, PoolSpec, Worker, WorkerId, describe_exit};
use crate::sampler::Sampler;
use crate::signals;
use crate::store::{Store, StoreError, StoreWriter, TrialState, Write, now};

/// A worker that dies this many times in a row without finishing a trial means trainers
/// cannot run here at all: the study stops instead of respawning forever.
const MAX_CONSECUTIVE_DEATHS: u32 = 5;
/// How long a trainer may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long stopped trainers get to exit before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// Trials shorter than this on average are queued ahead at each worker, so a worker never
/// idles for a round trip between short trials; longer ones go out one at a time, so the
/// queue stays a pool map (no trial waits behind a busy worker while another is free).
const PREFETCH_BELOW: Duration = Duration::from_millis(20);
/// How much work (by mean trial time) to keep queued at a worker, at most `MAX_DEPTH` trials.
const QUEUED_WORK: Duration = Duration::from_millis(2);
const MAX_DEPTH: usize = 8;
/// The scheduler wakes at least this often to check timeouts, signals and progress.
const TICK: Duration = Duration::from_millis(50);

/// What the scheduler needs to run a sweep.
pub struct SweepJob<'a> {
    /// How trainers are started.
    pub pool: PoolSpec,
    /// How many trainers.
    pub workers: usize,
    /// Builds the setup message (a handle on the shared dataset) for each new trainer.
    pub setup: &'a dyn Fn() -> SweepSetup,
    /// The model (to complete each trial's hyperparameters with defaults).
    pub model: &'static ModelInfo,
    /// Metrics recorded; the first is the objective.
    pub metrics: Vec<Metric>,
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
}

#[derive(Debug)]
struct Assignment {
    trial: u64,
    attempt: u32,
    /// When we heard it started (for the timeout), and when the trainer says it did.
    started: Option<Instant>,
    started_at: Option<f64>,
}

enum SlotState {
    Connecting,
    Ready(IpcSender<Task>),
}

struct Slot {
    worker: Worker,
    state: SlotState,
    queue: VecDeque<Assignment>,
    /// Set when we kill the trainer for running past the timeout.
    timed_out: bool,
}

/// Trials to run: retries and resumed trials first, then the sampler's next.
pub struct TrialQueue {
    sampler: Box<dyn Sampler>,
    fixed: Params,
    next_new: u64,
    /// Trials already final in the store (skipped when the sampler reaches them).
    done: std::collections::HashSet<u64>,
    pending: VecDeque<(u64, u32)>,
    params: HashMap<u64, Params>,
}

impl TrialQueue {
    /// A queue over `sampler`'s trials; `existing` are the stored trials (state, attempts, params).
    pub fn new(
        sampler: Box<dyn Sampler>,
        fixed: Params,
        existing: &[crate::store::TrialRecord],
    ) -> TrialQueue {
        let mut q = TrialQueue {
            sampler,
            fixed,
            next_new: 0,
            done: Default::default(),
            pending: VecDeque::new(),
            params: HashMap::new(),
        };
        for r in existing {
            if r.state.is_final() {
                q.done.insert(r.trial);
            } else {
                q.pending.push_back((r.trial, r.attempts + 1));
                q.params.insert(r.trial, r.params.clone());
                q.done.insert(r.trial);
            }
        }
        q
    }

    /// The next trial to run: (number, attempt, params).
    fn next(&mut self) -> Option<(u64, u32, Params)> {
        if let Some((t, a)) = self.pending.pop_front() {
            let p = self.params.get(&t).cloned().unwrap_or_default();
            return Some((t, a, p));
        }
        while self.next_new < self.sampler.len() {
            let n = self.next_new;
            self.next_new += 1;
            if self.done.contains(&n) {
                continue;
            }
            let mut p = self.fixed.clone();
            p.extend(self.sampler.propose(n)?);
            self.params.insert(n, p.clone());
            return Some((n, 1, p));
        }
        None
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.next_new >= self.sampler.len()
    }
}

/// Running statistics for progress lines.
struct Progress {
    total: u64,
    finished: u64,
    failed: u64,
    best: Option<f64>,
    direction: Direction,
    objective: Metric,
    last_line: Instant,
    durations: (f64, u64),
}

impl Progress {
    fn mean_duration(&self) -> Option<Duration> {
        (self.durations.1 >= 4)
            .then(|| Duration::from_secs_f64(self.durations.0 / self.durations.1 as f64))
    }
}

/// Run `queue` on a pool until every trial is final or a signal stops it.
pub fn run_sweep(
    job: SweepJob<'_>,
    queue: TrialQueue,
    store: Store,
    total: u64,
    already: u64,
) -> Result<(SweepEnd, Store), SchedulerError> {
    let (tx, rx) = mpsc::channel();
    let store = StoreWriter::spawn(store, job.metrics.clone())
        .map_err(|e| SchedulerError::Pool(format!("cannot start the store writer: {e}")))?;
    let mut s = Scheduler {
        progress: Progress {
            total,
            finished: already,
            failed: 0,
            best: None,
            direction: job.metrics[0].direction(),
            objective: job.metrics[0],
            last_line: Instant::now(),
            durations: (0.0, 0),
        },
        job,
        queue,
        store,
        tx,
        rx,
        slots: Vec::new(),
        next_worker: 0,
        consecutive_deaths: 0,
        pin_warned: false,
    };
    let result = s.run();
    // Whatever happened, no trainer outlives the sweep.
    s.stop_all(result.as_ref().map_or(true, |e| *e != SweepEnd::Finished));
    // A store failure is the cause when both failed (the scheduler then saw the writer gone).
    match (result, s.store.finish()) {
        (_, Err(e)) => Err(e.into()),
        (Err(e), Ok(_)) => Err(e),
        (Ok(end), Ok(store)) => Ok((end, store)),
    }
}

struct Scheduler<'j> {
    job: SweepJob<'j>,
    queue: TrialQueue,
    store: StoreWriter,
    tx: Sender<Inbox>,
    rx: Receiver<Inbox>,
    slots: Vec<Option<Slot>>,
    next_worker: WorkerId,
    consecutive_deaths: u32,
    pin_warned: bool,
    progress: Progress,
}

impl Scheduler<'_> {
    fn run(&mut self) -> Result<SweepEnd, SchedulerError> {
        let n = self.job.workers.min(self.remaining().max(1) as usize);
        for slot in 0..n {
            self.slots.push(None);
            self.spawn(slot)?;
        }
        loop {
            if signals::received() > 0 {
                info!("stopping: no new trials; running trials will be recorded as interrupted");
                return Ok(SweepEnd::Interrupted);
            }
            self.assign()?;
            if self.queue.is_empty() && self.slots.iter().flatten().all(|s| s.queue.is_empty()) {
                self.log_progress(true);
                return Ok(SweepEnd::Finished);
            }
            match self.rx.recv_timeout(TICK) {
                Ok(msg) => self.handle(msg)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(SchedulerError::Pool("inbox closed".into()));
                }
            }
            while let Ok(msg) = self.rx.try_recv() {
                self.handle(msg)?;
            }
            self.check_deadlines();
            self.log_progress(false);
        }
    }

    fn remaining(&self) -> u64 {
        self.progress.total.saturating_sub(self.progress.finished)
    }

    fn spawn(&mut self, slot: usize) -> Result<(), SchedulerError> {
        let id = self.next_worker;
        self.next_worker += 1;
        let worker = Worker::spawn(&self.job.pool, id, slot, self.tx.clone()).map_err(|e| {
            SchedulerError::Pool(format!(
                "cannot start a trainer ({}): {e}",
                self.job.pool.exe.display()
            ))
        })?;
        debug!(worker = id, pid = worker.pid, slot, "trainer spawned");
        self.slots[slot] = Some(Slot {
            worker,
            state: SlotState::Connecting,
            queue: VecDeque::new(),
            timed_out: false,
        });
        Ok(())
    }

    fn slot_of(&self, worker: WorkerId) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.worker.id == worker))
    }

    /// Hand trials to workers with room in their queue.
    fn assign(&mut self) -> Result<(), SchedulerError> {
        let depth = match self.progress.mean_duration() {
            Some(d) if d < PREFETCH_BELOW => (1
                + (QUEUED_WORK.as_secs_f64() / d.as_secs_f64().max(1e-6)) as usize)
                .clamp(2, MAX_DEPTH),
            _ => 1,
        };
        for i in 0..self.slots.len() {
            while let Some(slot) = self.slots[i].as_mut() {
                let SlotState::Ready(tasks) = &slot.state else {
                    break;
                };
                if slot.queue.len() >= depth {
                    break;
                }
                let Some((trial, attempt, params)) = self.queue.next() else {
                    return Ok(());
                };
                // The trial's row is written when it starts (one statement, not two).
                let full = match models::catalogue::check_params(self.job.model, &params) {
                    Ok(p) => p,
                    Err(e) => {
                        // The config was checked at the edge, so this is a sampler bug: record it, go on.
                        let error = e.to_string();
                        write(&self.store, Write::InsertTrial { trial, params })?;
                        write(
                            &self.store,
                            Write::Ended {
                                trial,
                                attempt,
                                state: TrialState::Failed,
                                error,
                                at: now(),
                            },
                        )?;
                        self.progress.finished += 1;
                        self.progress.failed += 1;
                        continue;
                    }
                };
                let task = Task::Trial(TrialTask {
                    trial,
                    attempt,
                    params: full,
                });
                if let Err(e) = tasks.send(task) {
                    // The trainer is dying; its Disconnected will arrive. Put the trial back.
                    debug!(worker = slot.worker.id, error = %e, "send failed");
                    self.queue.pending.push_front((trial, attempt));
                    break;
                }
                slot.queue.push_back(Assignment {
                    trial,
                    attempt,
                    started: None,
                    started_at: None,
                });
            }
        }
        Ok(())
    }

    fn handle(&mut self, msg: Inbox) -> Result<(), SchedulerError> {
        match msg {
            Inbox::Connected {
                worker,
                tasks,
                pinned,
            } => {
                let Some(i) = self.slot_of(worker) else {
                    return Ok(());
                };
                if let Err(why) = &pinned
                    && !self.pin_warned
                {
                    warn!(worker, "trainers run unpinned: {why}");
                    self.pin_warned = true;
                }
                let setup = (self.job.setup)();
                let Some(slot) = self.slots[i].as_mut() else {
                    return Ok(());
                };
                slot.worker.set_connected();
                debug!(worker, startup_ms = slot.worker.spawned_at.elapsed().as_secs_f64() * 1e3, pinned = ?pinned, "trainer connected");
                if tasks.send(Task::Setup(Box::new(setup))).is_ok() {
                    slot.state = SlotState::Ready(tasks);
                }
            }
            Inbox::ConnectFailed { worker, error } => {
                if let Some(i) = self.slot_of(worker) {
                    warn!(worker, "{error}");
                    self.worker_died(i)?;
                }
            }
            Inbox::Disconnected { worker } => {
                if let Some(i) = self.slot_of(worker) {
                    self.worker_died(i)?;
                }
            }
            Inbox::Event { worker, event } => self.on_event(worker, event)?,
        }
        Ok(())
    }

    fn on_event(&mut self, worker: WorkerId, event: Event) -> Result<(), SchedulerError> {
        // A result may carry the start of the worker's next trial (see `TrialStart`).
        let follow = match &event {
            Event::TrialFinished { next_started, .. } | Event::TrialFailed { next_started, .. } => {
                *next_started
            }
            _ => None,
        };
        let Some(i) = self.slot_of(worker) else {
            return Ok(());
        };
        let Some(slot) = self.slots[i].as_mut() else {
            return Ok(());
        };
        match event {
            Event::TrialStarted { trial, attempt, at } => {
                if let Some(a) = slot
                    .queue
                    .iter_mut()
                    .find(|a| a.trial == trial && a.attempt == attempt)
                {
                    a.started = Some(Instant::now());
                    a.started_at = Some(at);
                }
                let params = self.queue.params.get(&trial).cloned().unwrap_or_default();
                write(
                    &self.store,
                    Write::Started {
                        trial,
                        params,
                        attempt,
                        worker,
                        at,
                    },
                )?;
            }
            Event::Report {
                trial,
                attempt,
                step: fold,
                values: scores,
            } => {
                if let Some(v) = scores.get(self.job.metrics[0].name()) {
                    write(
                        &self.store,
                        Write::Intermediate {
                            trial,
                            attempt,
                            step: fold,
                            value: *v,
                        },
                    )?;
                }
            }
            Event::TrialFinished {
                trial,
                attempt,
                folds,
                at,
                next_started: _,
            } => {
                // Trainer-stamped: a queued trial's receipt says nothing about when it ran.
                let took = pop_assignment(slot, trial)
                    .and_then(|a| a.started_at)
                    .map(|s| Duration::from_secs_f64((at - s).max(0.0)));
                self.consecutive_deaths = 0;
                let values: Vec<f64> = folds
                    .iter()
                    .filter_map(|f| f.get(self.job.metrics[0].name()).copied())
                    .collect();
                let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
                write(
                    &self.store,
                    Write::Finished {
                        trial,
                        attempt,
                        folds,
                        at,
                    },
                )?;
                self.queue.params.remove(&trial);
                debug!(
                    trial,
                    worker,
                    value = mean,
                    ms = took.map(|d| d.as_secs_f64() * 1e3),
                    "trial finished"
                );
                let p = &mut self.progress;
                p.finished += 1;
                if let Some(d) = took {
                    p.durations.0 += d.as_secs_f64();
                    p.durations.1 += 1;
                }
                let better = match (p.best, p.direction) {
                    (None, _) => true,
                    (Some(b), Direction::Maximize) => mean > b,
                    (Some(b), Direction::Minimize) => mean < b,
                };
                if better && mean.is_finite() {
                    p.best = Some(mean);
                }
            }
            Event::TrialFailed {
                trial,
                attempt,
                kind,
                message,
                at,
                next_started: _,
            } => {
                pop_assignment(slot, trial);
                self.consecutive_deaths = 0;
                warn!(trial, worker, ?kind, "trial failed: {message}");
                write(
                    &self.store,
                    Write::Ended {
                        trial,
                        attempt,
                        state: TrialState::Failed,
                        error: message,
                        at,
                    },
                )?;
                self.queue.params.remove(&trial);
                self.progress.finished += 1;
                self.progress.failed += 1;
            }
            other => warn!(worker, "unexpected event ignored: {other:?}"),
        }
        if let Some(next) = follow {
            let started = Event::TrialStarted {
                trial: next.trial,
                attempt: next.attempt,
                at: next.at,
            };
            self.on_event(worker, started)?;
        }
        Ok(())
    }

    /// A trainer is gone: account for its trials, reap it, and start a fresh one if work remains.
    fn worker_died(&mut self, i: usize) -> Result<(), SchedulerError> {
        let Some(slot) = self.slots[i].take() else {
            return Ok(());
        };
        let Slot {
            worker,
            mut queue,
            timed_out,
            ..
        } = slot;
        let id = worker.id;
        let (status, summary) = worker.reap(Duration::from_millis(200));
        let how = describe_exit(status, &summary);
        let mut charged = false;
        // The trainer runs its queue in order: only the front can have been running.
        if let Some(front) = queue.front()
            && front.started.is_some()
        {
            let a = queue.pop_front().unwrap_or_else(|| unreachable!());
            charged = true;
            let (state, message) = if timed_out {
                let limit = self
                    .job
                    .timeout
                    .map(|t| format!("{:.1}s", t.as_secs_f64()))
                    .unwrap_or_default();
                (TrialState::TimedOut, format!("timed out after {limit}"))
            } else if summary.out_of_memory {
                (
                    TrialState::OutOfMemory,
                    format!("out of memory (the trainer's cap was exceeded); {how}"),
                )
            } else if a.attempt <= self.job.retries {
                (TrialState::Waiting, how.clone())
            } else {
                (
                    TrialState::Failed,
                    format!("{how} (after {} attempts)", a.attempt),
                )
            };
            warn!(
                trial = a.trial,
                attempt = a.attempt,
                worker = id,
                "{message}"
            );
            write(
                &self.store,
                Write::Ended {
                    trial: a.trial,
                    attempt: a.attempt,
                    state,
                    error: message,
                    at: now(),
                },
            )?;
            if state == TrialState::Waiting {
                self.queue.pending.push_front((a.trial, a.attempt + 1));
            } else {
                self.queue.params.remove(&a.trial);
                self.progress.finished += 1;
                self.progress.failed += 1;
            }
        } else {
            debug!(worker = id, "{how}");
        }
        for a in queue.into_iter().rev() {
            self.queue.pending.push_front((a.trial, a.attempt));
        }
        if !charged && !timed_out {
            self.consecutive_deaths += 1;
            if self.consecutive_deaths >= MAX_CONSECUTIVE_DEATHS {
                return Err(SchedulerError::Pool(format!(
                    "{MAX_CONSECUTIVE_DEATHS} trainers in a row died without finishing a trial; the last one {how}"
                )));
            }
        }
        if signals::received() == 0 && !self.queue.is_empty() {
            self.spawn(i)?;
        }
        Ok(())
    }

    /// Kill trainers past the trial timeout or the connect timeout.
    fn check_deadlines(&mut self) {
        for slot in self.slots.iter_mut().flatten() {
            match slot.state {
                SlotState::Connecting if slot.worker.spawned_at.elapsed() > CONNECT_TIMEOUT => {
                    warn!(
                        worker = slot.worker.id,
                        "trainer did not connect within {}s; killing it",
                        CONNECT_TIMEOUT.as_secs()
                    );
                    slot.worker.kill();
                    let (tx, id) = (self.tx.clone(), slot.worker.id);
                    // Its forwarding thread reports ConnectFailed once reaping unblocks accept.
                    let _ = tx.send(Inbox::ConnectFailed {
                        worker: id,
                        error: "connect timeout".into(),
                    });
                }
                _ => {}
            }
            if let (Some(limit), Some(front)) = (self.job.timeout, slot.queue.front())
                && !slot.timed_out
                && front.started.is_some_and(|s| s.elapsed() > limit)
            {
                slot.timed_out = true;
                slot.worker.kill();
            }
        }
    }

    fn log_progress(&mut self, last: bool) {
        let p = &mut self.progress;
        if !last && p.last_line.elapsed() < Duration::from_secs(2) {
            return;
        }
        p.last_line = Instant::now();
        let running = self
            .slots
            .iter()
            .flatten()
            .filter(|s| s.queue.front().is_some_and(|a| a.started.is_some()))
            .count();
        let best = p
            .best
            .map(|b| format!("{b:.4}"))
            .unwrap_or_else(|| "-".into());
        info!(
            "{}/{} trials done ({} failed), {} running; best {} {}",
            p.finished,
            p.total,
            p.failed,
            running,
            p.objective.name(),
            best
        );
    }

    /// Stop every trainer. `now`: SIGTERM and reap (a stop); otherwise ask them to shut down.
    fn stop_all(&mut self, interrupt: bool) {
        let mut slots: Vec<Slot> = self.slots.iter_mut().filter_map(Option::take).collect();
        for slot in &slots {
            match (&slot.state, interrupt) {
                (SlotState::Ready(tasks), false) => {
                    let _ = tasks.send(Task::Shutdown);
                }
                _ => slot.worker.terminate(),
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        // Wait for exits; a second signal (or the grace running out) kills the rest at once.
        while Instant::now() < deadline
            && signals::received() < 2
            && slots.iter_mut().any(|s| !s.worker.has_exited())
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        for mut slot in slots.drain(..) {
            if !slot.worker.has_exited() {
                slot.worker.kill();
            }
            let _ = slot.worker.reap(Duration::from_millis(100));
            for a in slot.queue {
                if a.started.is_some() {
                    let ended = Write::Ended {
                        trial: a.trial,
                        attempt: a.attempt,
                        state: TrialState::Interrupted,
                        error: "interrupted".into(),
                        at: now(),
                    };
                    let _ = write(&self.store, ended);
                }
            }
        }
    }
}

/// Queue a write for the store thread.
fn write(store: &StoreWriter, w: Write) -> Result<(), SchedulerError> {
    store.send(w).map_err(|_| SchedulerError::StoreGone)
}

fn pop_assignment(slot: &mut Slot, trial: u64) -> Option<Assignment> {
    let pos = slot.queue.iter().position(|a| a.trial == trial)?;
    slot.queue.remove(pos)
}
