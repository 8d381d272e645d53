//! The study config (TOML): read once, checked once, into types that cannot hold invalid values.
//!
//! Every error names the file and the field (or line and column) and what was expected.

use std::collections::BTreeMap;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use models::{Direction, Metric, ModelInfo, ParamValue, Params, ProblemKind};
use serde::Deserialize;

use crate::sweep::pruner::PrunerSpec;
use crate::sweep::space::{Distribution, Space};

pub mod overrides;
mod preprocess;
mod pruning;
mod slurm;
mod units;

pub use overrides::Override;
pub use preprocess::PreprocessSpec;

pub use pruning::DEFAULT_BATCH;
pub use slurm::{SlurmSpec, check_mem, check_time};

pub(crate) use units::{parse_bytes, parse_duration};

/// A config that cannot be used: always names the file and the place.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the config: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed TOML or a key that does not belong.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The config file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A `--set` override that does not fit the config.
    #[error("`{set}`: {message}")]
    Override {
        /// The override, as `--set key.path=value`.
        set: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A well-formed value that is not allowed.
    #[error("{path}: `{field}`: {message}")]
    Field {
        /// The config file.
        path: PathBuf,
        /// Dotted path of the field.
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    study: RawStudy,
    data: Option<RawData>,
    model: Option<RawModel>,
    cv: Option<RawCv>,
    preprocess: Option<preprocess::RawPreprocess>,
    program: Option<RawProgram>,
    search: RawSearch,
    #[serde(default)]
    run: RawRun,
    slurm: Option<slurm::RawSlurm>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStudy {
    name: Option<String>,
    #[serde(default)]
    seed: u64,
    metric: String,
    direction: Option<String>,
    #[serde(default)]
    metrics: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    path: PathBuf,
    target: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: String,
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    command: Vec<String>,
    cwd: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    format: BTreeMap<String, String>,
    metrics_regex: Option<String>,
    grace: Option<toml::Value>,
    cores_per_trial: Option<i64>,
    gpus_per_trial: Option<i64>,
    gpus: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCv {
    #[serde(default = "default_folds")]
    folds: i64,
    #[serde(default = "yes")]
    shuffle: bool,
    #[serde(default = "yes")]
    standardize: bool,
    fold_cache: Option<toml::Value>,
}

impl Default for RawCv {
    fn default() -> Self {
        RawCv {
            folds: default_folds(),
            shuffle: true,
            standardize: true,
            fold_cache: None,
        }
    }
}

fn default_folds() -> i64 {
    5
}
fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSearch {
    sampler: String,
    trials: Option<i64>,
    batch: Option<i64>,
    tpe: Option<RawTpe>,
    #[serde(default)]
    space: BTreeMap<String, toml::Value>,
    budget: Option<RawBudget>,
    pruner: Option<pruning::RawPruner>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    rows: f64,
    #[serde(default = "default_factor")]
    factor: f64,
}

fn default_factor() -> f64 {
    3.0
}

/// Successive halving over training rows, for models that fit in one go: each trial is fitted
/// on a growing share of every training fold, each share a report point (as scikit-learn's
/// `HalvingGridSearchCV` budgets by samples).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowBudget {
    /// The first share of the training rows, in (0, 1).
    pub min_share: f64,
    /// Each share is this many times the last (> 1); the last share is always 1.
    pub factor: f64,
}

impl RowBudget {
    /// The shares of the training rows, increasing, ending at 1.
    pub fn shares(&self) -> Vec<f64> {
        let mut out = Vec::new();
        let mut share = self.min_share;
        while share < 1.0 - 1e-9 {
            out.push(share);
            share *= self.factor;
        }
        out.push(1.0);
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTpe {
    startup: Option<i64>,
    candidates: Option<i64>,
    multivariate: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    workers: Option<i64>,
    retries: Option<i64>,
    timeout: Option<toml::Value>,
    memory: Option<toml::Value>,
    stall: Option<toml::Value>,
    grace: Option<toml::Value>,
}

/// How long stopped trainers get to exit by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// The largest grid a study may have: each point is a trial with a row in the store.
pub const MAX_GRID: u128 = 10_000_000;

/// A metric by name, with the direction that is better. Names are open: a built-in metric
/// brings its direction, any other name gets one from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSpec {
    /// Its name, as reported and stored.
    pub name: String,
    /// Which way is better.
    pub direction: Direction,
    /// The built-in metric of that name, which built-in models compute.
    pub builtin: Option<Metric>,
}

impl MetricSpec {
    /// A built-in metric.
    pub fn builtin(m: Metric) -> MetricSpec {
        MetricSpec {
            name: m.name().to_string(),
            direction: m.direction(),
            builtin: Some(m),
        }
    }
}

/// The name of a direction, as configs and the store spell it.
pub fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Maximize => "maximize",
        Direction::Minimize => "minimize",
    }
}

/// How trials are proposed.
#[derive(Debug, Clone, PartialEq)]
pub enum SamplerKind {
    /// Every combination of the space.
    Grid,
    /// `trials` independent random draws.
    Random {
        /// How many.
        trials: u64,
    },
    /// `trials` proposals of the Tree-structured Parzen Estimator.
    Tpe {
        /// How many.
        trials: u64,
        /// Trials proposed together from the same results.
        batch: u64,
        /// Random trials first.
        startup: u64,
        /// Candidates drawn per proposal.
        candidates: u32,
        /// One joint density over all parameters.
        multivariate: bool,
    },
}

/// How each trial is scored.
#[derive(Debug, Clone, PartialEq)]
pub struct CvSpec {
    /// Number of folds, at least 2.
    pub folds: usize,
    /// Shuffle with the study seed before splitting (false: scikit-learn's unshuffled folds).
    pub shuffle: bool,
    /// Standardize features, fitted on the training folds only.
    pub standardize: bool,
    /// Bytes of standardized training-fold copies each trainer may keep (0: folds are read in
    /// place).
    pub fold_cache: u64,
}

/// Resources and fault handling of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Trainer processes (None: cores minus one, at least 1).
    pub workers: Option<NonZeroUsize>,
    /// Retries of a trial whose trainer died.
    pub retries: u32,
    /// Wall-clock limit of one trial.
    pub timeout: Option<Duration>,
    /// Address-space cap of each trainer, bytes.
    pub memory: Option<u64>,
    /// A busy trainer silent for longer than this is killed as stalled.
    pub stall: Option<Duration>,
    /// How long stopped trainers get to exit before they are killed.
    pub grace: Duration,
}

