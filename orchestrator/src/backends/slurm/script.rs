//! The batch script cohort submits: one array task per node, each `exec`ing this binary's
//! hidden `slurm-task` subcommand, which runs the node's share of the study with a local
//! trainer pool.

use std::path::Path;

use crate::config::SlurmSpec;

/// Slurm's warning before the time limit when none is configured: SIGUSR1 to the batch shell
/// (which is cohort itself) a minute ahead, time to stop trials and record them interrupted.
pub const DEFAULT_SIGNAL: &str = "B:USR1@60";

/// A `--signal` value that reaches the batch shell (cohort itself): without `B:` Slurm signals
/// only job steps, and the task runs none.
fn to_batch_shell(signal: &str) -> String {
    match signal.split_once(':') {
        Some((flags, rest)) if flags.contains('B') => format!("{flags}:{rest}"),
        Some((flags, rest)) if flags.chars().all(|c| c == 'R') => format!("{flags}B:{rest}"),
        _ => format!("B:{signal}"),
    }
}

/// Shell-quote `s` (single quotes).
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What goes into one batch script.
pub struct Script<'a> {
    /// The study's name (the job's name).
    pub name: &'a str,
    /// The study directory (absolute).
    pub dir: &'a Path,
    /// The submission's number.
    pub submission: u32,
    /// Array tasks.
    pub nodes: u32,
    /// The settings (flags over the `[slurm]` table).
    pub spec: &'a SlurmSpec,
    /// The cohort binary the nodes run (absolute).
    pub exe: &'a Path,
    /// The working directory the job starts in.
    pub cwd: &'a Path,
    /// The plan file (absolute).
    pub plan: &'a Path,
}

impl Script<'_> {
    /// The script's text.
    pub fn text(&self) -> String {
        let s = self.spec;
        let out = self.dir.join(super::plan::SLURM_DIR).join("%A_%a.out");
        let mut lines = vec![
            "#!/bin/bash".to_string(),
            format!(
                "# cohort study {} (submission {}): one array task per node, each running its share",
                self.name, self.submission
            ),
            "# of the trials with a local trainer pool sized to the node's allocation.".into(),
            format!("#SBATCH --job-name=cohort-{}", self.name),
            format!("#SBATCH --array=0-{}", self.nodes.saturating_sub(1)),
            "#SBATCH --nodes=1".into(),
            "#SBATCH --ntasks=1".into(),
        ];
        lines.push(match s.cpus {
            Some(c) => format!("#SBATCH --cpus-per-task={c}"),
            None => "#SBATCH --exclusive".into(),
        });
        for (flag, value) in [
            ("partition", &s.partition),
            ("time", &s.time),
            ("account", &s.account),
            ("mem", &s.mem),
        ] {
            if let Some(v) = value {
                lines.push(format!("#SBATCH --{flag}={v}"));
            }
        }
        lines.push(format!(
            "#SBATCH --signal={}",
            to_batch_shell(s.signal.as_deref().unwrap_or(DEFAULT_SIGNAL))
        ));
        lines.push("#SBATCH --requeue".into());
        lines.push("#SBATCH --open-mode=append".into());
        lines.push(format!("#SBATCH --output={}", out.display()));
        lines.push(format!("#SBATCH --chdir={}", self.cwd.display()));
        lines.extend(s.extra.iter().map(|l| format!("#SBATCH {l}")));
        lines.push(String::new());
        lines.push(format!(
            "exec {} slurm-task {} --plan {}",
            quote(&self.exe.to_string_lossy()),
            quote(&self.dir.to_string_lossy()),
            quote(&self.plan.to_string_lossy())
        ));
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_asks_for_one_node_per_array_task_with_the_settings_given() {
        let spec = SlurmSpec {
            partition: Some("gpu".into()),
            time: Some("01:00:00".into()),
            extra: vec!["--qos=high".into()],
            ..SlurmSpec::default()
        };
        let text = Script {
            name: "s",
            dir: Path::new("/shared/runs/s"),
            submission: 1,
            nodes: 4,
            spec: &spec,
            exe: Path::new("/opt/cohort"),
            cwd: Path::new("/home/me"),
            plan: Path::new("/shared/runs/s/slurm/plan-1.json"),
        }
        .text();
        for line in [
            "#SBATCH --array=0-3",
            "#SBATCH --exclusive",
            "#SBATCH --partition=gpu",
            "#SBATCH --time=01:00:00",
            "#SBATCH --signal=B:USR1@60",
            "#SBATCH --qos=high",
            "exec /opt/cohort slurm-task /shared/runs/s --plan /shared/runs/s/slurm/plan-1.json",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(!text.contains("--account"), "{text}");
    }

    #[test]
    fn the_warning_signal_always_reaches_the_batch_shell() {
        assert_eq!(to_batch_shell("TERM@120"), "B:TERM@120");
        assert_eq!(to_batch_shell("B:USR1@60"), "B:USR1@60");
        assert_eq!(to_batch_shell("R:USR1@60"), "RB:USR1@60");
    }

    #[test]
    fn paths_with_spaces_are_quoted() {
        assert_eq!(quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(quote("/a/b"), "/a/b");
    }
}
