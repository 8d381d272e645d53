//! `cohort check CONFIG`: everything `sweep` or `train` would check (the config, the `--set`
//! overrides, the data), and what would run, without running anything or writing a file.

use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use crate::config::{Override, SamplerKind, TrialKind, direction_name};
use crate::error::BadInput;
use crate::training::TrainConfig;
use crate::training::config::DataSource;

/// What a check found: named facts in order, and one sentence on what would run.
pub(super) struct Plan {
    /// (name, value) pairs.
    pub facts: Vec<(&'static str, Value)>,
}

impl Plan {
    /// As JSON: one object.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.facts
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    /// As records of `key`, `value`.
    pub fn to_records(&self) -> crate::reports::Records {
        let mut r = crate::reports::Records::new(&["key", "value"]);
        for (k, v) in &self.facts {
            r.push(vec![json!(k), v.clone()]);
        }
        r
    }

    /// For people: `key: value` lines.
    pub fn to_text(&self) -> String {
        let width = self.facts.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        let mut s = String::new();
        for (k, v) in &self.facts {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Null => "-".into(),
                other => other.to_string(),
            };
            s.push_str(&format!("{:<width$} {v}\n", format!("{k}:")));
        }
        s
    }
}

/// Check the config at `path` (a sweep's, or a training's when it has a `[train]` table).
pub(super) fn check(path: &Path, overrides: &[Override]) -> Result<Plan> {
    let is_training = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .is_some_and(|t| t.contains_key("train"));
    if is_training {
        check_training(path, overrides)
    } else {
        check_sweep(path, overrides)
    }
}

fn check_sweep(path: &Path, overrides: &[Override]) -> Result<Plan> {
    let (cfg, data) = crate::sweep::load_checked(path, overrides)?;
    let workers = crate::sweep::planned_workers(&cfg, None)?;
    let grid = cfg.space.grid_size();
    let (trials, space) = match cfg.sampler {
        SamplerKind::Grid => {
            let n = grid.unwrap_or(0);
            (n as u64, format!("grid of {n} points"))
        }
        SamplerKind::Random { trials } | SamplerKind::Tpe { trials, .. } => (
            trials,
            match grid {
                Some(n) => format!("{trials} trials sampled from a space of {n} points"),
                None => format!("{trials} trials sampled from an infinite space"),
            },
        ),
    };
    let sampler = match cfg.sampler {
        SamplerKind::Grid => "grid",
        SamplerKind::Random { .. } => "random",
        SamplerKind::Tpe { .. } => "tpe",
    };
    let objective = cfg.objective();
    let mut facts: Vec<(&'static str, Value)> = vec![
        ("config", json!(path.display().to_string())),
        ("command", json!("sweep")),
        ("study", json!(cfg.name)),
        ("study_dir", json!(format!("runs/{}", cfg.name))),
        (
            "objective",
            json!(format!(
                "{} ({})",
                objective.name,
                direction_name(objective.direction)
            )),
        ),
        ("sampler", json!(sampler)),
        ("space", json!(space)),
        ("space_size", grid.map_or(Value::Null, |n| json!(n as u64))),
        ("trials", json!(trials)),
        (
            "searched",
            json!(cfg.space.0.keys().cloned().collect::<Vec<_>>()),
        ),
        (
            "pruner",
            json!(cfg.pruner.map_or("none".to_string(), |p| p.to_string())),
        ),
    ];
    let what = match (&cfg.kind, &data) {
        (TrialKind::Model(t), Some(data)) => {
            let classes = match &data.problem {
                models::Problem::Classification { classes } => json!(classes),
                models::Problem::Regression | models::Problem::Clustering => Value::Null,
            };
            facts.extend([
                ("model", json!(t.model.name)),
                ("data", json!(t.data_path.display().to_string())),
                ("rows", json!(data.n_rows())),
                ("features", json!(data.n_features())),
                ("target", json!(data.target_name)),
                ("classes", classes),
                ("folds", json!(t.cv.folds)),
            ]);
            format!(
                "{trials} trials of {} with {}-fold cross-validation on {} rows x {} features, up to {workers} at once; then the best is refit on all rows",
                t.model.name,
                t.cv.folds,
                data.n_rows(),
                data.n_features()
            )
        }
        (TrialKind::Program(p), _) => {
            facts.extend([
                ("model", json!("program")),
                ("program", json!(p.command)),
                ("cwd", json!(p.cwd.display().to_string())),
            ]);
            format!(
                "{trials} runs of `{}`, up to {workers} at once (program trials have no model to refit)",
                p.command.join(" ")
            )
        }
        (TrialKind::Model(_), None) => String::new(),
    };
    facts.push(("workers", json!(workers)));
    facts.push(("would_run", json!(what)));
    Ok(Plan { facts })
}

fn check_training(path: &Path, overrides: &[Override]) -> Result<Plan> {
    let cfg = TrainConfig::load_with(path, overrides)?;
    let kind = if cfg.spec.model == models::sgd::SgdKind::LinearRegression {
        models::ProblemKind::Regression
    } else {
        models::ProblemKind::Classification
    };
    let (data, rows, features, classes) = match &cfg.source {
        DataSource::Csv(p) => {
            let d = models::Dataset::read_path(p, cfg.target.as_deref(), kind)
                .map_err(BadInput::new)?;
            (
                p.display().to_string(),
                d.n_rows(),
                d.n_features(),
                d.problem.n_classes(),
            )
        }
        DataSource::Synthetic(s) => ("synthetic".to_string(), s.rows, s.features, s.classes),
    };
    let target = match kind {
        // `kind` above is a classification or a regression: train fits SGD models only.
        models::ProblemKind::Regression | models::ProblemKind::Clustering => {
            models::sgd::Target::Regression
        }
        models::ProblemKind::Classification => models::sgd::Target::Classes(classes),
    };
    models::sgd::SgdModel::new(&cfg.spec, features, target)
        .map_err(|e| BadInput::new(anyhow::anyhow!("{}: `model`: {e}", cfg.path.display())))?;
    let shards = cfg.shards.unwrap_or(1);
    Ok(Plan {
        facts: vec![
            ("config", json!(path.display().to_string())),
            ("command", json!("train")),
            ("study", json!(cfg.name)),
            ("study_dir", json!(format!("runs/{}", cfg.name))),
            ("model", json!(cfg.spec.model.catalogue_name())),
            ("data", json!(data)),
            ("rows", json!(rows)),
            ("features", json!(features)),
            ("holdout", json!(cfg.holdout)),
            ("epochs", json!(cfg.epochs)),
            ("shards", json!(shards)),
            ("merge", json!(cfg.mode.name())),
            (
                "would_run",
                json!(format!(
                    "{} trained data-parallel for {} epochs on {shards} shard(s) merging by `{}`, {} rows held out",
                    cfg.spec.model.catalogue_name(),
                    cfg.epochs,
                    cfg.mode.name(),
                    ((rows as f64) * cfg.holdout).round()
                )),
            ),
        ],
    })
}