/// A study whose trials are a built-in model, cross-validated on a dataset.
#[derive(Debug, Clone)]
pub struct ModelTrials {
    /// The data file (absolute).
    pub data_path: PathBuf,
    /// The target column (None: the last).
    pub target: Option<String>,
    /// The model.
    pub model: &'static ModelInfo,
    /// Cross-validation.
    pub cv: CvSpec,
    /// Successive halving over training rows, if asked for.
    pub budget: Option<RowBudget>,
    /// `[preprocess]`, if given (else `cv.standardize` alone applies).
    pub preprocess: Option<PreprocessSpec>,
}

/// A study whose trials run the user's own command (`[program]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramSpec {
    /// The argv template (checked against the space).
    pub command: Vec<String>,
    /// The working directory (absolute; relative to the config file in the config).
    pub cwd: PathBuf,
    /// Variables added to the program's environment.
    pub env: BTreeMap<String, String>,
    /// How boolean parameters are written, by name: the words for true and false.
    pub bool_styles: BTreeMap<String, (String, String)>,
    /// A regex with named groups `name`, `value` (and optional `step`) for metric lines.
    pub metrics_regex: Option<String>,
    /// Between SIGTERM and SIGKILL when a trial is stopped.
    pub grace: Duration,
    /// Cores each trial's process group is pinned to (its thread variables match).
    pub cores_per_trial: usize,
    /// GPUs each trial gets through `CUDA_VISIBLE_DEVICES` (0: none assigned).
    pub gpus_per_trial: usize,
    /// The GPUs to hand out (None: the orchestrator's `CUDA_VISIBLE_DEVICES` when it runs).
    pub gpus: Option<Vec<String>>,
}

/// How long a stopped program gets between SIGTERM and SIGKILL by default.
pub const DEFAULT_PROGRAM_GRACE: Duration = Duration::from_secs(10);

/// What a study's trials are.
#[derive(Debug, Clone)]
pub enum TrialKind {
    /// A built-in model (`[model]`, `[data]`, `[cv]`).
    Model(ModelTrials),
    /// The user's own command (`[program]`).
    Program(ProgramSpec),
}

/// A checked study config.
#[derive(Debug, Clone)]
pub struct StudyConfig {
    /// The config file it was read from.
    pub path: PathBuf,
    /// Its text, stored with the study.
    pub text: String,
    /// The study's name (directory name under `runs/`).
    pub name: String,
    /// Seed of folds, random draws and model randomness.
    pub seed: u64,
    /// Metrics to record; the first is the objective.
    pub metrics: Vec<MetricSpec>,
    /// What the trials are: a built-in model or the user's program.
    pub kind: TrialKind,
    /// Hyperparameters fixed for every trial.
    pub fixed: Params,
    /// How trials are proposed.
    pub sampler: SamplerKind,
    /// The searched hyperparameters.
    pub space: Space,
    /// Where trials stop early (None: they run to the end).
    pub pruner: Option<PrunerSpec>,
    /// Trials proposed together (`[search] batch`; `DEFAULT_BATCH` with a pruner).
    pub batch: Option<NonZeroU64>,
    /// Resources and fault handling.
    pub run: RunSpec,
    /// How the study is submitted to Slurm (`--backend slurm`).
    pub slurm: SlurmSpec,
}

impl StudyConfig {
    /// The objective.
    pub fn objective(&self) -> &MetricSpec {
        &self.metrics[0]
    }

    /// The built-in metrics the models compute for this study.
    pub fn builtin_metrics(&self) -> Vec<Metric> {
        self.metrics.iter().filter_map(|m| m.builtin).collect()
    }

