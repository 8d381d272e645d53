//! The Supervisor: the one place that starts, connects, pins, watches, respawns, times out and
//! stops trainer processes, for sweeps and training alike.
//!
//! ```text
//!   backend ──► Command ──► Worker (process) ──► hello / events (ipc) ─┐
//!                              │ stdout+stderr ──► log pump ─ EOF ─────┤
//!                              └──────────────── one inbox (mpsc) ◄────┘
//!                                                     │
//!   client (sweep scheduler, training coordinator) ◄── Notice: Ready | Event | Died
//! ```
//!
//! A client owns slots (a sweep's worker places, training's shards). It asks for a trainer in a
//! slot, sends it tasks, and hears one `Notice` at a time. A trainer's death is noticed from its
//! channel closing or, before it ever connected, from its output closing: at once, not after a
//! timeout. The supervisor also kills trainers that pass a task deadline, stall (send nothing
//! while busy for longer than the stall limit), or never connect; each ends as `Died` with the
//! cause. Respawning is the client's call (it knows whether work remains).

pub mod cores;
mod logs;
pub mod memory;
pub mod signals;
mod worker;

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcSender;
use tracing::{debug, warn};
use trainer::{Event, Task};

use crate::backends::{Backend, Launch};
pub use logs::{PumpSummary, TRIAL_LOG_FILE, TrialLogs, describe_exit};
pub use worker::WorkerId;
use worker::{Inbox, Worker};

/// Time limits the supervisor enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a trainer may take from spawn to hello.
    pub connect: Duration,
    /// How long a busy trainer may go without sending anything.
    pub stall: Option<Duration>,
    /// How long stopped trainers get to exit before they are killed.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connect: Duration::from_secs(20),
            stall: None,
            grace: Duration::from_secs(2),
        }
    }
}

/// How trainers are started: where, pinned to which cores, with what memory cap.
pub struct PoolSpec {
    /// Where trainer processes start.
    pub backend: Box<dyn Backend>,
    /// Address-space cap of each trainer.
    pub memory: Option<u64>,
    /// Cores to pin to, handed out by slot, `cores_per_slot` to each.
    pub cores: Vec<usize>,
    /// Cores each trainer (and the program it runs) is pinned to.
    pub cores_per_slot: usize,
    /// GPUs to hand out by slot, `gpus_per_slot` to each, as `CUDA_VISIBLE_DEVICES`.
    pub gpus: Vec<String>,
    /// GPUs each trainer gets (0: the variable is left as it is).
    pub gpus_per_slot: usize,
}

impl PoolSpec {
    /// Trainers pinned one core each, no GPUs.
    pub fn one_core_each(
        backend: Box<dyn Backend>,
        memory: Option<u64>,
        cores: Vec<usize>,
    ) -> PoolSpec {
        PoolSpec {
            backend,
            memory,
            cores,
            cores_per_slot: 1,
            gpus: Vec::new(),
            gpus_per_slot: 0,
        }
    }

    /// The cores and the extra environment of the trainer in `slot`: consecutive groups of
    /// the pinning order, so concurrent trainers never share a core or a GPU while there are
    /// enough of them.
    fn placement(&self, slot: usize) -> (Vec<usize>, Vec<(String, String)>) {
        let take = |len: usize, k: usize| -> Vec<usize> {
            if len == 0 || k == 0 {
                return Vec::new();
            }
            (0..k).map(|i| (slot * k + i) % len).collect()
        };
        let cores = take(self.cores.len(), self.cores_per_slot.max(1))
            .into_iter()
            .map(|i| self.cores[i])
            .collect();
        let mut env = Vec::new();
        if self.gpus_per_slot > 0 && !self.gpus.is_empty() {
            let mine: Vec<&str> = take(self.gpus.len(), self.gpus_per_slot)
                .into_iter()
                .map(|i| self.gpus[i].as_str())
                .collect();
            env.push(("CUDA_VISIBLE_DEVICES".to_string(), mine.join(",")));
        }
        (cores, env)
    }
}

/// Why a trainer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// It exited or was killed by something other than the supervisor.
    Crashed,
    /// It hit its memory cap.
    OutOfMemory,
    /// The supervisor killed it for running past its task's deadline.
    TimedOut,
    /// The supervisor killed it for sending nothing, while busy, for longer than the stall limit.
    Stalled,
    /// It never said a proper hello (died first, did not connect in time, or spoke out of turn).
    NeverConnected,
}

