//! Columnar files: Parquet and Arrow IPC (Feather v2), read with the arrow-rs crates.
//!
//! Column types are checked before any row is read: features must be float or integer columns,
//! a classification target may also hold strings or booleans. Nulls and non-finite values are
//! refused naming the row (1-based, counting every row of the file) and the column.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use arrow_schema::{ArrowError, DataType, Schema};

use super::bytes::FileBytes;
use super::{CellError, LabelError, LabelTable, Parsed, ProblemKind, Targets};
use crate::error::DataError;

/// Rows per batch read: large enough that per-batch costs vanish, small enough to stay in cache.
const BATCH_ROWS: usize = 64 * 1024;

/// Read a Parquet file.
pub(super) fn read_parquet(
    path: &Path,
    target: Option<&str>,
    kind: ProblemKind,
) -> Result<Parsed, DataError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bad = |e: &dyn std::fmt::Display| DataError::Unreadable {
        path: path.to_path_buf(),
        format: "Parquet",
        message: e.to_string(),
    };
    let file = open(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(&e))?;
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| bad(&e))?;
    read_batches(path, &schema, reader, target, kind, "Parquet")
}

/// Read an Arrow IPC file (Feather v2).
pub(super) fn read_arrow(
    path: &Path,
    target: Option<&str>,
    kind: ProblemKind,
) -> Result<Parsed, DataError> {
    let file = open(path)?;
    let reader = arrow_ipc::reader::FileReader::try_new_buffered(file, None).map_err(|e| {
        DataError::Unreadable {
            path: path.to_path_buf(),
            format: "Arrow IPC (Feather v2)",
            message: e.to_string(),
        }
    })?;
    let schema = reader.schema();
    read_batches(
        path,
        &schema,
        reader,
        target,
        kind,
        "Arrow IPC (Feather v2)",
    )
}

/// Open `path` for reading.
fn open(path: &Path) -> Result<File, DataError> {
    File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// How one column is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    /// Numbers into `x` or the target values.
    Number,
    /// Class labels (classification target).
    Label,
}

/// Check every column's type up front and read all batches into rows; hashes the file beside.
fn read_batches(
    path: &Path,
    schema: &Schema,
    batches: impl Iterator<Item = Result<RecordBatch, ArrowError>>,
    target: Option<&str>,
    kind: ProblemKind,
    format: &'static str,
) -> Result<Parsed, DataError> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let t = match target {
        Some(t) => names
            .iter()
            .position(|n| n == t)
            .ok_or_else(|| DataError::MissingTarget {
                path: path.to_path_buf(),
                target: t.to_string(),
                columns: names.join(", "),
            })?,
        None if names.is_empty() => {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
                what: "the file has no columns".into(),
            });
        }
        None => names.len() - 1,
    };
    if names.len() < 2 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            what: format!(
                "no feature columns: the file has only the target `{}`",
                names[t]
            ),
        });
    }
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(col, field)| column_kind(path, col, field.name(), field.data_type(), col == t, kind))
        .collect::<Result<Vec<Column>, DataError>>()?;

    std::thread::scope(|s| {
        // The checksum is of the file's bytes, as for every format, computed beside the decode.
        let hasher = s.spawn(|| FileBytes::open(path).map(|b| b.hash()));
        let n_features = names.len() - 1;
        let mut x: Vec<f64> = Vec::new();
        let mut y: Vec<f64> = Vec::new();
        let mut labels = LabelTable::default();
        let mut n_rows = 0usize;
        for batch in batches {
            let batch = batch.map_err(|e| DataError::Unreadable {
                path: path.to_path_buf(),
                format,
                message: e.to_string(),
            })?;
            let rows = batch.num_rows();
            let base = x.len();
            x.resize(base + rows * n_features, 0.0);
            let slab = &mut x[base..];
            let mut feature = 0;
            for (col, array) in batch.columns().iter().enumerate() {
                let at = |row: usize| Place {
                    path,
                    row: (n_rows + row + 1) as u64,
                    column: col + 1,
                    name: &names[col],
                };
                if col != t {
                    put_numbers(array.as_ref(), |row, v| {
                        slab[row * n_features + feature] = v
                    })
                    .map_err(|(row, fault)| at(row).error(fault))?;
                    feature += 1;
                } else if columns[col] == Column::Label {
                    put_labels(array.as_ref(), &mut labels)
                        .map_err(|(row, fault)| at(row).error(fault))?;
                } else if kind != ProblemKind::Regression {
                    put_numbers(array.as_ref(), |_, v| labels.push_number(v))
                        .map_err(|(row, fault)| at(row).error(fault))?;
                } else {
                    y.reserve(rows);
                    put_numbers(array.as_ref(), |_, v| y.push(v))
                        .map_err(|(row, fault)| at(row).error(fault))?;
                }
            }
            n_rows += rows;
        }
        let hash = hasher
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))?;
        let targets = match kind {
            // A clustering study ignores its target column: read as labels, any type passes.
            ProblemKind::Classification | ProblemKind::Clustering => Targets::Labels(labels),
            ProblemKind::Regression => Targets::Values(y),
        };
        Ok(Parsed {
            names,
            target: t,
            n_rows,
            x,
            targets,
            hash,
        })
    })
}

