//! The local backend: trainers are this binary's hidden `trainer` subcommand, started as
//! children of the orchestrator on this machine.

use std::path::PathBuf;
use std::process::Command;

use super::{Backend, Launch};

/// Trainers as child processes of this orchestrator.
#[derive(Debug, Clone)]
pub struct Local {
    /// The binary to run (this one).
    pub exe: PathBuf,
}

impl Local {
    /// The local backend running the current executable.
    pub fn current() -> std::io::Result<Local> {
        Ok(Local {
            exe: std::env::current_exe()?,
        })
    }
}

impl Backend for Local {
    fn trainer_command(&self, launch: &Launch) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("trainer")
            .arg("--worker")
            .arg(launch.worker.to_string())
            .arg("--parent")
            .arg(std::process::id().to_string());
        if !launch.cores.is_empty() {
            let list: Vec<String> = launch.cores.iter().map(usize::to_string).collect();
            cmd.arg("--cores").arg(list.join(","));
        }
        cmd.envs(launch.env.iter().map(|(k, v)| (k, v)));
        if let Some(m) = launch.memory {
            cmd.arg("--memory").arg(m.to_string());
        }
        // One thread of linear algebra per trainer: it owns one core.
        cmd.env("RAYON_NUM_THREADS", "1");
        cmd
    }
}
