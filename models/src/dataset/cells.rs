//! The general cell path of CSV reading: categorical (string) feature columns, read as codes
//! into a per-column vocabulary, and missing cells (empty or `NA`), read as NaN. Used only when
//! a study configures categorical columns or imputation; every other read takes the fast path.

use std::collections::HashMap;
use std::path::Path;

use super::{CellError, Dataset, LabelTable, Parsed, ProblemKind, Targets, parse_number};
use crate::error::DataError;

/// What the general path accepts beyond numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellOptions {
    /// Feature columns read as categories (any text), by header name.
    pub categorical: Vec<String>,
    /// Whether empty cells and `NA` are missing values (NaN) instead of errors.
    pub missing: bool,
}

/// The vocabulary of each feature column: `Some(sorted values)` for a categorical column.
pub type Vocabularies = Vec<Option<Vec<String>>>;

impl Dataset {
    /// Read the CSV file `path` as [`Dataset::read_csv`] does, except that the columns named in
    /// `options.categorical` hold category codes (indices into their sorted vocabulary, as f64)
    /// and, with `options.missing`, empty and `NA` feature cells are NaN.
    pub fn read_cells(
        path: &Path,
        target: Option<&str>,
        kind: ProblemKind,
        options: &CellOptions,
    ) -> Result<(Dataset, Vocabularies), DataError> {
        if path.is_dir() {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
                what: "categorical columns and missing values are read from one .csv file, not a directory".into(),
            });
        }
        let (parsed, vocabularies) = read(path, target, kind, options)?;
        Ok((parsed.into_dataset(path, kind)?, vocabularies))
    }
}

/// One categorical column's values in order of first appearance.
#[derive(Default)]
struct Vocabulary {
    ids: HashMap<String, usize>,
    names: Vec<String>,
}

