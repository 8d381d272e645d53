//! One program trial: its directory, its process group, its output, its end.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipc_channel::ipc::IpcSender;
use serde_json::json;
use tracing::warn;

use super::lines::{Line, Reader, Reports};
use super::template::{self, Values};
use super::{Inbox, Msg};
use crate::protocol::{Event, FailureKind, ProgramSetup, Task, TrialTask, unix_now};
use crate::worker::{TrainerError, ipc_err};

/// How much of a program's stderr a failure message quotes.
const TAIL_BYTES: usize = 2000;
/// How long output readers get to finish after the group is killed (a descendant that left
/// the group can hold the pipes open forever).
const DRAIN: Duration = Duration::from_secs(2);
/// How often the loop wakes to escalate a stop.
const TICK: Duration = Duration::from_millis(50);

/// What every trial of the sweep shares.
pub(super) struct Context {
    pub setup: ProgramSetup,
    /// The thread that reads each program's output and waits for it.
    pub watcher: Sender<Watch>,
}

/// One program for the watcher: its process, its two streams, the run they belong to.
pub(super) struct Watch {
    child: std::process::Child,
    streams: [Stream; 2],
    run: u64,
}

/// The watcher's loop: one thread for the whole sweep reads every program's output and waits
/// for it, one program at a time (a thread started per trial was a noticeable share of a short
/// trial's cost). It ends when the sweep drops its sender.
pub(super) fn watcher(jobs: Receiver<Watch>, reader: Arc<Reader>, tx: Sender<Msg>) {
    let mut buf = vec![0u8; 64 * 1024];
    for job in jobs {
        watch(job, &mut buf, &reader, &tx);
    }
}

/// The files of one trial directory.
fn trial_dir(setup: &ProgramSetup, trial: u64) -> PathBuf {
    setup.study_dir.join("trials").join(trial.to_string())
}

fn failed(task: &TrialTask, kind: FailureKind, message: String) -> Event {
    Event::TrialFailed {
        trial: task.trial,
        attempt: task.attempt,
        kind,
        message,
        at: unix_now(),
        next_started: None,
    }
}

