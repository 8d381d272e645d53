//! NumPy files: an `.npz` with arrays `x` (features) and `y` (target), or one `.npy` whose last
//! column is the target (an `.npy` holds one unnamed array, so there is no column to name).

use std::io::Cursor;
use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::{NpzReader, ReadNpyError, ReadNpyExt, ReadNpzError, ReadableElement};

use super::{LabelTable, Parsed, ProblemKind, Targets};
use crate::error::DataError;

/// The name errors give the one array of an `.npy` file.
const NPY_ARRAY: &str = "data";

/// Read an `.npz` holding `x` (2-D, f64 or f32) and `y` (1-D, float or integer).
pub(super) fn read_npz(
    path: &Path,
    target: Option<&str>,
    kind: ProblemKind,
) -> Result<Parsed, DataError> {
    let bytes = read_bytes(path)?;
    let hash = blake3::hash(&bytes);
    let mut npz = NpzReader::new(Cursor::new(&bytes[..])).map_err(|e| unreadable(path, e))?;
    let mut x_source = NpzArray {
        npz: &mut npz,
        name: "x",
    };
    let x = read_f64(&mut x_source, path, "x", 2, Elements::Floats)?;
    let mut y_source = NpzArray {
        npz: &mut npz,
        name: "y",
    };
    let y = read_f64(&mut y_source, path, "y", 1, Elements::Numbers)?;
    let (n_rows, n_features) = (x.shape()[0], x.shape()[1]);
    let names = names(path, n_features, target)?;
    if y.len() != n_rows {
        return Err(DataError::BadArray {
            path: path.to_path_buf(),
            array: "y".into(),
            expected: format!("{n_rows} values, one per row of `x`"),
            found: format!("{} values", y.len()),
        });
    }
    let x = row_major(x);
    check_finite(path, "x", &x, n_features, &names, 0)?;
    let y = row_major(y);
    check_finite(path, "y", &y, 1, &names, n_features)?;
    Ok(Parsed {
        target: n_features,
        names,
        n_rows,
        x,
        targets: targets(y, kind),
        hash,
    })
}

/// Read an `.npy` holding one 2-D float array (f64 or f32) whose last column is the target.
pub(super) fn read_npy(
    path: &Path,
    target: Option<&str>,
    kind: ProblemKind,
) -> Result<Parsed, DataError> {
    let bytes = read_bytes(path)?;
    let hash = blake3::hash(&bytes);
    let a = read_f64(&mut NpyBytes(&bytes), path, NPY_ARRAY, 2, Elements::Floats)?;
    let (n_rows, n_cols) = (a.shape()[0], a.shape()[1]);
    if n_cols < 2 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            what: format!(
                "no feature columns: the array has {n_cols} column(s); the last is the target"
            ),
        });
    }
    let n_features = n_cols - 1;
    let names = names(path, n_features, target)?;
    let values = row_major(a);
    check_finite(path, NPY_ARRAY, &values, n_cols, &names, 0)?;
    let mut x = Vec::with_capacity(n_rows * n_features);
    let mut y = Vec::with_capacity(n_rows);
    for row in values.chunks_exact(n_cols) {
        x.extend_from_slice(&row[..n_features]);
        y.push(row[n_features]);
    }
    Ok(Parsed {
        target: n_features,
        names,
        n_rows,
        x,
        targets: targets(y, kind),
        hash,
    })
}

/// The whole file.
fn read_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A file that is not a readable archive or array: reported as unreadable data.
fn unreadable(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    }
}

/// `f0`, `f1`, … and `y`, after checking `target` asks for `y` (the only target there is).
fn names(path: &Path, n_features: usize, target: Option<&str>) -> Result<Vec<String>, DataError> {
    let names: Vec<String> = (0..n_features)
        .map(|i| format!("f{i}"))
        .chain(["y".to_string()])
        .collect();
    match target {
        Some(t) if t != "y" => Err(DataError::MissingTarget {
            path: path.to_path_buf(),
            target: t.to_string(),
            columns: names.join(", "),
        }),
        _ => Ok(names),
    }
}

