//! The preprocessing pipeline: imputation (with missing-indicator columns), scaling of numeric
//! columns, one-hot encoding of categorical columns, and PCA, fitted on a fold's training rows.
//!
//! The input is the dataset as loaded: numeric columns as numbers, categorical columns as
//! category codes (indices into the column's vocabulary, as f64), missing cells as NaN. The
//! output columns are, in order: the numeric columns (imputed, scaled), one missing indicator
//! (0/1) per column that had missing values in the training rows, then one column per category
//! of each categorical column seen in the training rows; PCA, if set, projects all of them.
//! That is scikit-learn's `ColumnTransformer([("num", make_pipeline(SimpleImputer, scaler)),
//! ("ind", MissingIndicator()), ("cat", make_pipeline(SimpleImputer("most_frequent"),
//! OneHotEncoder))])` followed by `PCA`.

use std::num::NonZeroUsize;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// How one feature column is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Column {
    /// Numbers.
    Numeric,
    /// Category codes: indices into `categories` (the column's values, sorted).
    Categorical {
        /// The column's name.
        name: String,
        /// Every value of the column in the data, sorted; a cell holds its index.
        categories: Vec<String>,
    },
}

/// The value a missing cell of a numeric column is replaced by (categorical columns always take
/// their most frequent category).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Impute {
    /// The mean of the column's training values.
    Mean,
    /// The median of the column's training values.
    Median,
    /// The most frequent training value (the smallest among ties).
    MostFrequent,
    /// A constant (finite: checked where the config is read).
    Constant(f64),
}

/// Imputation of missing values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Imputation {
    /// The numeric columns' strategy.
    pub strategy: Impute,
    /// Whether to add a 0/1 column per column that had missing training values.
    pub indicator: bool,
}

/// Scaling of the numeric columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scale {
    /// As they are.
    None,
    /// (x − mean) / standard deviation (scikit-learn's `StandardScaler`).
    Standardize,
    /// (x − min) / (max − min) (scikit-learn's `MinMaxScaler`).
    MinMax,
}

/// What a category not seen in the training rows becomes at validation or predict time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unknown {
    /// An error naming the column and the category.
    Error,
    /// An all-zero one-hot row (scikit-learn's `handle_unknown="ignore"`).
    Zeros,
}

/// The preprocessing of a study, as configured (valid by construction: built from a checked
/// config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// Every feature column, in the data's order.
    pub columns: Vec<Column>,
    /// Imputation, if missing values are allowed.
    pub impute: Option<Imputation>,
    /// Scaling of the numeric columns.
    pub scale: Scale,
    /// Handling of categories unseen in training.
    pub unknown: Unknown,
    /// Number of principal components to keep, if PCA is on.
    pub pca: Option<NonZeroUsize>,
}

impl Preprocess {
    /// `Some(standardize)` when this is at most a scaling of all-numeric columns by
    /// standardization (the case cross-validation fuses into its models), else `None`.
    pub fn as_plain_scaling(&self) -> Option<bool> {
        let numeric = self.columns.iter().all(|c| *c == Column::Numeric);
        match (numeric, self.impute, self.pca, self.scale) {
            (true, None, None, Scale::None) => Some(false),
            (true, None, None, Scale::Standardize) => Some(true),
            _ => None,
        }
    }

