//! Trial rows: where each trial stands, what it scored, and how they are written and read.

use std::collections::BTreeMap;

use models::{FoldScores, Params};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// Where a trial stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// Proposed, never started.
    Waiting,
    /// On a trainer now.
    Running,
    /// Its trainer died during an attempt; it will run again (see `attempts`).
    Retrying,
    /// Finished with scores.
    Complete,
    /// Stopped early by the pruner at a report point (`step`).
    Pruned,
    /// The model failed, or its trainer died more often than `retries` allows.
    Failed,
    /// Killed after running past `timeout`.
    TimedOut,
    /// Its trainer ran out of its `memory` cap.
    OutOfMemory,
    /// Stopped by Ctrl-C or SIGTERM; run again on resume.
    Interrupted,
}

impl TrialState {
    /// Every state, in display order.
    pub const ALL: [TrialState; 9] = [
        TrialState::Complete,
        TrialState::Pruned,
        TrialState::Running,
        TrialState::Waiting,
        TrialState::Retrying,
        TrialState::Failed,
        TrialState::TimedOut,
        TrialState::OutOfMemory,
        TrialState::Interrupted,
    ];

    /// The name stored and printed.
    pub fn name(self) -> &'static str {
        match self {
            TrialState::Waiting => "waiting",
            TrialState::Running => "running",
            TrialState::Retrying => "retrying",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
            TrialState::TimedOut => "timed_out",
            TrialState::OutOfMemory => "out_of_memory",
            TrialState::Interrupted => "interrupted",
        }
    }

    /// Parse a stored name.
    pub fn from_name(s: &str) -> Option<TrialState> {
        TrialState::ALL.into_iter().find(|t| t.name() == s)
    }

    /// Whether the trial is done for good (a resume does not run it again).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TrialState::Complete
                | TrialState::Pruned
                | TrialState::Failed
                | TrialState::TimedOut
                | TrialState::OutOfMemory
        )
    }
}

/// Mean and standard deviation (population, as scikit-learn's `std_test_score`) over folds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Mean over folds.
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    /// Standard deviation over folds.
    #[serde(deserialize_with = "nan_if_null")]
    pub std: f64,
}

/// JSON has no NaN (serde writes `null`): read it back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Everything stored about one trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// Its number (0-based, in the sampler's order).
    pub trial: u64,
    /// Its hyperparameters (the searched ones and the fixed ones).
    pub params: Params,
    /// Where it stands.
    pub state: TrialState,
    /// How many times it was started.
    pub attempts: u32,
    /// Mean of the objective over folds, when complete.
    pub value: Option<f64>,
    /// Mean and std of every metric, when complete.
    pub metrics: BTreeMap<String, Summary>,
    /// Each report point's values (a fold's metrics), when complete or pruned.
    pub folds: Vec<BTreeMap<String, f64>>,
    /// The values at each report point, when those are not the folds (an iterative model's
    /// epochs).
    pub reports: Option<Vec<BTreeMap<String, f64>>>,
    /// The last report point reached, when pruned.
    pub step: Option<u32>,
    /// The worker of the last attempt.
    pub worker: Option<u32>,
    /// Unix time the last attempt started.
    pub started_at: Option<f64>,
    /// Unix time it finished.
    pub finished_at: Option<f64>,
    /// Seconds the last attempt took.
    pub duration_s: Option<f64>,
    /// The last error message, if any attempt failed.
    pub error: Option<String>,
}

