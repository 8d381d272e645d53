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
    /// `svc`: its machines, their support vectors and coefficients, the kernel.
    Svc(crate::svm::FittedSvc),
    /// `svr`.
    Svr(crate::svm::FittedSvr),
    /// `gaussian_nb`, `multinomial_nb`.
    NaiveBayes(crate::bayes::FittedNb),
    /// `knn_classifier`, `knn_regressor`: the training rows and targets.
    Knn(crate::neighbors::FittedKnn),
    /// `ftrl`: its weights.
    Ftrl(crate::ftrl::SavedFtrl),
    /// `kmeans`: the centroids.
    KMeans(crate::cluster::FittedKMeans),
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
            SavedModel::Svc(m) => Some(m.n_features()),
            SavedModel::Svr(m) => Some(m.n_features()),
            SavedModel::NaiveBayes(m) => Some(m.n_features()),
            SavedModel::Knn(m) => Some(m.n_features()),
            SavedModel::Ftrl(m) => Some(m.n_features()),
            SavedModel::KMeans(m) => Some(m.n_features()),
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
            SavedModel::Svc(m) => m.check(),
            SavedModel::Svr(m) => m.check(),
            SavedModel::NaiveBayes(m) => m.check(),
            SavedModel::Knn(m) => m.check(),
            SavedModel::Ftrl(m) => m.check(),
            SavedModel::KMeans(m) => m.check(),
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
            SavedModel::Svc(m) => m.predict(x),
            SavedModel::Svr(m) => m.predict(x),
            SavedModel::NaiveBayes(m) => m.predict(x),
            SavedModel::Knn(m) => m.predict(x),
            SavedModel::Ftrl(m) => m.predict(x),
            SavedModel::KMeans(m) => m.predict(x),
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
            other => panic!("{other:?} from a classifier"),
        }
    }

    fn values(p: Prediction) -> Vec<f64> {
        match p {
            Prediction::Values(v) => v.to_vec(),
            other => panic!("{other:?} from a regressor"),
        }
    }

    fn clusters(p: Prediction) -> Vec<usize> {
        match p {
            Prediction::Clusters { cluster, .. } => cluster.to_vec(),
            other => panic!("{other:?} from a clustering model"),
        }
    }

    /// `data` with only its first two classes' rows (for binary-only models).
    fn binary(data: &crate::Dataset) -> crate::Dataset {
        let keep: Vec<usize> = (0..data.n_rows()).filter(|&r| data.y[r] < 2.0).collect();
        crate::Dataset {
            x: data.x.select(ndarray::Axis(0), &keep),
            y: data.y.select(ndarray::Axis(0), &keep),
            problem: Problem::Classification {
                classes: vec!["a".into(), "b".into()],
            },
            ..data.clone()
        }
    }

    fn regression() -> crate::Dataset {
        let data = classification();
        let y = data
            .x
            .rows()
            .into_iter()
            .map(|r| 2.0 * r[0] - r[1] + 0.5 * r[2])
            .collect();
        crate::Dataset {
            y,
            target_name: "t".into(),
            problem: Problem::Regression,
            ..data
        }
    }

    fn clustering() -> crate::Dataset {
        crate::Dataset {
            problem: Problem::Clustering,
            ..classification()
        }
    }

    /// A refit of `model` on `data` with `params`, written to JSON and read back.
    fn round_trip(model: &str, params: &str, data: &crate::Dataset) -> (ModelFile, ModelFile) {
        let params: Params = serde_json::from_str(params).unwrap();
        // multinomial_nb takes non-negative counts: not standardized.
        let standardize = model != "multinomial_nb";
        let r = refit(
            model,
            &params,
            3,
            data.view(),
            &data.problem,
            standardize,
            None,
        )
        .unwrap();
        let f = ModelFile {
            format: MODEL_FORMAT.into(),
            model_name: model.into(),
            params,
            features: data.feature_names.clone(),
            target: data.target_name.clone(),
            classes: None,
            preprocessing: r.preprocessing,
            model: r.model,
            rows: data.n_rows(),
            trial: None,
        };
        let back = ModelFile::from_json(&f.to_json().unwrap()).unwrap();
        (f, back)
    }

    #[test]
    fn every_classifier_predicts_the_same_after_a_round_trip_through_its_file() {
        let data = classification();
        for info in crate::catalogue()
            .iter()
            .filter(|m| m.problem == crate::ProblemKind::Classification)
        {
            // ftrl is binary and multinomial_nb takes counts: they have tests of their own.
            if info.name == "ftrl" || info.name == "multinomial_nb" {
                continue;
            }
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

    /// Values equal to rounding: JSON text does not give back every last bit of a float.
    fn assert_close(a: &[f64], b: &[f64], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x - y).abs() <= 1e-9 * (1.0 + x.abs()),
                "{what}: {x} vs {y}"
            );
        }
    }

    #[test]
    fn multinomial_nb_predicts_the_same_after_a_round_trip() {
        let mut data = classification();
        data.x.mapv_inplace(f64::abs);
        let (f, back) = round_trip("multinomial_nb", "{}", &data);
        assert_eq!(
            classes(f.predict(data.x.view()).unwrap()),
            classes(back.predict(data.x.view()).unwrap())
        );
    }

    #[test]
    fn every_regressor_predicts_the_same_after_a_round_trip_through_its_file() {
        let data = regression();
        for info in crate::catalogue()
            .iter()
            .filter(|m| m.problem == crate::ProblemKind::Regression)
        {
            let (f, back) = round_trip(info.name, "{}", &data);
            assert_close(
                &values(f.predict(data.x.view()).unwrap()),
                &values(back.predict(data.x.view()).unwrap()),
                info.name,
            );
        }
    }

    #[test]
    fn svms_of_every_kernel_predict_the_same_after_a_round_trip() {
        let (cls, reg) = (classification(), regression());
        for kernel in ["linear", "rbf", "poly"] {
            let params = format!(r#"{{"kernel": "{kernel}"}}"#);
            let (f, back) = round_trip("svc", &params, &cls);
            assert_eq!(
                classes(f.predict(cls.x.view()).unwrap()),
                classes(back.predict(cls.x.view()).unwrap()),
                "svc {kernel}"
            );
            let (f, back) = round_trip("svr", &params, &reg);
            assert_close(
                &values(f.predict(reg.x.view()).unwrap()),
                &values(back.predict(reg.x.view()).unwrap()),
                &format!("svr {kernel}"),
            );
        }
    }

    #[test]
    fn a_saved_svc_predicts_as_the_fitted_one() {
        let data = classification();
        let x = Standardizer::fit(data.x.view()).transform(data.x.view());
        let fitted = crate::catalogue::build("svc", &Params::new(), 3)
            .unwrap()
            .fit(x.view(), data.y.view())
            .unwrap();
        let saved: SavedModel =
            serde_json::from_str(&serde_json::to_string(&fitted.to_saved()).unwrap()).unwrap();
        assert_eq!(
            classes(fitted.predict(x.view())),
            classes(saved.predict(x.view()).unwrap())
        );
    }

    #[test]
    fn ftrl_predicts_the_same_after_a_round_trip() {
        let data = binary(&classification());
        let (f, back) = round_trip("ftrl", "{}", &data);
        let (a, b) = (
            f.predict(data.x.view()).unwrap(),
            back.predict(data.x.view()).unwrap(),
        );
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn kmeans_assigns_the_same_clusters_after_a_round_trip() {
        let data = clustering();
        let (f, back) = round_trip("kmeans", r#"{"n_clusters": 3}"#, &data);
        let assigned = clusters(f.predict(data.x.view()).unwrap());
        assert_eq!(assigned, clusters(back.predict(data.x.view()).unwrap()));
        assert!(assigned.iter().any(|&c| c != assigned[0]));
    }

    #[test]
    fn a_naive_bayes_class_absent_from_training_survives_the_round_trip() {
        // Three classes declared, two seen: the third's log prior is -inf, saved as null.
        let mut data = binary(&classification());
        data.problem = classification().problem;
        let (f, back) = round_trip("gaussian_nb", "{}", &data);
        let text = f.to_json().unwrap();
        assert!(text.contains("null"), "{text}");
        assert_eq!(
            classes(f.predict(data.x.view()).unwrap()),
            classes(back.predict(data.x.view()).unwrap())
        );
    }

    /// The refit `model` as JSON, changed by `edit`, read back: the error.
    fn refused_after(
        model: &str,
        params: &str,
        data: &crate::Dataset,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> String {
        let (f, _) = round_trip(model, params, data);
        let mut doc: serde_json::Value = serde_json::from_str(&f.to_json().unwrap()).unwrap();
        edit(&mut doc["model"]);
        ModelFile::from_json(&doc.to_string()).unwrap_err()
    }

    #[test]
    fn an_svc_machine_between_unknown_classes_is_refused() {
        let err = refused_after("svc", "{}", &classification(), |m| {
            m["pairs"][0]["first"] = 7.into();
        });
        assert!(err.contains("classes 7"), "{err}");
    }

    #[test]
    fn svr_support_vectors_without_coefficients_are_refused() {
        let err = refused_after("svr", "{}", &regression(), |m| {
            m["machine"]["sum"]["coef"]["data"] = serde_json::json!([]);
            m["machine"]["sum"]["coef"]["dim"] = serde_json::json!([0]);
        });
        assert!(err.contains("coefficients"), "{err}");
    }

    #[test]
    fn a_svm_kernel_without_a_positive_gamma_is_refused() {
        let err = refused_after("svc", "{}", &classification(), |m| {
            m["kernel"]["gamma"] = (-1.0).into();
        });
        assert!(err.contains("gamma"), "{err}");
    }

    #[test]
    fn naive_bayes_tables_of_the_wrong_class_count_are_refused() {
        let err = refused_after("gaussian_nb", "{}", &classification(), |m| {
            m["log_prior"] = serde_json::json!([-0.5, -1.0]);
        });
        assert!(err.contains("naive bayes"), "{err}");
    }

    #[test]
    fn knn_with_more_neighbours_than_rows_is_refused() {
        let err = refused_after("knn_classifier", "{}", &classification(), |m| {
            m["knn"]["n_neighbors"] = 100000.into();
        });
        assert!(err.contains("n_neighbors = 100000"), "{err}");
    }

    #[test]
    fn knn_targets_that_are_not_classes_are_refused() {
        let err = refused_after("knn_classifier", "{}", &classification(), |m| {
            m["y"]["data"][0] = 9.into();
        });
        assert!(err.contains("class index"), "{err}");
    }

    #[test]
    fn ftrl_without_an_intercept_weight_is_refused() {
        let err = refused_after("ftrl", "{}", &binary(&classification()), |m| {
            m["weights"]["data"] = serde_json::json!([]);
            m["weights"]["dim"] = serde_json::json!([0]);
        });
        assert!(err.contains("ftrl"), "{err}");
    }

    #[test]
    fn kmeans_without_centroids_is_refused() {
        let err = refused_after("kmeans", r#"{"n_clusters": 3}"#, &clustering(), |m| {
            m["centres"]["data"] = serde_json::json!([]);
            m["centres"]["dim"] = serde_json::json!([0, 4]);
        });
        assert!(err.contains("no centroids"), "{err}");
    }
}
