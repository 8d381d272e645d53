//! Inside an array task: run this node's share of the study with the local supervisor, into
//! the node's own store (`nodes/<task>/study.db`), while reading the other nodes' stores for
//! the results later batches need.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use tracing::{info, warn};

use super::plan::Plan;
use crate::error::BadInput;
use crate::store::lock::StudyLock;
use crate::store::merge::{self, node_dir};
use crate::store::{Store, TrialRecord};
use crate::supervisor::{cores, signals};
use crate::sweep::sampler::TrialResult;
use crate::sweep::scheduler::{Peers, SweepEnd};
use crate::sweep::{self, Share, StudyOutcome};

/// How long a node waits, by default, on other nodes' trials that its next batch needs.
pub const DEFAULT_PEER_WAIT: Duration = Duration::from_secs(30 * 60);

/// This array task's place in its job, from Slurm's environment.
struct Task {
    /// `SLURM_ARRAY_TASK_ID`.
    task: u32,
    /// `SLURM_ARRAY_JOB_ID`.
    job: String,
}

impl Task {
    fn from_env() -> Result<Task> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| {
                BadInput::new(anyhow::anyhow!(
                    "{name} is not set: `cohort slurm-task` runs inside a Slurm array job that `cohort sweep --backend slurm` submitted"
                ))
            })
        };
        let task = var("SLURM_ARRAY_TASK_ID")?;
        Ok(Task {
            task: task.parse().map_err(|_| {
                BadInput::new(anyhow::anyhow!(
                    "SLURM_ARRAY_TASK_ID = {task:?} is not a number"
                ))
            })?,
            job: var("SLURM_ARRAY_JOB_ID")?,
        })
    }
}

/// Trainers for this node: the CPUs Slurm allocated (`SLURM_CPUS_ON_NODE`), within the CPU
/// mask it gave us.
fn allocated_workers() -> NonZeroUsize {
    let mask = cores::usable_cores().len().max(1);
    let allocated = std::env::var("SLURM_CPUS_ON_NODE")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(mask);
    NonZeroUsize::new(allocated.min(mask)).unwrap_or(NonZeroUsize::MIN)
}

/// The other nodes of this job, read from their stores.
struct NodePeers {
    dir: PathBuf,
    me: u32,
    job: String,
    plan: Plan,
    objective: String,
    told: HashSet<u64>,
    wait: Duration,
}

impl Peers for NodePeers {
    fn poll(&mut self) -> Vec<TrialResult> {
        // A store being created or written may not open this instant: the next poll reads it.
        let records = merge::node_trials(&self.dir, Some(self.me)).unwrap_or_default();
        let mut out = Vec::new();
        for r in merge::merge(records) {
            if self.plan.owner(r.trial) == self.me || self.told.contains(&r.trial) {
                continue;
            }
            if let Some(result) = sweep::result_of(&r, &self.objective) {
                self.told.insert(r.trial);
                out.push(result);
            }
        }
        out
    }

    fn may_deliver(&mut self, waited: Duration) -> bool {
        if waited >= self.wait {
            warn!(
                "waited {:.0}s for other nodes' trials (`slurm.peer_wait`)",
                waited.as_secs_f64()
            );
            return false;
        }
        // Every other node of this job has ended: what it did not run will not come.
        (0..self.plan.nodes).filter(|&k| k != self.me).any(|k| {
            let meta = Store::open_readonly(&node_dir(&self.dir, k)).and_then(|s| s.meta());
            match meta {
                Ok(m) => {
                    m.get("slurm_job") != Some(&self.job)
                        || m.get("status").map(String::as_str) == Some("running")
                }
                Err(_) => true,
            }
        })
    }
}

/// Create a node's store whole: built under a temporary name, then renamed, so a reader
/// never meets a store without its tables.
fn create_node_store(mine: &Path, meta: &std::collections::BTreeMap<String, String>) -> Result<()> {
    let parent = mine.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = mine
        .file_name()
        .map_or("node".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.creating-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut meta = meta.clone();
    meta.remove("store_format");
    let store = Store::create(&tmp, &meta)?;
    store.use_rollback_journal()?;
    drop(store);
    if std::fs::rename(&tmp, mine).is_err() {
        // Another attempt of this task made it first: use that one.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}

/// `cohort slurm-task DIR --plan PLAN`: run this array task's share of the study in `dir`.
pub fn run_task(dir: &Path, plan: &Path) -> Result<StudyOutcome> {
    let me = Task::from_env()?;
    let plan = Plan::read(plan).map_err(BadInput::new)?;
    // Slurm's warning before the time limit (`--signal`, SIGUSR1 by default) stops cleanly.
    signals::also_stop_on(signal_hook::consts::SIGUSR1)
        .context("installing the SIGUSR1 handler")?;
    let study = Store::open_readonly(dir).map_err(BadInput::new)?;
    let meta = study.meta()?;
    drop(study);
    let (cfg, data) = sweep::stored_config(dir, &meta)?;
    let mine = node_dir(dir, me.task);
    if !mine.join(crate::store::DB_FILE).is_file() {
        create_node_store(&mine, &meta)?;
    }
    let lock = StudyLock::acquire(&mine).map_err(BadInput::new)?;
    let mut store = Store::open_shared(&mine)?;
    store.set_meta("slurm_job", &me.job)?;
    store.set_meta("slurm_task", &me.task.to_string())?;
    store.set_meta("submission", &plan.submission.to_string())?;
    store.set_meta("status", "running")?;
    store.commit()?;
    let mut all: Vec<TrialRecord> = Store::open_readonly(dir)?.trials()?;
    all.extend(merge::node_trials(dir, None)?);
    let existing = merge::merge(all);
    let workers = allocated_workers();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    info!(
        task = me.task,
        job = %me.job,
        nodes = plan.nodes,
        workers,
        host = host.trim(),
        "node starting its share"
    );
    let owner_plan = plan.clone();
    let task = me.task;
    let share = Share {
        owns: Box::new(move |t| owner_plan.owner(t) == task),
        peers: Box::new(NodePeers {
            dir: dir.to_path_buf(),
            me: me.task,
            job: me.job.clone(),
            objective: cfg.objective().name.clone(),
            told: HashSet::new(),
            wait: cfg.slurm.peer_wait.unwrap_or(DEFAULT_PEER_WAIT),
            plan,
        }),
        existing,
    };
    let outcome = sweep::run_share(cfg, data, dir.to_path_buf(), store, lock, workers, share)?;
    if outcome.end == SweepEnd::Interrupted {
        info!(
            task = me.task,
            "node stopped; its unfinished trials run again on the next submission"
        );
    }
    Ok(outcome)
}
