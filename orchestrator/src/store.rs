//! The study store: one SQLite database per study directory (WAL mode), written only by the
//! orchestrator, readable at any time by `cohort results`, `status`, `best` or a notebook.
//!
//! Writes are grouped: the scheduler commits whenever its inbox is momentarily empty, so a
//! finished trial is durable within microseconds and a burst of short trials costs one commit.
//! The schema is documented in the README.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use models::{FoldScores, Metric, Params};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// The database file inside a study directory.
pub const DB_FILE: &str = "study.db";

/// The layout of the tables below, recorded in each study (`study.store_format`), so a later
/// cohort can tell a study it must migrate from one it can read.
pub const STORE_FORMAT: &str = "1";

const SCHEMA: &str = "
CREATE TABLE study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trials (
    trial       INTEGER PRIMARY KEY,
    params      TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    value       REAL,
    value_std   REAL,
    metrics     TEXT,
    folds       TEXT,
    worker      INTEGER,
    started_at  REAL,
    finished_at REAL,
    duration_s  REAL,
    error       TEXT
);
CREATE VIEW trial_metrics AS
    SELECT t.trial AS trial, m.key AS metric,
           json_extract(m.value, '$.mean') AS mean, json_extract(m.value, '$.std') AS std
    FROM trials AS t, json_each(t.metrics) AS m;
CREATE VIEW fold_metrics AS
    SELECT t.trial AS trial, CAST(f.key AS INTEGER) AS fold, m.key AS metric, m.value AS value
    FROM trials AS t, json_each(t.folds) AS f, json_each(f.value) AS m;
CREATE TABLE intermediate_values (
    trial   INTEGER NOT NULL REFERENCES trials(trial),
    attempt INTEGER NOT NULL,
    step    INTEGER NOT NULL,
    value   REAL NOT NULL,
    PRIMARY KEY (trial, attempt, step)
) WITHOUT ROWID;
CREATE TABLE attempts (
    trial       INTEGER NOT NULL REFERENCES trials(trial),
    attempt     INTEGER NOT NULL,
    worker      INTEGER,
    started_at  REAL,
    finished_at REAL,
    state       TEXT NOT NULL,
    error       TEXT,
    PRIMARY KEY (trial, attempt)
) WITHOUT ROWID;
";

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (full disk, permissions, corruption).
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A write failed for lack of space (or a file-size limit, which looks the same).
    #[error("{path}: the disk is full (or a file-size limit was reached): {source}")]
    DiskFull {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The directory holds no study.
    #[error("{0}: not a study directory (no {DB_FILE})")]
    NotAStudy(PathBuf),
    /// Stored data that does not decode.
    #[error("{path}: corrupt study record: {message}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What did not decode.
        message: String,
    },
}

/// Where a trial stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// Proposed, not running (new, or to be retried).
    Waiting,
    /// On a trainer now.
    Running,
    /// Finished with scores.
    Complete,
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
    pub const ALL: [TrialState; 7] = [
        TrialState::Complete,
        TrialState::Running,
        TrialState::Waiting,
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
            TrialState::Complete => "complete",
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
    /// Each fold's metrics, when complete.
    pub folds: Vec<BTreeMap<String, f64>>,
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

/// Now as Unix seconds.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// An open study database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    in_tx: bool,
}

