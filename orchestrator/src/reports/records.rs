//! Flat records (named columns, rows of values) in the three report formats: an aligned table
//! for people, CSV and JSON for notebooks. Commands whose report is a list of rows share it, so
//! `--format` means the same everywhere.

use serde_json::{Map, Value};

/// Rows of values under named columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Value>>,
}

/// A value as a cell: strings bare, null empty, others as JSON writes them.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Records {
    /// Records with these columns and no rows.
    pub fn new(columns: &[&str]) -> Records {
        Records {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a row.
    pub fn push(&mut self, row: Vec<Value>) {
        self.rows.push(row);
    }

    /// CSV with a header row.
    pub fn to_csv(&self) -> String {
        let mut out = csv::Writer::from_writer(Vec::new());
        // Writing to memory cannot fail.
        let _ = out.write_record(&self.columns);
        for row in &self.rows {
            let _ = out.write_record(row.iter().map(cell));
        }
        String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// A JSON array of objects, one per row, keyed by column.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    Value::Object(
                        self.columns
                            .iter()
                            .cloned()
                            .zip(row.iter().cloned())
                            .collect::<Map<String, Value>>(),
                    )
                })
                .collect(),
        )
    }

    /// Columns aligned with spaces, a header row first.
    pub fn to_table(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(cell).collect())
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                cells
                    .iter()
                    .filter_map(|r| r.get(i))
                    .chain(std::iter::once(&self.columns[i]))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |row: &[String]| -> String {
            let mut s = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            s.truncate(s.trim_end().len());
            s.push('\n');
            s
        };
        let mut out = line(&self.columns);
        for r in &cells {
            out.push_str(&line(r));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Records {
        let mut r = Records::new(&["name", "n"]);
        r.push(vec![json!("a, b"), json!(3)]);
        r.push(vec![json!("c"), Value::Null]);
        r
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_leaves_null_empty() {
        assert_eq!(sample().to_csv(), "name,n\n\"a, b\",3\nc,\n");
    }

    #[test]
    fn json_is_one_object_per_row() {
        assert_eq!(
            sample().to_json(),
            json!([{"name": "a, b", "n": 3}, {"name": "c", "n": null}])
        );
    }

    #[test]
    fn table_columns_are_aligned() {
        assert_eq!(sample().to_table(), "name  n\na, b  3\nc\n");
    }
}
