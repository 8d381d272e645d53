//! Fitted models as saved to disk: every model the catalogue builds can be written out with
//! what applying it to raw rows needs (its preprocessing, the feature and class names) and read
//! back to predict, without the data it was fitted on.
//!
//! The file is JSON ([`ModelFile`]), tagged with a format version that is checked on reading.
//! The preprocessing is a field of its own, so a richer fitted pipeline can take its place.

use ndarray::{Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::dataset::{DataView, Problem};
use crate::error::ModelError;
use crate::estimator::Prediction;
use crate::hyper::Params;
use crate::preprocess::{Column, FittedPipeline, Preprocess, Standardizer};
use crate::sgd::{SgdModel, SgdSpec, Target};

/// The format tag of model files this version writes.
pub const MODEL_FORMAT: &str = "cohort-model/2";

/// The format tag of the first model files (`cohort train` only: an SGD model, a standardizer).
const MODEL_FORMAT_V1: &str = "cohort-model/1";

/// A fitted model, any kind the catalogue builds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SavedModel {
    /// `logistic_regression`.
    Logistic(crate::logistic::LogisticModel),
    /// `elastic_net`, `lasso`, `ridge`.
    Linear(crate::linear::LinearModel),
    /// `decision_tree`.
    Tree(crate::tree::FittedTree),
    /// `dummy_classifier`.
    DummyClassifier(crate::dummy::FittedDummyClassifier),
    /// `dummy_regressor`.
    DummyRegressor(crate::dummy::FittedDummyRegressor),
    /// The SGD models and the MLP (a sweep's or `cohort train`'s).
    Sgd(SavedSgd),
    /// `random_forest_*`, `extra_trees_*`.
    Forest(crate::forest::SavedForest),
    /// `hist_gradient_boosting_*`.
    Boosting(crate::boosting::SavedBoosting),
}

/// An SGD model or MLP with its parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedSgd {
    /// The model and its hyperparameters.
    pub spec: SgdSpec,
    /// Feature columns.
    pub n_features: usize,
    /// What it predicts.
    pub target: Target,
    /// The parameters.
    pub params: Vec<f64>,
}

impl SavedModel {
    /// Feature columns the model expects (None: it ignores the features).
    pub fn n_features(&self) -> Option<usize> {
        match self {
            SavedModel::Logistic(m) => Some(m.n_features()),
            SavedModel::Linear(m) => Some(m.n_features()),
            SavedModel::Sgd(s) => Some(s.n_features),
            // A tree reads features by index: any row at least as wide as its largest works,
            // and the model file's feature names fix the width anyway.
            SavedModel::Tree(_)
            | SavedModel::Forest(_)
            | SavedModel::Boosting(_)
            | SavedModel::DummyClassifier(_)
            | SavedModel::DummyRegressor(_) => None,
        }
    }

    /// Whether the model read back can predict without panicking on its own contents.
    pub fn check(&self) -> Result<(), String> {
        match self {
            SavedModel::Logistic(m) => m.check(),
            SavedModel::Linear(m) => m.check(),
            SavedModel::Tree(m) => m.check(),
            SavedModel::DummyClassifier(m) => m.check(),
            SavedModel::DummyRegressor(_) => Ok(()),
            SavedModel::Sgd(s) => s.model().map(|_| ()),
            SavedModel::Forest(m) => m.check(),
            SavedModel::Boosting(m) => m.check(),
        }
    }

    /// Predict for rows `x` (already preprocessed).
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Prediction, ModelError> {
        if let Some(p) = self.n_features()
            && p != x.ncols()
        {
            return Err(ModelError::Fit(format!(
                "the model takes {p} feature columns, the rows have {}",
                x.ncols()
            )));
        }
        use crate::estimator::Fitted;
        Ok(match self {
            SavedModel::Logistic(m) => m.predict(x),
            SavedModel::Linear(m) => m.predict(x),
            SavedModel::Tree(m) => m.predict(x),
            SavedModel::DummyClassifier(m) => m.predict(x),
            SavedModel::DummyRegressor(m) => m.predict(x),
            SavedModel::Forest(m) => m.predict(x),
            SavedModel::Boosting(m) => m.predict(x),
            SavedModel::Sgd(s) => {
                let model = s.model().map_err(ModelError::Fit)?;
                let out = model
                    .predict_proba(&s.params, x)
                    .map_err(|e| ModelError::Fit(e.to_string()))?;
                crate::sgd::estimator::prediction(s.target, out)
            }
        })
    }
}