/// Mean and population standard deviation.
pub fn summarize(values: &[f64]) -> Summary {
    if values.is_empty() {
        return Summary {
            mean: f64::NAN,
            std: f64::NAN,
        };
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    Summary {
        mean,
        std: var.sqrt(),
    }
}

impl Store {
    /// Record a trial that has not started (one that failed before it could).
    pub fn insert_trial(&mut self, trial: u64, params: &Params) -> Result<(), StoreError> {
        self.begin()?;
        let json = self.params_json(params)?;
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO trials (trial, params, state) VALUES (?1, ?2, 'waiting')",
            )
            .and_then(|mut s| s.execute(params![trial as i64, json]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn params_json(&self, params: &Params) -> Result<String, StoreError> {
        serde_json::to_string(params).map_err(|e| self.corrupt(e))
    }

    fn corrupt(&self, e: serde_json::Error) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// An attempt of `trial` started on `worker`: its row is created (first attempt) or updated.
    pub fn trial_started(
        &mut self,
        trial: u64,
        params: &Params,
        attempt: u32,
        worker: u32,
        at: f64,
    ) -> Result<(), StoreError> {
        self.begin()?;
        let json = self.params_json(params)?;
        self.conn
            .prepare_cached(
                "INSERT INTO trials (trial, params, state, attempts, worker, started_at) VALUES (?1, ?2, 'running', ?3, ?4, ?5)
                 ON CONFLICT(trial) DO UPDATE SET state = 'running', attempts = excluded.attempts, worker = excluded.worker,
                 started_at = excluded.started_at, finished_at = NULL, duration_s = NULL",
            )
            .and_then(|mut s| s.execute(params![trial as i64, json, attempt, worker, at]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A live report of a running attempt: the objective and every named value at `step`.
    pub fn report(
        &mut self,
        trial: u64,
        attempt: u32,
        step: u32,
        value: Option<f64>,
        values: &FoldScores,
    ) -> Result<(), StoreError> {
        self.begin()?;
        let json = serde_json::to_string(values).map_err(|e| self.corrupt(e))?;
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO reports (trial, attempt, step, value, \"values\") VALUES (?1, ?2, ?3, ?4, ?5)")
            .and_then(|mut s| s.execute(params![trial as i64, attempt, step, value, json]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// An attempt was stopped by the pruner after report point `step`, with the values of
    /// every report point it reached.
    pub fn trial_pruned(
        &mut self,
        trial: u64,
        step: Option<u32>,
        folds: &[FoldScores],
        reports: Option<&[FoldScores]>,
        at: f64,
    ) -> Result<(), StoreError> {
        self.begin()?;
        let folds_json = serde_json::to_string(folds).map_err(|e| self.corrupt(e))?;
        let reports_json = reports
            .map(|r| serde_json::to_string(r).map_err(|e| self.corrupt(e)))
            .transpose()?;
        self.conn
            .prepare_cached(
                "UPDATE trials SET state = 'pruned', value = NULL, value_std = NULL, metrics = NULL, folds = ?2,
                 reports = ?5, step = ?3, finished_at = ?4, duration_s = ?4 - started_at, error = NULL WHERE trial = ?1",
            )
            .and_then(|mut st| st.execute(params![trial as i64, folds_json, step, at, reports_json]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// An attempt finished with every fold's scores; `objective` names the value that ranks it.
    ///
    /// Everything lands in the trial's one row (metrics and folds as JSON, read relationally
    /// through the `trial_metrics` and `fold_metrics` views): a result dirties one b-tree, so a
    /// commit writes few pages.
    pub fn trial_finished(
        &mut self,
        trial: u64,
        folds: &[FoldScores],
        reports: Option<&[FoldScores]>,
        objective: &str,
        at: f64,
    ) -> Result<(), StoreError> {
        self.begin()?;
        // Every name any fold reported (open names: a program may report some folds only).
        let names: std::collections::BTreeSet<&String> =
            folds.iter().flat_map(|f| f.keys()).collect();
        let mut summaries = BTreeMap::new();
        for name in names {
            let values: Vec<f64> = folds.iter().filter_map(|f| f.get(name).copied()).collect();
            summaries.insert(name.as_str(), summarize(&values));
        }
        let s = summaries.get(objective).copied().unwrap_or(Summary {
            mean: f64::NAN,
            std: f64::NAN,
        });
        let metrics_json = serde_json::to_string(&summaries).map_err(|e| self.corrupt(e))?;
        let folds_json = serde_json::to_string(folds).map_err(|e| self.corrupt(e))?;
        let reports_json = reports
            .map(|r| serde_json::to_string(r).map_err(|e| self.corrupt(e)))
            .transpose()?;
        self.conn
            .prepare_cached(
                "UPDATE trials SET state = 'complete', value = ?2, value_std = ?3, metrics = ?4, folds = ?5, reports = ?7,
                 step = NULL, finished_at = ?6, duration_s = ?6 - started_at, error = NULL WHERE trial = ?1",
            )
            .and_then(|mut st| st.execute(params![trial as i64, s.mean, s.std, metrics_json, folds_json, at, reports_json]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// An attempt ended without scores: it joins the `attempts` history and the trial moves to
    /// `state` (`Retrying` when it will run again).
    pub fn attempt_ended(
        &mut self,
        trial: u64,
        attempt: u32,
        state: TrialState,
        error: &str,
        at: f64,
    ) -> Result<(), StoreError> {
        self.begin()?;
        let t = trial as i64;
        let c = &self.conn;
        // An attempt whose trainer died is `crashed`, whatever happens to its trial next.
        let attempt_state = if state == TrialState::Retrying {
            "crashed"
        } else {
            state.name()
        };
        c.prepare_cached(
            "INSERT OR REPLACE INTO attempts (trial, attempt, worker, started_at, finished_at, state, error)
             SELECT trial, ?2, worker, started_at, ?5, ?3, ?4 FROM trials WHERE trial = ?1",
        )
        .and_then(|mut s| s.execute(params![t, attempt, attempt_state, error, at]))
        .and_then(|_| c.prepare_cached("UPDATE trials SET state = ?2, error = ?3, finished_at = ?4, duration_s = ?4 - started_at WHERE trial = ?1"))
        .and_then(|mut s| s.execute(params![t, state.name(), error, at]))
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every trial, in trial order.
    pub fn trials(&self) -> Result<Vec<TrialRecord>, StoreError> {
        self.read_trials("ORDER BY trial", [])
    }

    /// The `limit` best trials, best first (complete ones by their value in `direction`, ties to
    /// the earlier trial; then the rest by number): what a summary table shows, without
    /// reading every trial.
    pub fn best_trials(
        &self,
        direction: models::Direction,
        limit: usize,
    ) -> Result<Vec<TrialRecord>, StoreError> {
        let order = match direction {
            models::Direction::Maximize => "DESC",
            models::Direction::Minimize => "ASC",
        };
        let clause = format!(
            "ORDER BY (state = 'complete' AND value IS NOT NULL) DESC, CASE WHEN state = 'complete' THEN value END {order}, trial LIMIT ?1"
        );
        self.read_trials(&clause, [limit as i64])
    }

    /// How many trials the study has.
    pub fn trial_count(&self) -> Result<usize, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM trials", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .map_err(|e| self.err(e))
    }

    /// Trials selected by `clause` (ORDER BY, LIMIT) with its `args`.
    fn read_trials(
        &self,
        clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<TrialRecord>, StoreError> {
        let w = |e| self.err(e);
        let sql = format!(
            "SELECT trial, params, state, attempts, value, worker, started_at, finished_at, duration_s, error, metrics, folds, step, reports FROM trials {clause}"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(w)?;
        let mut rows = stmt.query(args).map_err(w)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(w)? {
            let trial = r.get::<_, i64>(0).map_err(w)? as u64;
            let corrupt = |what: &str, e: String| StoreError::Corrupt {
                path: self.path.clone(),
                message: format!("trial {trial} {what}: {e}"),
            };
            let params: Params = serde_json::from_str(&r.get::<_, String>(1).map_err(w)?)
                .map_err(|e| corrupt("params", e.to_string()))?;
            let state_name: String = r.get(2).map_err(w)?;
            let state = TrialState::from_name(&state_name)
                .ok_or_else(|| corrupt("state", state_name.clone()))?;
            let metrics: BTreeMap<String, Summary> =
                match r.get::<_, Option<String>>(10).map_err(w)? {
                    Some(j) => {
                        serde_json::from_str(&j).map_err(|e| corrupt("metrics", e.to_string()))?
                    }
                    None => BTreeMap::new(),
                };
            let folds: Vec<BTreeMap<String, Option<f64>>> = match r
                .get::<_, Option<String>>(11)
                .map_err(w)?
            {
                Some(j) => serde_json::from_str(&j).map_err(|e| corrupt("folds", e.to_string()))?,
                None => Vec::new(),
            };
            let folds = folds
                .into_iter()
                .map(|f| {
                    f.into_iter()
                        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
                        .collect()
                })
                .collect();
            out.push(TrialRecord {
                trial,
                params,
                state,
                attempts: r.get(3).map_err(w)?,
                value: r.get(4).map_err(w)?,
                metrics,
                folds,
                worker: r.get(5).map_err(w)?,
                started_at: r.get(6).map_err(w)?,
                finished_at: r.get(7).map_err(w)?,
                duration_s: r.get(8).map_err(w)?,
                error: r.get(9).map_err(w)?,
                step: r.get(12).map_err(w)?,
                reports: match r.get::<_, Option<String>>(13).map_err(w)? {
                    Some(j) => Some(
                        serde_json::from_str(&j).map_err(|e| corrupt("reports", e.to_string()))?,
                    ),
                    None => None,
                },
            });
        }
        Ok(out)
    }
}
