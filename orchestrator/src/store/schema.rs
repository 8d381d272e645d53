//! The study database's layout. The README documents it for notebook users.

/// The database file inside a study directory.
pub const DB_FILE: &str = "study.db";

/// The layout of the tables below, recorded in each study (`study.store_format`), so a later
/// cohort can tell a study it must migrate from one it can read.
pub const STORE_FORMAT: &str = "2";

/// Tables and views of a new study.
///
/// A finished (or pruned) trial's metrics, folds and report points are JSON in its one row (a
/// result dirties one b-tree, so a commit writes few pages); views read them relationally.
/// `reports` is NULL when the report points are the folds (every cross-validated model that
/// fits in one go); an iterative model's epochs fill it.
/// Live reports of running attempts go to `reports`; `intermediate_values` joins both.
pub const SCHEMA: &str = "
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
    reports     TEXT,
    step        INTEGER,
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
CREATE TABLE reports (
    trial   INTEGER NOT NULL REFERENCES trials(trial),
    attempt INTEGER NOT NULL,
    step    INTEGER NOT NULL,
    value   REAL,
    \"values\" TEXT NOT NULL,
    PRIMARY KEY (trial, attempt, step)
) WITHOUT ROWID;
CREATE VIEW intermediate_values AS
    SELECT t.trial AS trial, t.attempts AS attempt, CAST(f.key AS INTEGER) AS step,
           json_extract(f.value, '$.\"' || (SELECT value FROM study WHERE key = 'objective') || '\"') AS value
    FROM trials AS t, json_each(COALESCE(t.reports, t.folds)) AS f
    WHERE t.state IN ('complete', 'pruned')
    UNION ALL
    SELECT r.trial, r.attempt, r.step, r.value FROM reports AS r
    WHERE NOT EXISTS (SELECT 1 FROM trials AS t WHERE t.trial = r.trial AND t.attempts = r.attempt
                      AND t.state IN ('complete', 'pruned'));
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