impl SavedSgd {
    /// The validated model (its spec, shape and parameter count checked again).
    fn model(&self) -> Result<SgdModel, String> {
        let model =
            SgdModel::new(&self.spec, self.n_features, self.target).map_err(|e| e.to_string())?;
        if self.params.len() != model.n_params() || self.params.iter().any(|p| !p.is_finite()) {
            return Err(format!(
                "sgd model: {} parameters, expected {} finite ones",
                self.params.len(),
                model.n_params()
            ));
        }
        Ok(model)
    }
}

/// What is applied to raw feature rows before the model: kept apart from the model so another
/// fitted preprocessing can take its place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Preprocessing {
    /// Rows go to the model as they are.
    None,
    /// Standardized with statistics fitted on the training rows.
    Standardize(Standardizer),
    /// A `[preprocess]` pipeline fitted on the training rows, with how it reads each column.
    Pipeline {
        /// Each feature column: numbers, or categories with the vocabulary their codes index.
        columns: Vec<Column>,
        /// The fitted transformation.
        fitted: FittedPipeline,
    },
}

impl Preprocessing {
    /// Apply to raw rows (categorical columns as codes into the saved vocabularies, missing
    /// cells as NaN).
    pub fn apply(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        match self {
            Preprocessing::None => Ok(x.to_owned()),
            Preprocessing::Standardize(s) => Ok(s.transform(x)),
            Preprocessing::Pipeline { fitted, .. } => fitted.transform(x),
        }
    }

    /// Columns it reads (None: any).
    fn n_inputs(&self) -> Option<usize> {
        match self {
            Preprocessing::None => None,
            Preprocessing::Standardize(s) => Some(s.mean.len()),
            Preprocessing::Pipeline { columns, .. } => Some(columns.len()),
        }
    }

    /// Columns it gives the model (None: as many as it reads).
    fn n_outputs(&self) -> Option<usize> {
        match self {
            Preprocessing::Pipeline { fitted, .. } => Some(fitted.n_outputs()),
            other => other.n_inputs(),
        }
    }
}

/// A model file: the fitted model, its preprocessing, and the names that tie it to data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    /// [`MODEL_FORMAT`].
    pub format: String,
    /// The catalogue name of the model (`logistic_regression`, `sgd_logistic`, …).
    pub model_name: String,
    /// The hyperparameters it was fitted with.
    pub params: Params,
    /// Feature column names, in the order the model takes them.
    pub features: Vec<String>,
    /// The target column's name in the training data.
    pub target: String,
    /// Class labels by class index (None: a regressor).
    pub classes: Option<Vec<String>>,
    /// Applied to raw rows before the model.
    pub preprocessing: Preprocessing,
    /// The fitted model.
    pub model: SavedModel,
    /// Rows it was fitted on.
    pub rows: usize,
    /// The sweep trial whose hyperparameters were refit (None: not from a sweep).
    pub trial: Option<u64>,
}

/// The first model format, as `cohort train` wrote it.
#[derive(Deserialize)]
struct ModelFileV1 {
    features: Vec<String>,
    classes: Option<Vec<String>>,
    standardize: Option<StandardizeV1>,
    model: SgdV1,
}

#[derive(Deserialize)]
struct StandardizeV1 {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

#[derive(Deserialize)]
struct SgdV1 {
    spec: SgdSpec,
    n_features: usize,
    target: Target,
    params: Vec<f64>,
}

impl ModelFile {
    /// As JSON.
    pub fn to_json(&self) -> Result<String, ModelError> {
        serde_json::to_string(self).map_err(|e| ModelError::Fit(e.to_string()))
    }