/// Read `path` on the general path.
fn read(
    path: &Path,
    target: Option<&str>,
    kind: ProblemKind,
    options: &CellOptions,
) -> Result<(Parsed, Vocabularies), DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let hash = blake3::hash(&bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let csv_error = |e: ::csv::Error| DataError::Csv {
        path: path.to_path_buf(),
        line: e.position().map_or(0, ::csv::Position::line),
        message: e.to_string(),
    };
    let names: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|n| n.trim().to_string())
        .collect();
    if names.len() < 2 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            what: "expected a header row with feature columns and a target".into(),
        });
    }
    let target = match target {
        Some(t) => names
            .iter()
            .position(|n| n == t)
            .ok_or_else(|| DataError::MissingTarget {
                path: path.to_path_buf(),
                target: t.to_string(),
                columns: names.join(", "),
            })?,
        None => names.len() - 1,
    };
    let mut categorical = vec![false; names.len()];
    for c in &options.categorical {
        match names.iter().position(|n| n == c) {
            Some(j) if j == target => {
                return Err(DataError::Csv {
                    path: path.to_path_buf(),
                    line: 1,
                    message: format!(
                        "`{c}` (named in `preprocess.categorical`) is the target; it cannot be a categorical feature"
                    ),
                });
            }
            Some(j) => categorical[j] = true,
            None => {
                return Err(DataError::Csv {
                    path: path.to_path_buf(),
                    line: 1,
                    message: format!(
                        "no column `{c}` (named in `preprocess.categorical`) in the header (columns: {})",
                        names.join(", ")
                    ),
                });
            }
        }
    }
    let mut vocab: Vec<Vocabulary> = (0..names.len()).map(|_| Vocabulary::default()).collect();
    let mut x = Vec::new();
    let mut y_values = Vec::new();
    let mut labels = LabelTable::default();
    let mut n_rows = 0;
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, ::csv::Position::line);
        if record.len() == 1 && record[0].trim().is_empty() {
            continue; // a blank line
        }
        if record.len() != names.len() {
            return Err(DataError::FieldCount {
                path: path.to_path_buf(),
                line,
                expected: names.len(),
                found: record.len(),
            });
        }
        for (col, cell) in record.iter().enumerate() {
            let at = |e: CellError| e.at(path, line, col, &names[col], cell);
            if col == target {
                match kind {
                    ProblemKind::Classification | ProblemKind::Clustering => {
                        labels.push(cell.as_bytes()).map_err(|e| {
                            at(match e {
                                super::LabelError::Cell(c) => c,
                                super::LabelError::NotUtf8 => CellError::NotANumber,
                            })
                        })?
                    }
                    ProblemKind::Regression => {
                        y_values.push(parse_number(cell.as_bytes()).map_err(at)?)
                    }
                }
                continue;
            }
            let text = cell.trim();
            if text.is_empty() || text == "NA" {
                if options.missing {
                    x.push(f64::NAN);
                    continue;
                }
                return Err(at(CellError::Empty));
            }
            if categorical[col] {
                let v = &mut vocab[col];
                let id = match v.ids.get(text) {
                    Some(&id) => id,
                    None => {
                        v.ids.insert(text.to_string(), v.names.len());
                        v.names.push(text.to_string());
                        v.names.len() - 1
                    }
                };
                x.push(id as f64);
            } else {
                x.push(parse_number(text.as_bytes()).map_err(at)?);
            }
        }
        n_rows += 1;
    }
    // Codes by sorted value, so code order is value order (scikit-learn sorts categories).
    let n_features = names.len() - 1;
    let mut vocabularies = Vec::with_capacity(n_features);
    for (col, v) in vocab.into_iter().enumerate() {
        if col == target {
            continue;
        }
        if !categorical[col] {
            vocabularies.push(None);
            continue;
        }
        let mut order: Vec<usize> = (0..v.names.len()).collect();
        order.sort_by(|&a, &b| v.names[a].cmp(&v.names[b]));
        let mut code_of = vec![0.0; order.len()];
        for (code, &id) in order.iter().enumerate() {
            code_of[id] = code as f64;
        }
        let feature = vocabularies.len();
        for row in x.chunks_exact_mut(n_features) {
            let c = &mut row[feature];
            if !c.is_nan() {
                *c = code_of[*c as usize];
            }
        }
        vocabularies.push(Some(
            order.into_iter().map(|id| v.names[id].clone()).collect(),
        ));
    }
    let targets = match kind {
        ProblemKind::Regression => Targets::Values(y_values),
        ProblemKind::Classification | ProblemKind::Clustering => Targets::Labels(labels),
    };
    let parsed = Parsed {
        names,
        target,
        n_rows,
        x,
        targets,
        hash,
    };
    Ok((parsed, vocabularies))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str, options: &CellOptions) -> Result<(Dataset, Vocabularies), DataError> {
        let f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        std::fs::write(f.path(), text).unwrap();
        Dataset::read_cells(f.path(), None, ProblemKind::Classification, options)
    }

    fn options(categorical: &[&str], missing: bool) -> CellOptions {
        CellOptions {
            categorical: categorical.iter().map(|s| s.to_string()).collect(),
            missing,
        }
    }

    #[test]
    fn categorical_cells_are_codes_into_the_sorted_vocabulary() {
        let (d, v) = read_text(
            "a,color,y\n1,red,0\n2,blue,1\n3,red,1\n",
            &options(&["color"], false),
        )
        .unwrap();
        assert_eq!(v, [None, Some(vec!["blue".to_string(), "red".to_string()])]);
        assert_eq!(d.x.column(1).to_vec(), [1.0, 0.0, 1.0]);
        assert_eq!(d.x.column(0).to_vec(), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn empty_and_na_cells_are_missing_when_allowed() {
        let (d, _) = read_text("a,c,y\n,x,0\nNA,,1\n3,x,1\n", &options(&["c"], true)).unwrap();
        assert!(d.x[[0, 0]].is_nan() && d.x[[1, 0]].is_nan() && d.x[[1, 1]].is_nan());
        assert_eq!(d.x[[2, 0]], 3.0);
    }

    #[test]
    fn an_empty_cell_without_imputation_keeps_the_clear_error() {
        let err = read_text("a,c,y\n1,x,0\n,x,1\n", &options(&["c"], false)).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::EmptyCell {
                    line: 3,
                    column: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_categorical_column_not_in_the_header_is_refused_naming_it() {
        let err = read_text("a,y\n1,0\n2,1\n", &options(&["colour"], false)).unwrap_err();
        assert!(err.to_string().contains("no column `colour`"), "{err}");
    }

    #[test]
    fn text_in_a_numeric_column_is_still_an_error() {
        let err = read_text("a,c,y\n1,x,0\nabc,x,1\n", &options(&["c"], true)).unwrap_err();
        assert!(
            matches!(err, DataError::NotANumber { line: 3, .. }),
            "{err}"
        );
    }
}
