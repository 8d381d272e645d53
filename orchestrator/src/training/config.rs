//! The training config (TOML), checked once into types that cannot hold invalid values.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow};
use models::sgd::SgdSpec;
use serde::{Deserialize, Serialize};
use trainer::MergeMode;

use crate::error::BadInput;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrainConfig {
    study: RawStudy,
    data: RawData,
    model: toml::Table,
    train: RawTrain,
    #[serde(default)]
    run: RawRun,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStudy {
    name: Option<String>,
    #[serde(default)]
    seed: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    path: Option<PathBuf>,
    target: Option<String>,
    synthetic: Option<Synthetic>,
    #[serde(default = "default_holdout")]
    holdout: f64,
    #[serde(default = "yes")]
    standardize: bool,
}

/// A generated classification dataset (scikit-learn's make_classification, in our generator).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Synthetic {
    /// Rows.
    pub rows: usize,
    /// Feature columns.
    pub features: usize,
    /// Informative features.
    #[serde(default = "default_informative")]
    pub informative: usize,
    /// Classes.
    #[serde(default = "default_classes")]
    pub classes: usize,
    /// Generator seed.
    #[serde(default)]
    pub seed: u64,
}

fn default_holdout() -> f64 {
    0.2
}
fn yes() -> bool {
    true
}
fn default_informative() -> usize {
    8
}
fn default_classes() -> usize {
    2
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrain {
    epochs: i64,
    shards: Option<i64>,
    merge: String,
    #[serde(default = "default_merges")]
    merges_per_epoch: i64,
}

fn default_merges() -> i64 {
    50
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    memory: Option<toml::Value>,
    stall: Option<toml::Value>,
    grace: Option<toml::Value>,
}

/// A checked training config.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// The file.
    pub path: PathBuf,
    /// Its text (saved with the run).
    pub text: String,
    /// The run's name.
    pub name: String,
    /// Seed of the split, initialization and shuffles.
    pub seed: u64,
    /// The CSV, or generated data.
    pub source: DataSource,
    /// Target column (CSV).
    pub target: Option<String>,
    /// Held-out share, in (0, 1).
    pub holdout: f64,
    /// Standardize on the training split.
    pub standardize: bool,
    /// The model spec (validated against the data's shape once it is read).
    pub spec: SgdSpec,
    /// Epochs.
    pub epochs: u32,
    /// Shards (trainers), unless the command line says otherwise.
    pub shards: Option<usize>,
    /// Merge rule.
    pub mode: MergeMode,
    /// Merges (rounds) per epoch.
    pub merges_per_epoch: u64,
    /// Address-space cap per trainer.
    pub memory: Option<u64>,
    /// A shard trainer silent for longer than this is killed as stalled (and respawned).
    pub stall: Duration,
    /// How long stopped trainers get to exit before they are killed.
    pub grace: Duration,
}

/// A shard sends a heartbeat about every second: a minute of silence is a stuck shard, which
/// in `average` mode would hold every other shard at the round barrier.
pub const DEFAULT_STALL: Duration = Duration::from_secs(60);

/// Where the data comes from.
#[derive(Debug, Clone)]
pub enum DataSource {
    /// A CSV file (absolute or relative to the config).
    Csv(PathBuf),
    /// Generated.
    Synthetic(Synthetic),
}

impl TrainConfig {
    /// Read and check a training config.
    pub fn load(path: &Path) -> Result<TrainConfig> {
        TrainConfig::load_with(path, &[])
    }

    /// Read and check a training config with `--set` overrides applied (in order).
    pub fn load_with(path: &Path, overrides: &[crate::config::Override]) -> Result<TrainConfig> {
        use crate::config::overrides::{Refused, check_with};
        let text = std::fs::read_to_string(path).map_err(|e| {
            BadInput::new(anyhow!("{}: cannot read the config: {e}", path.display()))
        })?;
        check_with(path, &text, overrides, |t| TrainConfig::parse(path, t)).map_err(|r| match r {
            Refused::File(e) => e,
            Refused::Set { set, message } => BadInput::new(anyhow!("`{set}`: {message}")).into(),
        })
    }