    /// Read a model file's text, checking it is consistent (a file from an older version of the
    /// format is converted). The error says what is wrong with it.
    pub fn from_json(text: &str) -> Result<ModelFile, String> {
        #[derive(Deserialize)]
        struct Tag {
            format: String,
        }
        let tag: Tag =
            serde_json::from_str(text).map_err(|e| format!("not a cohort model file: {e}"))?;
        let file = match tag.format.as_str() {
            MODEL_FORMAT => serde_json::from_str::<ModelFile>(text).map_err(|e| e.to_string())?,
            MODEL_FORMAT_V1 => {
                let v1: ModelFileV1 = serde_json::from_str(text).map_err(|e| e.to_string())?;
                ModelFile {
                    format: MODEL_FORMAT.into(),
                    model_name: v1.model.spec.model.catalogue_name().into(),
                    params: Params::new(),
                    features: v1.features,
                    target: "target".into(),
                    classes: v1.classes,
                    preprocessing: match v1.standardize {
                        Some(s) => Preprocessing::Standardize(Standardizer {
                            mean: s.mean.into(),
                            scale: s.scale.into(),
                        }),
                        None => Preprocessing::None,
                    },
                    model: SavedModel::Sgd(SavedSgd {
                        spec: v1.model.spec,
                        n_features: v1.model.n_features,
                        target: v1.model.target,
                        params: v1.model.params,
                    }),
                    rows: 0,
                    trial: None,
                }
            }
            other => {
                return Err(format!(
                    "model format `{other}`, this version reads `{MODEL_FORMAT}` and `{MODEL_FORMAT_V1}`"
                ));
            }
        };
        file.check()?;
        Ok(file)
    }

    /// Whether the parts fit together: as many features as the preprocessing and the model
    /// take, a model that can predict.
    fn check(&self) -> Result<(), String> {
        self.model.check()?;
        let p = self.features.len();
        if let Some(n) = self.preprocessing.n_inputs()
            && n != p
        {
            return Err(format!(
                "{p} feature names, but the preprocessing takes {n} columns"
            ));
        }
        let width = self.preprocessing.n_outputs().unwrap_or(p);
        if let Some(n) = self.model.n_features()
            && n != width
        {
            return Err(format!(
                "the preprocessing gives {width} columns, but the model takes {n}"
            ));
        }
        Ok(())
    }

    /// Predict for raw feature rows (columns in [`ModelFile::features`] order).
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Prediction, ModelError> {
        self.model.predict(self.preprocessing.apply(x)?.view())
    }
}

/// A model fitted on every row, with its preprocessing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refit {
    /// Fitted on the rows (None: they are used as they are).
    pub preprocessing: Preprocessing,
    /// The fitted model.
    pub model: SavedModel,
}

