//! `cohort predict MODEL_OR_DIR DATA`: apply a saved model (a sweep's refit model or a
//! `cohort train` model) to the rows of a CSV file.
//!
//! The file's columns must be the model's features (in any order); the target column may be
//! there too and is ignored. Anything else is refused, naming the missing and extra columns.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use models::Prediction;
use models::preprocess::Column;
use models::saved::{ModelFile, Preprocessing};
use ndarray::Array2;
use serde_json::{Value, json};

use crate::error::BadInput;
use crate::reports::Records;
use crate::sweep::refit::{META_KEY, MODEL_FILE, RefitEnd};

/// The model file of `path`: the file itself, or the model saved in a study or training
/// directory.
pub(super) fn model_path(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        return Err(BadInput::new(anyhow!(
            "{}: no such model file or directory",
            path.display()
        ))
        .into());
    }
    for name in [MODEL_FILE, crate::training::MODEL_FILE] {
        if path.join(name).is_file() {
            return Ok(path.join(name));
        }
    }
    let why = match crate::store::Store::open_readonly(path) {
        Ok(store) => {
            let meta = store.meta()?;
            if meta.get("model").map(String::as_str) == Some("program") {
                "the study runs its own program: program trials have no model to refit or predict with".to_string()
            } else {
                let end: Option<RefitEnd> = meta
                    .get(META_KEY)
                    .and_then(|v| serde_json::from_str(v).ok());
                let how = match end {
                    Some(RefitEnd::Failed { message, .. }) => {
                        format!("its refit failed ({message})")
                    }
                    Some(RefitEnd::Skipped { reason }) => format!("it was not refit ({reason})"),
                    Some(RefitEnd::Interrupted) => "its refit was interrupted".to_string(),
                    _ => "it has not finished, or ran with --no-refit".to_string(),
                };
                format!(
                    "the study has no saved model: {how}; run `cohort refit {}` to fit its best trial on all the data (or run the sweep without --no-refit)",
                    path.display()
                )
            }
        }
        Err(_) => format!(
            "not a study or training directory (no {MODEL_FILE}, no {})",
            crate::training::MODEL_FILE
        ),
    };
    Err(BadInput::new(anyhow!("{}: {why}", path.display())).into())
}

/// Read the model file at `path`.
pub(super) fn load_model(path: &Path) -> Result<ModelFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput::new(anyhow!("{}: cannot read the model: {e}", path.display())))?;
    ModelFile::from_json(&text).map_err(|e| {
        BadInput::new(anyhow!("{}: not a usable model file: {e}", path.display())).into()
    })
}

/// [`read_rows`] through the data image cache in `cache` (the model's study or training
/// directory's): a second prediction on the same unchanged file reads its image instead of
/// parsing it; a changed file is parsed again (and its image replaced).
pub(super) fn read_rows_cached(
    data: &Path,
    model: &ModelFile,
    cache: &Path,
) -> Result<Array2<f64>> {
    if !data.is_file() {
        return read_rows(data, model);
    }
    // The rows read depend on the model's columns and their vocabularies: they key the image.
    let settings = serde_json::to_vec(&(&model.features, &model.target, &model.preprocessing))?;
    let reader = format!("predict {}", blake3::hash(&settings).to_hex());
    let (dataset, used) = models::Dataset::load_cached_by(data, &reader, cache, || {
        // Hashed as it is parsed, in one read: the checksum is that of the bytes parsed.
        let mut hasher = blake3::Hasher::new();
        let x = read_rows_from(data, model, Some(&mut hasher))?;
        let checksum = format!("blake3:{}", hasher.finalize().to_hex());
        let rows = x.nrows();
        Ok::<_, anyhow::Error>(models::Dataset {
            x,
            y: ndarray::Array1::zeros(rows),
            feature_names: model.features.clone(),
            target_name: model.target.clone(),
            problem: models::Problem::Regression,
            checksum,
        })
    })?;
    match &used {
        models::CacheUse::Hit => {
            tracing::info!(data = %data.display(), "data read from the model directory's image, not parsed");
        }
        models::CacheUse::Parsed { reason, not_stored } => {
            tracing::info!(data = %data.display(), "data parsed ({reason})");
            if let Some(e) = not_stored {
                tracing::warn!(data = %data.display(), "the data's image was not written: {e}");
            }
        }
    }
    Ok(dataset.x)
}

/// The rows of the CSV file `data`, columns in the model's feature order.
pub(super) fn read_rows(data: &Path, model: &ModelFile) -> Result<Array2<f64>> {
    read_rows_from(data, model, None)
}

/// A reader that feeds what passes through it to a hasher.
struct Hashing<'h, R> {
    inner: R,
    hasher: Option<&'h mut blake3::Hasher>,
}