impl Store {
    /// Create a new study database at `dir/study.db` with `meta` (key → value).
    pub fn create(dir: &Path, meta: &BTreeMap<String, String>) -> Result<Store, StoreError> {
        let path = dir.join(DB_FILE);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        })?;
        let store = Store {
            conn,
            path,
            in_tx: false,
        };
        store.setup()?;
        let w = |e| store.err(e);
        store
            .conn
            .execute_batch(&format!("BEGIN; {SCHEMA}"))
            .map_err(w)?;
        store
            .conn
            .execute(
                "INSERT INTO study (key, value) VALUES ('store_format', ?1)",
                params![STORE_FORMAT],
            )
            .map_err(w)?;
        for (k, v) in meta {
            store
                .conn
                .execute(
                    "INSERT INTO study (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )
                .map_err(w)?;
        }
        store.conn.execute_batch("COMMIT").map_err(w)?;
        Ok(store)
    }

    /// Open an existing study for writing (resume).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, OpenFlags::SQLITE_OPEN_READ_WRITE)
    }

    /// Open an existing study for reading only (safe while a sweep writes it).
    pub fn open_readonly(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, OpenFlags::SQLITE_OPEN_READ_ONLY)
    }

    fn open_with(dir: &Path, flags: OpenFlags) -> Result<Store, StoreError> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::NotAStudy(dir.to_path_buf()));
        }
        let conn =
            Connection::open_with_flags(&path, flags).map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })?;
        let store = Store {
            conn,
            path,
            in_tx: false,
        };
        if !flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY) {
            store.setup()?;
        } else {
            store
                .conn
                .busy_timeout(std::time::Duration::from_secs(5))
                .map_err(|e| store.err(e))?;
        }
        let format: Option<String> = store
            .conn
            .query_row(
                "SELECT value FROM study WHERE key = 'store_format'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| store.err(e))?;
        if format.as_deref() != Some(STORE_FORMAT) {
            let found = format.unwrap_or_else(|| "unknown".into());
            return Err(StoreError::Corrupt {
                path: store.path.clone(),
                message: format!(
                    "store format {found}, but this cohort reads format {STORE_FORMAT}"
                ),
            });
        }
        Ok(store)
    }

    fn setup(&self) -> Result<(), StoreError> {
        // WAL: readers never block the writer; NORMAL sync: a commit survives a crash of the
        // process (the OS still has it), losing at most the last commits on power loss.
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| self.err(e))?;
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| self.err(e))?;
        self.conn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        let path = self.path.clone();
        if let rusqlite::Error::SqliteFailure(f, _) = &source {
            // SQLite says SQLITE_FULL for ENOSPC, but a file-size limit (EFBIG) or quota only
            // surfaces as an I/O error on write: then look at the space and the limit.
            let write_failed = f.code == rusqlite::ErrorCode::SystemIoFailure
                && f.extended_code == rusqlite::ffi::SQLITE_IOERR_WRITE;
            if f.code == rusqlite::ErrorCode::DiskFull || (write_failed && self.out_of_space()) {
                return StoreError::DiskFull { path, source };
            }
        }
        StoreError::Sqlite { path, source }
    }

    /// Whether the database's filesystem is (nearly) full or its files reach the file-size limit.
    fn out_of_space(&self) -> bool {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let Ok(c_dir) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
            return false;
        };
        // SAFETY: statvfs and getrlimit fill the zeroed structs we own from a valid C string.
        let (free, limit) = unsafe {
            let mut st: libc::statvfs = std::mem::zeroed();
            let free = if libc::statvfs(c_dir.as_ptr(), &mut st) == 0 {
                st.f_bavail as u64 * st.f_frsize as u64
            } else {
                u64::MAX
            };
            let mut rl: libc::rlimit = std::mem::zeroed();
            let limit = if libc::getrlimit(libc::RLIMIT_FSIZE, &mut rl) == 0
                && rl.rlim_cur != libc::RLIM_INFINITY
            {
                rl.rlim_cur as u64
            } else {
                u64::MAX
            };
            (free, limit)
        };
        let largest = ["", "-wal", "-journal"]
            .iter()
            .filter_map(|ext| std::fs::metadata(format!("{}{ext}", self.path.display())).ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0);
        free < (1 << 20) || largest.saturating_add(64 << 10) >= limit
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The study's metadata (name, config, checksums, ...).
    pub fn meta(&self) -> Result<BTreeMap<String, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value FROM study")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Set one metadata entry.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.begin()?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO study (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))?;
            self.in_tx = true;
        }
        Ok(())
    }

    /// Commit everything written since the last commit.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        if self.in_tx {
            self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))?;
            self.in_tx = false;
        }
        Ok(())
    }

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
        serde_json::to_string(params).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })
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

    /// A fold of an attempt finished: its objective is the intermediate value at step `fold`.
    pub fn intermediate(
        &mut self,
        trial: u64,
        attempt: u32,
        step: u32,
        value: f64,
    ) -> Result<(), StoreError> {
        self.begin()?;
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO intermediate_values (trial, attempt, step, value) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![trial as i64, attempt, step, value]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// An attempt finished with every fold's scores; `metrics[0]` is the objective.
    ///
    /// Everything lands in the trial's one row (metrics and folds as JSON, read relationally
    /// through the `trial_metrics` and `fold_metrics` views): a result dirties one b-tree, so a
    /// commit writes few pages.
    pub fn trial_finished(
        &mut self,
        trial: u64,
        folds: &[FoldScores],
        metrics: &[Metric],
        at: f64,
    ) -> Result<(), StoreError> {
        self.begin()?;
        let mut summaries = BTreeMap::new();
        for metric in metrics {
            let values: Vec<f64> = folds
                .iter()
                .filter_map(|f| f.get(metric.name()).copied())
                .collect();
            summaries.insert(metric.name(), summarize(&values));
        }
        let s = metrics
            .first()
            .and_then(|m| summaries.get(m.name()).copied())
            .unwrap_or(Summary {
                mean: f64::NAN,
                std: f64::NAN,
            });
        let by_name: Vec<BTreeMap<&str, f64>> = folds
            .iter()
            .map(|f| f.iter().map(|(m, v)| (m.as_str(), *v)).collect())
            .collect();
        let corrupt = |e: serde_json::Error| StoreError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let metrics_json = serde_json::to_string(&summaries).map_err(corrupt)?;
        let folds_json = serde_json::to_string(&by_name).map_err(corrupt)?;
        self.conn
            .prepare_cached(
                "UPDATE trials SET state = 'complete', value = ?2, value_std = ?3, metrics = ?4, folds = ?5,
                 finished_at = ?6, duration_s = ?6 - started_at, error = NULL WHERE trial = ?1",
            )
            .and_then(|mut st| st.execute(params![trial as i64, s.mean, s.std, metrics_json, folds_json, at]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// An attempt ended without scores: it joins the `attempts` history and the trial moves to
    /// `state` (Waiting for a retry).
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
        let attempt_state = if state == TrialState::Waiting {
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
            "SELECT trial, params, state, attempts, value, worker, started_at, finished_at, duration_s, error, metrics, folds FROM trials {clause}"
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
            });
        }
        Ok(out)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> BTreeMap<String, String> {
        BTreeMap::from([("name".to_string(), "t".to_string())])
    }

    #[test]
    fn a_finished_trial_reads_back_with_fold_metrics_and_summary() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::create(dir.path(), &meta()).unwrap();
        let p: Params = BTreeMap::from([("C".to_string(), models::ParamValue::Float(0.1))]);
        s.trial_started(0, &p, 1, 3, 100.0).unwrap();
        let folds = vec![
            BTreeMap::from([("accuracy".to_string(), 0.8)]),
            BTreeMap::from([("accuracy".to_string(), 0.9)]),
        ];
        s.trial_finished(0, &folds, &[Metric::Accuracy], 101.5)
            .unwrap();
        s.commit().unwrap();
        let r = Store::open_readonly(dir.path()).unwrap().trials().unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].state, TrialState::Complete);
        assert!((r[0].value.unwrap() - 0.85).abs() < 1e-12);
        assert!((r[0].metrics["accuracy"].std - 0.05).abs() < 1e-12);
        assert_eq!(r[0].folds.len(), 2);
        assert_eq!(r[0].duration_s, Some(1.5));
        assert_eq!(r[0].worker, Some(3));
        assert_eq!(r[0].params, p);
    }

    #[test]
    fn uncommitted_writes_are_not_visible_to_readers() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::create(dir.path(), &meta()).unwrap();
        s.insert_trial(0, &Params::new()).unwrap();
        assert!(
            Store::open_readonly(dir.path())
                .unwrap()
                .trials()
                .unwrap()
                .is_empty()
        );
        s.commit().unwrap();
        assert_eq!(
            Store::open_readonly(dir.path())
                .unwrap()
                .trials()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_directory_without_a_database_is_not_a_study() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Store::open_readonly(dir.path()),
            Err(StoreError::NotAStudy(_))
        ));
    }
}

