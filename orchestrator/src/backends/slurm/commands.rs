//! Slurm's client commands: `sbatch`, `squeue`, `scontrol`, `scancel`, `sinfo`. Their own words
//! are kept in every error.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Why a Slurm command failed.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// The command could not be started (not installed, not on the PATH).
    #[error(
        "cannot run `{command}`: {error}; --backend slurm needs Slurm's client commands (sbatch, squeue, scancel) on the PATH"
    )]
    Missing {
        /// The command.
        command: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// The command ran and refused.
    #[error("{command} failed: {words}")]
    Refused {
        /// The command.
        command: String,
        /// What it said on stderr (or stdout).
        words: String,
    },
}

/// Run `program args…` (stdin from `input`), its stdout on success, Slurm's words on failure.
pub fn run(program: &str, args: &[&str], input: Option<&str>) -> Result<String, SlurmError> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let missing = |error| SlurmError::Missing {
        command: program.to_string(),
        error,
    };
    let mut child = cmd.spawn().map_err(missing)?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(missing)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let words = if stderr.trim().is_empty() {
        stdout.trim().to_string()
    } else {
        stderr.trim().to_string()
    };
    Err(SlurmError::Refused {
        command: format!("{program} {}", args.join(" ")).trim().to_string(),
        words: if words.is_empty() {
            format!("exit status {}", out.status)
        } else {
            words
        },
    })
}

/// Submit the batch script at `script`; the job id.
pub fn sbatch(script: &Path) -> Result<String, SlurmError> {
    let out = run("sbatch", &["--parsable", &script.to_string_lossy()], None)?;
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let id = out.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SlurmError::Refused {
            command: "sbatch".into(),
            words: format!("unexpected answer {:?}", out.trim()),
        });
    }
    Ok(id)
}

/// One array task of a job as Slurm reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskState {
    /// The array task (None: the job as a whole, e.g. pending tasks not yet split out).
    pub task: Option<String>,
    /// Slurm's state name (PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, ...).
    pub state: String,
    /// Where it runs, or why it waits.
    pub place: String,
}

/// The live (pending or running) array tasks of `job`, from `squeue`; empty when none.
pub fn squeue(job: &str) -> Result<Vec<TaskState>, SlurmError> {
    // A job Slurm has forgotten is an error for squeue: then nothing of it is live.
    let out = match run(
        "squeue",
        &["-h", "-r", "-j", job, "-o", "%K|%T|%N|%r"],
        None,
    ) {
        Ok(out) => out,
        Err(SlurmError::Refused { words, .. }) if words.contains("Invalid job id") => String::new(),
        Err(e) => return Err(e),
    };
    Ok(out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let (task, state, nodes, reason) = (f.first()?, f.get(1)?, f.get(2)?, f.get(3)?);
            Some(TaskState {
                task: (!task.is_empty() && *task != "N/A").then(|| task.to_string()),
                state: state.to_string(),
                place: if nodes.is_empty() {
                    format!("({reason})")
                } else {
                    format!("on {nodes}")
                },
            })
        })
        .collect())
}

/// Every array task of `job` Slurm still remembers (finished ones too), from `scontrol`.
pub fn scontrol_tasks(job: &str) -> Result<Vec<TaskState>, SlurmError> {
    let out = run("scontrol", &["-o", "show", "job", job], None)?;
    Ok(out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let field = |key: &str| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix(key))
                    .unwrap_or("")
                    .to_string()
            };
            let reason = field("Reason=");
            let nodes = field("NodeList=");
            TaskState {
                task: Some(field("ArrayTaskId=")).filter(|t| !t.is_empty()),
                state: field("JobState="),
                place: if nodes.is_empty() || nodes == "(null)" {
                    format!("({reason})")
                } else {
                    format!("on {nodes}, exit {}", field("ExitCode="))
                },
            }
        })
        .collect())
}

/// The host names of the nodes of `partition` (every node without one).
pub fn node_hosts(partition: Option<&str>) -> Result<Vec<String>, SlurmError> {
    let mut args = vec!["-h", "-N", "-o", "%n"];
    if let Some(p) = partition {
        args.extend(["-p", p]);
    }
    let out = run("sinfo", &args, None)?;
    let mut hosts: Vec<String> = out.lines().map(|l| l.trim().to_string()).collect();
    hosts.retain(|h| !h.is_empty());
    hosts.sort();
    hosts.dedup();
    Ok(hosts)
}

/// Cancel `job` (every array task).
pub fn scancel(job: &str) -> Result<(), SlurmError> {
    run("scancel", &[job], None).map(|_| ())
}
