//! `cohort plot DIR`: figures of a study or a training run, as SVG and PNG in `DIR/plots/`.
//!
//! A sweep gets its optimization history, one figure per searched hyperparameter against the
//! objective (a log axis for log-uniform ones, categories for the rest), and the intermediate
//! values per trial with pruned trials marked. A training run gets its training curve. Text is
//! drawn with an embedded DejaVu Sans, so PNGs look the same on a machine without fonts.

mod draw;
mod study;
mod train;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use crate::error::BadInput;
use crate::reports::StudyView;
use crate::store::Store;
use crate::training::EpochRecord;
pub use draw::PlotError;

/// The folder of a study's figures.
pub const PLOTS_DIR: &str = "plots";

/// Draw every figure of the study or training run in `dir`; the files written.
pub fn plot(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(BadInput::new(anyhow!("{}: no such directory", dir.display())).into());
    }
    if dir.join(crate::store::DB_FILE).is_file() {
        return plot_study(dir);
    }
    for file in [
        crate::training::run_dir::SUMMARY_FILE,
        crate::training::checkpoint::CHECKPOINT_FILE,
    ] {
        if dir.join(file).is_file() {
            return plot_run(dir, &dir.join(file));
        }
    }
    Err(BadInput::new(anyhow!(
        "{}: neither a study directory (no {}) nor a training run directory (no {} or {}); give the directory of a `cohort sweep` or a `cohort train`",
        dir.display(),
        crate::store::DB_FILE,
        crate::training::run_dir::SUMMARY_FILE,
        crate::training::checkpoint::CHECKPOINT_FILE
    ))
    .into())
}

fn out_dir(dir: &Path) -> Result<PathBuf> {
    let out = dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    Ok(out)
}

fn plot_study(dir: &Path) -> Result<Vec<PathBuf>> {
    let store = Store::open_readonly(dir).map_err(BadInput::new)?;
    let view = StudyView {
        meta: store.meta()?,
        trials: store.trials()?,
    };
    let values = store.intermediate_values()?;
    let history = study::History::new(&view);
    let intermediate = study::Intermediate::new(&view, &values);
    if history.values.is_empty() && intermediate.is_empty() {
        return Err(anyhow!(
            "{}: nothing to plot yet: no trial has completed or reported",
            dir.display()
        ));
    }
    let out = out_dir(dir)?;
    let mut written = Vec::new();
    if !history.values.is_empty() {
        written.extend(draw::save(&history, &out, "history")?);
        let logs = log_params(view.meta.get("config").map_or("", String::as_str));
        for param in view.searched() {
            let fig = study::ParamFigure::new(&view, &param, logs.contains(&param));
            if fig.points.is_empty() {
                continue;
            }
            written.extend(draw::save(
                &fig,
                &out,
                &format!("param-{}", file_safe(&param)),
            )?);
        }
    }
    if !intermediate.is_empty() {
        written.extend(draw::save(&intermediate, &out, "intermediate")?);
    }
    Ok(written)
}

fn plot_run(dir: &Path, file: &Path) -> Result<Vec<PathBuf>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| BadInput::new(anyhow!("{}: not valid JSON: {e}", file.display())))?;
    let history: Vec<EpochRecord> =
        serde_json::from_value(doc["history"].clone()).map_err(|e| {
            BadInput::new(anyhow!(
                "{}: `history`: expected the per-epoch records of a training run: {e}",
                file.display()
            ))
        })?;
    if history.is_empty() {
        return Err(anyhow!(
            "{}: nothing to plot yet: no epoch has finished",
            dir.display()
        ));
    }
    let name = doc["name"].as_str().map(str::to_string).unwrap_or_else(|| {
        dir.file_name()
            .map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned())
    });
    let out = out_dir(dir)?;
    Ok(draw::save(
        &train::TrainingCurve::new(&name, &history),
        &out,
        "training",
    )?)
}

/// The searched parameters drawn on a log scale in the study's config: `log_uniform` ones and
/// integers with `log = true`.
fn log_params(config: &str) -> Vec<String> {
    let Ok(doc) = config.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(space) = doc
        .get("search")
        .and_then(|s| s.get("space"))
        .and_then(|s| s.as_table())
    else {
        return Vec::new();
    };
    space
        .iter()
        .filter(|(_, d)| {
            d.get("type").and_then(|t| t.as_str()) == Some("log_uniform")
                || d.get("log").and_then(|l| l.as_bool()) == Some(true)
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// A parameter name as a file name.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_uniform_and_log_int_parameters_get_log_axes() {
        let config = r#"
[search.space]
C = { type = "log_uniform", low = 0.001, high = 100.0 }
n = { type = "int", low = 1, high = 1000, log = true }
depth = { type = "int", low = 1, high = 10 }
kernel = ["rbf", "linear"]
"#;
        let mut logs = log_params(config);
        logs.sort();
        assert_eq!(logs, ["C", "n"]);
    }
}
