//! Reading a CSV into a validated dataset, and its flat image for shared memory.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use csv::ByteRecord;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DataError;

/// Whether the target is read as class labels or as real values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProblemKind {
    /// Class labels (numbers or names).
    Classification,
    /// Real-valued targets.
    Regression,
}

/// The problem a dataset poses, with what is needed to decode predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Problem {
    /// Classes in index order: `y` holds indices into this list.
    Classification {
        /// Original labels as written in the file, sorted (numerically when all numeric).
        classes: Vec<String>,
    },
    /// Real-valued target.
    Regression,
}

/// A dataset in memory: features row-major, targets, names.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Features, rows × columns, standard (row-major) layout.
    pub x: Array2<f64>,
    /// Targets: class indices as f64 for classification, values for regression.
    pub y: Array1<f64>,
    /// Feature column names from the header.
    pub feature_names: Vec<String>,
    /// Target column name.
    pub target_name: String,
    /// Classification (with its classes) or regression.
    pub problem: Problem,
    /// SHA-256 of the file's bytes, hex: identifies the data a study was run on.
    pub checksum: String,
}

/// A borrowed dataset (features and targets), e.g. over a shared-memory image.
#[derive(Debug, Clone, Copy)]
pub struct DataView<'a> {
    /// Features, rows × columns.
    pub x: ArrayView2<'a, f64>,
    /// Targets.
    pub y: ArrayView1<'a, f64>,
}

impl Problem {
    /// Classification or regression.
    pub fn kind(&self) -> ProblemKind {
        match self {
            Problem::Classification { .. } => ProblemKind::Classification,
            Problem::Regression => ProblemKind::Regression,
        }
    }

    /// Number of classes (0 for regression).
    pub fn n_classes(&self) -> usize {
        match self {
            Problem::Classification { classes } => classes.len(),
            Problem::Regression => 0,
        }
    }
}

/// Size of the image header: rows and columns as two u64.
const IMAGE_HEADER: usize = 16;

impl Dataset {
    /// Read `path` (header row required); `target` names the target column (default: the last).
    ///
    /// Features must be finite numbers. A classification target may hold numbers or names:
    /// the classes are sorted numerically when every label is a number (labels with the same
    /// value, like `1` and `1.0`, are one class), else lexicographically. Blank lines are skipped.
    pub fn read_csv(
        path: &Path,
        target: Option<&str>,
        kind: ProblemKind,
    ) -> Result<Dataset, DataError> {
        let bytes = std::fs::read(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let checksum = hex(&Sha256::digest(&bytes));
        let mut parsed = parse_csv(path, &bytes, target, kind)?;
        parsed.checksum = checksum;
        Ok(parsed)
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.x.nrows()
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// A borrowed view of features and targets.
    pub fn view(&self) -> DataView<'_> {
        DataView {
            x: self.x.view(),
            y: self.y.view(),
        }
    }

    /// Size in bytes of [`Dataset::to_image`]'s result.
    pub fn image_len(&self) -> usize {
        IMAGE_HEADER + 8 * (self.x.len() + self.y.len())
    }

    /// The flat image: a 16-byte header (rows, columns as u64 little-endian), then x row-major, then y.
    ///
    /// The f64 values are in native byte order, because the image is viewed in place by
    /// processes on the same machine.
    pub fn to_image(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.image_len());
        out.extend_from_slice(&(self.x.nrows() as u64).to_le_bytes());
        out.extend_from_slice(&(self.x.ncols() as u64).to_le_bytes());
        // `iter` walks in logical (row-major) order whatever the memory layout.
        for v in self.x.iter().chain(self.y.iter()) {
            out.extend_from_slice(&v.to_ne_bytes());
        }
        out
    }
}

