//! A directory of data files read as one dataset: every file in name order, parsed in parallel,
//! rows concatenated; every file must repeat the first one's header.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Format, Parsed, ProblemKind, read_file, worker_threads};
use crate::error::DataError;

/// Read every data file (CSV, Parquet, Arrow, NumPy) directly in `dir`, in name order, as one dataset.
pub(super) fn read_dir(
    dir: &Path,
    target: Option<&str>,
    kind: ProblemKind,
) -> Result<Parsed, DataError> {
    let files = data_files(dir)?;
    let threads = worker_threads();
    let workers = threads.min(files.len());
    // Fewer files than cores: each file's parse splits the rest among its chunks.
    let per_file = (threads / files.len()).max(1);
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<Parsed, DataError>>>> =
        files.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                // Files are taken in name order as workers free up: a large file does not stall
                // the small ones behind it.
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let parsed = read_file(file, target, kind, per_file);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(parsed);
                    }
                }
            });
        }
    });
    let mut hasher = blake3::Hasher::new();
    let mut all: Option<(PathBuf, Parsed)> = None;
    for (file, slot) in files.iter().zip(results) {
        let parsed = slot
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("a reader thread panicked on {}", file.display()))?;
        add_to_checksum(&mut hasher, file, &parsed.hash);
        match &mut all {
            None => all = Some((file.clone(), parsed)),
            Some((first, acc)) => {
                check_header(first, &acc.names, file, &parsed.names)?;
                acc.append(parsed);
            }
        }
    }
    let (_, mut parsed) = all.ok_or_else(|| DataError::Empty {
        path: dir.to_path_buf(),
        what: "no data files in the directory; expected .csv, .parquet, .arrow/.feather, .npy or .npz files".into(),
    })?;
    parsed.hash = hasher.finalize();
    Ok(parsed)
}

/// The checksum covers each file's name and contents, in name order.
fn add_to_checksum(hasher: &mut blake3::Hasher, file: &Path, hash: &blake3::Hash) {
    let name = file
        .file_name()
        .map(|n| n.as_encoded_bytes())
        .unwrap_or_default();
    hasher.update(&(name.len() as u64).to_le_bytes());
    hasher.update(name);
    hasher.update(hash.as_bytes());
}

/// The checksum [`read_dir`] gives `dir`, from the files' bytes alone (nothing parsed).
pub(super) fn checksum(dir: &Path) -> Result<blake3::Hash, DataError> {
    let mut hasher = blake3::Hasher::new();
    for file in data_files(dir)? {
        let bytes = super::bytes::FileBytes::open(&file)?;
        add_to_checksum(&mut hasher, &file, &bytes.hash());
    }
    Ok(hasher.finalize())
}

/// The data files directly in `dir` (by extension), sorted by name.
pub(super) fn data_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let io = |source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && Format::of(&path).is_some() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(DataError::Empty {
            path: dir.to_path_buf(),
            what: "no data files in the directory; expected .csv, .parquet, .arrow/.feather, .npy or .npz files".into(),
        });
    }
    Ok(files)
}

/// Refuse `file` if its header differs from `first`'s, naming the first differing column.
fn check_header(
    first: &Path,
    expected: &[String],
    file: &Path,
    found: &[String],
) -> Result<(), DataError> {
    let at = (0..expected.len().max(found.len())).find(|&i| expected.get(i) != found.get(i));
    match at {
        None => Ok(()),
        Some(i) => {
            let name = |names: &[String]| {
                names
                    .get(i)
                    .map_or_else(|| "no column".to_string(), Clone::clone)
            };
            Err(DataError::HeaderMismatch {
                path: file.to_path_buf(),
                first: first.to_path_buf(),
                column: i + 1,
                expected: name(expected),
                found: name(found),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dataset::{Dataset, ProblemKind};
    use crate::error::DataError;
    use std::path::Path;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn files_concatenate_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "part-2.csv", "a,y\n3,1\n4,0\n");
        write(dir.path(), "part-1.csv", "a,y\n1,0\n2,1\n");
        write(dir.path(), "README.txt", "not data");
        let d = Dataset::read_path(dir.path(), None, ProblemKind::Classification).unwrap();
        assert_eq!(d.x.column(0).to_vec(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.y.to_vec(), [0.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn a_mismatched_header_is_refused_naming_the_file_and_column() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.csv", "a,b,y\n1,2,0\n");
        write(dir.path(), "b.csv", "a,c,y\n1,2,1\n");
        let err = Dataset::read_path(dir.path(), None, ProblemKind::Classification).unwrap_err();
        match &err {
            DataError::HeaderMismatch {
                path,
                column,
                expected,
                found,
                ..
            } => {
                assert!(path.ends_with("b.csv"));
                assert_eq!((*column, expected.as_str(), found.as_str()), (2, "b", "c"));
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn an_error_names_the_file_and_its_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.csv", "a,y\n1,0\n2,1\n");
        write(dir.path(), "b.csv", "a,y\n1,0\n\nx,1\n");
        let err = Dataset::read_path(dir.path(), None, ProblemKind::Classification).unwrap_err();
        assert!(
            err.to_string().contains("b.csv, line 4, column 1 (`a`)"),
            "{err}"
        );
    }

    #[test]
    fn checksum_covers_the_names_and_contents() {
        let checksum = |files: &[(&str, &str)]| {
            let dir = tempfile::tempdir().unwrap();
            for (name, text) in files {
                write(dir.path(), name, text);
            }
            Dataset::read_path(dir.path(), None, ProblemKind::Regression)
                .unwrap()
                .checksum
        };
        let base = checksum(&[("a.csv", "a,y\n1,2\n"), ("b.csv", "a,y\n3,4\n")]);
        assert_eq!(
            base,
            checksum(&[("a.csv", "a,y\n1,2\n"), ("b.csv", "a,y\n3,4\n")])
        );
        assert_ne!(
            base,
            checksum(&[("a.csv", "a,y\n1,2\n"), ("c.csv", "a,y\n3,4\n")])
        );
        assert_ne!(
            base,
            checksum(&[("a.csv", "a,y\n1,2\n"), ("b.csv", "a,y\n3,5\n")])
        );
    }

    #[test]
    fn a_directory_without_data_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "notes.txt", "a,y\n1,2\n");
        let err = Dataset::read_path(dir.path(), None, ProblemKind::Regression).unwrap_err();
        assert!(err.to_string().contains("no data files"), "{err}");
    }
}
