//! Reading a CSV into a validated dataset, and its flat image for shared memory.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

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

impl Dataset {
    /// Read `path` (header row required); `target` names the target column (default: the last).
    pub fn read_csv(path: &Path, target: Option<&str>, kind: ProblemKind) -> Result<Dataset, DataError> {
        let _ = (path, target, kind);
        todo!()
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
        DataView { x: self.x.view(), y: self.y.view() }
    }

    /// The flat image: a 16-byte header (rows, columns as u64 little-endian), then x row-major, then y.
    pub fn to_image(&self) -> Vec<u8> {
        todo!()
    }
}

impl<'a> DataView<'a> {
    /// View an image made by [`Dataset::to_image`] without copying (the bytes must be 8-aligned).
    pub fn from_image(bytes: &'a [u8]) -> Result<DataView<'a>, DataError> {
        let _ = bytes;
        todo!()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.x.nrows()
    }
}
