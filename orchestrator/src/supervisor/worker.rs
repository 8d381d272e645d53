//! A Worker: the orchestrator's handle on one trainer process, and the two threads that
//! listen to it.
//!
//! One thread accepts the trainer's connection (ipc-channel's `accept` has no timeout: it runs
//! on its own thread) and then forwards its events into the supervisor's inbox; the other reads
//! its stdout and stderr (JSON log lines) and says when they close, which is how a trainer that
//! dies before it connects is noticed at once.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipc_channel::ipc::{IpcOneShotServer, IpcSender};
use trainer::{Event, PROTOCOL_VERSION, Task};

use super::logs::{PumpSummary, TrialLogs, pump_logs};

/// A worker's id: unique per spawned trainer process within one orchestrator run.
pub type WorkerId = u32;

/// What a worker's threads tell the supervisor.
#[derive(Debug)]
pub(super) enum Inbox {
    /// The trainer connected and said hello.
    Connected {
        worker: WorkerId,
        tasks: IpcSender<Task>,
        pinned: Result<Vec<usize>, String>,
    },
    /// The trainer spoke out of turn, or its connection failed.
    ConnectFailed { worker: WorkerId, error: String },
    /// An event from a connected trainer.
    Event { worker: WorkerId, event: Event },
    /// The trainer's channel closed: it exited or was killed.
    Disconnected { worker: WorkerId },
    /// The trainer's output closed: it exited (possibly before connecting).
    OutputClosed { worker: WorkerId },
}

/// The orchestrator's handle on one trainer process.
pub(super) struct Worker {
    /// Its id.
    pub id: WorkerId,
    /// Its process id.
    pub pid: u32,
    /// When it was spawned.
    pub spawned_at: Instant,
    child: Child,
    server_name: String,
    connected: bool,
    forward: Option<JoinHandle<()>>,
    pump: Option<JoinHandle<PumpSummary>>,
}

impl Worker {
    /// Start `cmd` as trainer `id`; its connection, events and end arrive in `inbox`; its
    /// lines logged during a trial go to `trial_logs`.
    ///
    /// `cmd` is the backend's trainer command; this adds the bootstrap server's name, puts the
    /// trainer in its own process group (a terminal's Ctrl-C reaches only the orchestrator,
    /// which stops trainers in order) and routes its stdout and stderr into the log pump
    /// (stray prints must not corrupt our stdout, which carries JSON for notebooks).
    pub fn spawn(
        mut cmd: Command,
        id: WorkerId,
        inbox: Sender<Inbox>,
        trial_logs: Option<TrialLogs>,
    ) -> std::io::Result<Worker> {
        use std::os::unix::process::CommandExt;
        // Start-up is measured from here (before the socket and the spawn) to the hello.
        let spawned_at = Instant::now();
        let (server, server_name) = IpcOneShotServer::<Event>::new()?;
        cmd.arg("--connect").arg(&server_name);
        let (reader, writer) = std::io::pipe()?;
        cmd.stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer);
        cmd.process_group(0);
        let child = cmd.spawn()?;
        drop(cmd);
        let pid = child.id();
        let events = inbox.clone();
        let forward = std::thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || forward_events(id, server, events))?;
        let pump = std::thread::Builder::new()
            .name(format!("worker-{id}-log"))
            .spawn(move || {
                let summary = pump_logs(id, reader, trial_logs);
                let _ = inbox.send(Inbox::OutputClosed { worker: id });
                summary
            })?;
        Ok(Worker {
            id,
            pid,
            spawned_at,
            child,
            server_name,
            connected: false,
            forward: Some(forward),
            pump: Some(pump),
        })
    }

    /// Note that the trainer connected (so reaping need not unblock its accept).
    pub fn set_connected(&mut self) {
        self.connected = true;
    }

    /// Whether it has connected.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Whether the process has exited (without reaping it).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Ask the trainer to stop (SIGTERM).
    pub fn terminate(&self) {
        // SAFETY: kill(2) on our own child's pid; it is not reaped yet, so the pid is still ours.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
    }

    /// End the trainer now: SIGUSR1, its parent-death signal, which lets a program trainer kill
    /// its program's group first; `reap` sends SIGKILL if it lingers.
    pub fn kill(&mut self) {
        // SAFETY: kill(2) on our own child's pid; it is not reaped yet, so the pid is still ours.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGUSR1);
        }
    }

    /// Wait up to `grace` for the trainer to exit, then kill it; reap it and its two threads.
    ///
    /// When this returns, everything the trainer said is in the inbox: its output closing and
    /// its channel closing come from different threads, so only joining both orders them.
    pub fn reap(mut self, grace: Duration) -> (Option<ExitStatus>, PumpSummary) {
        let deadline = Instant::now() + grace;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    break self.child.wait().ok();
                }
                Err(_) => break None,
            }
        };
        if !self.connected {
            // Its accept() would block forever if it never connected: connect and hang up so
            // the thread ends and the server removes its socket directory. (If it did connect,
            // this connection is refused and changes nothing.)
            let _ = IpcSender::<Event>::connect(self.server_name.clone());
        }
        if let Some(f) = self.forward.take() {
            let _ = f.join();
        }
        let summary = self
            .pump
            .take()
            .and_then(|p| p.join().ok())
            .unwrap_or_default();
        (status, summary)
    }
}

/// Accept the trainer's connection, check its hello, then forward its events until it hangs up.
fn forward_events(id: WorkerId, server: IpcOneShotServer<Event>, inbox: Sender<Inbox>) {
    let (rx, first) = match server.accept() {
        Ok(x) => x,
        Err(e) => {
            let _ = inbox.send(Inbox::ConnectFailed {
                worker: id,
                error: format!("trainer exited before connecting ({e})"),
            });
            return;
        }
    };
    match first {
        Event::Hello {
            protocol,
            worker,
            tasks,
            pinned,
            ..
        } if protocol == PROTOCOL_VERSION && worker == id => {
            let hello = Inbox::Connected {
                worker: id,
                tasks,
                pinned,
            };
            if inbox.send(hello).is_err() {
                return;
            }
        }
        other => {
            let error = format!(
                "trainer spoke out of turn: expected hello (protocol {PROTOCOL_VERSION}), got {other:?}"
            );
            let _ = inbox.send(Inbox::ConnectFailed { worker: id, error });
            return;
        }
    }
    loop {
        match rx.recv() {
            Ok(event) => {
                if inbox.send(Inbox::Event { worker: id, event }).is_err() {
                    return;
                }
            }
            Err(_) => {
                let _ = inbox.send(Inbox::Disconnected { worker: id });
                return;
            }
        }
    }
}
