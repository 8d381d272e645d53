//! Reading a study back: the ranked table for people, JSON and CSV for notebooks.

mod catalogue;
mod csv;
mod json;
mod records;
mod status;
mod table;
mod view;

pub use catalogue::{catalogue_text, model_text};
pub use csv::csv;
pub use json::{study_json, trial_json};
pub use records::Records;
pub use status::status_text;
pub use table::table;
pub use view::{StudyView, fmt_value, state_text};