/// One write to the study store, as the scheduler issues it.
#[derive(Debug)]
pub enum Write {
    /// A newly proposed trial.
    InsertTrial {
        /// Its number.
        trial: u64,
        /// Its hyperparameters.
        params: Params,
    },
    /// An attempt started.
    Started {
        /// Which trial.
        trial: u64,
        /// Its hyperparameters (the row is created when the trial first starts).
        params: Params,
        /// Which attempt.
        attempt: u32,
        /// On which worker.
        worker: u32,
        /// When (Unix seconds).
        at: f64,
    },
    /// A fold's objective, reported while the trial ran.
    Intermediate {
        /// Which trial.
        trial: u64,
        /// Which attempt.
        attempt: u32,
        /// The fold.
        step: u32,
        /// Its objective.
        value: f64,
    },
    /// An attempt finished with every fold's scores.
    Finished {
        /// Which trial.
        trial: u64,
        /// Which attempt.
        attempt: u32,
        /// Each fold's scores.
        folds: Vec<FoldScores>,
        /// When.
        at: f64,
    },
    /// An attempt ended without scores.
    Ended {
        /// Which trial.
        trial: u64,
        /// Which attempt.
        attempt: u32,
        /// The trial's new state.
        state: TrialState,
        /// Why.
        error: String,
        /// When.
        at: f64,
    },
}