/// A trainer that has ended, reaped.
#[derive(Debug)]
pub struct Death {
    /// Its slot.
    pub slot: usize,
    /// Its worker id.
    pub worker: WorkerId,
    /// Why it ended.
    pub cause: Cause,
    /// How it ended, for people ("killed by signal 9 (SIGKILL); last output: ...").
    pub how: String,
}

/// What the supervisor tells its client.
#[derive(Debug)]
pub enum Notice {
    /// A trainer connected and can take tasks (the first must be its setup).
    Ready {
        /// Its slot.
        slot: usize,
        /// Its worker id.
        worker: WorkerId,
    },
    /// A trainer said something.
    Event {
        /// Its slot.
        slot: usize,
        /// Its worker id.
        worker: WorkerId,
        /// What it said.
        event: Event,
    },
    /// A trainer ended; its slot is empty now.
    Died(Death),
}

/// Why trainers cannot be supervised.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The backend's command could not be started.
    #[error("cannot start a trainer: {0}")]
    Spawn(#[source] std::io::Error),
}

struct Member {
    worker: Worker,
    tasks: Option<IpcSender<Task>>,
    last_heard: Instant,
    deadline: Option<Instant>,
    busy: bool,
    /// Set when the supervisor killed it, and why.
    verdict: Option<Cause>,
    /// The process group of the program trial it runs, killed with it.
    program_group: i32,
}

/// The pool of trainer processes, in slots.
pub struct Supervisor {
    spec: PoolSpec,
    limits: Limits,
    tx: Sender<Inbox>,
    rx: Receiver<Inbox>,
    members: Vec<Option<Member>>,
    next_id: WorkerId,
    notices: VecDeque<Notice>,
    /// Inbox messages read ahead (while draining a dead trainer's), to handle first.
    backlog: VecDeque<Inbox>,
    pin_warned: bool,
    /// Where trainers' lines logged during a trial are filed.
    trial_logs: Option<TrialLogs>,
}

impl Supervisor {
    /// A supervisor with `slots` empty slots.
    pub fn new(spec: PoolSpec, limits: Limits, slots: usize) -> Supervisor {
        let (tx, rx) = mpsc::channel();
        Supervisor {
            spec,
            limits,
            tx,
            rx,
            members: (0..slots).map(|_| None).collect(),
            next_id: 0,
            notices: VecDeque::new(),
            backlog: VecDeque::new(),
            pin_warned: false,
            trial_logs: None,
        }
    }

    /// File the lines each trainer logs during a trial in that trial's log in the study.
    pub fn set_trial_logs(&mut self, logs: TrialLogs) {
        self.trial_logs = Some(logs);
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.members.len()
    }

    /// Start a trainer in `slot` (which must be empty).
    pub fn spawn(&mut self, slot: usize) -> Result<WorkerId, SupervisorError> {
        let id = self.next_id;
        self.next_id += 1;
        let (cores, env) = self.spec.placement(slot);
        let launch = Launch {
            worker: id,
            cores,
            env,
            memory: self.spec.memory,
        };
        let cmd = self.spec.backend.trainer_command(&launch);
        let worker = Worker::spawn(cmd, id, self.tx.clone(), self.trial_logs.clone())
            .map_err(SupervisorError::Spawn)?;
        debug!(worker = id, pid = worker.pid, slot, "trainer spawned");
        self.members[slot] = Some(Member {
            worker,
            tasks: None,
            last_heard: Instant::now(),
            deadline: None,
            busy: false,
            verdict: None,
            program_group: 0,
        });
        Ok(id)
    }

    /// Whether `slot` holds a connected trainer.
    pub fn is_ready(&self, slot: usize) -> bool {
        self.members[slot]
            .as_ref()
            .is_some_and(|m| m.tasks.is_some() && m.verdict.is_none())
    }

    /// The memory of this orchestrator and its trainers now.
    pub fn memory(&self) -> memory::TreeMemory {
        memory::tree_memory(self.members.iter().flatten().map(|m| m.worker.pid))
    }

    /// The process id of the trainer in `slot`.
    pub fn pid(&self, slot: usize) -> Option<u32> {
        self.members[slot].as_ref().map(|m| m.worker.pid)
    }

    /// Send a task to the trainer in `slot`. False when it cannot take it (not connected, or
    /// dying: its `Died` notice follows).
    pub fn send(&mut self, slot: usize, task: Task) -> bool {
        let Some(m) = self.members[slot].as_mut() else {
            return false;
        };
        match &m.tasks {
            Some(tasks) if m.verdict.is_none() => match tasks.send(task) {
                Ok(()) => true,
                Err(e) => {
                    debug!(worker = m.worker.id, error = %e, "send failed");
                    false
                }
            },
            _ => false,
        }
    }