    /// Check the training config `text`, read from `path`.
    fn parse(path: &Path, text: &str) -> Result<TrainConfig> {
        let text = text.to_string();
        let raw: RawTrainConfig = toml::from_str(&text)
            .map_err(|e| BadInput::new(crate::config::syntax_error(path, &text, &e)))?;
        let bad = |field: &str, message: String| {
            BadInput::new(anyhow!("{}: `{field}`: {message}", path.display()))
        };
        let name = raw.study.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map_or("training".into(), |s| s.to_string_lossy().into_owned())
        });
        crate::config::check_name(&name).map_err(|m| bad("study.name", m))?;
        let source = match (&raw.data.path, &raw.data.synthetic) {
            (Some(p), None) => DataSource::Csv(path.parent().unwrap_or(Path::new(".")).join(p)),
            (None, Some(s)) => {
                if s.rows < 10
                    || s.features < 1
                    || s.classes < 2
                    || s.informative < 1
                    || s.informative > s.features
                {
                    return Err(bad("data.synthetic", format!("expected rows ≥ 10, features ≥ 1, 1 ≤ informative ≤ features, classes ≥ 2; found {s:?}")).into());
                }
                DataSource::Synthetic(s.clone())
            }
            _ => {
                return Err(bad(
                    "data",
                    "give exactly one of `path` (a CSV file) or `synthetic`".into(),
                )
                .into());
            }
        };
        if !(raw.data.holdout > 0.0 && raw.data.holdout < 1.0) {
            return Err(bad(
                "data.holdout",
                format!(
                    "expected a share strictly between 0 and 1, found {}",
                    raw.data.holdout
                ),
            )
            .into());
        }
        let mut model = raw.model.clone();
        let kind = match model.remove("name") {
            Some(toml::Value::String(n)) => match n.as_str() {
                "sgd_logistic" => "logistic",
                "sgd_linear_regression" => "linear_regression",
                "mlp" => "mlp",
                other => {
                    let names = ["sgd_logistic", "sgd_linear_regression", "mlp"];
                    let hint = models::hyper::closest(other, names)
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default();
                    return Err(bad(
                        "model.name",
                        format!(
                            "unknown model `{other}`{hint}; `cohort train` trains {}",
                            names.join(", ")
                        ),
                    )
                    .into());
                }
            },
            _ => {
                return Err(bad(
                    "model.name",
                    "expected the model's name: sgd_logistic, sgd_linear_regression or mlp".into(),
                )
                .into());
            }
        };
        model.insert("model".into(), toml::Value::String(kind.into()));
        let spec: SgdSpec = model.try_into().map_err(|e: toml::de::Error| {
            let mut m = e.message().to_string();
            if let Some(h) = crate::config::unknown_field_hint(&m) {
                m.push_str(&h);
            }
            bad("model", m.replace("`model`", "`name`"))
        })?;
        let epochs = raw.train.epochs;
        if !(1..=100_000).contains(&epochs) {
            return Err(bad(
                "train.epochs",
                format!("expected an integer from 1 to 100000, found {epochs}"),
            )
            .into());
        }
        let shards = match raw.train.shards {
            None => None,
            Some(s) if (1..=1024).contains(&s) => Some(s as usize),
            Some(s) => {
                return Err(bad(
                    "train.shards",
                    format!("expected an integer from 1 to 1024, found {s}"),
                )
                .into());
            }
        };
        let mode = match raw.train.merge.as_str() {
            "average" => MergeMode::Average,
            "locked" => MergeMode::Locked,
            "hogwild" => MergeMode::Hogwild,
            other => {
                let hint = models::hyper::closest(other, ["average", "locked", "hogwild"])
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(bad(
                    "train.merge",
                    format!(
                        "unknown merge mode `{other}`{hint}; expected average, locked or hogwild"
                    ),
                )
                .into());
            }
        };
        let merges = raw.train.merges_per_epoch;
        if !(1..=10_000_000).contains(&merges) {
            return Err(bad(
                "train.merges_per_epoch",
                format!("expected an integer from 1 to 10000000, found {merges}"),
            )
            .into());
        }
        let memory = raw
            .run
            .memory
            .as_ref()
            .map(|v| crate::config::parse_bytes(v).map_err(|m| bad("run.memory", m)))
            .transpose()?;
        let duration = |v: &Option<toml::Value>, field: &str, default: Duration| {
            v.as_ref()
                .map(|v| crate::config::parse_duration(v).map_err(|m| bad(field, m)))
                .transpose()
                .map(|d| d.unwrap_or(default))
        };
        let stall = duration(&raw.run.stall, "run.stall", DEFAULT_STALL)?;
        let grace = duration(&raw.run.grace, "run.grace", crate::config::DEFAULT_GRACE)?;
        Ok(TrainConfig {
            path: path.to_path_buf(),
            text,
            name,
            seed: raw.study.seed,
            source,
            target: raw.data.target,
            holdout: raw.data.holdout,
            standardize: raw.data.standardize,
            spec,
            epochs: epochs as u32,
            shards,
            mode,
            merges_per_epoch: merges as u64,
            memory,
            stall,
            grace,
        })
    }
}