    /// Fit on the rows `rows` of `x` (the dataset as loaded).
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        rows: &[usize],
    ) -> Result<FittedPipeline, ModelError> {
        if x.ncols() != self.columns.len() {
            return Err(ModelError::Data(format!(
                "preprocessing expects {} columns, the data has {}",
                self.columns.len(),
                x.ncols()
            )));
        }
        if rows.is_empty() {
            return Err(ModelError::Data("preprocessing: no training rows".into()));
        }
        let t = x.select(Axis(0), rows);
        let p = x.ncols();
        // Fill values and indicators.
        let mut fill: Vec<Option<f64>> = vec![None; p];
        let mut indicators = Vec::new();
        for (j, col) in t.axis_iter(Axis(1)).enumerate() {
            let present: Vec<f64> = col.iter().copied().filter(|v| !v.is_nan()).collect();
            let any_missing = present.len() < col.len();
            let Some(imp) = self.impute else {
                if any_missing {
                    return Err(ModelError::Data(format!(
                        "column {} has missing values and no imputation is configured",
                        j + 1
                    )));
                }
                continue;
            };
            if any_missing && imp.indicator {
                indicators.push(j);
            }
            let value = match (&self.columns[j], imp.strategy) {
                (Column::Categorical { .. }, _) | (Column::Numeric, Impute::MostFrequent) => {
                    most_frequent(&present)
                }
                (Column::Numeric, Impute::Mean) => mean(&present),
                (Column::Numeric, Impute::Median) => median(present),
                (Column::Numeric, Impute::Constant(c)) => Some(c),
            };
            // A column with no training value at all: nothing to learn; 0 stands in.
            fill[j] = Some(value.unwrap_or(0.0));
        }
        let numeric: Vec<usize> = (0..p)
            .filter(|&j| self.columns[j] == Column::Numeric)
            .collect();
        let mut shift = vec![0.0; numeric.len()];
        let mut scale = vec![1.0; numeric.len()];
        if self.scale != Scale::None {
            let mut num = Array2::zeros((t.nrows(), numeric.len()));
            for (k, &j) in numeric.iter().enumerate() {
                for (o, &v) in num.column_mut(k).iter_mut().zip(t.column(j)) {
                    *o = if v.is_nan() { fill[j].unwrap_or(v) } else { v };
                }
            }
            match self.scale {
                Scale::Standardize => {
                    let s = super::Standardizer::fit(num.view());
                    shift = s.mean.to_vec();
                    scale = s.scale.to_vec();
                }
                Scale::MinMax => {
                    for (k, col) in num.axis_iter(Axis(1)).enumerate() {
                        let lo = col.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        shift[k] = lo;
                        // As scikit-learn: a constant column's range counts as 1.
                        scale[k] = if hi - lo == 0.0 { 1.0 } else { hi - lo };
                    }
                }
                Scale::None => {}
            }
        }
        let mut one_hot = Vec::new();
        for (j, c) in self.columns.iter().enumerate() {
            if let Column::Categorical { name, categories } = c {
                let mut seen = vec![false; categories.len()];
                for &v in t.column(j) {
                    let v = if v.is_nan() { fill[j].unwrap_or(v) } else { v };
                    if let Some(s) = seen.get_mut(v as usize) {
                        *s = true;
                    }
                }
                one_hot.push(OneHot {
                    column: j,
                    name: name.clone(),
                    categories: categories.clone(),
                    seen: (0..categories.len()).filter(|&k| seen[k]).collect(),
                });
            }
        }
        let mut fitted = FittedPipeline {
            n_inputs: p,
            fill,
            numeric,
            shift,
            scale,
            indicators,
            one_hot,
            unknown: self.unknown,
            pca: None,
        };
        if let Some(k) = self.pca {
            let z = fitted.transform(x.select(Axis(0), rows).view())?;
            fitted.pca = Some(Projection::fit(z, k.get())?);
        }
        Ok(fitted)
    }
}

/// One categorical column's encoding: a 0/1 column per category seen in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OneHot {
    column: usize,
    name: String,
    categories: Vec<String>,
    /// Codes seen in the training rows, ascending: one output column each.
    seen: Vec<usize>,
}

/// A PCA projection: (z − mean) · componentsᵀ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Projection {
    mean: Array1<f64>,
    /// One row per component.
    components: Array2<f64>,
}

impl Projection {
    /// Fit `k` components on `z` with linfa-reduction.
    fn fit(z: Array2<f64>, k: usize) -> Result<Projection, ModelError> {
        use linfa::traits::Fit;
        if k > z.ncols() {
            return Err(ModelError::Data(format!(
                "preprocess.pca = {k}: only {} columns to project",
                z.ncols()
            )));
        }
        let data = linfa::DatasetBase::from(z);
        let pca = linfa_reduction::Pca::params(k)
            .fit(&data)
            .map_err(|e| ModelError::Fit(format!("PCA: {e}")))?;
        Ok(Projection {
            mean: pca.mean().clone(),
            components: pca.components().clone(),
        })
    }
}

