//! Program trials: each trial runs the user's own command in a process group of its own,
//! parameters in through argv, environment and `params.json`, metrics out through lines on
//! stdout or stderr (`template`, `lines`, `run`; `group` keeps the group from outliving the
//! trainer).
//!
//! The trainer's loop here differs from the built-in models' in one way: while a program runs,
//! the trainer must keep hearing both its task channel (a stop, a shutdown) and the program's
//! output. A thread forwards tasks into the same channel the output readers and the waiter
//! write to, and the loop reads that one channel.

pub mod group;
pub mod lines;
mod run;

pub use run::RECORD_FILE;
pub mod template;

use std::collections::VecDeque;
use std::sync::mpsc;

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use tracing::{debug, info};

use crate::protocol::{Event, ProgramSetup, Task, TrialId, TrialStart, TrialTask, unix_now};
use crate::worker::{TrainerError, ipc_err};

/// What the trainer's loop hears while it runs programs.
enum Msg {
    /// A task from the orchestrator.
    Task(Task),
    /// The orchestrator hung up.
    Hangup,
    /// A metric line (or a malformed one) of run `run`.
    Line {
        run: u64,
        line: Result<lines::Line, String>,
    },
    /// One of run `run`'s output streams closed.
    Eof { run: u64 },
    /// Run `run`'s process group leader ended.
    Exited {
        run: u64,
        status: std::io::Result<std::process::ExitStatus>,
    },
}

/// Tasks that arrived while a trial ran, and stop requests for trials not running.
#[derive(Default)]
struct Inbox {
    queued: VecDeque<TrialTask>,
    stops: Vec<(TrialId, u32)>,
    shutdown: bool,
}

impl Inbox {
    /// Keep a message that is not for the running trial: a task for later, a stop, a shutdown
    /// or hang-up; an earlier run's output is dropped. A setup (a protocol error) is handed
    /// back.
    fn keep(&mut self, msg: Msg) -> Option<Task> {
        match msg {
            Msg::Task(Task::Trial(t)) => self.queued.push_back(t),
            Msg::Task(Task::StopTrial { trial, attempt }) => self.stops.push((trial, attempt)),
            Msg::Task(Task::Shutdown) | Msg::Hangup => self.shutdown = true,
            Msg::Task(setup) => return Some(setup),
            Msg::Line { .. } | Msg::Eof { .. } | Msg::Exited { .. } => {}
        }
        None
    }

    /// Keep what has arrived on `rx`, without waiting.
    fn collect(&mut self, rx: &mpsc::Receiver<Msg>) -> Result<(), TrainerError> {
        while let Ok(msg) = rx.try_recv() {
            if self.keep(msg).is_some() {
                return Err(TrainerError::Protocol("a second setup arrived".into()));
            }
        }
        Ok(())
    }

    fn take_stop(&mut self, trial: TrialId, attempt: u32) -> bool {
        let before = self.stops.len();
        self.stops.retain(|s| *s != (trial, attempt));
        self.stops.len() != before
    }
}

/// Run program trials until shut down or until the orchestrator hangs up.
pub fn sweep(
    setup: ProgramSetup,
    tasks: IpcReceiver<Task>,
    events: &IpcSender<Event>,
) -> Result<(), TrainerError> {
    let reader = lines::Reader::new(setup.metrics_regex.as_deref())
        .map_err(|e| TrainerError::Protocol(format!("program.metrics_regex: {e}")))?;
    group::set_grace(setup.grace);
    group::install().map_err(|e| {
        TrainerError::Protocol(format!("cannot install the trainer's signal handlers: {e}"))
    })?;
    let (tx, rx) = mpsc::channel::<Msg>();
    let forward = tx.clone();
    std::thread::Builder::new()
        .name("tasks".into())
        .spawn(move || {
            loop {
                match tasks.recv() {
                    Ok(t) => {
                        if forward.send(Msg::Task(t)).is_err() {
                            return;
                        }
                    }
                    Err(_) => {
                        let _ = forward.send(Msg::Hangup);
                        return;
                    }
                }
            }
        })
        .map_err(ipc_err)?;
    info!(command = ?setup.command, "program sweep setup received");
    let (watcher, jobs) = mpsc::channel();
    let reader = std::sync::Arc::new(reader);
    std::thread::Builder::new()
        .name("program".into())
        .spawn(move || run::watcher(jobs, reader, tx))
        .map_err(ipc_err)?;
    let ctx = run::Context { setup, watcher };
    let mut inbox = Inbox::default();
    let mut runs = 0u64;
    // The trial whose start rode on the previous trial's end.
    let mut announced: Option<(TrialId, u32)> = None;
    loop {
        let task = match inbox.queued.pop_front() {
            Some(t) => Task::Trial(t),
            None => match rx.recv() {
                Ok(Msg::Task(t)) => t,
                Ok(Msg::Hangup) | Err(_) => return Ok(()),
                Ok(_) => continue, // the tail of an earlier run
            },
        };
        match task {
            Task::Trial(trial) => {
                // Lines logged while the trial runs carry its number (the trial's log).
                let _span =
                    tracing::info_span!("trial", trial = trial.trial, attempt = trial.attempt)
                        .entered();
                if announced.take() != Some((trial.trial, trial.attempt)) {
                    events
                        .send(Event::TrialStarted {
                            trial: trial.trial,
                            attempt: trial.attempt,
                            at: unix_now(),
                        })
                        .map_err(ipc_err)?;
                }
                let event = if inbox.take_stop(trial.trial, trial.attempt) {
                    Some(Event::TrialPruned {
                        trial: trial.trial,
                        attempt: trial.attempt,
                        step: None,
                        folds: Vec::new(),
                        reports: None,
                        at: unix_now(),
                        next_started: None,
                    })
                } else {
                    runs += 1;
                    run::trial(&ctx, &trial, &rx, &mut inbox, runs, events)?
                };
                if let Some(mut e) = event {
                    // Short trials queue up here: when the next one is waiting, it starts now
                    // and its start rides on this end (one message fewer a trial).
                    inbox.collect(&rx)?;
                    if let (false, Some(next)) = (inbox.shutdown, inbox.queued.front()) {
                        announced = Some((next.trial, next.attempt));
                        e.set_next_started(TrialStart {
                            trial: next.trial,
                            attempt: next.attempt,
                            at: unix_now(),
                        });
                    }
                    events.send(e).map_err(ipc_err)?;
                }
                if inbox.shutdown {
                    return Ok(());
                }
            }
            Task::StopTrial { trial, attempt } => inbox.stops.push((trial, attempt)),
            Task::Shutdown => {
                debug!("shutdown requested");
                return Ok(());
            }
            Task::Setup(_) | Task::ProgramSetup(_) | Task::Train(_) | Task::Refit(_) => {
                return Err(TrainerError::Protocol("a second setup arrived".into()));
            }
        }
    }
}
