//! The Slurm backend: a study submitted with `sbatch` as an array job, one task per node.
//!
//! Slurm is the engine: it allocates, places, enforces time limits, requeues and cancels;
//! cohort writes the batch script (`script`) and reads the job's state (`commands`). Each array
//! task runs the same local supervisor as `cohort sweep` (`node`), on its share of the trials
//! (`plan`), writing its own store in the study directory; readers merge the stores. Nothing
//! runs across machines but Slurm's own daemons, and no port is opened.

mod commands;
mod node;
mod plan;
mod script;

pub use commands::SlurmError;
pub use node::run_task;
pub use plan::{JobRecord, Plan, jobs};

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use tracing::info;

use crate::config::SlurmSpec;
use crate::error::BadInput;
use crate::store::{TrialRecord, merge, now};
use crate::sweep::{self, SweepOptions};
use plan::{SLURM_DIR, record_job, write_atomic};
use script::Script;

/// The `cohort sweep --backend slurm` flags (each overrides the `[slurm]` table).
#[derive(Debug, Clone, Default)]
pub struct SlurmFlags {
    /// `--nodes`.
    pub nodes: Option<NonZeroU32>,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`.
    pub time: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--mem`.
    pub mem: Option<String>,
    /// `--signal`.
    pub signal: Option<String>,
}

impl SlurmFlags {
    /// The config's settings with these flags over them, checked like the config's.
    fn over(&self, spec: &SlurmSpec) -> Result<SlurmSpec> {
        let bad = |flag: &str, m: String| BadInput::new(anyhow::anyhow!("--{flag}: {m}"));
        use crate::config::{check_mem, check_time};
        if let Some(t) = &self.time {
            check_time(t).map_err(|m| bad("time", m))?;
        }
        if let Some(m) = &self.mem {
            check_mem(m).map_err(|m| bad("mem", m))?;
        }
        for (flag, v) in [
            ("partition", &self.partition),
            ("account", &self.account),
            ("signal", &self.signal),
        ] {
            if let Some(v) = v
                && (v.is_empty()
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.,:@".contains(c)))
            {
                return Err(bad(flag, format!("unexpected characters in {v:?}")).into());
            }
        }
        let pick = |flag: &Option<String>, conf: &Option<String>| flag.clone().or(conf.clone());
        Ok(SlurmSpec {
            partition: pick(&self.partition, &spec.partition),
            time: pick(&self.time, &spec.time),
            account: pick(&self.account, &spec.account),
            mem: pick(&self.mem, &spec.mem),
            nodes: self.nodes.or(spec.nodes),
            signal: pick(&self.signal, &spec.signal),
            ..spec.clone()
        })
    }
}

/// What a submission did.
pub enum Submitted {
    /// Every trial was final already: nothing was submitted.
    Nothing {
        /// The study directory.
        dir: PathBuf,
        /// Trials in all.
        total: u64,
    },
    /// A job was submitted.
    Job {
        /// The study directory.
        dir: PathBuf,
        /// Its record (id, tasks, trials).
        record: JobRecord,
        /// Trials in all.
        total: u64,
    },
}

/// Live (pending or running) tasks of the study's last job, with the job id.
fn live_job(dir: &Path) -> Result<Option<(String, Vec<commands::TaskState>)>, SlurmError> {
    let Some(last) = jobs(dir).pop() else {
        return Ok(None);
    };
    let live = commands::squeue(&last.job)?;
    Ok((!live.is_empty()).then_some((last.job, live)))
}

/// Linux filesystem magic numbers of network and cluster filesystems (statfs(2)).
const SHARED_FS: [i64; 14] = [
    0x6969,                 // NFS
    0x517B,                 // SMB
    0xFF53_4D42_u32 as i64, // CIFS
    0xFE53_4D42_u32 as i64, // SMB2
    0x0BD0_0BD0,            // Lustre
    0x4750_4653,            // GPFS
    0x1983_0326,            // BeeGFS
    0x00C3_6400,            // CephFS
    0x6573_5546,            // FUSE (sshfs, many cluster filesystems)
    0x5346_414F,            // AFS
    0xAAD7_AAEA_u32 as i64, // PanFS
    0x0102_1997,            // 9P
    0x7461_636F,            // OCFS2
    0x0116_1970,            // GFS2
];

/// The filesystem type of `path` (statfs's magic number).
fn fs_type(path: &Path) -> Option<i64> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statfs fills the zeroed struct we own from a valid C string.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        (libc::statfs(c.as_ptr(), &mut st) == 0).then_some(st.f_type as i64)
    }
}

/// Names this machine answers to.
fn this_host() -> Vec<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim().to_string();
    let short = name.split('.').next().unwrap_or("").to_string();
    vec![name, short, "localhost".into(), "127.0.0.1".into()]
}

