//! Datasets: reading CSV, NumPy and directories of them into a validated dataset, and its flat
//! image for shared memory.
//!
//! Every reader produces the same intermediate [`Parsed`] (header names, features row-major,
//! raw targets, the content hash), so a directory can mix formats and every format gets the
//! same class-label rules and the same checks.

mod bytes;
mod cache;
mod cells;
mod columnar;
mod csv;
mod dir;
mod image;
mod npy;

pub use cells::{CellOptions, Vocabularies};

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::DataError;
pub use cache::{CacheUse, SourceStamps};
use image::Meta;
pub use image::{HeapImage, ImageBuf, ImageData, ImageRead};

/// Whether the target is read as class labels or as real values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProblemKind {
    /// Class labels (numbers or names).
    Classification,
    /// Real-valued targets.
    Regression,
    /// No target is learned: the target column is read as labels (any text), left out of the
    /// features, and ignored; models find groups in the features alone.
    Clustering,
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
    /// Clustering: `y` holds the ignored target column's label indices.
    Clustering,
}

/// A dataset in memory: features row-major, targets, names.
#[derive(Debug, Clone, PartialEq)]
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
    /// `blake3:` and the BLAKE3 hash of the data in hex: identifies the data a study was run on.
    ///
    /// For a file, the hash of its bytes; for a directory, the hash of its files' names and
    /// hashes in name order.
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
            Problem::Clustering => ProblemKind::Clustering,
        }
    }

    /// Number of classes (0 for regression and clustering).
    pub fn n_classes(&self) -> usize {
        match self {
            Problem::Classification { classes } => classes.len(),
            Problem::Regression | Problem::Clustering => 0,
        }
    }
}

/// Size of the image header: rows and columns as two u64.
const IMAGE_HEADER: usize = 16;

impl Dataset {
    /// Read `path` by its kind: a `.csv`, `.parquet`, `.arrow`/`.feather`/`.ipc`, `.npy` or `.npz`
    /// file, or a directory of such files.
    ///
    /// CSV: see [`Dataset::read_csv`]. Parquet and Arrow IPC (Feather v2): features are float or
    /// integer columns; a classification target may also be a string or boolean column; nulls
    /// and non-finite values are refused naming the row and column. `.npz`: arrays `x` (2-D, f64 or f32) and `y` (1-D, float
    /// or integer); features are named `f0`, `f1`, … and the target `y`. `.npy`: one 2-D float
    /// array whose last column is the target (an `.npy` has no names, so the target is always the
    /// last column). For NumPy files `target` may only be `y` (or absent). A directory: every data
    /// file in it, in name order, concatenated; all must have the same header.
    pub fn read_path(
        path: &Path,
        target: Option<&str>,
        kind: ProblemKind,
    ) -> Result<Dataset, DataError> {
        let parsed = if path.is_dir() {
            dir::read_dir(path, target, kind)?
        } else {
            read_file(path, target, kind, worker_threads())?
        };
        parsed.into_dataset(path, kind)
    }

    /// Read the CSV file `path` (header row required); `target` names the target column
    /// (default: the last).
    ///
    /// Features must be finite numbers. A classification target may hold numbers or names:
    /// the classes are sorted numerically when every label is a number (labels with the same
    /// value, like `1` and `1.0`, are one class), else lexicographically. Blank lines are skipped.
    /// The file is parsed on all the cores this process may use.
    pub fn read_csv(
        path: &Path,
        target: Option<&str>,
        kind: ProblemKind,
    ) -> Result<Dataset, DataError> {
        csv::read(path, target, kind, worker_threads())?.into_dataset(path, kind)
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
        let mut out = vec![0; self.image_len()];
        self.write_image(&mut out);
        out
    }

    /// Write [`Dataset::to_image`]'s bytes into `out` (e.g. fresh shared memory, so the image
    /// never exists twice); `out` must be [`Dataset::image_len`] long, else nothing is written.
    pub fn write_image(&self, out: &mut [u8]) {
        if out.len() != self.image_len() {
            return;
        }
        let (header, body) = out.split_at_mut(IMAGE_HEADER);
        header[..8].copy_from_slice(&(self.x.nrows() as u64).to_le_bytes());
        header[8..].copy_from_slice(&(self.x.ncols() as u64).to_le_bytes());
        // `iter` walks in logical (row-major) order whatever the memory layout.
        for (dst, v) in body
            .chunks_exact_mut(8)
            .zip(self.x.iter().chain(self.y.iter()))
        {
            dst.copy_from_slice(&v.to_ne_bytes());
        }
    }
}