/// How column `col` is read, or why its type is refused.
fn column_kind(
    path: &Path,
    col: usize,
    name: &str,
    data_type: &DataType,
    is_target: bool,
    kind: ProblemKind,
) -> Result<Column, DataError> {
    let numeric = data_type.is_floating() || data_type.is_integer();
    let labels = matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean
    );
    match (numeric, labels, is_target, kind) {
        (true, _, _, _) => Ok(Column::Number),
        (_, true, true, ProblemKind::Classification | ProblemKind::Clustering) => Ok(Column::Label),
        _ => Err(DataError::ColumnType {
            path: path.to_path_buf(),
            column: col + 1,
            name: name.to_string(),
            expected: if is_target && kind != ProblemKind::Regression {
                "class labels (integers, floats, strings or booleans)"
            } else if is_target {
                "a numeric target (float or integer)"
            } else {
                "a numeric feature (float or integer)"
            },
            found: data_type.to_string(),
        }),
    }
}

/// Why a value cannot be used.
enum Fault {
    Null,
    NotFinite(f64),
    /// A label that reads as NaN or infinity: a missing value, not a class.
    NotFiniteLabel(String),
}

/// A cell's place, to name it in an error.
struct Place<'a> {
    path: &'a Path,
    row: u64,
    column: usize,
    name: &'a str,
}

impl Place<'_> {
    /// The error for `fault` at this place.
    fn error(self, fault: Fault) -> DataError {
        let (path, row, column, name) = (
            self.path.to_path_buf(),
            self.row,
            self.column,
            self.name.to_string(),
        );
        match fault {
            Fault::Null => DataError::NullCell {
                path,
                row,
                column,
                name,
            },
            Fault::NotFinite(v) => DataError::NotFiniteCell {
                path,
                row,
                column,
                name,
                value: v.to_string(),
            },
            Fault::NotFiniteLabel(value) => DataError::NotFiniteCell {
                path,
                row,
                column,
                name,
                value,
            },
        }
    }
}

/// Hand every value of a numeric column to `put(row, value)`, refusing nulls and non-finite values.
fn put_numbers(a: &dyn Array, mut put: impl FnMut(usize, f64)) -> Result<(), (usize, Fault)> {
    if let Some(nulls) = a.nulls()
        && let Some(row) = (0..a.len()).find(|&i| nulls.is_null(i))
    {
        return Err((row, Fault::Null));
    }
    /// The values of a primitive array as f64.
    fn each<T: ArrowPrimitiveType>(
        a: &PrimitiveArray<T>,
        to_f64: impl Fn(T::Native) -> f64,
        put: &mut impl FnMut(usize, f64),
    ) -> Result<(), (usize, Fault)> {
        for (row, &v) in a.values().iter().enumerate() {
            let v = to_f64(v);
            if !v.is_finite() {
                return Err((row, Fault::NotFinite(v)));
            }
            put(row, v);
        }
        Ok(())
    }
    // Integers above 2^53 round to the nearest f64, as pandas and NumPy convert them.
    match a.data_type() {
        DataType::Float64 => each(a.as_primitive::<Float64Type>(), |v| v, &mut put),
        DataType::Float32 => each(a.as_primitive::<Float32Type>(), f64::from, &mut put),
        DataType::Int8 => each(a.as_primitive::<Int8Type>(), f64::from, &mut put),
        DataType::Int16 => each(a.as_primitive::<Int16Type>(), f64::from, &mut put),
        DataType::Int32 => each(a.as_primitive::<Int32Type>(), f64::from, &mut put),
        DataType::Int64 => each(a.as_primitive::<Int64Type>(), |v| v as f64, &mut put),
        DataType::UInt8 => each(a.as_primitive::<UInt8Type>(), f64::from, &mut put),
        DataType::UInt16 => each(a.as_primitive::<UInt16Type>(), f64::from, &mut put),
        DataType::UInt32 => each(a.as_primitive::<UInt32Type>(), f64::from, &mut put),
        DataType::UInt64 => each(a.as_primitive::<UInt64Type>(), |v| v as f64, &mut put),
        // Types were checked against the schema before any batch was read.
        other => unreachable!("column type {other} passed the schema check"),
    }
}

