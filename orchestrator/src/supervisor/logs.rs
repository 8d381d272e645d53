//! A trainer's output: JSON log lines re-emitted through our tracing tagged with the worker id,
//! the tail kept for the message of a crash, and a human description of how it ended.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
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

/// Re-emit a trainer's log lines through our tracing, tagged `worker = id`; keep raw lines
/// (panics, prints, native messages) as warnings.
pub(super) fn pump_logs(id: WorkerId, reader: std::io::PipeReader) -> PumpSummary {
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