/// Why a study directory on a filesystem of type `kind` cannot be seen by nodes on `hosts`
/// from this machine (`here`: its names), or None when it can: a network filesystem, or
/// nodes that are all this machine.
fn unseen_by_nodes(kind: i64, hosts: &[String], here: &[String]) -> Option<String> {
    if SHARED_FS.contains(&kind) {
        return None;
    }
    let elsewhere: Vec<&str> = hosts
        .iter()
        .filter(|h| !here.contains(h))
        .map(String::as_str)
        .collect();
    (!elsewhere.is_empty()).then(|| {
        format!(
            "the study directory is on a filesystem of this machine only (type {kind:#x}, not a network filesystem), but Slurm's nodes {} are other machines and could not see it; put the study on a shared filesystem (--study-dir)",
            elsewhere.join(", ")
        )
    })
}

/// Refuse a study directory the partition's nodes cannot see, where that can be told (when
/// Slurm cannot say where its nodes are, nothing is refused).
fn check_visible(dir: &Path, partition: Option<&str>) -> Result<()> {
    let Some(kind) = fs_type(dir) else {
        return Ok(());
    };
    let Ok(hosts) = commands::node_hosts(partition) else {
        return Ok(());
    };
    match unseen_by_nodes(kind, &hosts, &this_host()) {
        None => Ok(()),
        Some(why) => Err(BadInput::new(anyhow::anyhow!("{}: {why}", dir.display())).into()),
    }
}

/// `cohort sweep CONFIG --backend slurm`: submit the study's unfinished trials as an array job.
pub fn submit(config: &Path, opts: &SweepOptions, flags: &SlurmFlags) -> Result<Submitted> {
    // Before anything is written: Slurm's client must be here.
    commands::run("sbatch", &["--version"], None).map_err(BadInput::new)?;
    // A study whose job is still live is refused before its directory is opened for writing.
    let named = opts.study_dir.clone().or_else(|| {
        crate::config::StudyConfig::load(config)
            .ok()
            .map(|c| Path::new("runs").join(c.name))
    });
    if let Some(dir) = named
        && let Some((job, live)) = live_job(&dir).map_err(BadInput::new)?
    {
        let states: Vec<String> = live.iter().map(|t| t.state.clone()).collect();
        return Err(BadInput::new(anyhow::anyhow!(
            "{}: Slurm job {job} of this study is still live ({}); wait for it, or stop it with `cohort cancel {}`",
            dir.display(),
            states.join(", "),
            dir.display()
        ))
        .into());
    }
    let prepared = sweep::prepare(config, opts, false)?;
    // Nodes read this store from other machines: no WAL (its index is one machine's memory).
    prepared.store.use_rollback_journal()?;
    let spec = flags.over(&prepared.cfg.slurm)?;
    let dir = std::path::absolute(&prepared.dir).unwrap_or_else(|_| prepared.dir.clone());
    let created = !prepared.resumed;
    // A refused submission of a new study leaves no directory behind.
    let undo = |e: anyhow::Error| {
        if created {
            let _ = std::fs::remove_dir_all(&dir);
        }
        e
    };
    let result = (|| -> Result<Submitted> {
        check_visible(&dir, spec.partition.as_deref())?;
        let trials: Vec<TrialRecord> = merge::study_trials(&dir)?;
        let total = sweep::total_trials(&prepared.cfg);
        let finals = trials.iter().filter(|t| t.state.is_final()).count() as u64;
        let left = total.saturating_sub(finals);
        if left == 0 {
            return Ok(Submitted::Nothing {
                dir: dir.clone(),
                total,
            });
        }
        let pending: Vec<u64> = trials
            .iter()
            .filter(|t| !t.state.is_final())
            .map(|t| t.trial)
            .collect();
        let wanted = spec.nodes.map_or(1, NonZeroU32::get);
        let nodes = wanted.min(u32::try_from(left).unwrap_or(u32::MAX)).max(1);
        let submission = jobs(&dir).last().map_or(1, |j| j.submission + 1);
        let slurm_dir = dir.join(SLURM_DIR);
        std::fs::create_dir_all(&slurm_dir)
            .with_context(|| format!("creating {}", slurm_dir.display()))?;
        let plan = Plan {
            submission,
            nodes,
            pending,
        };
        let plan_path = Plan::path(&dir, submission);
        write_atomic(&plan_path, &serde_json::to_string_pretty(&plan)?)
            .with_context(|| format!("writing {}", plan_path.display()))?;
        let exe = std::env::current_exe().context("locating the cohort binary")?;
        let cwd = std::env::current_dir().context("reading the working directory")?;
        let text = Script {
            name: &prepared.cfg.name,
            dir: &dir,
            submission,
            nodes,
            spec: &spec,
            exe: &exe,
            cwd: &cwd,
            plan: &plan_path,
        }
        .text();
        let script_path = slurm_dir.join(format!("submit-{submission}.sh"));
        write_atomic(&script_path, &text)
            .with_context(|| format!("writing {}", script_path.display()))?;
        let job = match commands::sbatch(&script_path) {
            Ok(job) => job,
            Err(e) => {
                let _ = std::fs::remove_file(&plan_path);
                let _ = std::fs::remove_file(&script_path);
                return Err(BadInput::new(e).into());
            }
        };
        let record = JobRecord {
            job,
            submission,
            nodes,
            trials: left,
            submitted_at: now(),
        };
        record_job(&dir, record.clone())
            .with_context(|| format!("recording job {} in {}", record.job, slurm_dir.display()))?;
        info!(job = %record.job, nodes, trials = left, script = %script_path.display(), "submitted");
        Ok(Submitted::Job {
            dir: dir.clone(),
            record,
            total,
        })
    })();
    let mut store = prepared.store;
    if let Ok(Submitted::Job { record, .. }) = &result {
        store.set_meta("status", "submitted")?;
        store.set_meta("slurm_job", &record.job)?;
        store.commit()?;
    }
    drop(store);
    drop(prepared.lock);
    result.map_err(undo)
}

