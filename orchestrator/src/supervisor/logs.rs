//! A trainer's output: JSON log lines re-emitted through our tracing tagged with the worker id,
//! lines logged during a trial filed in that trial's log in the study directory, the tail kept
//! for the message of a crash, and a human description of how it ended.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use super::worker::WorkerId;

/// What the log pump saw in a trainer's output.
#[derive(Debug, Default)]
pub struct PumpSummary {
    /// An allocation failed: the trainer hit its memory cap.
    pub out_of_memory: bool,
    /// The last lines it printed (for the error message of a crash).
    pub tail: Vec<String>,
}

const TAIL_LINES: usize = 8;

/// The file of a trial's trainer log lines: `DIR/trials/TRIAL/trainer.log`.
pub const TRIAL_LOG_FILE: &str = "trainer.log";

/// Where a study files the trainer log lines of each trial (those the trainer logged inside
/// the trial, which its JSON lines tag with the trial's number).
#[derive(Debug, Clone)]
pub struct TrialLogs {
    study_dir: PathBuf,
}

impl TrialLogs {
    /// The trial logs of the study in `study_dir`.
    pub fn new(study_dir: &Path) -> TrialLogs {
        TrialLogs {
            study_dir: study_dir.to_path_buf(),
        }
    }

    /// The log file of `trial` in the study in `study_dir`.
    pub fn path(study_dir: &Path, trial: u64) -> PathBuf {
        study_dir
            .join("trials")
            .join(trial.to_string())
            .join(TRIAL_LOG_FILE)
    }

    /// Append one line to `trial`'s log (created with its directory on the first line).
    fn append(&self, trial: u64, line: &str) -> std::io::Result<()> {
        let path = TrialLogs::path(&self.study_dir, trial);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        // One write per line: lines of two attempts on two workers never interleave mid-line.
        f.write_all(format!("{line}\n").as_bytes())
    }
}

/// Re-emit a trainer's log lines through our tracing, tagged `worker = id`; keep raw lines
/// (panics, prints, native messages) as warnings. Lines tagged with a trial also go to that
/// trial's log when `trial_logs` is set.
pub(super) fn pump_logs(
    id: WorkerId,
    reader: std::io::PipeReader,
    trial_logs: Option<TrialLogs>,
) -> PumpSummary {
    let mut summary = PumpSummary::default();
    let mut file_warned = false;
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
                if let (Some(logs), Some(trial)) = (&trial_logs, v["span"]["trial"].as_u64()) {
                    let line = format!(
                        "{} {level:>5} worker={id} attempt={} {message} {rest}",
                        v["timestamp"].as_str().unwrap_or("-"),
                        v["span"]["attempt"]
                    );
                    if let Err(e) = logs.append(trial, line.trim_end())
                        && !file_warned
                    {
                        file_warned = true;
                        tracing::warn!(worker = id, trial, "cannot write the trial's log: {e}");
                    }
                }
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
