//! The trivial baselines, as scikit-learn's `DummyClassifier` and `DummyRegressor`: they
//! ignore the features, which makes them the measure of per-trial overhead.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};
use crate::saved::SavedModel;

/// What a dummy classifier predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClassStrategy {
    /// The most frequent training class, with probability 1.
    MostFrequent,
    /// The most frequent training class, with the training class frequencies as probabilities.
    Prior,
}

/// A classifier that predicts from the training class frequencies only.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DummyClassifier {
    pub strategy: ClassStrategy,
}

/// A fitted dummy classifier: the class and the probability row it predicts for every row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedDummyClassifier {
    class: usize,
    proba: Array1<f64>,
}

impl Estimator for DummyClassifier {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        if y.is_empty() || x.nrows() != y.len() {
            return Err(ModelError::Fit(format!(
                "dummy classifier: {} rows of features, {} targets",
                x.nrows(),
                y.len()
            )));
        }
        let mut counts: Vec<usize> = Vec::new();
        for &v in y {
            if !(v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64) {
                return Err(ModelError::Fit(format!(
                    "dummy classifier: target {v} is not a class index"
                )));
            }
            let c = v as usize;
            if c >= counts.len() {
                counts.resize(c + 1, 0);
            }
            counts[c] += 1;
        }
        // Ties go to the smallest class index, as numpy's argmax.
        let class = counts
            .iter()
            .enumerate()
            .fold(0, |best, (c, &n)| if n > counts[best] { c } else { best });
        let proba = match self.strategy {
            ClassStrategy::MostFrequent => {
                Array1::from_shape_fn(counts.len(), |c| if c == class { 1.0 } else { 0.0 })
            }
            ClassStrategy::Prior => counts.iter().map(|&n| n as f64 / y.len() as f64).collect(),
        };
        Ok(Box::new(FittedDummyClassifier { class, proba }))
    }
    // The features are never read: only the targets are gathered.
    fn fit_rows(&self, train: crate::rows::RowSet<'_>) -> Result<Box<dyn Fitted>, ModelError> {
        let y = train.gather_y();
        self.fit(ndarray::Array2::zeros((y.len(), 0)).view(), y.view())
    }
}

impl Fitted for FittedDummyClassifier {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let n = x.nrows();
        let proba = Array2::from_shape_fn((n, self.proba.len()), |(_, c)| self.proba[c]);
        Prediction::Classes {
            class: Array1::from_elem(n, self.class),
            proba: Some(proba),
        }
    }

    fn to_saved(&self) -> SavedModel {
        SavedModel::DummyClassifier(self.clone())
    }
}

impl FittedDummyClassifier {
    /// Whether a model read back from a file can predict (its class has a probability).
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.class < self.proba.len() {
            Ok(())
        } else {
            Err(format!(
                "dummy classifier: class {} but {} probabilities",
                self.class,
                self.proba.len()
            ))
        }
    }
}

/// What a dummy regressor predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueStrategy {
    /// The training mean.
    Mean,
    /// The training median (the mean of the two middle values for an even count).
    Median,
}

/// A regressor that predicts one constant learned from the training targets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DummyRegressor {
    pub strategy: ValueStrategy,
}

/// A fitted dummy regressor: its constant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedDummyRegressor {
    value: f64,
}

impl Estimator for DummyRegressor {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        if y.is_empty() || x.nrows() != y.len() {
            return Err(ModelError::Fit(format!(
                "dummy regressor: {} rows of features, {} targets",
                x.nrows(),
                y.len()
            )));
        }
        let value = match self.strategy {
            ValueStrategy::Mean => y.sum() / y.len() as f64,
            ValueStrategy::Median => {
                let mut v = y.to_vec();
                v.sort_by(f64::total_cmp);
                let mid = v.len() / 2;
                if v.len() % 2 == 1 {
                    v[mid]
                } else {
                    0.5 * (v[mid - 1] + v[mid])
                }
            }
        };
        Ok(Box::new(FittedDummyRegressor { value }))
    }
    // The features are never read: only the targets are gathered.
    fn fit_rows(&self, train: crate::rows::RowSet<'_>) -> Result<Box<dyn Fitted>, ModelError> {
        let y = train.gather_y();
        self.fit(ndarray::Array2::zeros((y.len(), 0)).view(), y.view())
    }
}

impl Fitted for FittedDummyRegressor {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        Prediction::Values(Array1::from_elem(x.nrows(), self.value))
    }

    fn to_saved(&self) -> SavedModel {
        SavedModel::DummyRegressor(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn fit_predict(est: &dyn Estimator, y: Array1<f64>) -> Prediction {
        let x = Array2::zeros((y.len(), 2));
        est.fit(x.view(), y.view())
            .unwrap()
            .predict(Array2::zeros((2, 2)).view())
    }

    #[test]
    fn most_frequent_predicts_the_majority_with_certainty() {
        let p = fit_predict(
            &DummyClassifier {
                strategy: ClassStrategy::MostFrequent,
            },
            array![0.0, 2.0, 2.0, 1.0],
        );
        let Prediction::Classes {
            class,
            proba: Some(proba),
        } = p
        else {
            panic!()
        };
        assert_eq!(class.to_vec(), [2, 2]);
        assert_eq!(proba.row(0).to_vec(), [0.0, 0.0, 1.0]);
    }

    #[test]
    fn prior_predicts_the_class_frequencies() {
        let p = fit_predict(
            &DummyClassifier {
                strategy: ClassStrategy::Prior,
            },
            array![0.0, 2.0, 2.0, 1.0],
        );
        let Prediction::Classes {
            class,
            proba: Some(proba),
        } = p
        else {
            panic!()
        };
        assert_eq!(class.to_vec(), [2, 2]);
        assert_eq!(proba.row(1).to_vec(), [0.25, 0.25, 0.5]);
    }

    #[test]
    fn tied_majority_goes_to_the_smallest_class() {
        let p = fit_predict(
            &DummyClassifier {
                strategy: ClassStrategy::MostFrequent,
            },
            array![1.0, 0.0, 0.0, 1.0],
        );
        let Prediction::Classes { class, .. } = p else {
            panic!()
        };
        assert_eq!(class.to_vec(), [0, 0]);
    }

    #[test]
    fn regressor_predicts_mean_or_median() {
        let y = array![1.0, 2.0, 10.0, 3.0];
        let Prediction::Values(mean) = fit_predict(
            &DummyRegressor {
                strategy: ValueStrategy::Mean,
            },
            y.clone(),
        ) else {
            panic!()
        };
        assert_eq!(mean.to_vec(), [4.0, 4.0]);
        let Prediction::Values(median) = fit_predict(
            &DummyRegressor {
                strategy: ValueStrategy::Median,
            },
            y,
        ) else {
            panic!()
        };
        assert_eq!(median.to_vec(), [2.5, 2.5]);
    }
}