    /// Read and check the config at `path`.
    pub fn load(path: &Path) -> Result<StudyConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        StudyConfig::parse(path, &text)
    }

    /// Read and check the config at `path` with `--set` overrides applied (in order).
    pub fn load_with(path: &Path, overrides: &[Override]) -> Result<StudyConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        overrides::check_with(path, &text, overrides, |t| StudyConfig::parse(path, t)).map_err(
            |r| match r {
                overrides::Refused::File(e) => e,
                overrides::Refused::Set { set, message } => ConfigError::Override {
                    set: set.to_string(),
                    message,
                },
            },
        )
    }

    /// Check config `text` (read from `path`, which relative data paths are resolved against).
    pub fn parse(path: &Path, text: &str) -> Result<StudyConfig, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| syntax_error(path, text, &e))?;
        Checker { path }.check(raw, path, text)
    }
}

/// A study name must be usable as a directory name.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || name.starts_with('.')
    {
        return Err(format!(
            "`{name}` is not a usable directory name: use letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(())
}

/// Turn a TOML/serde error into one naming line and column, with a suggestion for a misspelt key.
pub(crate) fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
    let mut message = e.message().trim().to_string();
    if let Some(hint) = unknown_field_hint(&message) {
        message.push_str(&hint);
    }
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// serde says "unknown field `x`, expected one of `a`, `b`": add "did you mean `a`?".
pub(crate) fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    models::hyper::closest(field, candidates.iter().copied())
        .map(|c| format!(" (did you mean `{c}`?)"))
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

struct Checker<'a> {
    path: &'a Path,
}

impl Checker<'_> {
    fn err(&self, field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Field {
            path: self.path.to_path_buf(),
            field: field.into(),
            message: message.into(),
        }
    }

    fn check(&self, raw: RawConfig, path: &Path, text: &str) -> Result<StudyConfig, ConfigError> {
        let base = path.parent().unwrap_or(Path::new("."));
        if raw.program.is_some() {
            for (given, section) in [
                (raw.model.is_some(), "model"),
                (raw.data.is_some(), "data"),
                (raw.cv.is_some(), "cv"),
                (raw.preprocess.is_some(), "preprocess"),
            ] {
                if given {
                    return Err(self.err(
                        section,
                        format!("`[program]` replaces `[model]`, `[data]` and `[cv]`: give `[program]` or `[{section}]`, not both"),
                    ));
                }
            }
            if raw.search.budget.is_some() {
                return Err(self.err(
                    "search.budget",
                    "a row budget is for built-in models; a program's report points are its own reports",
                ));
            }
        }
        let (raw_model, raw_data) = match (raw.program.is_some(), raw.model, raw.data) {
            (true, _, _) => (None, None),
            (false, Some(m), Some(d)) => (Some(m), Some(d)),
            (false, None, _) => {
                return Err(self.err(
                    "model",
                    "missing: give `[model]` and `[data]` for a built-in model, or `[program]` to run your own command",
                ));
            }
            (false, Some(_), None) => {
                return Err(self.err(
                    "data",
                    "missing: a built-in model needs `[data]` with its `path`",
                ));
            }
        };
        let model = raw_model
            .as_ref()
            .map(|m| models::lookup(&m.name).map_err(|e| self.err("model.name", e.to_string())))
            .transpose()?;

        let name = match raw.study.name.clone() {
            Some(n) => n,
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "study".into()),
        };
        check_name(&name).map_err(|m| self.err("study.name", m))?;

        let metrics = self.metrics(&raw.study, model)?;

        let mut fixed = Params::new();
        for (k, v) in raw_model.iter().flat_map(|m| &m.params) {
            fixed.insert(k.clone(), self.value(&format!("model.params.{k}"), v)?);
        }

        let raw_cv = raw.cv.unwrap_or_default();
        let folds = raw_cv.folds;
        if !(2..=1000).contains(&folds) {
            return Err(self.err(
                "cv.folds",
                format!("expected an integer from 2 to 1000, found {folds}"),
            ));
        }
        let cv = CvSpec {
            folds: folds as usize,
            shuffle: raw_cv.shuffle,
            standardize: raw_cv.standardize,
            fold_cache: raw_cv
                .fold_cache
                .as_ref()
                .map(|v| parse_bytes(v).map_err(|m| self.err("cv.fold_cache", m)))
                .transpose()?
                .unwrap_or(0),
        };
        let preprocess = match raw.preprocess {
            Some(p) => Some(
                preprocess::check(p, cv.standardize)
                    .map_err(|(field, message)| self.err(field, message))?,
            ),
            None => None,
        };

        let mut space = BTreeMap::new();
        for (k, v) in &raw.search.space {
            let field = format!("search.space.{k}");
            if fixed.contains_key(k) {
                return Err(self.err(
                    &field,
                    format!("`{k}` is also fixed in model.params: give it in one place"),
                ));
            }
            space.insert(k.clone(), self.distribution(&field, v)?);
        }
        let space = Space(space);
        if let Some(model) = model {
            self.check_against_model(model, &fixed, &space)?;
        }

        // Checked here for every sampler; whether one may have a batch is checked with the pruner.
        if let Some(b) = raw.search.batch
            && !(1..=1024).contains(&b)
        {
            return Err(self.err(
                "search.batch",
                format!("expected an integer from 1 to 1024, found {b}"),
            ));
        }
        let sampler = match raw.search.sampler.as_str() {
            "grid" => {
                if raw.search.trials.is_some() {
                    return Err(self.err(
                        "search.trials",
                        "grid search runs every combination; `trials` applies to random and TPE search",
                    ));
                }
                for (k, d) in &space.0 {
                    if d.grid_len().is_none() {
                        return Err(self.err(
                            format!("search.space.{k}"),
                            "grid search needs a finite set of values: give a list or `points = N`",
                        ));
                    }
                }
                let size = space.grid_size().unwrap_or(0);
                if size > MAX_GRID {
                    let dims: Vec<String> = space
                        .0
                        .iter()
                        .map(|(k, d)| format!("{k}: {}", d.grid_len().unwrap_or(0)))
                        .collect();
                    return Err(self.err(
                        "search.space",
                        format!(
                            "the grid has {size} points ({}), more than the {MAX_GRID} a study can run; use random search with `trials`, or fewer values",
                            dims.join(" × ")
                        ),
                    ));
                }
                SamplerKind::Grid
            }
            "random" | "tpe" => self.trials_sampler(&raw.search)?,
            other => {
                let hint = models::hyper::closest(other, ["grid", "random", "tpe"])
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(self.err(
                    "search.sampler",
                    format!("unknown sampler `{other}`{hint}; expected `grid`, `random` or `tpe`"),
                ));
            }
        };
        if raw.search.tpe.is_some() && !matches!(sampler, SamplerKind::Tpe { .. }) {
            return Err(self.err(
                "search.tpe",
                "`[search.tpe]` applies to `sampler = \"tpe\"` only",
            ));
        }

        let budget = match &raw.search.budget {
            None => None,
            Some(_) if model.is_some_and(|m| m.iterative) => {
                return Err(self.err(
                    "search.budget",
                    format!(
                        "`{}` learns epoch by epoch: its epochs are its report points; a row budget is for models that fit in one go",
                        model.map_or("", |m| m.name)
                    ),
                ));
            }
            Some(b) => {
                if !(b.rows > 0.0 && b.rows < 1.0) {
                    return Err(self.err(
                        "search.budget.rows",
                        format!("expected the first share of the training rows, strictly between 0 and 1, found {}", b.rows),
                    ));
                }
                if !(b.factor > 1.0 && b.factor <= 100.0) {
                    return Err(self.err(
                        "search.budget.factor",
                        format!(
                            "expected a growth factor above 1 (at most 100), found {}",
                            b.factor
                        ),
                    ));
                }
                Some(RowBudget {
                    min_share: b.rows,
                    factor: b.factor,
                })
            }
        };
        let learns = matches!(sampler, SamplerKind::Tpe { .. });
        let (pruner, batch) = self.pruning(raw.search.pruner.as_ref(), raw.search.batch, learns)?;
        let run = self.run(&raw.run)?;
        let slurm = self.slurm(raw.slurm)?;
        let kind = match (raw.program, model, raw_data) {
            (Some(p), _, _) => TrialKind::Program(self.program(p, &space, base)?),
            (None, Some(model), Some(data)) => TrialKind::Model(ModelTrials {
                data_path: base.join(&data.path),
                target: data.target,
                model,
                cv,
                budget,
                preprocess,
            }),
            // Refused above.
            _ => return Err(self.err("model", "missing")),
        };
        Ok(StudyConfig {
            path: path.to_path_buf(),
            text: text.to_string(),
            name,
            seed: raw.study.seed,
            metrics,
            kind,
            fixed,
            sampler,
            space,
            pruner,
            batch,
            run,
            slurm,
        })
    }

    /// Random or TPE search: `trials`, and TPE's `batch` and `[search.tpe]` settings.
    fn trials_sampler(&self, raw: &RawSearch) -> Result<SamplerKind, ConfigError> {
        let kind = raw.sampler.as_str();
        let range = |field: &str, v: i64, lo: i64, hi: i64| -> Result<i64, ConfigError> {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(self.err(
                    field,
                    format!("expected an integer from {lo} to {hi}, found {v}"),
                ))
            }
        };
        let trials = raw.trials.ok_or_else(|| {
            self.err(
                "search.trials",
                format!("{kind} search needs the number of trials"),
            )
        })?;
        let trials = range("search.trials", trials, 1, 10_000_000)? as u64;
        let batch = raw.batch.unwrap_or(4) as u64;
        if kind == "random" {
            return Ok(SamplerKind::Random { trials });
        }
        let tpe = raw.tpe.as_ref();
        let startup = tpe
            .and_then(|t| t.startup)
            .map(|v| range("search.tpe.startup", v, 0, 10_000_000))
            .transpose()?
            .unwrap_or(10) as u64;
        let candidates = tpe
            .and_then(|t| t.candidates)
            .map(|v| range("search.tpe.candidates", v, 1, 10_000))
            .transpose()?
            .unwrap_or(24) as u32;
        Ok(SamplerKind::Tpe {
            trials,
            batch,
            startup,
            candidates,
            multivariate: tpe.and_then(|t| t.multivariate).unwrap_or(false),
        })
    }

    /// The objective and the other recorded metrics, each with its direction.
    fn metrics(
        &self,
        raw: &RawStudy,
        model: Option<&ModelInfo>,
    ) -> Result<Vec<MetricSpec>, ConfigError> {
        let direction = match raw.direction.as_deref() {
            None => None,
            Some("maximize") => Some(Direction::Maximize),
            Some("minimize") => Some(Direction::Minimize),
            Some(other) => {
                return Err(self.err(
                    "study.direction",
                    format!("expected `maximize` or `minimize`, found `{other}`"),
                ));
            }
        };
        let mut metrics: Vec<MetricSpec> = Vec::new();
        for (i, m) in std::iter::once(&raw.metric).chain(&raw.metrics).enumerate() {
            let field = if i == 0 {
                "study.metric".to_string()
            } else {
                format!("study.metrics[{}]", i - 1)
            };
            let spec = match (Metric::from_name(m), model) {
                (Some(metric), _) => {
                    if let Some(model) = model {
                        self.check_builtin(&field, metric, model)?;
                    }
                    if i == 0
                        && let Some(d) = direction
                        && d != metric.direction()
                    {
                        return Err(self.err(
                            "study.direction",
                            format!(
                                "`{m}` is to {}; leave `direction` out for a known metric",
                                direction_name(metric.direction())
                            ),
                        ));
                    }
                    MetricSpec::builtin(metric)
                }
                // A program reports any name; only the objective's direction matters.
                (None, None) => match (i, direction) {
                    (0, None) => {
                        return Err(self.err(
                            "study.direction",
                            format!("`{m}` is not a metric cohort knows: say whether to `maximize` or `minimize` it"),
                        ));
                    }
                    (_, d) => MetricSpec {
                        name: m.clone(),
                        direction: d.unwrap_or(Direction::Minimize),
                        builtin: None,
                    },
                },
                (None, Some(model)) => {
                    // Built-in models compute the built-in metrics only: any other name could
                    // never be reported.
                    let names: Vec<&str> = Metric::ALL
                        .iter()
                        .filter(|k| k.problem() == model.problem)
                        .map(|k| k.name())
                        .collect();
                    let hint = models::hyper::closest(m, names.iter().copied())
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default();
                    return Err(self.err(
                        &field,
                        format!(
                            "unknown metric `{m}`{hint}: `{}` reports {}",
                            model.name,
                            names.join(", ")
                        ),
                    ));
                }
            };
            if !metrics.iter().any(|x| x.name == spec.name) {
                metrics.push(spec);
            }
        }
        Ok(metrics)
    }

    /// The `[program]` section, checked: the command against the space, the directory, the
    /// executable, the regex and the boolean styles.
    fn program(
        &self,
        p: RawProgram,
        space: &Space,
        base: &Path,
    ) -> Result<ProgramSpec, ConfigError> {
        let names = space.0.keys().map(String::as_str);
        trainer::program::template::check(&p.command, names).map_err(|e| {
            let field = if p.command.is_empty() {
                "program.command".to_string()
            } else {
                format!("program.command[{}]", e.index)
            };
            self.err(field, e.message)
        })?;
        let cwd = base.join(p.cwd.as_deref().unwrap_or(Path::new(".")));
        let cwd = std::path::absolute(&cwd).unwrap_or(cwd);
        if !cwd.is_dir() {
            return Err(self.err(
                "program.cwd",
                format!(
                    "`{}` is not a directory (a relative cwd is relative to the config file)",
                    cwd.display()
                ),
            ));
        }
        self.check_executable(&p.command[0], &cwd, p.env.get("PATH"))?;
        if let Some(re) = &p.metrics_regex {
            trainer::program::lines::check_regex(re)
                .map_err(|m| self.err("program.metrics_regex", m))?;
        }
        let mut bool_styles = BTreeMap::new();
        for (name, style) in &p.format {
            let field = format!("program.format.{name}");
            let boolean = matches!(space.0.get(name), Some(Distribution::Categorical(v)) if v.iter().all(|x| matches!(x, ParamValue::Bool(_))));
            if !boolean {
                return Err(self.err(
                    &field,
                    format!(
                        "`{name}` is not a searched true/false parameter; a format applies to one"
                    ),
                ));
            }
            let Some((t, f)) = style
                .split_once('/')
                .filter(|(t, f)| !f.contains('/') && t != f)
            else {
                return Err(self.err(
                    &field,
                    format!("expected the words for true and false as \"true/false\", \"1/0\" or \"yes/no\", found \"{style}\""),
                ));
            };
            bool_styles.insert(name.clone(), (t.to_string(), f.to_string()));
        }
        let grace = p
            .grace
            .as_ref()
            .map(|v| parse_duration(v).map_err(|m| self.err("program.grace", m)))
            .transpose()?
            .unwrap_or(DEFAULT_PROGRAM_GRACE);
        let cores_per_trial = match p.cores_per_trial {
            None => 1,
            Some(n) if (1..=4096).contains(&n) => n as usize,
            Some(n) => {
                return Err(self.err(
                    "program.cores_per_trial",
                    format!("expected an integer from 1 to 4096, found {n}"),
                ));
            }
        };
        let gpus_per_trial = match p.gpus_per_trial {
            None => 0,
            Some(n) if (0..=64).contains(&n) => n as usize,
            Some(n) => {
                return Err(self.err(
                    "program.gpus_per_trial",
                    format!("expected an integer from 0 to 64, found {n}"),
                ));
            }
        };
        if let Some(list) = &p.gpus
            && (list.is_empty() || list.iter().any(|g| g.trim().is_empty() || g.contains(',')))
        {
            return Err(self.err(
                "program.gpus",
                "expected a non-empty list of GPU ids as CUDA_VISIBLE_DEVICES names them, e.g. [\"0\", \"1\"]",
            ));
        }
        Ok(ProgramSpec {
            command: p.command,
            cwd,
            env: p.env,
            bool_styles,
            metrics_regex: p.metrics_regex,
            grace,
            cores_per_trial,
            gpus_per_trial,
            gpus: p.gpus,
        })
    }

    /// The program must exist: a path (relative to `cwd`), or a name on the PATH.
    fn check_executable(
        &self,
        program: &str,
        cwd: &Path,
        path_var: Option<&String>,
    ) -> Result<(), ConfigError> {
        use std::os::unix::fs::PermissionsExt;
        if program.contains('{') {
            return Ok(()); // chosen per trial
        }
        let runnable = |p: &Path| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        };
        if program.contains('/') {
            let p = cwd.join(program);
            if runnable(&p) {
                return Ok(());
            }
            let why = if p.exists() {
                "is not an executable file"
            } else {
                "does not exist"
            };
            return Err(self.err("program.command[0]", format!("`{}` {why}", p.display())));
        }
        let path = path_var
            .cloned()
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_default();
        if std::env::split_paths(&path).any(|d| runnable(&cwd.join(d).join(program))) {
            return Ok(());
        }
        Err(self.err(
            "program.command[0]",
            format!("`{program}` is not found on the PATH"),
        ))
    }

    /// A built-in metric must suit the model's problem and predictions.
    fn check_builtin(
        &self,
        field: &str,
        metric: Metric,
        model: &ModelInfo,
    ) -> Result<(), ConfigError> {
        if metric.problem() != model.problem {
            let kind = match model.problem {
                ProblemKind::Classification => "a classifier",
                ProblemKind::Regression => "a regressor",
                ProblemKind::Clustering => "a clustering model",
            };
            return Err(self.err(
                field,
                format!(
                    "metric `{}` does not apply to `{}`, which is {kind}",
                    metric.name(),
                    model.name
                ),
            ));
        }
        if metric == Metric::LogLoss && !model.probabilistic {
            return Err(self.err(
                field,
                format!(
                    "`log_loss` needs class probabilities, which `{}` does not predict",
                    model.name
                ),
            ));
        }
        Ok(())
    }

    /// A plain TOML value as a hyperparameter value.
    fn value(&self, field: &str, v: &toml::Value) -> Result<ParamValue, ConfigError> {
        match v {
            toml::Value::Boolean(b) => Ok(ParamValue::Bool(*b)),
            toml::Value::Integer(i) => Ok(ParamValue::Int(*i)),
            toml::Value::Float(x) => Ok(ParamValue::Float(*x)),
            toml::Value::String(s) => Ok(ParamValue::Str(s.clone())),
            other => Err(self.err(
                field,
                format!(
                    "expected a number, a string or true/false, found {}",
                    other.type_str()
                ),
            )),
        }
    }

    /// A space entry: a list (categorical) or a table with `type`.
    fn distribution(&self, field: &str, v: &toml::Value) -> Result<Distribution, ConfigError> {
        let table = match v {
            toml::Value::Array(items) => {
                if items.is_empty() {
                    return Err(self.err(field, "an empty list of values"));
                }
                let values = items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.value(&format!("{field}[{i}]"), x))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(Distribution::Categorical(values));
            }
            toml::Value::Table(t) => t,
            other => {
                return Err(self.err(field, format!("expected a list of values or a table like {{ type = \"log_uniform\", low = 0.001, high = 100 }}, found {}", other.type_str())));
            }
        };
        let kind = match table.get("type") {
            Some(toml::Value::String(s)) => s.as_str(),
            _ => {
                return Err(self.err(
                    format!("{field}.type"),
                    "expected one of \"categorical\", \"int\", \"uniform\", \"log_uniform\"",
                ));
            }
        };
        let allowed: &[&str] = match kind {
            "categorical" => &["type", "choices"],
            "int" => &["type", "low", "high", "step", "log"],
            "uniform" | "log_uniform" => &["type", "low", "high", "points"],
            other => {
                let hint =
                    models::hyper::closest(other, ["categorical", "int", "uniform", "log_uniform"])
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default();
                return Err(self.err(format!("{field}.type"), format!("unknown type `{other}`{hint}; expected categorical, int, uniform or log_uniform")));
            }
        };
        for key in table.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = models::hyper::closest(key, allowed.iter().copied())
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(self.err(
                    format!("{field}.{key}"),
                    format!(
                        "unknown key for type `{kind}`{hint}; expected {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let float = |key: &str| -> Result<f64, ConfigError> {
            match table.get(key) {
                Some(toml::Value::Float(x)) if x.is_finite() => Ok(*x),
                Some(toml::Value::Integer(i)) => Ok(*i as f64),
                Some(other) => Err(self.err(
                    format!("{field}.{key}"),
                    format!("expected a finite number, found {other}"),
                )),
                None => Err(self.err(format!("{field}.{key}"), "missing")),
            }
        };
        let int = |key: &str, default: Option<i64>| -> Result<i64, ConfigError> {
            match (table.get(key), default) {
                (Some(toml::Value::Integer(i)), _) => Ok(*i),
                (Some(other), _) => Err(self.err(
                    format!("{field}.{key}"),
                    format!("expected an integer, found {other}"),
                )),
                (None, Some(d)) => Ok(d),
                (None, None) => Err(self.err(format!("{field}.{key}"), "missing")),
            }
        };
        let flag = |key: &str| -> Result<bool, ConfigError> {
            match table.get(key) {
                Some(toml::Value::Boolean(b)) => Ok(*b),
                Some(other) => Err(self.err(
                    format!("{field}.{key}"),
                    format!("expected true or false, found {other}"),
                )),
                None => Ok(false),
            }
        };
        match kind {
            "categorical" => match table.get("choices") {
                Some(toml::Value::Array(items)) if !items.is_empty() => {
                    let values = items
                        .iter()
                        .enumerate()
                        .map(|(i, x)| self.value(&format!("{field}.choices[{i}]"), x))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Distribution::Categorical(values))
                }
                _ => Err(self.err(
                    format!("{field}.choices"),
                    "expected a non-empty list of values",
                )),
            },
            "int" => {
                let (low, high, step, log) = (
                    int("low", None)?,
                    int("high", None)?,
                    int("step", Some(1))?,
                    flag("log")?,
                );
                if low > high {
                    return Err(self.err(field, format!("low ({low}) is above high ({high})")));
                }
                if step < 1 {
                    return Err(self.err(
                        format!("{field}.step"),
                        format!("expected an integer ≥ 1, found {step}"),
                    ));
                }
                if log && low < 1 {
                    return Err(self.err(
                        format!("{field}.low"),
                        format!("a log-scaled range needs low ≥ 1, found {low}"),
                    ));
                }
                Ok(Distribution::Int {
                    low,
                    high,
                    step,
                    log,
                })
            }
            _ => {
                let log = kind == "log_uniform";
                let (low, high) = (float("low")?, float("high")?);
                if low > high {
                    return Err(self.err(field, format!("low ({low}) is above high ({high})")));
                }
                if log && low <= 0.0 {
                    return Err(self.err(
                        format!("{field}.low"),
                        format!("log_uniform needs low > 0, found {low}"),
                    ));
                }
                let points = match table.get("points") {
                    None => None,
                    Some(toml::Value::Integer(n)) if (1..=100_000).contains(n) => Some(*n as usize),
                    Some(other) => {
                        return Err(self.err(
                            format!("{field}.points"),
                            format!("expected an integer from 1 to 100000, found {other}"),
                        ));
                    }
                };
                Ok(Distribution::Float {
                    low,
                    high,
                    log,
                    points,
                })
            }
        }
    }

    /// Every value the study can produce must be a valid hyperparameter of the model: check the
    /// fixed ones, every categorical choice and both ends of every range.
    fn check_against_model(
        &self,
        model: &ModelInfo,
        fixed: &Params,
        space: &Space,
    ) -> Result<(), ConfigError> {
        models::catalogue::check_params(model, fixed)
            .map_err(|e| self.err("model.params", e.to_string()))?;
        for (name, dist) in &space.0 {
            let probes = match dist {
                Distribution::Categorical(v) => v.clone(),
                Distribution::Int { low, high, .. } => {
                    vec![ParamValue::Int(*low), ParamValue::Int(*high)]
                }
                Distribution::Float { low, high, .. } => {
                    vec![ParamValue::Float(*low), ParamValue::Float(*high)]
                }
            };
            for probe in probes {
                let mut p = fixed.clone();
                p.insert(name.clone(), probe);
                models::catalogue::check_params(model, &p)
                    .map_err(|e| self.err(format!("search.space.{name}"), e.to_string()))?;
            }
        }
        Ok(())
    }

    fn run(&self, raw: &RawRun) -> Result<RunSpec, ConfigError> {
        let workers = match raw.workers {
            None => None,
            Some(n) if (1..=4096).contains(&n) => NonZeroUsize::new(n as usize),
            Some(n) => {
                return Err(self.err(
                    "run.workers",
                    format!("expected an integer from 1 to 4096, found {n}"),
                ));
            }
        };
        let retries = match raw.retries {
            None => 2,
            Some(n) if (0..=100).contains(&n) => n as u32,
            Some(n) => {
                return Err(self.err(
                    "run.retries",
                    format!("expected an integer from 0 to 100, found {n}"),
                ));
            }
        };
        let timeout = raw
            .timeout
            .as_ref()
            .map(|v| parse_duration(v).map_err(|m| self.err("run.timeout", m)))
            .transpose()?;
        let memory = raw
            .memory
            .as_ref()
            .map(|v| parse_bytes(v).map_err(|m| self.err("run.memory", m)))
            .transpose()?;
        let stall = raw
            .stall
            .as_ref()
            .map(|v| parse_duration(v).map_err(|m| self.err("run.stall", m)))
            .transpose()?;
        let grace = raw
            .grace
            .as_ref()
            .map(|v| parse_duration(v).map_err(|m| self.err("run.grace", m)))
            .transpose()?
            .unwrap_or(DEFAULT_GRACE);
        Ok(RunSpec {
            workers,
            retries,
            timeout,
            memory,
            stall,
            grace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_col("a = 1\nbc = ?", 11), (2, 6));
    }

    fn parse(text: &str) -> Result<StudyConfig, ConfigError> {
        let dir = env!("CARGO_MANIFEST_DIR");
        StudyConfig::parse(&Path::new(dir).join("../configs/x.toml"), text)
    }

    const BASE: &str =
        "[data]\npath = \"data/breast_cancer.csv\"\n[model]\nname = \"logistic_regression\"\n";

    #[test]
    fn a_grid_over_a_billion_points_is_refused_with_its_size() {
        let text = format!(
            "[study]\nmetric = \"accuracy\"\n{BASE}[search]\nsampler = \"grid\"\n[search.space]\nmax_iter = {{ type = \"int\", low = 1, high = 100000 }}\ntol = {{ type = \"uniform\", low = 1e-9, high = 1e-2, points = 20000 }}\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("2000000000 points"), "{err}");
        assert!(err.contains("`search.space`"), "{err}");
    }

    #[test]
    fn a_row_budget_grows_by_its_factor_and_ends_with_every_row() {
        let b = RowBudget {
            min_share: 0.1,
            factor: 3.0,
        };
        let shares = b.shares();
        assert_eq!(shares.len(), 4);
        assert!(
            (shares[2] - 0.9).abs() < 1e-12 && shares[3] == 1.0,
            "{shares:?}"
        );
        let text = "[study]\nmetric = \"accuracy\"\n[data]\npath = \"data/wine.csv\"\n[model]\nname = \"mlp\"\n[search]\nsampler = \"grid\"\nbudget = { rows = 0.1 }\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(
            err.contains("`search.budget`") && err.contains("epoch"),
            "{err}"
        );
    }

    #[test]
    fn a_tpe_study_takes_its_settings_and_their_defaults() {
        let text = format!(
            "[study]\nmetric = \"accuracy\"\n{BASE}[search]\nsampler = \"tpe\"\ntrials = 50\n[search.tpe]\nmultivariate = true\n[search.space]\nC = {{ type = \"log_uniform\", low = 0.01, high = 10.0 }}\n"
        );
        assert_eq!(
            parse(&text).unwrap().sampler,
            SamplerKind::Tpe {
                trials: 50,
                batch: 4,
                startup: 10,
                candidates: 24,
                multivariate: true
            }
        );
    }

    #[test]
    fn a_bad_or_unknown_tpe_setting_is_refused_naming_it() {
        let tpe = |table: &str| {
            let text = format!(
                "[study]\nmetric = \"accuracy\"\n{BASE}[search]\nsampler = \"tpe\"\ntrials = 50\n[search.tpe]\n{table}\n"
            );
            parse(&text).unwrap_err().to_string()
        };
        let err = tpe("candidates = 0");
        assert!(
            err.contains("`search.tpe.candidates`") && err.contains("from 1 to 10000"),
            "{err}"
        );
        let err = tpe("start_up = 5");
        assert!(
            err.contains("start_up") && err.contains("`startup`"),
            "{err}"
        );
    }

    #[test]
    fn a_batch_out_of_range_is_refused_for_any_sampler() {
        let text = format!(
            "[study]\nmetric = \"accuracy\"\n{BASE}[search]\nsampler = \"random\"\ntrials = 5\nbatch = 0\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("`search.batch`") && err.contains("from 1 to 1024"),
            "{err}"
        );
    }

    #[test]
    fn a_known_metric_brings_its_direction_and_refuses_the_other() {
        let ok = format!("[study]\nmetric = \"log_loss\"\n{BASE}[search]\nsampler = \"grid\"\n");
        let cfg = parse(&ok).unwrap();
        assert_eq!(cfg.objective().direction, Direction::Minimize);
        let bad = format!(
            "[study]\nmetric = \"accuracy\"\ndirection = \"minimize\"\n{BASE}[search]\nsampler = \"grid\"\n"
        );
        let err = parse(&bad).unwrap_err().to_string();
        assert!(err.contains("`study.direction`"), "{err}");
    }

    #[test]
    fn a_metric_a_built_in_model_cannot_report_is_refused_naming_what_it_reports() {
        let text = format!(
            "[study]\nmetric = \"val_loss\"\ndirection = \"minimize\"\n{BASE}[search]\nsampler = \"grid\"\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("`study.metric`") && err.contains("accuracy"),
            "{err}"
        );
    }
}