/// The store thread has stopped (on an error that `StoreWriter::finish` returns).
#[derive(Debug, thiserror::Error)]
#[error("the store writer stopped")]
pub struct WriterStopped;

/// The store on its own thread: the scheduler hands it writes and never waits for the disk.
///
/// Group commit: the thread applies the first write that arrives, then every write already
/// queued behind it, then commits. Idle, a result is committed the moment it arrives; under a
/// burst of short trials one commit covers many.
pub struct StoreWriter {
    tx: Option<std::sync::mpsc::Sender<Write>>,
    thread: Option<std::thread::JoinHandle<Result<Store, StoreError>>>,
}

impl StoreWriter {
    /// Start the writer thread on `store`; `metrics[0]` is the objective.
    pub fn spawn(mut store: Store, metrics: Vec<Metric>) -> std::io::Result<StoreWriter> {
        let (tx, rx) = std::sync::mpsc::channel::<Write>();
        let thread = std::thread::Builder::new()
            .name("store".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    store.apply(first, &metrics)?;
                    while let Ok(next) = rx.try_recv() {
                        store.apply(next, &metrics)?;
                    }
                    store.commit()?;
                }
                store.commit()?;
                Ok(store)
            })?;
        Ok(StoreWriter {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queue a write. Fails only if the writer has stopped on an error: `finish` returns it.
    pub fn send(&self, write: Write) -> Result<(), WriterStopped> {
        self.tx
            .as_ref()
            .ok_or(WriterStopped)?
            .send(write)
            .map_err(|_| WriterStopped)
    }

    /// Commit everything queued and return the store, or the first error the writer met.
    pub fn finish(mut self) -> Result<Store, StoreError> {
        drop(self.tx.take());
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            _ => Err(StoreError::Corrupt {
                path: PathBuf::from(DB_FILE),
                message: "the store writer thread panicked".into(),
            }),
        }
    }
}

impl Store {
    /// Apply one write (inside the open transaction).
    pub fn apply(&mut self, write: Write, metrics: &[Metric]) -> Result<(), StoreError> {
        match write {
            Write::InsertTrial { trial, params } => self.insert_trial(trial, &params),
            Write::Started {
                trial,
                params,
                attempt,
                worker,
                at,
            } => self.trial_started(trial, &params, attempt, worker, at),
            Write::Intermediate {
                trial,
                attempt,
                step,
                value,
            } => self.intermediate(trial, attempt, step, value),
            Write::Finished {
                trial, folds, at, ..
            } => self.trial_finished(trial, &folds, metrics, at),
            Write::Ended {
                trial,
                attempt,
                state,
                error,
                at,
            } => self.attempt_ended(trial, attempt, state, &error, at),
        }
    }
}

#[cfg(test)]
mod view_tests {
    use super::*;

    #[test]
    fn fold_and_trial_metrics_read_relationally_through_views() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::create(dir.path(), &BTreeMap::new()).unwrap();
        s.trial_started(4, &Params::new(), 1, 0, 1.0).unwrap();
        let folds = vec![
            BTreeMap::from([("accuracy".to_string(), 0.5), ("log_loss".to_string(), 0.7)]),
            BTreeMap::from([("accuracy".to_string(), 0.75), ("log_loss".to_string(), 0.6)]),
        ];
        s.trial_finished(4, &folds, &[Metric::Accuracy, Metric::LogLoss], 2.0)
            .unwrap();
        s.commit().unwrap();
        let rows: Vec<(i64, i64, String, f64)> = s
            .conn
            .prepare("SELECT trial, fold, metric, value FROM fold_metrics ORDER BY fold, metric")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            rows,
            vec![
                (4, 0, "accuracy".into(), 0.5),
                (4, 0, "log_loss".into(), 0.7),
                (4, 1, "accuracy".into(), 0.75),
                (4, 1, "log_loss".into(), 0.6)
            ]
        );
        let (mean, std): (f64, f64) = s
            .conn
            .query_row(
                "SELECT mean, std FROM trial_metrics WHERE metric = 'accuracy'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((mean, std), (0.625, 0.125));
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn a_study_of_another_store_format_is_refused_with_both_formats_named() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create(dir.path(), &BTreeMap::new()).unwrap();
        s.conn
            .execute(
                "UPDATE study SET value = '0' WHERE key = 'store_format'",
                [],
            )
            .unwrap();
        drop(s);
        let err = Store::open_readonly(dir.path()).err().unwrap().to_string();
        assert!(
            err.contains("store format 0") && err.contains(STORE_FORMAT),
            "{err}"
        );
    }
}
