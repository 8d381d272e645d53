//! The Pool's members: spawning a trainer process, bootstrapping its channel, pumping its logs,
//! and stopping and reaping it.
//!
//! Each trainer is `cohort trainer --connect NAME ...`, in its own process group (so a terminal's
//! Ctrl-C reaches only the orchestrator, which stops trainers in order). One thread per trainer
//! accepts its connection and then forwards its events into the scheduler's inbox; one more reads
//! its stdout and stderr (JSON log lines) and re-emits them tagged with the worker id.

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipc_channel::ipc::{IpcOneShotServer, IpcSender};
use trainer::{Event, PROTOCOL_VERSION, Task};

/// A worker's id: unique per spawned trainer process within one orchestrator run.
pub type WorkerId = u32;

/// What a worker's threads tell the scheduler.
#[derive(Debug)]
pub enum Inbox {
    /// The trainer connected and said hello.
    Connected {
        /// Which worker.
        worker: WorkerId,
        /// Where to send its tasks.
        tasks: IpcSender<Task>,
        /// The core it pinned itself to, or why not.
        pinned: Result<usize, String>,
    },
    /// The trainer could not connect (it died first, or spoke out of turn).
    ConnectFailed {
        /// Which worker.
        worker: WorkerId,
        /// What happened.
        error: String,
    },
    /// An event from a connected trainer.
    Event {
        /// Which worker.
        worker: WorkerId,
        /// What it said.
        event: Event,
    },
    /// The trainer's channel closed: it exited or was killed.
    Disconnected {
        /// Which worker.
        worker: WorkerId,
    },
}

/// How trainers are started.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    /// The binary to run (this one).
    pub exe: PathBuf,
    /// Address-space cap of each trainer.
    pub memory: Option<u64>,
    /// Cores to pin to, handed out round-robin by worker slot.
    pub cores: Vec<usize>,
}

