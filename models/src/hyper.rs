//! Hyperparameter values and each model's schema of them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One hyperparameter value, as written in a config or proposed by a sampler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// true / false.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A real number.
    Float(f64),
    /// A choice among named options.
    Str(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Str(s) => write!(f, "\"{s}\""),
        }
    }
}

/// A full set of hyperparameters by name (ordered, so it prints and hashes stably).
pub type Params = BTreeMap<String, ParamValue>;

/// The type and range a hyperparameter accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum HyperKind {
    /// A real number in a range; an integer value is accepted and widened.
    Float {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
        /// Whether `min` itself is excluded.
        min_exclusive: bool,
    },
    /// A whole number in `min..=max`.
    Int {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// true or false.
    Bool,
    /// One of a fixed set of names.
    Choice(&'static [&'static str]),
}

/// One hyperparameter of a model: name, accepted values, default, meaning.
#[derive(Debug, Clone)]
pub struct HyperSpec {
    /// Its name in configs.
    pub name: &'static str,
    /// What it accepts.
    pub kind: HyperKind,
    /// The value used when the config leaves it out (`None`: unset, e.g. unlimited depth).
    pub default: Option<ParamValue>,
    /// One line on what it does.
    pub help: &'static str,
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(cur).min(row[j]) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod closest_tests {
    use super::closest;

    #[test]
    fn a_near_miss_suggests_the_closest_name() {
        assert_eq!(closest("fodls", ["folds", "shuffle", "standardize"]), Some("folds"));
    }

    #[test]
    fn an_unrelated_name_suggests_nothing() {
        assert_eq!(closest("zzzzzz", ["folds", "shuffle"]), None);
    }
}