/// Size in bytes of the image of `rows` × `cols` features and `rows` targets.
pub fn image_len(rows: usize, cols: usize) -> usize {
    IMAGE_HEADER + 8 * rows * (cols + 1)
}

/// Write the header of a `rows` × `cols` image into `out` (of [`image_len`] bytes, 8-aligned) and
/// give its features (row-major) and targets to fill in place: an image built where it is
/// shared, with no copy of the data before it.
pub fn image_parts_mut(
    out: &mut [u8],
    rows: usize,
    cols: usize,
) -> Result<(&mut [f64], &mut [f64]), DataError> {
    if out.len() != image_len(rows, cols) {
        return Err(DataError::Image(format!(
            "{} bytes for {rows} rows × {cols} columns, which need {}",
            out.len(),
            image_len(rows, cols)
        )));
    }
    let (header, body) = out.split_at_mut(IMAGE_HEADER);
    header[..8].copy_from_slice(&(rows as u64).to_le_bytes());
    header[8..].copy_from_slice(&(cols as u64).to_le_bytes());
    if body.as_ptr().align_offset(std::mem::align_of::<f64>()) != 0 {
        return Err(DataError::Image(
            "the image is not 8-byte aligned".to_string(),
        ));
    }
    // SAFETY: `body` is exactly rows × (cols + 1) × 8 bytes (checked above), aligned for f64
    // (checked above), every bit pattern is a valid f64, and the mutable borrow of `out` is moved
    // into the result, so nothing else can read or write these bytes meanwhile.
    let values: &mut [f64] = unsafe {
        std::slice::from_raw_parts_mut(body.as_mut_ptr().cast::<f64>(), rows * (cols + 1))
    };
    Ok(values.split_at_mut(rows * cols))
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

/// How many threads a reader may use: the cores in this process's affinity mask (and quota).
fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Read one data file by its extension, on up to `threads` threads.
fn read_file(
    path: &Path,
    target: Option<&str>,
    kind: ProblemKind,
    threads: usize,
) -> Result<Parsed, DataError> {
    match Format::of(path) {
        Some(Format::Csv) => csv::read(path, target, kind, threads),
        Some(Format::Npy) => npy::read_npy(path, target, kind),
        Some(Format::Npz) => npy::read_npz(path, target, kind),
        Some(Format::Parquet) => columnar::read_parquet(path, target, kind),
        Some(Format::Arrow) => columnar::read_arrow(path, target, kind),
        None => Err(DataError::Format {
            path: path.to_path_buf(),
        }),
    }
}

/// The file formats a dataset can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Npy,
    Npz,
    Parquet,
    /// Arrow IPC file format, which Feather v2 is.
    Arrow,
}

impl Format {
    /// The format named by the file's extension (case-insensitive), if it is one we read.
    fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "npy" => Some(Format::Npy),
            "npz" => Some(Format::Npz),
            "parquet" | "pq" => Some(Format::Parquet),
            "arrow" | "feather" | "ipc" => Some(Format::Arrow),
            _ => None,
        }
    }
}

/// The file read, before the targets are decoded: what every format produces.
struct Parsed {
    /// Header names, the target's included.
    names: Vec<String>,
    /// Index of the target in `names`.
    target: usize,
    /// Number of data rows.
    n_rows: usize,
    /// Features row-major, `n_rows × (names.len() - 1)`.
    x: Vec<f64>,
    /// The target column as read.
    targets: Targets,
    /// BLAKE3 of the file's bytes (of a directory's names and hashes).
    hash: blake3::Hash,
}

/// A target column as read: values (regression) or raw class labels.
enum Targets {
    Values(Vec<f64>),
    Labels(LabelTable),
}

impl Parsed {
    /// Decode the targets and check there is something to learn from; `path` names the source.
    fn into_dataset(self, path: &Path, kind: ProblemKind) -> Result<Dataset, DataError> {
        let (meta, x, y) = self.decode(path, kind)?;
        let x = Array2::from_shape_vec((meta.rows, meta.feature_names.len()), x).map_err(|e| {
            DataError::Csv {
                path: path.to_path_buf(),
                line: 0,
                message: e.to_string(),
            }
        })?;
        Ok(Dataset {
            x,
            y: Array1::from(y),
            feature_names: meta.feature_names,
            target_name: meta.target_name,
            problem: meta.problem,
            checksum: meta.checksum,
        })
    }