/// The machine's usable cores (our affinity mask), in order.
pub fn usable_cores() -> Vec<usize> {
    // SAFETY: sched_getaffinity fills the zeroed set we own; CPU_ISSET only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// The order in which to pin trainers: cores that no other cohort trainer (of another study
/// running on this machine) is pinned to come first, so two studies side by side do not
/// share a core while another sits idle.
pub fn pinning_order(cores: &[usize]) -> Vec<usize> {
    let taken = cores_of_other_trainers();
    let (free, busy): (Vec<usize>, Vec<usize>) = cores.iter().partition(|c| !taken.contains(c));
    free.into_iter().chain(busy).collect()
}

/// Cores that live trainers of other orchestrators are pinned to (from /proc).
fn cores_of_other_trainers() -> Vec<usize> {
    let me = std::process::id().to_string();
    let mut taken = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let is_trainer = args.get(1) == Some(&&b"trainer"[..]) && args.contains(&&b"--connect"[..]);
        let parent = args
            .iter()
            .position(|a| *a == b"--parent")
            .and_then(|i| args.get(i + 1));
        if !is_trainer || parent == Some(&me.as_bytes()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map(str::trim);
        if let Some(core) = allowed.and_then(|a| a.parse::<usize>().ok()) {
            taken.push(core);
        }
    }
    taken
}

/// What the log pump saw in a trainer's output.
#[derive(Debug, Default)]
pub struct PumpSummary {
    /// An allocation failed: the trainer hit its memory cap.
    pub out_of_memory: bool,
    /// The last lines it printed (for the error message of a crash).
    pub tail: Vec<String>,
}

/// The orchestrator's handle on one trainer process.
pub struct Worker {
    /// Its id.
    pub id: WorkerId,
    /// Its slot in the pool (a respawned trainer takes its predecessor's slot).
    pub slot: usize,
    /// Its process id.
    pub pid: u32,
    /// When it was spawned.
    pub spawned_at: Instant,
    child: Child,
    server_name: String,
    connected: bool,
    pump: Option<JoinHandle<PumpSummary>>,
}

impl Worker {
    /// Spawn trainer `id` in `slot`; its connection and events arrive in `inbox`.
    pub fn spawn(
        spec: &PoolSpec,
        id: WorkerId,
        slot: usize,
        inbox: Sender<Inbox>,
    ) -> std::io::Result<Worker> {
        // Start-up is measured from here (before the socket and the spawn) to the hello.
        let spawned_at = Instant::now();
        let (server, server_name) = IpcOneShotServer::<Event>::new()?;
        let mut cmd = Command::new(&spec.exe);
        cmd.arg("trainer")
            .arg("--connect")
            .arg(&server_name)
            .arg("--worker")
            .arg(id.to_string());
        cmd.arg("--parent").arg(std::process::id().to_string());
        if !spec.cores.is_empty() {
            cmd.arg("--core")
                .arg(spec.cores[slot % spec.cores.len()].to_string());
        }
        if let Some(m) = spec.memory {
            cmd.arg("--memory").arg(m.to_string());
        }
        // One thread of linear algebra per trainer: it owns one core.
        cmd.env("RAYON_NUM_THREADS", "1");
        // Stray prints from a model must not corrupt our stdout (JSON for notebooks): a trainer's
        // stdout and stderr both go into the pipe the pump reads.
        let (reader, writer) = std::io::pipe()?;
        cmd.stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer);
        cmd.process_group(0);
        let child = cmd.spawn()?;
        drop(cmd);
        let pid = child.id();

        let events = inbox.clone();
        std::thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || forward_events(id, server, events))?;
        let pump = std::thread::Builder::new()
            .name(format!("worker-{id}-log"))
            .spawn(move || pump_logs(id, reader))?;
        Ok(Worker {
            id,
            slot,
            pid,
            spawned_at,
            child,
            server_name,
            connected: false,
            pump: Some(pump),
        })
    }

    /// Note that the trainer connected (so reaping need not unblock its accept).
    pub fn set_connected(&mut self) {
        self.connected = true;
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

    /// Kill the trainer now (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Wait up to `grace` for the trainer to exit, then kill it; reap it and its log pump.
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
            // Its accept() would block forever: connect and hang up so the thread ends and the
            // server removes its socket directory.
            let _ = IpcSender::<Event>::connect(self.server_name.clone());
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
            if inbox
                .send(Inbox::Connected {
                    worker: id,
                    tasks,
                    pinned,
                })
                .is_err()
            {
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

const TAIL_LINES: usize = 8;

/// Re-emit a trainer's log lines through our tracing, tagged `worker = id`; keep raw lines
/// (panics, prints, native messages) as warnings.
fn pump_logs(id: WorkerId, reader: std::io::PipeReader) -> PumpSummary {
    let mut summary = PumpSummary::default();
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        if line.contains("memory allocation of") && line.contains("failed") {
            summary.out_of_memory = true;
        }
        let text = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v) if v.get("level").is_some() => {
                let level = v["level"].as_str().unwrap_or("INFO").to_string();
                let mut fields = v.get("fields").cloned().unwrap_or_default();
                let message = fields
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_string();
                if let Some(map) = fields.as_object_mut() {
                    map.remove("message");
                }
                let rest = fields
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                format!(
                                    "{k}={}",
                                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                match level.as_str() {
                    "ERROR" => tracing::error!(target: "trainer", worker = id, "{message} {rest}"),
                    "WARN" => tracing::warn!(target: "trainer", worker = id, "{message} {rest}"),
                    "INFO" => tracing::info!(target: "trainer", worker = id, "{message} {rest}"),
                    "DEBUG" => tracing::debug!(target: "trainer", worker = id, "{message} {rest}"),
                    _ => tracing::trace!(target: "trainer", worker = id, "{message} {rest}"),
                }
                format!("{message} {rest}").trim().to_string()
            }
            _ => {
                tracing::warn!(target: "trainer", worker = id, "{line}");
                line
            }
        };
        if summary.tail.len() == TAIL_LINES {
            summary.tail.remove(0);
        }
        summary.tail.push(text);
    }
    summary
}

/// A human description of how a trainer ended.
pub fn describe_exit(status: Option<ExitStatus>, summary: &PumpSummary) -> String {
    let how = match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(sig)) => format!("killed by signal {sig} ({})", signal_name(sig)),
            _ => "ended".to_string(),
        },
        None => "vanished".to_string(),
    };
    match summary.tail.last() {
        Some(last) => format!("trainer {how}; last output: {last}"),
        None => format!("trainer {how}"),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}
