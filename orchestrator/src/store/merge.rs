//! A study whose trials are written by several processes, each into its own store: the study
//! directory's `study.db`, and one `nodes/<task>/study.db` per node of a cluster job. Readers
//! merge them; no two processes ever write one database file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{DB_FILE, Store, StoreError, TrialRecord};

/// The folder of a study directory that holds one store per node.
pub const NODES_DIR: &str = "nodes";

/// The directory of node `task`'s store inside study directory `dir`.
pub fn node_dir(dir: &Path, task: u32) -> PathBuf {
    dir.join(NODES_DIR).join(task.to_string())
}

/// The node stores' directories of the study in `dir` (those holding a store), by task number.
pub fn node_dirs(dir: &Path) -> Vec<(u32, PathBuf)> {
    let mut out: Vec<(u32, PathBuf)> = std::fs::read_dir(dir.join(NODES_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let task = e.file_name().to_str()?.parse::<u32>().ok()?;
            e.path().join(DB_FILE).is_file().then(|| (task, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Whether `a` says more about a trial than `b`: a final state beats a non-final one, then the
/// later attempt.
fn says_more(a: &TrialRecord, b: &TrialRecord) -> bool {
    let key = |t: &TrialRecord| {
        (
            t.state.is_final(),
            t.attempts,
            t.started_at.unwrap_or(f64::NEG_INFINITY),
        )
    };
    let (ka, kb) = (key(a), key(b));
    (ka.0, ka.1)
        .cmp(&(kb.0, kb.1))
        .then(ka.2.total_cmp(&kb.2))
        .is_gt()
}

/// One record per trial, in trial order: of several stores' records of a trial, the one that
/// says most (a final one if any).
pub fn merge(records: impl IntoIterator<Item = TrialRecord>) -> Vec<TrialRecord> {
    let mut by_trial: BTreeMap<u64, TrialRecord> = BTreeMap::new();
    for r in records {
        match by_trial.get(&r.trial) {
            Some(old) if !says_more(&r, old) => {}
            _ => {
                by_trial.insert(r.trial, r);
            }
        }
    }
    by_trial.into_values().collect()
}

/// Every trial of the study in `dir`, its own store's and its node stores', merged (read-only).
pub fn study_trials(dir: &Path) -> Result<Vec<TrialRecord>, StoreError> {
    let mut all = Store::open_readonly(dir)?.trials()?;
    all.extend(node_trials(dir, None)?);
    Ok(merge(all))
}

/// The trials of the node stores of `dir` (but `except`'s), unmerged, read-only.
pub fn node_trials(dir: &Path, except: Option<u32>) -> Result<Vec<TrialRecord>, StoreError> {
    let mut all = Vec::new();
    for (task, node) in node_dirs(dir) {
        if Some(task) != except {
            all.extend(Store::open_readonly(&node)?.trials()?);
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TrialState;

    fn rec(trial: u64, state: TrialState, attempts: u32, started: f64) -> TrialRecord {
        TrialRecord {
            trial,
            params: Default::default(),
            state,
            attempts,
            value: None,
            metrics: Default::default(),
            folds: Vec::new(),
            reports: None,
            step: None,
            worker: None,
            started_at: Some(started),
            finished_at: None,
            duration_s: None,
            error: None,
        }
    }

    #[test]
    fn a_final_record_wins_over_a_later_unfinished_one() {
        let merged = merge([
            rec(3, TrialState::Complete, 1, 10.0),
            rec(3, TrialState::Interrupted, 2, 20.0),
            rec(1, TrialState::Interrupted, 1, 5.0),
            rec(1, TrialState::Running, 2, 6.0),
        ]);
        let got: Vec<(u64, TrialState)> = merged.iter().map(|t| (t.trial, t.state)).collect();
        assert_eq!(
            got,
            [(1, TrialState::Running), (3, TrialState::Complete)],
            "one record a trial, in trial order"
        );
    }
}