impl<'a> DataView<'a> {
    /// View an image made by [`Dataset::to_image`] without copying (the bytes must be 8-aligned).
    pub fn from_image(bytes: &'a [u8]) -> Result<DataView<'a>, DataError> {
        let (Some(rows), Some(cols)) = (read_u64(bytes, 0), read_u64(bytes, 8)) else {
            return Err(DataError::Image(format!(
                "{} bytes is shorter than the 16-byte header",
                bytes.len()
            )));
        };
        let too_big = || {
            DataError::Image(format!(
                "header says {rows} rows × {cols} columns, too large"
            ))
        };
        let rows = usize::try_from(rows).map_err(|_| too_big())?;
        let cols = usize::try_from(cols).map_err(|_| too_big())?;
        let n_x = rows.checked_mul(cols).ok_or_else(too_big)?;
        let n_values = n_x.checked_add(rows).ok_or_else(too_big)?;
        let expected = n_values
            .checked_mul(8)
            .and_then(|b| b.checked_add(IMAGE_HEADER))
            .ok_or_else(too_big)?;
        if bytes.len() != expected {
            return Err(DataError::Image(format!(
                "{} bytes, but {rows} rows × {cols} columns need {expected}",
                bytes.len()
            )));
        }
        let body = &bytes[IMAGE_HEADER..];
        if body.as_ptr().align_offset(std::mem::align_of::<f64>()) != 0 {
            return Err(DataError::Image(
                "the image is not 8-byte aligned".to_string(),
            ));
        }
        // SAFETY: `body` is exactly `n_values * 8` bytes (checked above), starts at an address
        // aligned for f64 (checked above), and every bit pattern is a valid f64. The slice
        // borrows `bytes` for 'a, so it cannot outlive or alias a mutable borrow of them.
        let values: &'a [f64] =
            unsafe { std::slice::from_raw_parts(body.as_ptr().cast::<f64>(), n_values) };
        let (xs, ys) = values.split_at(n_x);
        let x = ArrayView2::from_shape((rows, cols), xs)
            .map_err(|e| DataError::Image(e.to_string()))?;
        Ok(DataView {
            x,
            y: ArrayView1::from(ys),
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.x.nrows()
    }
}

/// The little-endian u64 at `at`, if the bytes are long enough.
fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Why one cell is not a usable number.
enum CellError {
    Empty,
    NotANumber,
    NotFinite,
}

/// Parse one numeric cell (surrounding spaces allowed), refusing empty, non-numeric and non-finite.
fn parse_number(cell: &[u8]) -> Result<f64, CellError> {
    let cell = cell.trim_ascii();
    if cell.is_empty() {
        return Err(CellError::Empty);
    }
    let text = std::str::from_utf8(cell).map_err(|_| CellError::NotANumber)?;
    let v: f64 = text.parse().map_err(|_| CellError::NotANumber)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(CellError::NotFinite)
    }
}

/// Everything needed to name a place in the file in an error.
struct Place<'a> {
    path: &'a Path,
    names: &'a [String],
}

impl Place<'_> {
    /// The error for a bad cell, named by line, column and header.
    fn cell_error(&self, e: CellError, line: u64, col: usize, cell: &[u8]) -> DataError {
        let path = self.path.to_path_buf();
        let name = self.names[col].clone();
        let column = col + 1;
        let value = String::from_utf8_lossy(cell.trim_ascii()).into_owned();
        match e {
            CellError::Empty => DataError::EmptyCell {
                path,
                line,
                column,
                name,
            },
            CellError::NotANumber => DataError::NotANumber {
                path,
                line,
                column,
                name,
                value,
            },
            CellError::NotFinite => DataError::NotFinite {
                path,
                line,
                column,
                name,
                value,
            },
        }
    }

    /// The error for malformed CSV, with its line.
    fn csv_error(&self, e: &csv::Error) -> DataError {
        let line = e.position().map_or(0, |p| p.line());
        let message = match e.kind() {
            csv::ErrorKind::Io(io) => io.to_string(),
            _ => e.to_string(),
        };
        DataError::Csv {
            path: self.path.to_path_buf(),
            line,
            message,
        }
    }
}

