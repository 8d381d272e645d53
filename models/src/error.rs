//! Typed errors at the crate boundary.

use std::path::PathBuf;

/// Why a dataset could not be read or used: each variant names the file and the place.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read the data file: {source}")]
    Io {
        /// The data file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file has no header row or no data rows.
    #[error("{path}: {what}")]
    Empty {
        /// The data file.
        path: PathBuf,
        /// What is missing.
        what: String,
    },
    /// A row has a different number of fields from the header.
    #[error("{path}, line {line}: expected {expected} fields (as in the header), found {found}")]
    FieldCount {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields on this line.
        found: usize,
    },
    /// A feature cell (or a regression target) is not a number.
    #[error("{path}, line {line}, column {column} (`{name}`): expected a number, found `{value}`")]
    NotANumber {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column number.
        column: usize,
        /// The column's header name.
        name: String,
        /// The offending text.
        value: String,
    },
    /// A cell is NaN or infinite.
    #[error(
        "{path}, line {line}, column {column} (`{name}`): value `{value}` is not finite; remove or impute it"
    )]
    NotFinite {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column number.
        column: usize,
        /// The column's header name.
        name: String,
        /// The offending text.
        value: String,
    },
    /// A cell is empty (a missing value).
    #[error(
        "{path}, line {line}, column {column} (`{name}`): empty cell; remove the row or impute the value"
    )]
    EmptyCell {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column number.
        column: usize,
        /// The column's header name.
        name: String,
    },
    /// The target column named in the config is not in the header.
    #[error("{path}: no target column `{target}` in the header (columns: {columns})")]
    MissingTarget {
        /// The data file.
        path: PathBuf,
        /// The requested target.
        target: String,
        /// The header's columns, comma-separated.
        columns: String,
    },
    /// A classification target with fewer than two classes.
    #[error(
        "{path}: target `{target}` has only one class ({class}); a classifier needs at least two"
    )]
    OneClass {
        /// The data file.
        path: PathBuf,
        /// The target column.
        target: String,
        /// The single class.
        class: String,
    },
    /// Any other malformed CSV (bad quoting, invalid UTF-8).
    #[error("{path}, line {line}: {message}")]
    Csv {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What the CSV reader said.
        message: String,
    },
    /// A path that is not a data file we read (by its extension) nor a directory.
    #[error(
        "{path}: unknown data format; expected a .csv, .parquet, .arrow/.feather/.ipc, .npy or .npz file, or a directory of them"
    )]
    Format {
        /// The path given.
        path: PathBuf,
    },
    /// A file in a directory whose header differs from the first file's.
    #[error(
        "{path}: column {column} of the header is `{found}`, expected `{expected}` as in {first}"
    )]
    HeaderMismatch {
        /// The file that differs.
        path: PathBuf,
        /// The first file in name order, whose header the others must repeat.
        first: PathBuf,
        /// 1-based column number of the first difference.
        column: usize,
        /// The first file's name for that column (or "no column").
        expected: String,
        /// This file's name for that column (or "no column").
        found: String,
    },
    /// A NumPy array of the wrong type or shape, or a missing array.
    #[error("{path}: array `{array}`: expected {expected}, found {found}")]
    BadArray {
        /// The .npy or .npz file.
        path: PathBuf,
        /// The array (`x`, `y`, or the file's one array).
        array: String,
        /// What was expected (type and dimensions).
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// A NaN or infinite value in a NumPy array.
    #[error(
        "{path}: array `{array}`, row {row}, column {column} (`{name}`): value `{value}` is not finite; remove or impute it"
    )]
    NotFiniteArray {
        /// The .npy or .npz file.
        path: PathBuf,
        /// The array (`x`, `y`, or the file's one array).
        array: String,
        /// 1-based row number.
        row: usize,
        /// 1-based column number (1 for a 1-D array).
        column: usize,
        /// The column's name (`f0`, …, or `y`).
        name: String,
        /// The value.
        value: f64,
    },
    /// A Parquet or Arrow file that the reader cannot decode.
    #[error("{path}: not a readable {format} file: {message}")]
    Unreadable {
        /// The data file.
        path: PathBuf,
        /// The format expected from the extension.
        format: &'static str,
        /// What the reader said.
        message: String,
    },
    /// A column of a Parquet or Arrow file whose type cannot be used where it is.
    #[error(
        "{path}: column {column} (`{name}`): expected {expected}, found a column of type {found}"
    )]
    ColumnType {
        /// The data file.
        path: PathBuf,
        /// 1-based column number.
        column: usize,
        /// The column's name.
        name: String,
        /// What the column had to hold.
        expected: &'static str,
        /// The column's Arrow type.
        found: String,
    },
    /// A null (missing value) in a Parquet or Arrow file.
    #[error(
        "{path}, row {row}, column {column} (`{name}`): missing value (null); remove the row or impute the value"
    )]
    NullCell {
        /// The data file.
        path: PathBuf,
        /// 1-based row number, counting every row of the file.
        row: u64,
        /// 1-based column number.
        column: usize,
        /// The column's name.
        name: String,
    },
    /// A NaN or infinite value in a Parquet or Arrow file.
    #[error(
        "{path}, row {row}, column {column} (`{name}`): value `{value}` is not finite; remove or impute it"
    )]
    NotFiniteCell {
        /// The data file.
        path: PathBuf,
        /// 1-based row number, counting every row of the file.
        row: u64,
        /// 1-based column number.
        column: usize,
        /// The column's name.
        name: String,
        /// The value.
        value: String,
    },
    /// A shared-memory image of a dataset that does not decode.
    #[error("bad dataset image: {0}")]
    Image(String),
}

/// Why a model could not be built, fitted or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No model of that name in the catalogue.
    #[error("unknown model `{name}`{hint}")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// ", did you mean `x`?" or the list of models.
        hint: String,
    },
    /// A hyperparameter the model does not have.
    #[error("model `{model}` has no hyperparameter `{name}`{hint}")]
    UnknownParam {
        /// The model.
        model: String,
        /// The parameter given.
        name: String,
        /// ", did you mean `x`?" or the list of parameters.
        hint: String,
    },
    /// A hyperparameter value of the wrong type or out of range.
    #[error("hyperparameter `{name}` of `{model}`: expected {expected}, found {value}")]
    InvalidParam {
        /// The model.
        model: String,
        /// The parameter.
        name: String,
        /// The value given, as written.
        value: String,
        /// What was expected (type and range).
        expected: String,
    },
    /// A metric that does not apply to this model or problem.
    #[error("metric `{metric}` does not apply: {reason}")]
    MetricMismatch {
        /// The metric.
        metric: String,
        /// Why not.
        reason: String,
    },
    /// The data does not suit the evaluation (fewer rows than folds, a class too small to stratify).
    #[error("{0}")]
    Data(String),
    /// The fit itself failed (the underlying library's message).
    #[error("fit failed: {0}")]
    Fit(String),
}