/// The targets as the problem reads them: values, or numeric class labels.
fn targets(y: Vec<f64>, kind: ProblemKind) -> Targets {
    match kind {
        ProblemKind::Regression => Targets::Values(y),
        ProblemKind::Classification | ProblemKind::Clustering => {
            let mut labels = LabelTable::default();
            labels.rows.reserve(y.len());
            for v in y {
                labels.push_number(v);
            }
            Targets::Labels(labels)
        }
    }
}

/// The values in logical (row-major) order.
fn row_major(a: ArrayD<f64>) -> Vec<f64> {
    if a.is_standard_layout() {
        a.into_raw_vec_and_offset().0
    } else {
        a.iter().copied().collect()
    }
}

/// Refuse the first NaN or infinity in `values` (`n_cols` per row), naming row and column.
fn check_finite(
    path: &Path,
    array: &str,
    values: &[f64],
    n_cols: usize,
    names: &[String],
    first_name: usize,
) -> Result<(), DataError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(DataError::NotFiniteArray {
            path: path.to_path_buf(),
            array: array.to_string(),
            row: i / n_cols + 1,
            column: i % n_cols + 1,
            name: names[first_name + i % n_cols].clone(),
            value: values[i],
        }),
    }
}

/// Where an array is read from, as any element type.
trait Source {
    /// The array as elements of type `T`, any number of dimensions.
    fn read<T: ReadableElement>(&mut self) -> Result<ArrayD<T>, SourceError>;
}

/// Why an array could not be read.
enum SourceError {
    /// No array of that name.
    Missing(Vec<String>),
    /// The array is there but unreadable as asked.
    Npy(ReadNpyError),
    /// The archive itself is broken.
    Archive(String),
}

/// An `.npy` file's bytes.
struct NpyBytes<'a>(&'a [u8]);

impl Source for NpyBytes<'_> {
    fn read<T: ReadableElement>(&mut self) -> Result<ArrayD<T>, SourceError> {
        ArrayD::<T>::read_npy(self.0).map_err(SourceError::Npy)
    }
}

/// A named array in an `.npz`.
struct NpzArray<'a, 'b> {
    npz: &'a mut NpzReader<Cursor<&'b [u8]>>,
    name: &'static str,
}

impl Source for NpzArray<'_, '_> {
    fn read<T: ReadableElement>(&mut self) -> Result<ArrayD<T>, SourceError> {
        let names = self
            .npz
            .names()
            .map_err(|e| SourceError::Archive(e.to_string()))?;
        // NumPy stores array `x` as the member `x.npy`.
        let member = format!("{}.npy", self.name);
        if !names.iter().any(|n| *n == self.name || *n == member) {
            let arrays = names
                .iter()
                .map(|n| n.strip_suffix(".npy").unwrap_or(n).to_string())
                .collect();
            return Err(SourceError::Missing(arrays));
        }
        match self.npz.by_name(self.name) {
            Ok(a) => Ok(a),
            Err(ReadNpzError::Npy(e)) => Err(SourceError::Npy(e)),
            Err(e) => Err(SourceError::Archive(e.to_string())),
        }
    }
}

/// The element types an array may hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Elements {
    /// f64 or f32.
    Floats,
    /// Floats or integers (a target may hold class numbers).
    Numbers,
}