impl<R: std::io::Read> std::io::Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_deref_mut() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// [`read_rows`], feeding every byte of the file to `hasher` when given.
fn read_rows_from(
    data: &Path,
    model: &ModelFile,
    hasher: Option<&mut blake3::Hasher>,
) -> Result<Array2<f64>> {
    let bad =
        |m: String| -> anyhow::Error { BadInput::new(anyhow!("{}: {m}", data.display())).into() };
    let is_csv = data
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        return Err(bad(
            "predict reads CSV files (a header row, then one row per line)".into(),
        ));
    }
    let file = std::fs::File::open(data).map_err(|e| bad(format!("cannot read: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(Hashing {
            inner: file,
            hasher,
        });
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if let Some(dup) = header
        .iter()
        .enumerate()
        .find(|(i, h)| header[..*i].contains(h))
        .map(|(_, h)| h)
    {
        return Err(bad(format!("column `{dup}` appears twice in the header")));
    }
    let missing: Vec<&str> = model
        .features
        .iter()
        .filter(|f| !header.contains(f))
        .map(String::as_str)
        .collect();
    let extra: Vec<&str> = header
        .iter()
        .filter(|h| !model.features.contains(h) && **h != model.target)
        .map(String::as_str)
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        let list = |v: &[&str]| {
            v.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("missing {}", list(&missing)));
        }
        if !extra.is_empty() {
            parts.push(format!("extra {}", list(&extra)));
        }
        return Err(bad(format!(
            "the columns do not match the model's: {}; the model takes {} feature columns{} (the target `{}` may be there too)",
            parts.join("; "),
            model.features.len(),
            if model.features.len() <= 12 {
                format!(" ({})", model.features.join(", "))
            } else {
                String::new()
            },
            model.target
        )));
    }
    let at: Vec<usize> = model
        .features
        .iter()
        .filter_map(|f| header.iter().position(|h| h == f))
        .collect();
    // A `[preprocess]` pipeline reads categories (as codes into its saved vocabularies) and,
    // when it imputes, missing cells (as NaN).
    let (columns, imputes, ignores_unknown) = match &model.preprocessing {
        Preprocessing::Pipeline { columns, fitted } => (
            Some(columns.as_slice()),
            fitted.imputes(),
            fitted.ignores_unknown(),
        ),
        _ => (None, false, false),
    };
    let mut values = Vec::new();
    let mut rows = 0usize;
    for record in reader.records() {
        let record = record.map_err(|e| bad(format!("{e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        for (j, (&i, name)) in at.iter().zip(&model.features).enumerate() {
            let cell = record.get(i).unwrap_or("").trim();
            if imputes && (cell.is_empty() || cell == "NA") {
                values.push(f64::NAN);
                continue;
            }
            if let Some(Column::Categorical { categories, .. }) = columns.and_then(|c| c.get(j)) {
                let code = match categories.iter().position(|c| c == cell) {
                    Some(code) => code,
                    // Past the vocabulary: the pipeline encodes it as all zeros.
                    None if ignores_unknown => categories.len(),
                    None => {
                        return Err(bad(format!(
                            "line {line}: column `{name}`: category `{cell}` was not in the training data (the model was fitted with preprocess.unknown_category = \"error\")"
                        )));
                    }
                };
                values.push(code as f64);
                continue;
            }
            let v: f64 = cell
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    bad(format!(
                        "line {line}: column `{name}`: `{cell}` is not a finite number"
                    ))
                })?;
            values.push(v);
        }
        rows += 1;
    }
    // The records end at the end of the file; whatever the parser left unread is hashed too.
    std::io::copy(&mut reader.into_inner(), &mut std::io::sink())
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    Array2::from_shape_vec((rows, at.len()), values).context("arranging the rows")
}

/// The predictions as records: `prediction` (the class label or the value), then one
/// `proba_<class>` column per class where the model gives probabilities; a clustering model's
/// are `cluster` (its index) and `sq_dist` (the squared distance to its centroid).
pub(super) fn records(model: &ModelFile, prediction: Prediction) -> Records {
    match prediction {
        Prediction::Clusters { cluster, sq_dist } => {
            let mut r = Records::new(&["cluster", "sq_dist"]);
            for (c, d) in cluster.iter().zip(&sq_dist) {
                r.push(vec![json!(c), json!(d)]);
            }
            r
        }
        Prediction::Values(v) => {
            let mut r = Records::new(&["prediction"]);
            for x in v {
                r.push(vec![json!(x)]);
            }
            r
        }
        Prediction::Classes { class, proba } => {
            let labels: Vec<String> = match &model.classes {
                Some(c) => c.clone(),
                None => {
                    let k = proba.as_ref().map_or(0, |p| p.ncols());
                    (0..k.max(class.iter().max().map_or(0, |m| m + 1)))
                        .map(|i| i.to_string())
                        .collect()
                }
            };
            let mut columns = vec!["prediction".to_string()];
            if proba.is_some() {
                columns.extend(labels.iter().map(|l| format!("proba_{l}")));
            }
            let mut r = Records {
                columns,
                rows: Vec::new(),
            };
            for (i, &c) in class.iter().enumerate() {
                let label = labels.get(c).cloned().unwrap_or_else(|| c.to_string());
                let mut row = vec![Value::String(label)];
                if let Some(p) = &proba {
                    // A class absent from the model's probabilities has probability 0.
                    row.extend(
                        (0..labels.len()).map(|k| json!(p.get((i, k)).copied().unwrap_or(0.0))),
                    );
                }
                r.push(row);
            }
            r
        }
    }
}
