//! Hyperparameter values and each model's schema of them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One hyperparameter value, as written in a config or proposed by a sampler.
///
/// In JSON it is the bare value (`0.1`, `true`, `"gini"`); in binary formats (the IPC
/// protocol's postcard, which cannot decode untagged enums) it carries its variant.
#[derive(Debug, Clone, PartialEq)]
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

/// The binary form: externally tagged.
#[derive(Serialize, Deserialize)]
enum Tagged {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// Reads a bare JSON value as the matching variant.
struct BareVisitor;

impl serde::de::Visitor<'_> for BareVisitor {
    type Value = ParamValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, a string or true/false")
    }
    fn visit_bool<E>(self, v: bool) -> Result<ParamValue, E> {
        Ok(ParamValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<ParamValue, E> {
        Ok(ParamValue::Int(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ParamValue, E> {
        i64::try_from(v)
            .map(ParamValue::Int)
            .map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<ParamValue, E> {
        Ok(ParamValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<ParamValue, E> {
        Ok(ParamValue::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<ParamValue, E> {
        Ok(ParamValue::Str(v))
    }
}

impl Serialize for ParamValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            match self {
                ParamValue::Bool(b) => s.serialize_bool(*b),
                ParamValue::Int(i) => s.serialize_i64(*i),
                ParamValue::Float(x) => s.serialize_f64(*x),
                ParamValue::Str(v) => s.serialize_str(v),
            }
        } else {
            match self {
                ParamValue::Bool(b) => Tagged::Bool(*b),
                ParamValue::Int(i) => Tagged::Int(*i),
                ParamValue::Float(x) => Tagged::Float(*x),
                ParamValue::Str(v) => Tagged::Str(v.clone()),
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(if d.is_human_readable() {
            // The value's own type decides (no trying variant after variant).
            d.deserialize_any(BareVisitor)?
        } else {
            match Tagged::deserialize(d)? {
                Tagged::Bool(b) => ParamValue::Bool(b),
                Tagged::Int(i) => ParamValue::Int(i),
                Tagged::Float(x) => ParamValue::Float(x),
                Tagged::Str(v) => ParamValue::Str(v),
            }
        })
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
    /// Any value one of these kinds accepts (the first that does decides), like
    /// `max_features`: a name, a count or a fraction.
    OneOf(&'static [HyperKind]),
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

#[cfg(test)]
mod closest_tests {
    use super::closest;

    #[test]
    fn a_near_miss_suggests_the_closest_name() {
        assert_eq!(
            closest("fodls", ["folds", "shuffle", "standardize"]),
            Some("folds")
        );
    }

    #[test]
    fn an_unrelated_name_suggests_nothing() {
        assert_eq!(closest("zzzzzz", ["folds", "shuffle"]), None);
    }
}

impl ParamValue {
    /// The value as a real number (integers widen), if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            ParamValue::Float(x) => Some(x),
            ParamValue::Int(i) => Some(i as f64),
            _ => None,
        }
    }

    /// The value as a whole number, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ParamValue::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            ParamValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as a name, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl HyperKind {
    /// What the parameter accepts, as the `expected` text of an error ("a number > 0").
    pub fn expected(&self) -> String {
        match self {
            HyperKind::Float {
                min,
                max,
                min_exclusive,
            } => {
                let lo = if *min_exclusive { ">" } else { ">=" };
                match (min.is_finite(), max.is_finite()) {
                    (true, true) => {
                        let open = if *min_exclusive { "(" } else { "[" };
                        format!("a number in {open}{min}, {max}]")
                    }
                    (true, false) => format!("a number {lo} {min}"),
                    (false, true) => format!("a number <= {max}"),
                    (false, false) => "a number".to_string(),
                }
            }
            HyperKind::Int { min, max } => match (*min == i64::MIN, *max == i64::MAX) {
                (false, false) => format!("an integer in {min}..={max}"),
                (false, true) => format!("an integer >= {min}"),
                (true, false) => format!("an integer <= {max}"),
                (true, true) => "an integer".to_string(),
            },
            HyperKind::Bool => "true or false".to_string(),
            HyperKind::Choice(options) => {
                let quoted: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
                format!("one of {}", quoted.join(", "))
            }
            HyperKind::OneOf(kinds) => {
                let each: Vec<String> = kinds.iter().map(HyperKind::expected).collect();
                each.join(", or ")
            }
        }
    }

    /// `value` checked against this kind: `Some` of the value to use (an integer given for a
    /// real parameter is widened to `Float`), `None` if it is of the wrong type or out of range.
    pub fn accept(&self, value: &ParamValue) -> Option<ParamValue> {
        match (self, value) {
            (
                HyperKind::Float {
                    min,
                    max,
                    min_exclusive,
                },
                ParamValue::Float(_) | ParamValue::Int(_),
            ) => {
                let x = value.as_f64()?;
                let above = if *min_exclusive { x > *min } else { x >= *min };
                (x.is_finite() && above && x <= *max).then_some(ParamValue::Float(x))
            }
            (HyperKind::Int { min, max }, ParamValue::Int(i)) => {
                (min..=max).contains(&i).then_some(ParamValue::Int(*i))
            }
            (HyperKind::Bool, ParamValue::Bool(b)) => Some(ParamValue::Bool(*b)),
            (HyperKind::Choice(options), ParamValue::Str(s)) => {
                options.contains(&s.as_str()).then(|| value.clone())
            }
            (HyperKind::OneOf(kinds), _) => kinds.iter().find_map(|k| k.accept(value)),
            _ => None,
        }
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo.
///
/// Case is ignored and a swap of two neighbouring letters counts as one edit. "Close" means at
/// most one edit per three characters (at least one). Failing that, a candidate that contains
/// `name` (or is contained in it), like `logistic` for `logistic_regression`, is suggested.
/// Ties go to the candidate listed first.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    let budget = (lower.chars().count() / 3).max(1);
    let by_distance = candidates
        .iter()
        .map(|&c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|&(d, _)| d <= budget)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c);
    by_distance.or_else(|| {
        if lower.chars().count() < 3 {
            return None;
        }
        candidates
            .iter()
            .copied()
            .filter(|c| {
                let c = c.to_lowercase();
                c.contains(&lower) || lower.contains(&c)
            })
            .min_by_key(|c| c.len().abs_diff(lower.len()))
    })
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j] = distance between a[..i] and b[..j]
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The hint appended to an unknown-name error: ", did you mean `x`?" when one is close, else
/// ", expected one of: a, b, c".
pub fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    match closest(name, candidates.iter().copied()) {
        Some(c) => format!(", did you mean `{c}`?"),
        None => format!(", expected one of: {}", candidates.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODELS: [&str; 4] = ["logistic_regression", "decision_tree", "ridge", "lasso"];

    #[test]
    fn closest_finds_a_typo() {
        assert_eq!(
            closest("logistic_regresion", MODELS),
            Some("logistic_regression")
        );
        assert_eq!(closest("ridgd", MODELS), Some("ridge"));
    }

    #[test]
    fn closest_counts_a_swap_as_one_edit() {
        assert_eq!(closest("lasos", MODELS), Some("lasso"));
    }

    #[test]
    fn closest_ignores_case() {
        assert_eq!(closest("c", ["C", "tol"]), Some("C"));
        assert_eq!(closest("Max_Iter", ["max_iter", "tol"]), Some("max_iter"));
    }

    #[test]
    fn closest_suggests_a_name_containing_the_input() {
        assert_eq!(closest("logistic", MODELS), Some("logistic_regression"));
    }

    #[test]
    fn closest_gives_nothing_for_a_distant_name() {
        assert_eq!(closest("random_forest", MODELS), None);
        assert_eq!(closest("xy", MODELS), None);
    }

    #[test]
    fn hint_lists_the_candidates_when_none_is_close() {
        assert_eq!(
            hint("svm", ["ridge", "lasso"]),
            ", expected one of: ridge, lasso"
        );
        assert_eq!(
            hint("lasso_", ["ridge", "lasso"]),
            ", did you mean `lasso`?"
        );
    }

    #[test]
    fn expected_texts_describe_type_and_range() {
        let positive = HyperKind::Float {
            min: 0.0,
            max: f64::INFINITY,
            min_exclusive: true,
        };
        assert_eq!(positive.expected(), "a number > 0");
        assert_eq!(
            HyperKind::Float {
                min: 0.0,
                max: 1.0,
                min_exclusive: false
            }
            .expected(),
            "a number in [0, 1]"
        );
        assert_eq!(
            HyperKind::Int { min: 1, max: 1000 }.expected(),
            "an integer in 1..=1000"
        );
        assert_eq!(
            HyperKind::Int {
                min: 2,
                max: i64::MAX
            }
            .expected(),
            "an integer >= 2"
        );
        assert_eq!(
            HyperKind::Choice(&["gini", "entropy"]).expected(),
            "one of \"gini\", \"entropy\""
        );
        assert_eq!(HyperKind::Bool.expected(), "true or false");
    }

    #[test]
    fn integer_for_a_real_parameter_is_widened() {
        let positive = HyperKind::Float {
            min: 0.0,
            max: f64::INFINITY,
            min_exclusive: true,
        };
        assert_eq!(
            positive.accept(&ParamValue::Int(3)),
            Some(ParamValue::Float(3.0))
        );
    }

    #[test]
    fn out_of_range_and_wrong_types_are_refused() {
        let positive = HyperKind::Float {
            min: 0.0,
            max: f64::INFINITY,
            min_exclusive: true,
        };
        assert_eq!(positive.accept(&ParamValue::Float(0.0)), None);
        assert_eq!(positive.accept(&ParamValue::Float(f64::NAN)), None);
        assert_eq!(positive.accept(&ParamValue::Str("1".into())), None);
        assert_eq!(
            HyperKind::Int { min: 1, max: 10 }.accept(&ParamValue::Float(2.0)),
            None
        );
        assert_eq!(
            HyperKind::Int { min: 1, max: 10 }.accept(&ParamValue::Int(11)),
            None
        );
        assert_eq!(
            HyperKind::Choice(&["a"]).accept(&ParamValue::Str("b".into())),
            None
        );
        assert_eq!(HyperKind::Bool.accept(&ParamValue::Int(1)), None);
    }

    #[test]
    fn one_of_takes_the_first_kind_that_accepts_and_names_them_all() {
        const KINDS: &[HyperKind] = &[
            HyperKind::Choice(&["sqrt"]),
            HyperKind::Int { min: 1, max: 10 },
            HyperKind::Float {
                min: 0.0,
                max: 1.0,
                min_exclusive: true,
            },
        ];
        let k = HyperKind::OneOf(KINDS);
        assert_eq!(k.accept(&ParamValue::Int(3)), Some(ParamValue::Int(3)));
        assert_eq!(
            k.accept(&ParamValue::Float(0.5)),
            Some(ParamValue::Float(0.5))
        );
        assert_eq!(
            k.accept(&ParamValue::Str("sqrt".into())),
            Some(ParamValue::Str("sqrt".into()))
        );
        assert_eq!(k.accept(&ParamValue::Int(0)), None);
        assert_eq!(k.accept(&ParamValue::Float(1.5)), None);
        assert_eq!(
            k.expected(),
            "one of \"sqrt\", or an integer in 1..=10, or a number in (0, 1]"
        );
    }
}

#[cfg(test)]
mod json_tests {
    use super::{ParamValue, Params};

    #[test]
    fn params_are_bare_values_in_json_and_read_back_as_the_same_variants() {
        let text = r#"{"C":0.1,"criterion":"gini","fit_intercept":true,"max_depth":3}"#;
        let p: Params = serde_json::from_str(text).unwrap();
        assert_eq!(p["C"], ParamValue::Float(0.1));
        assert_eq!(p["criterion"], ParamValue::Str("gini".into()));
        assert_eq!(p["fit_intercept"], ParamValue::Bool(true));
        assert_eq!(p["max_depth"], ParamValue::Int(3));
        assert_eq!(serde_json::to_string(&p).unwrap(), text);
    }

    #[test]
    fn a_json_null_is_not_a_hyperparameter_value() {
        assert!(serde_json::from_str::<ParamValue>("null").is_err());
    }
}