/// Read `array` from `source` as f64, checking its element type and its dimensions.
fn read_f64(
    source: &mut impl Source,
    path: &Path,
    array: &str,
    ndim: usize,
    elements: Elements,
) -> Result<ArrayD<f64>, DataError> {
    let bad = |expected: String, found: String| DataError::BadArray {
        path: path.to_path_buf(),
        array: array.to_string(),
        expected,
        found,
    };
    let wanted = match elements {
        Elements::Floats => format!("a {ndim}-D array of float64 or float32"),
        Elements::Numbers => format!("a {ndim}-D array of floats or integers"),
    };
    let failed = |e: SourceError| match e {
        SourceError::Missing(names) => bad(
            wanted.clone(),
            format!("no such array (arrays: {})", names.join(", ")),
        ),
        SourceError::Archive(message) => unreadable(path, message),
        SourceError::Npy(ReadNpyError::WrongDescriptor(d)) => {
            bad(wanted.clone(), format!("dtype {d}"))
        }
        SourceError::Npy(e) => unreadable(path, e),
    };
    // Try the element types in turn: a wrong one fails at the header, before any data is read.
    macro_rules! try_as {
        ($t:ty) => {
            match source.read::<$t>() {
                Ok(a) => return Ok(a.mapv(|v| v as f64)),
                Err(SourceError::Npy(ReadNpyError::WrongDescriptor(d))) => d,
                Err(e) => return Err(e),
            }
        };
    }
    let mut attempt = || -> Result<ArrayD<f64>, SourceError> {
        match source.read::<f64>() {
            Ok(a) => return Ok(a),
            Err(SourceError::Npy(ReadNpyError::WrongDescriptor(_))) => {}
            Err(e) => return Err(e),
        }
        let d = try_as!(f32);
        if elements == Elements::Floats {
            return Err(SourceError::Npy(ReadNpyError::WrongDescriptor(d)));
        }
        try_as!(i64);
        try_as!(i32);
        try_as!(i16);
        try_as!(i8);
        try_as!(u64);
        try_as!(u32);
        try_as!(u16);
        let d = try_as!(u8);
        Err(SourceError::Npy(ReadNpyError::WrongDescriptor(d)))
    };
    let a = match attempt() {
        Ok(a) => a,
        Err(e) => return Err(failed(e)),
    };
    if a.ndim() != ndim {
        return Err(bad(
            wanted,
            format!("a {}-D array of shape {:?}", a.ndim(), a.shape()),
        ));
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use crate::dataset::{Dataset, Problem, ProblemKind};
    use crate::error::DataError;
    use ndarray::{Array1, Array2, array};
    use ndarray_npy::{NpzWriter, WritableElement, WriteNpyExt};
    use std::path::{Path, PathBuf};

    fn npz<X: WritableElement, Y: WritableElement>(
        dir: &Path,
        x: Option<&Array2<X>>,
        y: &Array1<Y>,
    ) -> PathBuf {
        let path = dir.join("data.npz");
        let mut w = NpzWriter::new(std::fs::File::create(&path).unwrap());
        if let Some(x) = x {
            w.add_array("x", x).unwrap();
        }
        w.add_array("y", y).unwrap();
        w.finish().unwrap();
        path
    }

    fn npy<T: WritableElement>(dir: &Path, a: &Array2<T>) -> PathBuf {
        let path = dir.join("data.npy");
        a.write_npy(std::fs::File::create(&path).unwrap()).unwrap();
        path
    }

    #[test]
    fn npz_round_trips_features_and_integer_classes() {
        let dir = tempfile::tempdir().unwrap();
        let x = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let path = npz(dir.path(), Some(&x), &array![10i64, -1, 10]);
        let d = Dataset::read_path(&path, None, ProblemKind::Classification).unwrap();
        assert_eq!(d.x, x);
        assert_eq!(d.feature_names, ["f0", "f1"]);
        assert_eq!(d.target_name, "y");
        assert_eq!(
            d.problem,
            Problem::Classification {
                classes: vec!["-1".into(), "10".into()]
            }
        );
        assert_eq!(d.y.to_vec(), [1.0, 0.0, 1.0]);
        assert!(d.checksum.starts_with("blake3:"));
    }

    #[test]
    fn npz_f32_features_and_float_targets_read_as_regression() {
        let dir = tempfile::tempdir().unwrap();
        let x = array![[1.5f32], [2.5]];
        let path = npz(dir.path(), Some(&x), &array![0.25f64, -3.0]);
        let d = Dataset::read_path(&path, Some("y"), ProblemKind::Regression).unwrap();
        assert_eq!(d.x, array![[1.5], [2.5]]);
        assert_eq!(d.y.to_vec(), [0.25, -3.0]);
    }

    #[test]
    fn npy_last_column_is_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = npy(dir.path(), &array![[1.0, 2.0, 0.0], [3.0, 4.0, 1.0]]);
        let d = Dataset::read_path(&path, None, ProblemKind::Classification).unwrap();
        assert_eq!(d.x, array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(d.y.to_vec(), [0.0, 1.0]);
        assert_eq!(d.feature_names, ["f0", "f1"]);
    }

    #[test]
    fn npz_without_y_is_refused_naming_the_array() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.npz");
        let mut w = NpzWriter::new(std::fs::File::create(&path).unwrap());
        w.add_array("x", &array![[1.0, 2.0]]).unwrap();
        w.add_array("labels", &array![1.0]).unwrap();
        w.finish().unwrap();
        let err = Dataset::read_path(&path, None, ProblemKind::Regression).unwrap_err();
        assert!(
            err.to_string()
                .contains("array `y`: expected a 1-D array of floats or integers, found no such array (arrays: x, labels)"),
            "{err}"
        );
    }

    #[test]
    fn npz_features_of_the_wrong_dimensions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.npz");
        let mut w = NpzWriter::new(std::fs::File::create(&path).unwrap());
        w.add_array("x", &array![1.0, 2.0]).unwrap();
        w.add_array("y", &array![1.0, 2.0]).unwrap();
        w.finish().unwrap();
        let err = Dataset::read_path(&path, None, ProblemKind::Regression).unwrap_err();
        assert!(
            err.to_string()
                .contains("array `x`: expected a 2-D array of float64 or float32, found a 1-D array of shape [2]"),
            "{err}"
        );
    }

    #[test]
    fn integer_features_are_refused_naming_the_dtype() {
        let dir = tempfile::tempdir().unwrap();
        let path = npz(dir.path(), Some(&array![[1i32, 2]]), &array![1.0]);
        let err = Dataset::read_path(&path, None, ProblemKind::Regression).unwrap_err();
        assert!(
            matches!(&err, DataError::BadArray { array, found, .. } if array == "x" && found.contains("<i4")),
            "{err}"
        );
    }

    #[test]
    fn rows_of_x_and_y_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = npz(dir.path(), Some(&array![[1.0], [2.0]]), &array![1.0]);
        let err = Dataset::read_path(&path, None, ProblemKind::Regression).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected 2 values, one per row of `x`, found 1 values"),
            "{err}"
        );
    }

    #[test]
    fn non_finite_value_names_the_array_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = npz(
            dir.path(),
            Some(&array![[1.0, 2.0], [3.0, f64::NAN]]),
            &array![1.0, 2.0],
        );
        let err = Dataset::read_path(&path, None, ProblemKind::Regression).unwrap_err();
        assert!(
            err.to_string()
                .contains("array `x`, row 2, column 2 (`f1`): value `NaN` is not finite"),
            "{err}"
        );
        let path = npy(dir.path(), &array![[1.0, 2.0], [3.0, f64::INFINITY]]);
        let err = Dataset::read_path(&path, None, ProblemKind::Regression).unwrap_err();
        assert!(
            matches!(err, DataError::NotFiniteArray { row: 2, column: 2, ref name, .. } if name == "y"),
            "{err}"
        );
    }

    #[test]
    fn a_target_other_than_y_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = npy(dir.path(), &array![[1.0, 0.0], [3.0, 1.0]]);
        let err =
            Dataset::read_path(&path, Some("label"), ProblemKind::Classification).unwrap_err();
        assert!(
            matches!(&err, DataError::MissingTarget { columns, .. } if columns == "f0, y"),
            "{err}"
        );
    }

    #[test]
    fn npy_of_one_column_has_no_features() {
        let dir = tempfile::tempdir().unwrap();
        let path = npy(dir.path(), &array![[1.0], [2.0]]);
        let err = Dataset::read_path(&path, None, ProblemKind::Regression).unwrap_err();
        assert!(err.to_string().contains("no feature columns"), "{err}");
    }
}