    /// The dataset's description, its features as read, and its decoded targets (class indices
    /// or values), checked to leave something to learn from.
    fn decode(
        self,
        path: &Path,
        kind: ProblemKind,
    ) -> Result<(Meta, Vec<f64>, Vec<f64>), DataError> {
        let Parsed {
            names,
            target,
            n_rows,
            x,
            targets,
            hash,
        } = self;
        if n_rows == 0 {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
                what: "no data rows after the header".into(),
            });
        }
        let (problem, y) = match (kind, targets) {
            (ProblemKind::Classification, Targets::Labels(labels)) => {
                let (classes, y) = labels.finish();
                if classes.len() < 2 {
                    return Err(DataError::OneClass {
                        path: path.to_path_buf(),
                        target: names[target].clone(),
                        class: classes.first().cloned().unwrap_or_default(),
                    });
                }
                (Problem::Classification { classes }, y)
            }
            (ProblemKind::Clustering, Targets::Labels(labels)) => {
                let (_, y) = labels.finish();
                (Problem::Clustering, y)
            }
            (_, Targets::Values(y)) => (Problem::Regression, y),
            (ProblemKind::Regression, Targets::Labels(_)) => {
                unreachable!("readers read labels only for classification")
            }
        };
        let target_name = names[target].clone();
        let mut feature_names = names;
        feature_names.remove(target);
        let meta = Meta {
            rows: n_rows,
            feature_names,
            target_name,
            problem,
            checksum: format!("blake3:{}", hash.to_hex()),
        };
        Ok((meta, x, y))
    }

    /// Append `other`'s rows (same header) after this one's; the hash is left to the caller.
    fn append(&mut self, other: Parsed) {
        self.n_rows += other.n_rows;
        self.x.extend_from_slice(&other.x);
        match (&mut self.targets, other.targets) {
            (Targets::Values(a), Targets::Values(b)) => a.extend_from_slice(&b),
            (Targets::Labels(a), Targets::Labels(b)) => a.append(b),
            _ => unreachable!("one read has one problem kind"),
        }
    }
}

/// Why one cell is not a usable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellError {
    Empty,
    NotANumber,
    NotFinite,
}

impl CellError {
    /// The error naming the file, line, column (0-based `col`), header and cell.
    fn at(self, path: &Path, line: u64, col: usize, name: &str, value: &str) -> DataError {
        let (path, column, name, value) = (
            path.to_path_buf(),
            col + 1,
            name.to_string(),
            value.to_string(),
        );
        match self {
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
}

/// Parse one numeric cell (surrounding spaces allowed), refusing empty, non-numeric and non-finite.
fn parse_number(cell: &[u8]) -> Result<f64, CellError> {
    let cell = cell.trim_ascii();
    if cell.is_empty() {
        return Err(CellError::Empty);
    }
    // fast-float2 accepts exactly Rust's float syntax (`1e5`, `.5`, `5.`, `+1`, `inf`, `NaN`, …):
    // `float_syntax_is_rusts` checks it.
    let v: f64 = fast_float2::parse(cell).map_err(|_| CellError::NotANumber)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(CellError::NotFinite)
    }
}

/// Why one cell is not a usable class label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelError {
    Cell(CellError),
    NotUtf8,
}

/// Class labels as they are read: distinct raw labels in order of first appearance.
#[derive(Default)]
struct LabelTable {
    ids: HashMap<Vec<u8>, u32>,
    /// Ids of numeric labels by their bits (NumPy targets), so a row costs no formatting.
    numbers: HashMap<u64, u32>,
    labels: Vec<String>,
    /// Raw label id per row.
    rows: Vec<u32>,
}

impl LabelTable {
    /// Record one row's label; allocates only for a label not seen before.
    fn push(&mut self, cell: &[u8]) -> Result<(), LabelError> {
        let cell = cell.trim_ascii();
        // A few classes: comparing the bytes beats hashing them (one lookup per row).
        let known = if self.labels.len() <= 8 {
            (self.labels.iter())
                .position(|l| l.as_bytes() == cell)
                .map(|i| i as u32)
        } else {
            self.ids.get(cell).copied()
        };
        let id = match known {
            Some(id) => id,
            None => {
                if cell.is_empty() {
                    return Err(LabelError::Cell(CellError::Empty));
                }
                let text = std::str::from_utf8(cell).map_err(|_| LabelError::NotUtf8)?;
                // "nan" and "inf" parse as floats: a missing value, not a class.
                if text.parse::<f64>().is_ok_and(|v| !v.is_finite()) {
                    return Err(LabelError::Cell(CellError::NotFinite));
                }
                self.insert(text.to_string())
            }
        };
        self.rows.push(id);
        Ok(())
    }