/// Wait until the study's last job has no pending or running task (Ctrl-C stops waiting,
/// not the job); false when interrupted.
pub fn wait(dir: &Path) -> Result<bool> {
    let mut last_states = String::new();
    loop {
        if crate::supervisor::signals::received() > 0 {
            return Ok(false);
        }
        let Some((job, live)) = live_job(dir)? else {
            return Ok(true);
        };
        let states: Vec<String> = live
            .iter()
            .map(|t| format!("{} {}", t.task.as_deref().unwrap_or("-"), t.state))
            .collect();
        let states = states.join(", ");
        if states != last_states {
            info!("job {job}: {states}");
            last_states = states;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Where a submitted study stands, from its last job and its node stores (None: never
/// submitted): what `cohort status` shows instead of the stored `submitted`.
pub fn study_state(dir: &Path) -> Option<String> {
    let last = jobs(dir).pop()?;
    match commands::squeue(&last.job) {
        Ok(live) if live.iter().any(|t| t.state == "RUNNING") => {
            return Some(format!("running on Slurm (job {})", last.job));
        }
        Ok(live) if !live.is_empty() => {
            return Some(format!("waiting in Slurm's queue (job {})", last.job));
        }
        _ => {}
    }
    let finished = merge::node_dirs(dir).iter().all(|(_, node)| {
        crate::store::Store::open_readonly(node)
            .and_then(|s| s.meta())
            .is_ok_and(|m| m.get("status").map(String::as_str) == Some("finished"))
    });
    Some(if finished {
        "finished".to_string()
    } else {
        format!(
            "stopped (job {} ended before every trial did: run the same `cohort sweep --backend slurm` to go on)",
            last.job
        )
    })
}

/// The Slurm lines of `cohort status` (None: the study was never submitted).
pub fn status_text(dir: &Path) -> Option<String> {
    let all = jobs(dir);
    let last = all.last()?;
    let mut text = format!(
        "slurm: job {} (submission {}, {} array tasks, {} trials to run)\n",
        last.job, last.submission, last.nodes, last.trials
    );
    let states = match commands::squeue(&last.job) {
        Ok(live) if !live.is_empty() => Ok(live),
        // Finished tasks are gone from squeue; scontrol remembers them a while.
        Ok(_) => commands::scontrol_tasks(&last.job),
        Err(e) => Err(e),
    };
    match states {
        Ok(tasks) if !tasks.is_empty() => {
            for t in tasks {
                text.push_str(&format!(
                    "  task {}: {} {}\n",
                    t.task.as_deref().unwrap_or("-"),
                    t.state,
                    t.place
                ));
            }
        }
        Ok(_) => text.push_str("  Slurm no longer lists the job (it ended)\n"),
        Err(e) => text.push_str(&format!("  Slurm's state unavailable: {e}\n")),
    }
    for (task, node) in merge::node_dirs(dir) {
        if let Ok(meta) = crate::store::Store::open_readonly(&node).and_then(|s| s.meta()) {
            text.push_str(&format!(
                "  node store {task}: {} (job {})\n",
                meta.get("status").map_or("?", String::as_str),
                meta.get("slurm_job").map_or("?", String::as_str)
            ));
        }
    }
    Some(text)
}

/// `cohort cancel DIR`: cancel the study's last job with scancel; the job id.
pub fn cancel(dir: &Path) -> Result<String> {
    if !dir.join(crate::store::DB_FILE).is_file() {
        return Err(BadInput::new(crate::store::StoreError::NotAStudy(dir.to_path_buf())).into());
    }
    let Some(last) = jobs(dir).pop() else {
        return Err(BadInput::new(anyhow::anyhow!(
            "{}: no Slurm job was submitted for this study",
            dir.display()
        ))
        .into());
    };
    commands::scancel(&last.job)?;
    Ok(last.job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_study_directory_is_refused_only_when_nodes_are_other_machines() {
        let here = vec!["login1".to_string(), "localhost".to_string()];
        let ext4 = 0xEF53;
        let nodes = vec!["node01".to_string(), "node02".to_string()];
        let why = unseen_by_nodes(ext4, &nodes, &here).expect("refused");
        assert!(why.contains("node01, node02"), "{why}");
        assert_eq!(
            unseen_by_nodes(0x6969, &nodes, &here),
            None,
            "NFS is shared"
        );
        assert_eq!(
            unseen_by_nodes(ext4, &["localhost".to_string()], &here),
            None,
            "nodes on this machine see its disks"
        );
    }
}