/// Class labels as they are read: distinct raw labels in order of first appearance.
#[derive(Default)]
struct LabelTable {
    ids: HashMap<Vec<u8>, u32>,
    labels: Vec<String>,
    /// Raw label id per row.
    rows: Vec<u32>,
}

impl LabelTable {
    /// Record one row's label; allocates only for a label not seen before.
    fn push(
        &mut self,
        cell: &[u8],
        line: u64,
        col: usize,
        place: &Place<'_>,
    ) -> Result<(), DataError> {
        let cell = cell.trim_ascii();
        let id = match self.ids.get(cell) {
            Some(&id) => id,
            None => {
                if cell.is_empty() {
                    return Err(place.cell_error(CellError::Empty, line, col, cell));
                }
                let Ok(text) = std::str::from_utf8(cell) else {
                    return Err(DataError::Csv {
                        path: place.path.to_path_buf(),
                        line,
                        message: format!(
                            "column {} (`{}`): the class label is not valid UTF-8",
                            col + 1,
                            place.names[col]
                        ),
                    });
                };
                // "nan" and "inf" parse as floats: a missing value, not a class.
                if text.parse::<f64>().is_ok_and(|v| !v.is_finite()) {
                    return Err(place.cell_error(CellError::NotFinite, line, col, cell));
                }
                let id = self.labels.len() as u32;
                self.ids.insert(cell.to_vec(), id);
                self.labels.push(text.to_string());
                id
            }
        };
        self.rows.push(id);
        Ok(())
    }

    /// The sorted class names and each row's class index.
    fn finish(self) -> (Vec<String>, Vec<f64>) {
        let numeric: Option<Vec<f64>> = self.labels.iter().map(|l| l.parse::<f64>().ok()).collect();
        // class_of[raw id] = class index
        let mut class_of = vec![0usize; self.labels.len()];
        let mut classes: Vec<String> = Vec::new();
        let mut order: Vec<usize> = (0..self.labels.len()).collect();
        match numeric {
            Some(values) => {
                // Equal values are one class, named by the spelling seen first.
                order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
                let mut last: Option<f64> = None;
                for &raw in &order {
                    if last != Some(values[raw]) {
                        classes.push(self.labels[raw].clone());
                        last = Some(values[raw]);
                    }
                    class_of[raw] = classes.len() - 1;
                }
            }
            None => {
                order.sort_by(|&a, &b| self.labels[a].cmp(&self.labels[b]));
                for (class, &raw) in order.iter().enumerate() {
                    class_of[raw] = class;
                    classes.push(self.labels[raw].clone());
                }
            }
        }
        let y = self
            .rows
            .iter()
            .map(|&raw| class_of[raw as usize] as f64)
            .collect();
        (classes, y)
    }
}

