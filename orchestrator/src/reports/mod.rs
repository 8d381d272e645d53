//! Reading a study back: the ranked table for people, JSON and CSV for notebooks.

mod catalogue;
mod csv;
mod intermediate;
mod json;
mod records;
mod status;
mod table;
mod view;

pub use catalogue::{catalogue_text, model_text};
pub use csv::csv;
pub use intermediate::intermediate_text;
pub use json::{study_json, trial_json};
pub use records::Records;
pub use status::status_text;
pub use table::table;
pub use view::{StudyView, fmt_value, state_text};

/// How a report is printed (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON for programs.
    Json,
    /// CSV for spreadsheets and data frames.
    Csv,
}
