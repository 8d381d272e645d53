//! The trained model as saved in the run directory: what `predict` needs to apply it to raw
//! feature rows (the parameters, the standardization, the feature and class names).

use std::path::Path;

use anyhow::Result;
use models::Problem;
use models::preprocess::Standardizer;
use models::sgd::SgdModel;
use serde_json::json;

use super::run_dir::write_atomic;

/// The model as saved: what `predict` needs to apply it to raw feature rows.
pub fn save_model(
    dir: &Path,
    model: &SgdModel,
    params: &[f64],
    scaler: &Option<Standardizer>,
    names: &[String],
    problem: &Problem,
) -> Result<()> {
    let sgd: serde_json::Value = serde_json::from_str(&model.to_json(params)?)?;
    let doc = json!({
        "format": "cohort-model/1",
        "features": names,
        "classes": match problem { Problem::Classification { classes } => json!(classes), Problem::Regression | Problem::Clustering => serde_json::Value::Null },
        "standardize": scaler.as_ref().map(|s| json!({ "mean": s.mean.to_vec(), "scale": s.scale.to_vec() })),
        "model": sgd,
    });
    write_atomic(&dir.join("model.json"), &serde_json::to_string(&doc)?)
}
