//! One owner per study directory: a second `cohort sweep`, `resume` or `train` on a directory a
//! live process is using is refused, naming that process.
//!
//! The lock is `flock` on `DIR/owner.lock` (`File::try_lock`): the kernel releases it when its
//! holder exits, however it exits, so a lock left by a killed process never blocks. The file
//! says who holds it, for the message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file inside a study directory.
pub const LOCK_FILE: &str = "owner.lock";

/// Why a study directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// A live process owns it.
    #[error("{dir} is in use by another cohort ({owner}); wait for it to finish, or stop it first")]
    Busy {
        /// The study directory.
        dir: PathBuf,
        /// Who holds it, as it wrote itself down.
        owner: String,
    },
    /// The lock file could not be opened or written.
    #[error("{path}: cannot lock the study directory: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// The held lock of a study directory; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct StudyLock {
    _file: File,
}

impl StudyLock {
    /// Take the lock of `dir` (which must exist), or say who holds it.
    pub fn acquire(dir: &Path) -> Result<StudyLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                let owner = owner.trim();
                return Err(LockError::Busy {
                    dir: dir.to_path_buf(),
                    owner: if owner.is_empty() {
                        "a process that has not said who it is yet".into()
                    } else {
                        owner.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let me = format!("pid {}: {}", std::process::id(), command_line());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(me.as_bytes()))
            .map_err(io)?;
        Ok(StudyLock { _file: file })
    }
}

/// This process's command line, for people.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().collect();
    args.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = StudyLock::acquire(dir.path()).unwrap();
        let err = StudyLock::acquire(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LockError::Busy { .. }), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        StudyLock::acquire(dir.path()).expect("free again once the owner let go");
    }
}