    /// Set (or clear) the deadline of the task the trainer in `slot` runs now.
    pub fn set_deadline(&mut self, slot: usize, deadline: Option<Instant>) {
        if let Some(m) = self.members[slot].as_mut() {
            m.deadline = deadline;
        }
    }

    /// Say whether the trainer in `slot` is busy: only a busy trainer can stall.
    pub fn set_busy(&mut self, slot: usize, busy: bool) {
        if let Some(m) = self.members[slot].as_mut() {
            if busy && !m.busy {
                m.last_heard = Instant::now();
            }
            m.busy = busy;
        }
    }

    /// The next notice, waiting at most `wait` (None: nothing happened in that time).
    ///
    /// Limits are checked here: call it at least every few tens of milliseconds.
    pub fn next(&mut self, wait: Duration) -> Option<Notice> {
        self.enforce_limits();
        if let Some(n) = self.notices.pop_front() {
            return Some(n);
        }
        while let Some(msg) = self.backlog.pop_front() {
            if let Some(n) = self.handle(msg) {
                return Some(n);
            }
        }
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let msg = match self.rx.recv_timeout(left) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => return None,
                // We hold a sender ourselves: never disconnected.
                Err(RecvTimeoutError::Disconnected) => return None,
            };
            if let Some(n) = self.handle(msg) {
                return Some(n);
            }
        }
    }

    /// A notice that is already waiting, if any (no waiting).
    pub fn try_next(&mut self) -> Option<Notice> {
        if let Some(n) = self.notices.pop_front() {
            return Some(n);
        }
        while let Some(msg) = self.backlog.pop_front().or_else(|| self.rx.try_recv().ok()) {
            if let Some(n) = self.handle(msg) {
                return Some(n);
            }
        }
        None
    }

    fn slot_of(&self, worker: WorkerId) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.as_ref().is_some_and(|m| m.worker.id == worker))
    }

    fn handle(&mut self, msg: Inbox) -> Option<Notice> {
        match msg {
            Inbox::Connected {
                worker,
                tasks,
                pinned,
            } => {
                let slot = self.slot_of(worker)?;
                if let Err(why) = &pinned
                    && !self.pin_warned
                {
                    warn!(worker, "trainers run unpinned: {why}");
                    self.pin_warned = true;
                }
                let m = self.members[slot].as_mut()?;
                m.worker.set_connected();
                m.tasks = Some(tasks);
                m.last_heard = Instant::now();
                debug!(worker, startup_ms = m.worker.spawned_at.elapsed().as_secs_f64() * 1e3, pinned = ?pinned, "trainer connected");
                Some(Notice::Ready { slot, worker })
            }
            Inbox::Event {
                worker,
                event: Event::ProgramGroup { pgid },
            } => {
                let slot = self.slot_of(worker)?;
                let m = self.members[slot].as_mut()?;
                m.last_heard = Instant::now();
                m.program_group = pgid;
                None
            }
            Inbox::Event { worker, event } => {
                let slot = self.slot_of(worker)?;
                let m = self.members[slot].as_mut()?;
                m.last_heard = Instant::now();
                if event.ends_program_group() {
                    m.program_group = 0;
                }
                Some(Notice::Event {
                    slot,
                    worker,
                    event,
                })
            }
            Inbox::ConnectFailed { worker, error } => {
                let slot = self.slot_of(worker)?;
                warn!(worker, "{error}");
                if let Some(m) = self.members[slot].as_mut() {
                    m.verdict.get_or_insert(Cause::NeverConnected);
                    m.worker.kill();
                }
                self.died(slot)
            }
            Inbox::Disconnected { worker } | Inbox::OutputClosed { worker } => {
                let slot = self.slot_of(worker)?;
                self.died(slot)
            }
        }
    }

    /// The trainer in `slot` has ended: reap it, then hand on, in order, whatever it said
    /// before it ended, and its death.
    fn died(&mut self, slot: usize) -> Option<Notice> {
        let worker = self.members[slot].as_ref()?.worker.id;
        let (death, mut program_group) = self.reap(slot)?;
        // Its threads are joined: all it said is in the backlog or the inbox. Keep others'
        // messages in order.
        let mut others = VecDeque::new();
        let read_ahead = std::mem::take(&mut self.backlog);
        for msg in read_ahead
            .into_iter()
            .chain(std::iter::from_fn(|| self.rx.try_recv().ok()))
        {
            match msg {
                Inbox::Event {
                    worker: w,
                    event: Event::ProgramGroup { pgid },
                } if w == worker => program_group = pgid,
                Inbox::Event { worker: w, event } if w == worker => {
                    if event.ends_program_group() {
                        program_group = 0;
                    }
                    self.notices.push_back(Notice::Event {
                        slot,
                        worker,
                        event,
                    });
                }
                Inbox::Event { worker: w, .. }
                | Inbox::Connected { worker: w, .. }
                | Inbox::ConnectFailed { worker: w, .. }
                | Inbox::Disconnected { worker: w }
                | Inbox::OutputClosed { worker: w }
                    if w == worker => {}
                other => others.push_back(other),
            }
        }
        self.backlog = others;
        kill_program_group(program_group);
        self.notices.push_back(Notice::Died(death));
        self.notices.pop_front()
    }

    /// Empty `slot`: wait briefly for its trainer's exit (its channel or output has closed),
    /// reap it and say how it ended, with the group of the program it last said it runs.
    fn reap(&mut self, slot: usize) -> Option<(Death, i32)> {
        let m = self.members[slot].take()?;
        let connected = m.worker.is_connected();
        let program_group = m.program_group;
        let id = m.worker.id;
        let (status, summary) = m.worker.reap(Duration::from_millis(200));
        let how = describe_exit(status, &summary);
        let cause = match m.verdict {
            Some(v) => v,
            None if summary.out_of_memory => Cause::OutOfMemory,
            None if !connected => Cause::NeverConnected,
            None => Cause::Crashed,
        };
        debug!(worker = id, slot, ?cause, "{how}");
        let death = Death {
            slot,
            worker: id,
            cause,
            how,
        };
        Some((death, program_group))
    }

    /// Kill trainers past their task deadline, the stall limit or the connect limit.
    fn enforce_limits(&mut self) {
        let now = Instant::now();
        let limits = self.limits;
        for m in self.members.iter_mut().flatten() {
            if m.verdict.is_some() {
                continue;
            }
            let verdict = if m.tasks.is_none() && m.worker.spawned_at.elapsed() > limits.connect {
                warn!(
                    worker = m.worker.id,
                    "trainer did not connect within {}s; killing it",
                    limits.connect.as_secs()
                );
                Some(Cause::NeverConnected)
            } else if m.deadline.is_some_and(|d| now > d) {
                Some(Cause::TimedOut)
            } else if let Some(stall) = limits.stall
                && m.busy
                && now.duration_since(m.last_heard) > stall
            {
                warn!(
                    worker = m.worker.id,
                    "trainer sent nothing for {:.0}s while busy (the stall limit); killing it",
                    stall.as_secs_f64()
                );
                Some(Cause::Stalled)
            } else {
                None
            };
            if let Some(v) = verdict {
                m.verdict = Some(v);
                // Its channel or output closing brings the Died notice.
                m.worker.kill();
            }
        }
    }

    /// Stop every trainer and empty every slot.
    ///
    /// `Stop::Finish` asks connected trainers to shut down (their work is done); `Stop::Interrupt`
    /// sends SIGTERM. Both wait up to the grace period, cut short by a second Ctrl-C or SIGTERM,
    /// then kill what is left.
    pub fn stop_all(&mut self, how: Stop) {
        for m in self.members.iter().flatten() {
            match (&m.tasks, how) {
                (Some(tasks), Stop::Finish) => {
                    let _ = tasks.send(Task::Shutdown);
                }
                _ => m.worker.terminate(),
            }
        }
        let deadline = Instant::now() + self.limits.grace;
        // A second Ctrl-C or SIGTERM (whenever it came) cuts the grace short.
        while Instant::now() < deadline
            && signals::received() < 2
            && self
                .members
                .iter_mut()
                .flatten()
                .any(|m| !m.worker.has_exited())
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        for slot in 0..self.members.len() {
            if let Some(m) = self.members[slot].as_mut() {
                if !m.worker.has_exited() {
                    m.worker.kill();
                }
                if let Some((_, group)) = self.reap(slot) {
                    kill_program_group(group);
                }
            }
        }
    }
}

impl Drop for Supervisor {
    /// Whatever happened, no trainer outlives its supervisor.
    fn drop(&mut self) {
        for m in self.members.iter_mut().flatten() {
            m.worker.kill();
        }
        for slot in 0..self.members.len() {
            if let Some((_, group)) = self.reap(slot) {
                kill_program_group(group);
            }
        }
    }
}

/// Kill the process group of a dead trainer's program: killed outright, the trainer could not.
fn kill_program_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) on a group a trainer reported as its program's, never 0 or 1.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// How `stop_all` stops trainers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The work is done: ask them to shut down.
    Finish,
    /// Interrupted: SIGTERM them.
    Interrupt,
}
