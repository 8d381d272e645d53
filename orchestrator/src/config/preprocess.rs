//! `[preprocess]`: the preprocessing fitted inside each training fold, checked into
//! [`PreprocessSpec`].

use std::num::NonZeroUsize;

use models::Vocabularies;
use models::preprocess::{Column, Imputation, Impute, Preprocess, Scale, Unknown};
use serde::Deserialize;

/// `[preprocess]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPreprocess {
    #[serde(default)]
    categorical: Vec<String>,
    unknown_category: Option<String>,
    impute: Option<String>,
    fill_value: Option<toml::Value>,
    #[serde(default)]
    missing_indicator: bool,
    scale: Option<String>,
    pca: Option<i64>,
}

/// The preprocessing of a study, checked: everything but the data's vocabularies.
#[derive(Debug, Clone, PartialEq)]
pub struct PreprocessSpec {
    /// Feature columns read as categories and one-hot encoded.
    pub categorical: Vec<String>,
    /// What a category unseen in training becomes.
    pub unknown: Unknown,
    /// Imputation of missing values (None: a missing value is an error, as without preprocessing).
    pub impute: Option<Imputation>,
    /// Scaling of the numeric columns.
    pub scale: Scale,
    /// Principal components kept, if PCA is on.
    pub pca: Option<NonZeroUsize>,
}

impl PreprocessSpec {
    /// Whether the data needs the general cell reader (categories or missing cells).
    pub fn needs_cells(&self) -> bool {
        !self.categorical.is_empty() || self.impute.is_some()
    }

    /// The pipeline for data whose feature columns have `vocabularies` (one per column).
    pub fn pipeline(&self, feature_names: &[String], vocabularies: &Vocabularies) -> Preprocess {
        let columns = feature_names
            .iter()
            .enumerate()
            .map(|(j, name)| match vocabularies.get(j) {
                Some(Some(categories)) => Column::Categorical {
                    name: name.clone(),
                    categories: categories.clone(),
                },
                _ => Column::Numeric,
            })
            .collect();
        Preprocess {
            columns,
            impute: self.impute,
            scale: self.scale,
            unknown: self.unknown,
            pca: self.pca,
        }
    }
}

/// Check `[preprocess]`; `standardize` is `cv.standardize`, the scaling when `scale` is not given.
/// Errors are (field, message).
pub(super) fn check(
    raw: RawPreprocess,
    standardize: bool,
) -> Result<PreprocessSpec, (String, String)> {
    let err = |field: &str, message: String| (format!("preprocess.{field}"), message);
    let mut categorical: Vec<String> = Vec::new();
    for c in raw.categorical {
        if c.trim().is_empty() {
            return Err(err(
                "categorical",
                "expected column names, found an empty one".into(),
            ));
        }
        if categorical.contains(&c) {
            return Err(err("categorical", format!("`{c}` is named twice")));
        }
        categorical.push(c);
    }
    let unknown = match raw.unknown_category.as_deref() {
        None | Some("error") => Unknown::Error,
        Some("zeros") => Unknown::Zeros,
        Some(other) => {
            return Err(err(
                "unknown_category",
                format!("expected \"error\" or \"zeros\", found \"{other}\""),
            ));
        }
    };
    let fill = match &raw.fill_value {
        None => None,
        Some(v) => {
            let f = match v {
                toml::Value::Float(f) => *f,
                toml::Value::Integer(i) => *i as f64,
                other => {
                    return Err(err(
                        "fill_value",
                        format!("expected a number, found {}", other.type_str()),
                    ));
                }
            };
            if !f.is_finite() {
                return Err(err(
                    "fill_value",
                    format!("expected a finite number, found {f}"),
                ));
            }
            Some(f)
        }
    };
    let strategy = match raw.impute.as_deref() {
        None => None,
        Some("mean") => Some(Impute::Mean),
        Some("median") => Some(Impute::Median),
        Some("most_frequent") => Some(Impute::MostFrequent),
        Some("constant") => match fill {
            Some(f) => Some(Impute::Constant(f)),
            None => {
                return Err(err(
                    "fill_value",
                    "impute = \"constant\" needs fill_value, a number".into(),
                ));
            }
        },
        Some(other) => {
            return Err(err(
                "impute",
                format!(
                    "expected \"mean\", \"median\", \"most_frequent\" or \"constant\", found \"{other}\""
                ),
            ));
        }
    };
    if fill.is_some() && !matches!(strategy, Some(Impute::Constant(_))) {
        return Err(err(
            "fill_value",
            "only used with impute = \"constant\"".into(),
        ));
    }
    if raw.missing_indicator && strategy.is_none() {
        return Err(err(
            "missing_indicator",
            "needs imputation: set impute".into(),
        ));
    }
    let scale = match raw.scale.as_deref() {
        None if standardize => Scale::Standardize,
        None => Scale::None,
        Some("standardize") => Scale::Standardize,
        Some("minmax") => Scale::MinMax,
        Some("none") => Scale::None,
        Some(other) => {
            return Err(err(
                "scale",
                format!("expected \"standardize\", \"minmax\" or \"none\", found \"{other}\""),
            ));
        }
    };
    let pca = match raw.pca {
        None => None,
        Some(k) => Some(
            usize::try_from(k)
                .ok()
                .and_then(NonZeroUsize::new)
                .filter(|k| k.get() <= 100_000)
                .ok_or_else(|| {
                    err(
                        "pca",
                        format!("expected a number of components from 1 to 100000, found {k}"),
                    )
                })?,
        ),
    };
    Ok(PreprocessSpec {
        categorical,
        unknown,
        impute: strategy.map(|strategy| Imputation {
            strategy,
            indicator: raw.missing_indicator,
        }),
        scale,
        pca,
    })
}