/// A pipeline fitted on training rows: applies the same transformation to any rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPipeline {
    n_inputs: usize,
    /// Per input column, what a missing cell becomes (None: no imputation).
    fill: Vec<Option<f64>>,
    /// The numeric input columns, in order.
    numeric: Vec<usize>,
    /// Per numeric column: (x − shift) / scale.
    shift: Vec<f64>,
    scale: Vec<f64>,
    /// Input columns with an indicator output column.
    indicators: Vec<usize>,
    one_hot: Vec<OneHot>,
    unknown: Unknown,
    pca: Option<Projection>,
}

impl FittedPipeline {
    /// Whether a category unseen in training becomes all zeros (else it is an error).
    pub fn ignores_unknown(&self) -> bool {
        self.unknown == Unknown::Zeros
    }

    /// Whether missing cells are imputed (else they are an error).
    pub fn imputes(&self) -> bool {
        self.fill.iter().any(Option::is_some)
    }

    /// Number of output columns.
    pub fn n_outputs(&self) -> usize {
        match &self.pca {
            Some(p) => p.components.nrows(),
            None => self.width_before_pca(),
        }
    }

    fn width_before_pca(&self) -> usize {
        self.numeric.len()
            + self.indicators.len()
            + self.one_hot.iter().map(|o| o.seen.len()).sum::<usize>()
    }