/// Record every value of a string or boolean target column as a class label.
fn put_labels(a: &dyn Array, labels: &mut LabelTable) -> Result<(), (usize, Fault)> {
    if let Some(nulls) = a.nulls()
        && let Some(row) = (0..a.len()).find(|&i| nulls.is_null(i))
    {
        return Err((row, Fault::Null));
    }
    let mut push = |row: usize, label: &[u8]| {
        labels.push(label).map_err(|e| match e {
            LabelError::Cell(CellError::NotFinite) => (
                row,
                Fault::NotFiniteLabel(String::from_utf8_lossy(label).into_owned()),
            ),
            // An empty label is a missing value; strings are UTF-8 already.
            _ => (row, Fault::Null),
        })
    };
    match a.data_type() {
        DataType::Utf8 => a
            .as_string::<i32>()
            .iter()
            .enumerate()
            .try_for_each(|(row, s)| push(row, s.unwrap_or_default().as_bytes())),
        DataType::LargeUtf8 => a
            .as_string::<i64>()
            .iter()
            .enumerate()
            .try_for_each(|(row, s)| push(row, s.unwrap_or_default().as_bytes())),
        DataType::Utf8View => a
            .as_string_view()
            .iter()
            .enumerate()
            .try_for_each(|(row, s)| push(row, s.unwrap_or_default().as_bytes())),
        DataType::Boolean => a.as_boolean().iter().enumerate().try_for_each(|(row, b)| {
            push(
                row,
                if b.unwrap_or_default() {
                    b"true"
                } else {
                    b"false"
                },
            )
        }),
        other => unreachable!("column type {other} passed the schema check"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    };
    use arrow_schema::{Field, Schema};

    use crate::dataset::{Dataset, Problem, ProblemKind};
    use crate::error::DataError;

    /// A batch of the named columns (nullable, so tests can put nulls in).
    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        let arrays = columns.into_iter().map(|(_, a)| a).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    /// `batches` written as Parquet in two row groups per batch, at `dir/name`.
    fn parquet(dir: &std::path::Path, name: &str, batches: &[RecordBatch]) -> PathBuf {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), Some(props)).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.close().unwrap();
        path
    }

    /// `batches` written as an Arrow IPC file (Feather v2) at `dir/name`.
    fn feather(dir: &std::path::Path, name: &str, batches: &[RecordBatch]) -> PathBuf {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        let mut w = arrow_ipc::writer::FileWriter::try_new(file, &batches[0].schema()).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
        path
    }

    fn f64s(v: &[f64]) -> ArrayRef {
        Arc::new(Float64Array::from(v.to_vec()))
    }

    fn sample() -> RecordBatch {
        batch(vec![
            ("a", f64s(&[1.0, 2.0, 3.0, 4.0])),
            ("b", Arc::new(Int64Array::from(vec![10, 20, 30, 40]))),
            ("c", Arc::new(Float32Array::from(vec![0.5, 1.5, 2.5, 3.5]))),
            (
                "label",
                Arc::new(StringArray::from(vec!["dog", "cat", "dog", "emu"])),
            ),
        ])
    }

    #[test]
    fn parquet_and_feather_read_like_the_same_csv() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("same.csv");
        std::fs::write(
            &csv,
            "a,b,c,label\n1,10,0.5,dog\n2,20,1.5,cat\n3,30,2.5,dog\n4,40,3.5,emu\n",
        )
        .unwrap();
        let expected = Dataset::read_path(&csv, None, ProblemKind::Classification).unwrap();
        for path in [
            parquet(dir.path(), "d.parquet", &[sample()]),
            feather(dir.path(), "d.feather", &[sample()]),
        ] {
            let d = Dataset::read_path(&path, None, ProblemKind::Classification).unwrap();
            assert_eq!(d.x, expected.x, "{}", path.display());
            assert_eq!(d.y, expected.y);
            assert_eq!(d.feature_names, ["a", "b", "c"]);
            assert_eq!(d.target_name, "label");
            assert_eq!(
                d.problem,
                Problem::Classification {
                    classes: vec!["cat".into(), "dog".into(), "emu".into()]
                }
            );
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                d.checksum,
                format!("blake3:{}", blake3::hash(&bytes).to_hex())
            );
        }
    }

    #[test]
    fn numeric_target_can_be_named_for_regression() {
        let dir = tempfile::tempdir().unwrap();
        let b = batch(vec![
            ("a", f64s(&[1.0, 2.0])),
            ("b", Arc::new(Int64Array::from(vec![10, 20]))),
            ("c", Arc::new(Float32Array::from(vec![0.5, 1.5]))),
        ]);
        let path = parquet(dir.path(), "r.parquet", &[b]);
        let d = Dataset::read_path(&path, Some("b"), ProblemKind::Regression).unwrap();
        assert_eq!(d.y.to_vec(), [10.0, 20.0]);
        assert_eq!(d.feature_names, ["a", "c"]);
        assert_eq!(d.x, ndarray::array![[1.0, 0.5], [2.0, 1.5]]);
    }

    #[test]
    fn string_feature_column_is_refused_naming_column_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let path = feather(dir.path(), "s.arrow", &[sample()]);
        let err = Dataset::read_path(&path, Some("a"), ProblemKind::Regression).unwrap_err();
        assert!(
            matches!(&err, DataError::ColumnType { column: 4, name, .. } if name == "label"),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("s.arrow: column 4 (`label`): expected a numeric feature"),
            "{text}"
        );
        assert!(text.contains("found a column of type Utf8"), "{text}");
    }

    #[test]
    fn null_is_refused_naming_row_and_column_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let first = batch(vec![
            ("a", f64s(&[1.0, 2.0])),
            ("y", Arc::new(BooleanArray::from(vec![true, false]))),
        ]);
        let second = batch(vec![
            ("a", Arc::new(Float64Array::from(vec![Some(3.0), None]))),
            ("y", Arc::new(BooleanArray::from(vec![true, false]))),
        ]);
        for path in [
            parquet(dir.path(), "n.parquet", &[first.clone(), second.clone()]),
            feather(dir.path(), "n.feather", &[first.clone(), second.clone()]),
        ] {
            let err = Dataset::read_path(&path, None, ProblemKind::Classification).unwrap_err();
            assert!(
                matches!(&err, DataError::NullCell { row: 4, column: 1, name, .. } if name == "a"),
                "{err}"
            );
            assert!(
                err.to_string()
                    .contains("row 4, column 1 (`a`): missing value"),
                "{err}"
            );
        }
    }

    #[test]
    fn non_finite_value_is_refused_naming_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let b = batch(vec![
            ("a", f64s(&[1.0, f64::NAN])),
            ("y", f64s(&[0.0, 1.0])),
        ]);
        let path = parquet(dir.path(), "nan.parquet", &[b]);
        let err = Dataset::read_path(&path, None, ProblemKind::Classification).unwrap_err();
        assert!(
            matches!(
                &err,
                DataError::NotFiniteCell {
                    row: 2,
                    column: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn boolean_target_is_two_classes() {
        let dir = tempfile::tempdir().unwrap();
        let b = batch(vec![
            ("a", f64s(&[1.0, 2.0, 3.0])),
            ("y", Arc::new(BooleanArray::from(vec![true, false, true]))),
        ]);
        let path = feather(dir.path(), "b.ipc", &[b]);
        let d = Dataset::read_path(&path, None, ProblemKind::Classification).unwrap();
        assert_eq!(d.y.to_vec(), [1.0, 0.0, 1.0]);
    }

    #[test]
    fn not_a_parquet_file_is_refused_naming_the_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.parquet");
        std::fs::write(&path, "a,y\n1,2\n").unwrap();
        let err = Dataset::read_path(&path, None, ProblemKind::Regression).unwrap_err();
        assert!(
            err.to_string()
                .contains("fake.parquet: not a readable Parquet file"),
            "{err}"
        );
    }

    #[test]
    fn directory_mixes_parquet_and_csv_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let part = |v: f64| batch(vec![("a", f64s(&[v, v + 0.5])), ("y", f64s(&[0.0, 1.0]))]);
        parquet(dir.path(), "part-1.parquet", &[part(1.0)]);
        std::fs::write(dir.path().join("part-2.csv"), "a,y\n2,0\n2.5,1\n").unwrap();
        parquet(dir.path(), "part-3.parquet", &[part(3.0)]);
        let d = Dataset::read_path(dir.path(), None, ProblemKind::Classification).unwrap();
        assert_eq!(d.x.column(0).to_vec(), [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]);
    }

    #[test]
    fn error_in_a_directory_names_the_file_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let good = batch(vec![("a", f64s(&[1.0, 2.0])), ("y", f64s(&[0.0, 1.0]))]);
        let bad = batch(vec![
            ("a", Arc::new(Float64Array::from(vec![Some(1.0), None]))),
            ("y", f64s(&[0.0, 1.0])),
        ]);
        parquet(dir.path(), "a.parquet", &[good]);
        parquet(dir.path(), "b.parquet", &[bad]);
        let err = Dataset::read_path(dir.path(), None, ProblemKind::Classification).unwrap_err();
        assert!(
            err.to_string().contains("b.parquet, row 2, column 1 (`a`)"),
            "{err}"
        );
    }
}