    /// Record one row's numeric label (finite, checked by the caller).
    fn push_number(&mut self, v: f64) {
        // -0.0 and 0.0 are one label.
        let v = if v == 0.0 { 0.0 } else { v };
        let id = match self.numbers.get(&v.to_bits()) {
            Some(&id) => id,
            None => {
                let text = v.to_string();
                let id = match self.ids.get(text.as_bytes()) {
                    Some(&id) => id,
                    None => self.insert(text),
                };
                self.numbers.insert(v.to_bits(), id);
                id
            }
        };
        self.rows.push(id);
    }

    /// A new raw label's id.
    fn insert(&mut self, text: String) -> u32 {
        let id = self.labels.len() as u32;
        self.ids.insert(text.as_bytes().to_vec(), id);
        self.labels.push(text);
        id
    }

    /// Append the rows of `other`, read after this table's: first appearances keep file order.
    fn append(&mut self, other: LabelTable) {
        let ids: Vec<u32> = other
            .labels
            .into_iter()
            .map(|label| match self.ids.get(label.as_bytes()) {
                Some(&id) => id,
                None => self.insert(label),
            })
            .collect();
        self.rows
            .extend(other.rows.iter().map(|&raw| ids[raw as usize]));
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
    fn image_filled_in_place_reads_back() {
        let mut words = vec![0u64; image_len(2, 3) / 8];
        let bytes: &mut [u8] =
            unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast(), words.len() * 8) };
        let (x, y) = image_parts_mut(bytes, 2, 3).unwrap();
        x.copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        y.copy_from_slice(&[0.0, 1.0]);
        let view = DataView::from_image(bytes).unwrap();
        assert_eq!(view.x, ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert_eq!(view.y.to_vec(), [0.0, 1.0]);
        assert!(image_parts_mut(&mut bytes[..40], 2, 3).is_err());
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

    #[test]
    fn float_syntax_is_rusts() {
        let texts = [
            "1",
            "-0.5",
            ".5",
            "5.",
            "+1",
            "1e5",
            "1E-5",
            "-1.5e+3",
            "007",
            "0.1",
            "1e400",
            "4.9e-324",
            "123456789012345678901234567890",
            "inf",
            "-inf",
            "+INF",
            "Infinity",
            "nan",
            "NaN",
            "-nan",
            "",
            "1,5",
            "1e",
            "e1",
            ".",
            "-",
            "1.2.3",
            "0x10",
            "1_000",
            "infinit",
            "1d",
            " 1",
            "--1",
        ];
        for text in texts {
            let rust = text.trim_ascii().parse::<f64>();
            let ours = parse_number(text.as_bytes());
            match (rust, ours) {
                (Ok(v), Ok(w)) => assert_eq!(v.to_bits(), w.to_bits(), "{text}"),
                (Ok(v), Err(CellError::NotFinite)) => assert!(!v.is_finite(), "{text}"),
                (Err(_), Err(CellError::NotANumber | CellError::Empty)) => {}
                (rust, ours) => panic!("{text}: Rust {rust:?}, ours {ours:?}"),
            }
        }
    }

    #[test]
    fn unknown_extension_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.xlsx");
        std::fs::write(&path, "a,y\n1,2\n").unwrap();
        let err = Dataset::read_path(&path, None, ProblemKind::Regression).unwrap_err();
        assert!(matches!(err, DataError::Format { .. }), "{err}");
        assert!(err.to_string().contains("data.xlsx"), "{err}");
    }

    #[test]
    fn read_path_reads_a_csv_as_read_csv_does() {
        let f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        std::fs::write(f.path(), "a,y\n1,0\n2,1\n").unwrap();
        let a = Dataset::read_path(f.path(), None, ProblemKind::Classification).unwrap();
        let b = Dataset::read_csv(f.path(), None, ProblemKind::Classification).unwrap();
        assert_eq!((a.x, a.y, a.checksum), (b.x, b.y, b.checksum));
    }
}