    /// Transform rows `x` (as loaded: numbers, category codes, NaN for missing) into the
    /// model's features. An unseen category is an error or an all-zero encoding, as configured.
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        if x.ncols() != self.n_inputs {
            return Err(ModelError::Data(format!(
                "preprocessing expects {} columns, found {}",
                self.n_inputs,
                x.ncols()
            )));
        }
        let width = self.width_before_pca();
        let mut out = Array2::zeros((x.nrows(), width));
        for (i, row) in x.axis_iter(Axis(0)).enumerate() {
            let mut o = out.row_mut(i);
            let value = |j: usize| {
                let v = row[j];
                if v.is_nan() {
                    self.fill[j].unwrap_or(v)
                } else {
                    v
                }
            };
            for (k, &j) in self.numeric.iter().enumerate() {
                let v = value(j);
                if v.is_nan() {
                    return Err(ModelError::Data(format!(
                        "row {i}, column {}: missing value and no imputation configured",
                        j + 1
                    )));
                }
                o[k] = (v - self.shift[k]) / self.scale[k];
            }
            let mut at = self.numeric.len();
            for &j in &self.indicators {
                o[at] = if row[j].is_nan() { 1.0 } else { 0.0 };
                at += 1;
            }
            for enc in &self.one_hot {
                let v = value(enc.column);
                let code = v as usize;
                match enc.seen.binary_search(&code) {
                    Ok(k) if !v.is_nan() => o[at + k] = 1.0,
                    _ if self.unknown == Unknown::Zeros => {}
                    _ => {
                        let what = if v.is_nan() {
                            "a missing value".to_string()
                        } else {
                            format!(
                                "category `{}`",
                                enc.categories.get(code).map_or("?", String::as_str)
                            )
                        };
                        return Err(ModelError::Data(format!(
                            "column `{}`: {what} not seen in the training rows (set preprocess.unknown_category = \"zeros\" to encode it as all zeros)",
                            enc.name
                        )));
                    }
                }
                at += enc.seen.len();
            }
        }
        Ok(match &self.pca {
            Some(p) => (out - &p.mean).dot(&p.components.t()),
            None => out,
        })
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The most frequent value, the smallest among ties (as scikit-learn's `SimpleImputer`).
fn most_frequent(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mut best: Option<(f64, usize)> = None;
    let mut i = 0;
    while i < s.len() {
        let j = s[i..].iter().take_while(|&&w| w == s[i]).count() + i;
        if best.is_none_or(|(_, n)| j - i > n) {
            best = Some((s[i], j - i));
        }
        i = j;
    }
    best.map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn cat(categories: &[&str]) -> Column {
        Column::Categorical {
            name: "c".into(),
            categories: categories.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn spec(columns: Vec<Column>) -> Preprocess {
        Preprocess {
            columns,
            impute: Some(Imputation {
                strategy: Impute::Median,
                indicator: true,
            }),
            scale: Scale::None,
            unknown: Unknown::Error,
            pca: None,
        }
    }

    const NA: f64 = f64::NAN;

    #[test]
    fn median_imputation_fills_from_the_training_rows_only() {
        let x = array![[1.0], [NA], [3.0], [10.0], [100.0]];
        let f = spec(vec![Column::Numeric])
            .fit(x.view(), &[0, 1, 2, 3])
            .unwrap();
        let t = f.transform(x.view()).unwrap();
        // median of 1, 3, 10 is 3; one indicator column.
        assert_eq!(t.column(0).to_vec(), [1.0, 3.0, 3.0, 10.0, 100.0]);
        assert_eq!(t.column(1).to_vec(), [0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn one_hot_has_a_column_per_category_seen_in_training() {
        let x = array![[0.0], [2.0], [2.0], [1.0]];
        let mut s = spec(vec![cat(&["a", "b", "c"])]);
        s.impute = None;
        let f = s.fit(x.view(), &[0, 1, 2]).unwrap();
        assert_eq!(f.n_outputs(), 2);
        let t = f.transform(x.slice(ndarray::s![..3, ..])).unwrap();
        assert_eq!(t, array![[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]);
        let err = f.transform(x.slice(ndarray::s![3.., ..])).unwrap_err();
        assert!(err.to_string().contains("category `b`"), "{err}");
        s.unknown = Unknown::Zeros;
        let f = s.fit(x.view(), &[0, 1, 2]).unwrap();
        assert_eq!(
            f.transform(x.slice(ndarray::s![3.., ..])).unwrap(),
            array![[0.0, 0.0]]
        );
    }

    #[test]
    fn a_missing_category_takes_the_most_frequent_one() {
        let x = array![[1.0], [NA], [1.0], [0.0]];
        let f = spec(vec![cat(&["a", "b"])])
            .fit(x.view(), &[0, 1, 2, 3])
            .unwrap();
        let t = f.transform(x.view()).unwrap();
        // indicator column first, then a and b.
        assert_eq!(t.row(1).to_vec(), [1.0, 0.0, 1.0]);
    }

    #[test]
    fn min_max_scales_to_the_training_range() {
        let x = array![[2.0, 5.0], [4.0, 5.0], [6.0, 5.0]];
        let mut s = spec(vec![Column::Numeric, Column::Numeric]);
        s.scale = Scale::MinMax;
        let t = s
            .fit(x.view(), &[0, 1])
            .unwrap()
            .transform(x.view())
            .unwrap();
        assert_eq!(t.column(0).to_vec(), [0.0, 1.0, 2.0]);
        assert_eq!(t.column(1).to_vec(), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn pca_keeps_the_direction_of_largest_variance() {
        let x = Array2::from_shape_fn((40, 2), |(i, j)| {
            let t = i as f64 - 20.0;
            if j == 0 {
                t
            } else {
                0.5 * t + 0.01 * (i % 3) as f64
            }
        });
        let mut s = spec(vec![Column::Numeric, Column::Numeric]);
        s.pca = NonZeroUsize::new(1);
        let rows: Vec<usize> = (0..40).collect();
        let f = s.fit(x.view(), &rows).unwrap();
        let t = f.transform(x.view()).unwrap();
        assert_eq!(t.ncols(), 1);
        // |projection| of the row t = 20 is about its distance from the mean along (1, 0.5).
        let want = (1.0f64 + 0.25).sqrt() * 19.5;
        assert!((t[[39, 0]].abs() - want).abs() < 0.05, "{t}");
    }

    #[test]
    fn ties_in_most_frequent_go_to_the_smallest_value() {
        assert_eq!(most_frequent(&[3.0, 1.0, 3.0, 1.0, 2.0]), Some(1.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn a_fitted_pipeline_round_trips_through_json() {
        let x = array![[1.0, 0.0], [NA, 1.0], [3.0, 1.0]];
        let f = spec(vec![Column::Numeric, cat(&["a", "b"])])
            .fit(x.view(), &[0, 1, 2])
            .unwrap();
        let back: FittedPipeline =
            serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }
}