/// Run one trial to its end; the event to send, or None when it was sent already (a stop is
/// recorded before the program is killed).
pub(super) fn trial(
    ctx: &Context,
    task: &TrialTask,
    rx: &Receiver<Msg>,
    inbox: &mut Inbox,
    run: u64,
    events: &IpcSender<Event>,
) -> Result<Option<Event>, TrainerError> {
    let dir = trial_dir(&ctx.setup, task.trial);
    let started = match start(ctx, task, &dir, run, events) {
        Ok(s) => s,
        Err(message) => return Ok(Some(failed(task, FailureKind::Error, message))),
    };
    let Started {
        pgid,
        tail,
        mut record,
    } = started;
    let mut reports = Reports::default();
    let mut stopped = false;
    let mut kill_at: Option<Instant> = None;
    let mut open_streams = 2;
    let status = loop {
        let msg = match rx.recv_timeout(TICK) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break None,
        };
        if kill_at.is_some_and(|t| Instant::now() >= t) {
            kill_group(pgid, libc::SIGKILL);
            kill_at = None;
        }
        match msg {
            None => {}
            Some(Msg::Line { run: r, line }) if r == run => match line {
                Err(e) => warn!(
                    trial = task.trial,
                    "a malformed metric line was ignored: {e}"
                ),
                Ok(line) if !stopped => {
                    let Some(i) = note(line, &mut reports, &mut record) else {
                        continue;
                    };
                    let values = reports.points[i].clone();
                    let objective = values.get(&ctx.setup.objective).copied();
                    events
                        .send(Event::Report {
                            trial: task.trial,
                            attempt: task.attempt,
                            step: i as u32,
                            values,
                        })
                        .map_err(ipc_err)?;
                    // The pruner's rule, decided before the trial started, applies at every
                    // report point without a round trip.
                    if let (Some(rule), Some(v)) = (&task.stop, objective)
                        && rule.stops(i, v)
                    {
                        stop(task, &dir, pgid, &reports, events)?;
                        stopped = true;
                        kill_at = Some(Instant::now() + ctx.setup.grace);
                    }
                }
                Ok(_) => {}
            },
            Some(Msg::Eof { run: r }) if r == run => open_streams -= 1,
            Some(Msg::Exited { run: r, status }) if r == run => break Some(status),
            Some(Msg::Task(Task::StopTrial { trial, attempt }))
                if (trial, attempt) == (task.trial, task.attempt) && !stopped =>
            {
                stop(task, &dir, pgid, &reports, events)?;
                stopped = true;
                kill_at = Some(Instant::now() + ctx.setup.grace);
            }
            Some(Msg::Task(Task::StopTrial { trial, attempt }))
                if (trial, attempt) == (task.trial, task.attempt) => {}
            Some(Msg::Task(Task::StopTrial { trial, attempt })) => {
                inbox.stops.push((trial, attempt))
            }
            Some(Msg::Task(Task::Trial(t))) => inbox.queued.push_back(t),
            Some(Msg::Task(Task::Shutdown)) => {
                // Sent only when no trial is left to run: this one cannot matter any more.
                inbox.shutdown = true;
                kill_group(pgid, libc::SIGKILL);
            }
            Some(Msg::Task(_)) => {
                return Err(TrainerError::Protocol("a second setup arrived".into()));
            }
            Some(Msg::Hangup) => {
                // The orchestrator is gone: so is this trial.
                inbox.shutdown = true;
                kill_group(pgid, libc::SIGKILL);
            }
            Some(_) => {} // the tail of an earlier run
        }
    };
    if super::group::stopping() {
        // The trainer is being stopped and the program exited because it was told to: that is
        // no outcome of the trial (it is interrupted, to run again). The signal handler ends
        // this process once the group is gone or its grace is over.
        loop {
            std::thread::park();
        }
    }
    // Whatever the program left behind in its group goes with it.
    kill_group(pgid, libc::SIGKILL);
    super::group::set(0);
    if stopped {
        // The trial's end went out before its group was killed: say the group is gone. Any
        // other trial's end event, sent after this point, says it for the supervisor.
        let _ = events.send(Event::ProgramGroup { pgid: 0 });
    }
    let deadline = Instant::now() + DRAIN;
    while open_streams > 0 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Msg::Eof { run: r }) if r == run => open_streams -= 1,
            Ok(Msg::Line {
                run: r,
                line: Ok(line),
            }) if r == run && !stopped => {
                note(line, &mut reports, &mut record);
            }
            // A setup this late is ignored: the trial is over either way.
            Ok(other) => {
                inbox.keep(other);
            }
            Err(_) => break,
        }
    }
    let tail_text = tail
        .lock()
        .map(|t| String::from_utf8_lossy(&t).trim().to_string())
        .unwrap_or_default();
    let status = status.and_then(|s| s.ok());
    let (state, event) = if stopped {
        ("pruned", None)
    } else {
        outcome(ctx, task, status, &reports, &tail_text)
    };
    record["exit"] = json!({
        "state": state,
        "code": status.and_then(|s| s.code()),
        "signal": status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)),
        "status": status.map(describe).unwrap_or_else(|| "unknown".into()),
        "at": unix_now(),
    });
    let _ = rewrite(&dir.join(RECORD_FILE), &format!("{record:#}\n"));
    Ok(event)
}

/// Write `text` over the file at `path` in place. A new file would cost an inode allocation, the
/// dearest part of a short trial's bookkeeping; and truncating first would make ext4 flush the
/// file to disk on close (its guard against a crash leaving a rewritten file empty). The final
/// record only grows the first one, so the file is cut only if something else made it longer.
fn rewrite(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(_) => return std::fs::write(path, text),
    };
    f.write_all(text.as_bytes())?;
    let len = text.len() as u64;
    if f.metadata()?.len() > len {
        f.set_len(len)?;
    }
    Ok(())
}

/// Add a line to the reports and to the trial record's `metrics`; the report point it went to,
/// if any.
fn note(line: Line, reports: &mut Reports, record: &mut serde_json::Value) -> Option<usize> {
    let values = line.values.clone();
    let point = reports.add(line);
    let entry = match point {
        Some((i, step)) => json!({"point": i, "step": step, "values": values}),
        None => json!({"final": true, "values": values}),
    };
    if let Some(metrics) = record["metrics"].as_array_mut() {
        metrics.push(entry);
    }
    point.map(|(i, _)| i)
}