/// Parse and validate the CSV in `bytes` (the checksum is filled in by the caller).
fn parse_csv(
    path: &Path,
    bytes: &[u8],
    target: Option<&str>,
    kind: ProblemKind,
) -> Result<Dataset, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let path_buf: PathBuf = path.to_path_buf();
    let header = reader
        .byte_headers()
        .map_err(|e| DataError::Csv {
            path: path_buf.clone(),
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    if header.is_empty() {
        return Err(DataError::Empty {
            path: path_buf,
            what: "the file is empty; expected a header row and data rows".into(),
        });
    }
    let header_line = header.position().map_or(1, |p| p.line());
    let mut names = Vec::with_capacity(header.len());
    for field in header.iter() {
        let name = std::str::from_utf8(field.trim_ascii()).map_err(|_| DataError::Csv {
            path: path_buf.clone(),
            line: header_line,
            message: "the header is not valid UTF-8".into(),
        })?;
        names.push(name.to_string());
    }
    let n_cols = names.len();
    let t = match target {
        Some(t) => names
            .iter()
            .position(|n| n == t)
            .ok_or_else(|| DataError::MissingTarget {
                path: path_buf.clone(),
                target: t.to_string(),
                columns: names.join(", "),
            })?,
        None => n_cols - 1,
    };
    if n_cols < 2 {
        return Err(DataError::Empty {
            path: path_buf,
            what: format!(
                "no feature columns: the header has only the target `{}`",
                names[t]
            ),
        });
    }
    let place = Place {
        path,
        names: &names,
    };

    // Line count bounds the row count, so the feature buffer is allocated once.
    let max_rows = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut x: Vec<f64> = Vec::with_capacity(max_rows.saturating_mul(n_cols - 1));
    let mut y_values: Vec<f64> = Vec::with_capacity(max_rows);
    let mut labels = LabelTable {
        rows: Vec::with_capacity(max_rows),
        ..LabelTable::default()
    };
    let mut record = ByteRecord::new();
    let mut n_rows = 0usize;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| place.csv_error(&e))?
    {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != n_cols {
            return Err(DataError::FieldCount {
                path: path_buf,
                line,
                expected: n_cols,
                found: record.len(),
            });
        }
        for (col, cell) in record.iter().enumerate() {
            if col == t {
                match kind {
                    ProblemKind::Classification => labels.push(cell, line, col, &place)?,
                    ProblemKind::Regression => y_values.push(
                        parse_number(cell).map_err(|e| place.cell_error(e, line, col, cell))?,
                    ),
                }
            } else {
                x.push(parse_number(cell).map_err(|e| place.cell_error(e, line, col, cell))?);
            }
        }
        n_rows += 1;
    }
    if n_rows == 0 {
        return Err(DataError::Empty {
            path: path_buf,
            what: "no data rows after the header".into(),
        });
    }

    let (problem, y) = match kind {
        ProblemKind::Regression => (Problem::Regression, y_values),
        ProblemKind::Classification => {
            let (classes, y) = labels.finish();
            if classes.len() < 2 {
                return Err(DataError::OneClass {
                    path: path_buf,
                    target: names[t].clone(),
                    class: classes.first().cloned().unwrap_or_default(),
                });
            }
            (Problem::Classification { classes }, y)
        }
    };
    let x = Array2::from_shape_vec((n_rows, n_cols - 1), x).map_err(|e| DataError::Csv {
        path: path_buf.clone(),
        line: 0,
        message: e.to_string(),
    })?;
    let target_name = names[t].clone();
    let mut feature_names = names;
    feature_names.remove(t);
    Ok(Dataset {
        x,
        y: Array1::from(y),
        feature_names,
        target_name,
        problem,
        checksum: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn csv_file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn read(text: &str, target: Option<&str>, kind: ProblemKind) -> Result<Dataset, DataError> {
        let f = csv_file(text);
        Dataset::read_csv(f.path(), target, kind)
    }

    fn classes(d: &Dataset) -> Vec<String> {
        match &d.problem {
            Problem::Classification { classes } => classes.clone(),
            Problem::Regression => panic!("not a classification"),
        }
    }

    #[test]
    fn last_column_is_the_default_target() {
        let d = read(
            "a,b,label\n1,2,0\n3,4,1\n",
            None,
            ProblemKind::Classification,
        )
        .unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.target_name, "label");
        assert_eq!(d.x, ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(d.y.to_vec(), [0.0, 1.0]);
    }

    #[test]
    fn target_column_can_be_named_anywhere() {
        let d = read(
            "y,a,b\n1.5,1,2\n-2,3,4\n",
            Some("y"),
            ProblemKind::Regression,
        )
        .unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.y.to_vec(), [1.5, -2.0]);
        assert_eq!(d.x.row(1).to_vec(), [3.0, 4.0]);
        assert_eq!(d.problem, Problem::Regression);
    }

    #[test]
    fn numeric_classes_sort_numerically() {
        let d = read(
            "a,c\n1,10\n2,9\n3,-1\n4,9.0\n",
            None,
            ProblemKind::Classification,
        )
        .unwrap();
        // 9 and 9.0 are one class, named as first written.
        assert_eq!(classes(&d), ["-1", "9", "10"]);
        assert_eq!(d.y.to_vec(), [2.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn named_classes_sort_lexicographically() {
        let d = read(
            "a,c\n1,dog\n2,cat\n3, emu \n4,cat\n",
            None,
            ProblemKind::Classification,
        )
        .unwrap();
        assert_eq!(classes(&d), ["cat", "dog", "emu"]);
        assert_eq!(d.y.to_vec(), [1.0, 0.0, 2.0, 0.0]);
    }

    #[test]
    fn blank_trailing_lines_are_ignored() {
        let d = read("a,y\n1,2\n3,4\n\n\n", None, ProblemKind::Regression).unwrap();
        assert_eq!(d.n_rows(), 2);
    }

    #[test]
    fn checksum_is_sha256_of_the_file() {
        let d = read("a,y\n1,2\n", None, ProblemKind::Regression).unwrap();
        // From `printf 'a,y\n1,2\n' | sha256sum`.
        assert_eq!(
            d.checksum,
            "6eca8591af4d545e49ff4fcdfb9cac5b5656b6187eace6af1d9a9af2dafa9023"
        );
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = Dataset::read_csv(
            Path::new("/nonexistent/data.csv"),
            None,
            ProblemKind::Regression,
        )
        .unwrap_err();
        assert!(matches!(err, DataError::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/data.csv"));
    }

    #[test]
    fn empty_file_is_refused() {
        let err = read("", None, ProblemKind::Regression).unwrap_err();
        assert!(matches!(err, DataError::Empty { .. }), "{err}");
    }

    #[test]
    fn header_only_file_is_refused() {
        let err = read("a,b,y\n", None, ProblemKind::Regression).unwrap_err();
        assert!(err.to_string().contains("no data rows"), "{err}");
    }

    #[test]
    fn single_column_file_has_no_features() {
        let err = read("y\n1\n2\n", None, ProblemKind::Regression).unwrap_err();
        assert!(err.to_string().contains("no feature columns"), "{err}");
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        let err = read("a,b,y\n1,2,3\n4,5\n", None, ProblemKind::Regression).unwrap_err();
        match err {
            DataError::FieldCount {
                line,
                expected,
                found,
                ..
            } => assert_eq!((line, expected, found), (3, 3, 2)),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn non_numeric_cell_names_line_column_and_header() {
        let err = read("a,b,y\n1,2,3\n4,five,6\n", None, ProblemKind::Regression).unwrap_err();
        match &err {
            DataError::NotANumber {
                line,
                column,
                name,
                value,
                ..
            } => {
                assert_eq!(
                    (*line, *column, name.as_str(), value.as_str()),
                    (3, 2, "b", "five")
                )
            }
            e => panic!("{e}"),
        }
        assert!(err.to_string().contains("line 3, column 2 (`b`)"), "{err}");
    }

    #[test]
    fn nan_cell_is_refused_with_line_and_column() {
        for bad in ["nan", "NaN", "inf", "-inf", "Infinity", "+INF"] {
            let err = read(
                &format!("a,b,y\n1,2,3\n4,{bad},6\n"),
                None,
                ProblemKind::Regression,
            )
            .unwrap_err();
            match err {
                DataError::NotFinite { line, column, .. } => {
                    assert_eq!((line, column), (3, 2), "{bad}")
                }
                e => panic!("{bad}: {e}"),
            }
        }
    }

    #[test]
    fn nan_regression_target_is_refused() {
        let err = read("a,y\n1,2\n4,NaN\n", None, ProblemKind::Regression).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::NotFinite {
                    line: 3,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn nan_class_label_is_refused() {
        let err = read("a,y\n1,0\n4,nan\n", None, ProblemKind::Classification).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::NotFinite {
                    line: 3,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn empty_cell_is_refused_as_missing_value() {
        let err = read("a,b,y\n1,,3\n", None, ProblemKind::Regression).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::EmptyCell {
                    line: 2,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
        let err = read("a,y\n1,0\n2,\n", None, ProblemKind::Classification).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::EmptyCell {
                    line: 3,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn missing_target_column_lists_the_columns() {
        let err = read("a,b\n1,2\n", Some("label"), ProblemKind::Classification).unwrap_err();
        match err {
            DataError::MissingTarget {
                target, columns, ..
            } => assert_eq!((target.as_str(), columns.as_str()), ("label", "a, b")),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn one_class_target_is_refused() {
        let err = read("a,y\n1,yes\n2,yes\n", None, ProblemKind::Classification).unwrap_err();
        assert!(
            matches!(err, DataError::OneClass { ref class, .. } if class == "yes"),
            "{err}"
        );
    }

    #[test]
    fn crlf_line_ends_and_a_byte_order_mark_are_accepted() {
        let d = read(
            "\u{feff}a,y\r\n1,2\r\n3,4\r\n",
            None,
            ProblemKind::Regression,
        )
        .unwrap();
        assert_eq!(d.feature_names, ["a"]);
        assert_eq!(d.y.to_vec(), [2.0, 4.0]);
    }

    #[test]
    fn surrounding_spaces_and_quotes_are_accepted() {
        let d = read(
            "\"a\", b ,y\n\" 1.5\", 2 ,3\n",
            None,
            ProblemKind::Regression,
        )
        .unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.x.row(0).to_vec(), [1.5, 2.0]);
    }

    #[test]
    fn image_round_trips_without_copying() {
        let d = read(
            "a,b,y\n1,2,0\n3,4,1\n5,6,1\n",
            None,
            ProblemKind::Classification,
        )
        .unwrap();
        let image = d.to_image();
        assert_eq!(image.len(), d.image_len());
        // Copy into u64 storage so the bytes are 8-aligned, as shared memory is.
        let mut words = vec![0u64; image.len() / 8];
        for (w, chunk) in words.iter_mut().zip(image.chunks_exact(8)) {
            *w = u64::from_ne_bytes(chunk.try_into().unwrap());
        }
        let bytes: &[u8] =
            unsafe { std::slice::from_raw_parts(words.as_ptr().cast(), image.len()) };
        let view = DataView::from_image(bytes).unwrap();
        assert_eq!(view.x, d.x);
        assert_eq!(view.y, d.y);
        assert_eq!(view.x.as_ptr().cast::<u8>(), bytes[16..].as_ptr());
    }

    #[test]
    fn image_of_wrong_length_is_refused() {
        let words = [2u64, 1, 0, 0]; // 2 rows × 1 column needs 16 + 32 bytes, not 32
        let bytes: &[u8] = unsafe { std::slice::from_raw_parts(words.as_ptr().cast(), 32) };
        let err = DataView::from_image(bytes).unwrap_err();
        assert!(err.to_string().contains("need 48"), "{err}");
        assert!(DataView::from_image(&bytes[..8]).is_err());
    }

    #[test]
    fn misaligned_image_is_refused() {
        // A valid 1×2 image placed one byte past an 8-aligned address.
        let mut words = [0u64; 7];
        let bytes: &mut [u8] =
            unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), 56) };
        bytes[1..9].copy_from_slice(&1u64.to_le_bytes());
        bytes[9..17].copy_from_slice(&2u64.to_le_bytes());
        let err = DataView::from_image(&bytes[1..1 + 16 + 24]).unwrap_err();
        assert!(err.to_string().contains("aligned"), "{err}");
    }
}
