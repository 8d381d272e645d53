//! The study store: one SQLite database per study directory (WAL mode), written only by the
//! orchestrator, readable at any time by `cohort results`, `status`, `best` or a notebook.
//!
//! `schema` is the layout; `trials` reads and writes trial rows; `writer` runs the writes on
//! their own thread with group commit (the scheduler never waits on the disk); `lock` makes one
//! process the owner of a study directory.

mod intermediate;
pub mod lock;
mod schema;
mod trials;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

pub use intermediate::IntermediateValue;
use schema::SCHEMA;
pub use schema::{DB_FILE, STORE_FORMAT};
pub use trials::{Summary, TrialRecord, TrialState, summarize};
pub use writer::{StoreWriter, Write, WriterStopped};

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

/// Move an old study or run directory aside (as `DIR.replaced-<unix time>`) so a new one can
/// take its place; returns where it went.
pub fn set_aside(dir: &Path) -> std::io::Result<PathBuf> {
    let name = dir
        .file_name()
        .map_or("study".into(), |n| n.to_string_lossy().into_owned());
    let aside = dir.with_file_name(format!("{name}.replaced-{}", now() as u64));
    std::fs::rename(dir, &aside)?;
    Ok(aside)
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
}