/// How the trial ended once its program exited on its own.
fn outcome(
    ctx: &Context,
    task: &TrialTask,
    status: Option<ExitStatus>,
    reports: &Reports,
    tail: &str,
) -> (&'static str, Option<Event>) {
    use std::os::unix::process::ExitStatusExt;
    let with_tail = |what: String| {
        if tail.is_empty() {
            what
        } else {
            format!("{what}; stderr ends with:\n{tail}")
        }
    };
    let Some(status) = status else {
        return (
            "failed",
            Some(failed(
                task,
                FailureKind::Error,
                "lost track of the program".into(),
            )),
        );
    };
    if status.signal().is_some() {
        return (
            "crashed",
            Some(failed(
                task,
                FailureKind::Crashed,
                with_tail(format!("the program was {}", describe(status))),
            )),
        );
    }
    if !status.success() {
        return (
            "failed",
            Some(failed(
                task,
                FailureKind::Error,
                with_tail(format!("the program {}", describe(status))),
            )),
        );
    }
    let finals = reports.finals();
    if !finals.contains_key(&ctx.setup.objective) {
        let said = if finals.is_empty() {
            "nothing".to_string()
        } else {
            finals.keys().cloned().collect::<Vec<_>>().join(", ")
        };
        return (
            "failed",
            Some(failed(
                task,
                FailureKind::Error,
                format!(
                    "the program exited with status 0 without reporting `{}` (it reported {said}); print a line like `cohort: {}=0.5`",
                    ctx.setup.objective, ctx.setup.objective
                ),
            )),
        );
    }
    (
        "complete",
        Some(Event::TrialFinished {
            trial: task.trial,
            attempt: task.attempt,
            folds: vec![finals],
            reports: Some(reports.points.clone()),
            at: unix_now(),
            next_started: None,
        }),
    )
}

/// Record the trial pruned, then ask its program to stop: the stop file, then SIGTERM to the
/// whole group (SIGKILL follows after the grace period).
fn stop(
    task: &TrialTask,
    dir: &Path,
    pgid: libc::pid_t,
    reports: &Reports,
    events: &IpcSender<Event>,
) -> Result<(), TrainerError> {
    let step = reports.points.len().checked_sub(1).map(|s| s as u32);
    events
        .send(Event::TrialPruned {
            trial: task.trial,
            attempt: task.attempt,
            step,
            folds: vec![reports.finals()],
            reports: Some(reports.points.clone()),
            at: unix_now(),
            next_started: None,
        })
        .map_err(ipc_err)?;
    let _ = std::fs::write(dir.join("stop"), b"pruned\n");
    kill_group(pgid, libc::SIGTERM);
    Ok(())
}

