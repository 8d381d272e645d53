//! Reading a study back: the ranked table for people, JSON and CSV for notebooks.

mod csv;
mod json;
mod table;
mod view;

pub use csv::csv;
pub use json::{study_json, trial_json};
pub use table::table;
pub use view::{StudyView, fmt_value, state_text};
