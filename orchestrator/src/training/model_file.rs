//! The trained model as saved in the run directory: what `predict` needs to apply it to raw
//! feature rows (the parameters, the standardization, the feature and class names), in the
//! model file format every cohort model is saved in (`models::saved`).

use std::path::Path;

use anyhow::Result;
use models::Problem;
use models::preprocess::Standardizer;
use models::saved::{MODEL_FORMAT, ModelFile, Preprocessing, SavedModel, SavedSgd};
use models::sgd::SgdModel;

use super::run_dir::write_atomic;

/// The model file's name in the run directory.
pub const MODEL_FILE: &str = "model.json";

/// Save the model as `model.json`: what `predict` needs to apply it to raw feature rows.
/// `names` are the feature names and the target's.
pub fn save_model(
    dir: &Path,
    model: &SgdModel,
    params: &[f64],
    scaler: Option<Standardizer>,
    names: (&[String], &str),
    problem: &Problem,
    rows: usize,
) -> Result<()> {
    let file = ModelFile {
        format: MODEL_FORMAT.into(),
        model_name: model.spec().model.catalogue_name().into(),
        params: models::Params::new(),
        features: names.0.to_vec(),
        target: names.1.to_string(),
        classes: match problem {
            Problem::Classification { classes } => Some(classes.clone()),
            Problem::Regression | Problem::Clustering => None,
        },
        preprocessing: match scaler {
            Some(s) => Preprocessing::Standardize(s),
            None => Preprocessing::None,
        },
        model: SavedModel::Sgd(SavedSgd {
            spec: model.spec().clone(),
            n_features: model.n_features(),
            target: model.target(),
            params: params.to_vec(),
        }),
        rows,
        trial: None,
    };
    write_atomic(&dir.join(MODEL_FILE), &file.to_json()?)
}