/// Signal a whole process group.
fn kill_group(pgid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill(2) on a negative pid signals that group; pgid is our child's, never 0 or 1.
    if pgid > 1 {
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// "exited with status 2", "killed by signal 9 (SIGKILL)".
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("killed by signal {s} ({})", signal_name(s)),
        _ => status.to_string(),
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGINT => "SIGINT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGHUP => "SIGHUP",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

/// The trial directory's record: the command, its environment and, once the program ended, the
/// metric lines it reported and its exit.
pub const RECORD_FILE: &str = "trial.json";
/// The files a trial directory may hold from an earlier attempt, removed before a new one (the
/// lazily created ones would otherwise show the earlier attempt's output).
const ATTEMPT_FILES: [&str; 3] = ["stop", "stdout.log", "stderr.log"];

/// A log file created on its first write, so a stream that stays silent costs no file.
struct LazyFile {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl LazyFile {
    fn new(path: PathBuf) -> LazyFile {
        LazyFile { path, file: None }
    }

    /// Append bytes, creating the file first if need be (a log that cannot be written is not a
    /// reason to fail the trial: its events still reach the store).
    fn write(&mut self, bytes: &[u8]) {
        if self.file.is_none() {
            self.file = std::fs::File::create(&self.path).ok();
        }
        if let Some(f) = &mut self.file {
            let _ = f.write_all(bytes);
        }
    }
}

/// A started trial: its group, its stderr tail, its record.
struct Started {
    pgid: libc::pid_t,
    tail: Arc<Mutex<Vec<u8>>>,
    record: serde_json::Value,
}

/// Write the trial directory and start the program in a process group of its own.
fn start(
    ctx: &Context,
    task: &TrialTask,
    dir: &Path,
    run: u64,
    events: &IpcSender<Event>,
) -> Result<Started, String> {
    let s = &ctx.setup;
    let io =
        |what: &str, e: std::io::Error| format!("cannot write {what} in {}: {e}", dir.display());
    // A directory made now is empty; one that was there holds an earlier attempt's files.
    let fresh = match std::fs::create_dir(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(_) => {
            std::fs::create_dir_all(dir).map_err(|e| io("the trial directory", e))?;
            true
        }
    };
    if !fresh {
        for f in ATTEMPT_FILES {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    let stop_file = dir.join("stop");
    let params_file = dir.join("params.json");
    let params = serde_json::to_string_pretty(&task.params).map_err(|e| e.to_string())?;
    std::fs::write(&params_file, params + "\n").map_err(|e| io("params.json", e))?;
    let seed = template::trial_seed(s.seed, task.trial);
    let dir_text = dir.display().to_string();
    let argv = template::expand(
        &s.command,
        &Values {
            params: &task.params,
            styles: &s.bool_styles,
            trial: task.trial,
            trial_dir: &dir_text,
            seed,
        },
    )
    .map_err(|e| format!("program.command[{}]: {e}", e.index))?;
    let mut env: Vec<(String, String)> = vec![("PYTHONUNBUFFERED".into(), "1".into())];
    let threads = s.threads.to_string();
    for v in [
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "RAYON_NUM_THREADS",
    ] {
        env.push((v.into(), threads.clone()));
    }
    env.extend([
        ("COHORT_TRIAL".into(), task.trial.to_string()),
        ("COHORT_ATTEMPT".into(), task.attempt.to_string()),
        ("COHORT_TRIAL_DIR".into(), dir_text.clone()),
        ("COHORT_STUDY_DIR".into(), s.study_dir.display().to_string()),
        ("COHORT_SEED".into(), seed.to_string()),
        (
            "COHORT_PARAMS_FILE".into(),
            params_file.display().to_string(),
        ),
        ("COHORT_STOP_FILE".into(), stop_file.display().to_string()),
    ]);
    for (name, v) in &task.params {
        env.push((
            template::env_name(name),
            template::encode(v, s.bool_styles.get(name)),
        ));
    }
    // The user's variables win.
    env.extend(s.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let record = json!({
        "argv": argv,
        "cwd": s.cwd,
        "env": env.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        "attempt": task.attempt,
        "metrics": [],
    });
    std::fs::write(dir.join(RECORD_FILE), format!("{record:#}\n"))
        .map_err(|e| io(RECORD_FILE, e))?;
    let out_log = LazyFile::new(dir.join("stdout.log"));
    let err_log = LazyFile::new(dir.join("stderr.log"));

    let Some((program, args)) = argv.split_first() else {
        return Err("program.command is empty".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(&s.cwd)
        .envs(env)
        .env_remove(crate::fault::ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    {
        use std::os::unix::process::CommandExt;
        // Its own group, so a stop reaches every descendant (see `group`). No pre-exec hook:
        // this spawn is a posix_spawn, which does not copy the trainer's page tables.
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let pgid = child.id() as libc::pid_t;
    super::group::set(pgid);
    // The supervisor kills the group if this trainer is killed outright.
    let _ = events.send(Event::ProgramGroup { pgid });
    let tail = Arc::new(Mutex::new(Vec::new()));
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        kill_group(pgid, libc::SIGKILL);
        let _ = child.wait();
        return Err("the program's output pipes are missing".into());
    };
    let streams = [
        Stream::new(out, out_log, None),
        Stream::new(err, err_log, Some(tail.clone())),
    ];
    if let Err(mut lost) = ctx.watcher.send(Watch {
        child,
        streams,
        run,
    }) {
        kill_group(pgid, libc::SIGKILL);
        let _ = lost.0.child.wait();
        return Err("the program watcher has ended".into());
    }
    Ok(Started { pgid, tail, record })
}

/// One of a program's output streams, as it is read.
struct Stream {
    src: Box<dyn Read + Send>,
    fd: std::os::fd::RawFd,
    log: LazyFile,
    /// The bytes after the last line end.
    pending: Vec<u8>,
    /// Where the last bytes are kept (stderr, for a failure's message).
    tail: Option<Arc<Mutex<Vec<u8>>>>,
    open: bool,
}

impl Stream {
    fn new<R: Read + Send + std::os::fd::AsRawFd + 'static>(
        src: R,
        log: LazyFile,
        tail: Option<Arc<Mutex<Vec<u8>>>>,
    ) -> Stream {
        Stream {
            fd: src.as_raw_fd(),
            src: Box::new(src),
            log,
            pending: Vec::new(),
            tail,
            open: true,
        }
    }

    /// Read what is there: copy it to the log, keep the tail, hand on each whole line (a `\r`,
    /// as tqdm writes, ends a line too). Closes the stream at its end.
    fn read(&mut self, buf: &mut [u8], reader: &Reader, tx: &Sender<Msg>, run: u64) {
        let n = match self.src.read(buf) {
            Ok(0) | Err(_) => {
                self.open = false;
                let rest = std::mem::take(&mut self.pending);
                send_line(&rest, reader, tx, run);
                let _ = tx.send(Msg::Eof { run });
                return;
            }
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        self.log.write(chunk);
        if let Some(t) = &self.tail
            && let Ok(mut t) = t.lock()
        {
            t.extend_from_slice(chunk);
            let excess = t.len().saturating_sub(TAIL_BYTES);
            t.drain(..excess);
        }
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        for i in 0..self.pending.len() {
            if self.pending[i] == b'\n' || self.pending[i] == b'\r' {
                send_line(&self.pending[start..i], reader, tx, run);
                start = i + 1;
            }
        }
        self.pending.drain(..start);
    }
}

/// Hand on one line if it is a metric line.
fn send_line(line: &[u8], reader: &Reader, tx: &Sender<Msg>, run: u64) {
    if line.is_empty() {
        return;
    }
    if let Some(line) = reader.read(&String::from_utf8_lossy(line)) {
        let _ = tx.send(Msg::Line { run, line });
    }
}

/// How often the reader looks whether the program has exited while a descendant that left its
/// group holds the pipes open.
const WATCH: i32 = 20;

/// Read both streams as they come and say when the program has exited, even if something else
/// still holds its pipes open.
fn watch(job: Watch, buf: &mut [u8], reader: &Reader, tx: &Sender<Msg>) {
    let Watch {
        mut child,
        mut streams,
        run,
    } = job;
    let mut exited = false;
    while streams.iter().any(|s| s.open) {
        let mut fds: Vec<libc::pollfd> = streams
            .iter()
            .filter(|s| s.open)
            .map(|s| libc::pollfd {
                fd: s.fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: poll reads and writes the pollfd array we own, of the length we pass.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, WATCH) };
        if ready > 0 {
            for p in fds.iter().filter(|p| p.revents != 0) {
                if let Some(s) = streams.iter_mut().find(|s| s.open && s.fd == p.fd) {
                    s.read(buf, reader, tx, run);
                }
            }
        }
        if !exited && let Ok(Some(status)) = child.try_wait() {
            exited = true;
            let _ = tx.send(Msg::Exited {
                run,
                status: Ok(status),
            });
        }
    }
    if !exited {
        let status = child.wait();
        let _ = tx.send(Msg::Exited { run, status });
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn a_rewritten_record_holds_exactly_the_new_text_longer_or_shorter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trial.json");
        std::fs::write(&path, "{\"argv\": []}\n").unwrap();
        rewrite(&path, "{\"argv\": [], \"exit\": {\"code\": 0}}\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"argv\": [], \"exit\": {\"code\": 0}}\n"
        );
        rewrite(&path, "{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
    }

    #[test]
    fn a_record_removed_while_its_trial_ran_is_written_anew() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trial.json");
        rewrite(&path, "{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
    }
}