/// Fit `model` with `params` on every row of `data`, as a sweep's trials fit each training fold
/// (through the `[preprocess]` pipeline when there is one, else standardized first when
/// `standardize`; an iterative model runs all its epochs).
pub fn refit(
    model: &str,
    params: &Params,
    seed: u64,
    data: DataView<'_>,
    problem: &Problem,
    standardize: bool,
    preprocess: Option<&Preprocess>,
) -> Result<Refit, ModelError> {
    let info = crate::catalogue::lookup(model)?;
    // As cross-validation does: a pipeline that is at most a standardization is one.
    let (standardize, preprocess) = match preprocess.map(|p| (p.as_plain_scaling(), p)) {
        Some((Some(plain), _)) => (plain, None),
        Some((None, p)) => (standardize, Some(p)),
        None => (standardize, None),
    };
    let transformed;
    let (x, preprocessing) = match preprocess {
        Some(spec) => {
            let rows: Vec<usize> = (0..data.x.nrows()).collect();
            let fitted = spec.fit(data.x, &rows)?;
            transformed = fitted.transform(data.x)?;
            let columns = spec.columns.clone();
            (
                transformed.view(),
                Preprocessing::Pipeline { columns, fitted },
            )
        }
        None if standardize => {
            let s = Standardizer::fit(data.x);
            transformed = s.transform(data.x);
            (transformed.view(), Preprocessing::Standardize(s))
        }
        None => (data.x.view(), Preprocessing::None),
    };
    let y: ArrayView1<'_, f64> = data.y;
    let saved = if info.iterative {
        let estimator = crate::catalogue::build_iterative(model, params, seed)?;
        let mut learner = estimator.start(x, y, problem.n_classes())?;
        for _ in 0..estimator.epochs() {
            learner.epoch(x, y)?;
        }
        learner.to_saved()
    } else {
        crate::catalogue::build(model, params, seed)?
            .fit(x, y)?
            .to_saved()
    };
    Ok(Refit {
        preprocessing,
        model: saved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classification() -> crate::Dataset {
        let (x, y) = crate::synth::make_classification(120, 4, 3, 3, 7).unwrap();
        crate::Dataset {
            x,
            y,
            feature_names: (0..4).map(|i| format!("f{i}")).collect(),
            target_name: "y".into(),
            problem: Problem::Classification {
                classes: vec!["a".into(), "b".into(), "c".into()],
            },
            checksum: String::new(),
        }
    }

    fn file(model: &str, data: &crate::Dataset) -> ModelFile {
        let r = refit(
            model,
            &Params::new(),
            3,
            data.view(),
            &data.problem,
            true,
            None,
        )
        .unwrap();
        ModelFile {
            format: MODEL_FORMAT.into(),
            model_name: model.into(),
            params: Params::new(),
            features: data.feature_names.clone(),
            target: data.target_name.clone(),
            classes: None,
            preprocessing: r.preprocessing,
            model: r.model,
            rows: data.n_rows(),
            trial: None,
        }
    }

    fn classes(p: Prediction) -> Vec<usize> {
        match p {
            Prediction::Classes { class, .. } => class.to_vec(),
            Prediction::Values(_) => panic!("values from a classifier"),
        }
    }

    #[test]
    fn every_classifier_predicts_the_same_after_a_round_trip_through_its_file() {
        let data = classification();
        for info in crate::catalogue()
            .iter()
            .filter(|m| m.problem == crate::ProblemKind::Classification)
        {
            let f = file(info.name, &data);
            let back = ModelFile::from_json(&f.to_json().unwrap()).unwrap();
            assert_eq!(
                classes(f.predict(data.x.view()).unwrap()),
                classes(back.predict(data.x.view()).unwrap()),
                "{}",
                info.name
            );
        }
    }

    #[test]
    fn a_refit_logistic_regression_learns_the_training_rows() {
        let data = classification();
        let f = file("logistic_regression", &data);
        let predicted = classes(f.predict(data.x.view()).unwrap());
        let right = predicted
            .iter()
            .zip(&data.y)
            .filter(|(p, y)| **p as f64 == **y)
            .count();
        // Three classes: chance is a third.
        assert!(right as f64 > 0.6 * data.n_rows() as f64, "{right}");
    }

    #[test]
    fn a_model_file_whose_parts_disagree_is_refused() {
        let data = classification();
        let mut f = file("logistic_regression", &data);
        f.features.pop();
        let err = ModelFile::from_json(&f.to_json().unwrap()).unwrap_err();
        assert!(err.contains("3 feature names"), "{err}");
    }

    #[test]
    fn a_tree_pointing_outside_itself_is_refused() {
        let data = classification();
        let f = file("decision_tree", &data);
        let mut doc: serde_json::Value = serde_json::from_str(&f.to_json().unwrap()).unwrap();
        doc["model"]["nodes"][0]["split"]["left"] = 100000.into();
        let err = ModelFile::from_json(&doc.to_string()).unwrap_err();
        assert!(err.contains("outside the tree"), "{err}");
    }

    #[test]
    fn an_unknown_format_is_refused_naming_it() {
        let err = ModelFile::from_json(r#"{"format":"cohort-model/99"}"#).unwrap_err();
        assert!(err.contains("cohort-model/99"), "{err}");
    }
}
