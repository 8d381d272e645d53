//! `cohort train`: one model trained data-parallel by S trainers through the ParamArray.
//!
//! The orchestrator reads and splits the data (held-out rows stay here for evaluation),
//! standardizes the training split once, places it in shared memory, creates the ParamArray
//! (a `/dev/shm` file, removed at the end whatever happens), and starts one trainer per shard.
//! Each epoch it evaluates the merged parameters on the held-out rows; a trainer that dies is
//! respawned on its shard from the current shared parameters. At the end the model (with its
//! standardization) is saved in the study directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use ipc_channel::ipc::{IpcSender, IpcSharedMemory};
use models::preprocess::Standardizer;
use models::sgd::{Metrics, SgdKind, SgdModel, SgdSpec, Target};
use models::{Dataset, Problem, ProblemKind};
use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{info, warn};
use trainer::param_array::ParamArray;
use trainer::{Event, MergeMode, Task, TrainSetup};

use crate::error::BadInput;
use crate::pool::{Inbox, PoolSpec, Worker, WorkerId, describe_exit};
use crate::signals;
use crate::store::now;

/// A shard whose trainer dies this many times in a row stops the run.
const MAX_RESPAWNS: u32 = 5;

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
}

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
        let text = std::fs::read_to_string(path).map_err(|e| {
            BadInput::new(anyhow!("{}: cannot read the config: {e}", path.display()))
        })?;
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
        })
    }
}

/// What `cohort train` was asked.
pub struct TrainOptions {
    /// Shards override.
    pub shards: Option<usize>,
    /// Study directory (default `runs/<name>`).
    pub study_dir: Option<PathBuf>,
    /// Replace an existing run in the directory (kept aside).
    pub force_new: bool,
}

/// One epoch's record.
#[derive(Debug, Clone, Serialize)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: u32,
    /// Held-out metrics of the merged parameters.
    pub heldout: Metrics,
    /// Mean training loss over all shards (progressive, before each step).
    pub train_loss: f64,
    /// Merges made this epoch, all shards.
    pub merges: u64,
    /// Sample updates this epoch, all shards.
    pub samples: u64,
    /// Wall seconds since training started.
    pub elapsed_s: f64,
}

/// The result of a training run.
#[derive(Debug, Serialize)]
pub struct TrainSummary {
    /// The run's name.
    pub name: String,
    /// The study directory.
    pub dir: PathBuf,
    /// Shards (trainers).
    pub shards: usize,
    /// Merge mode.
    pub merge: &'static str,
    /// Epochs.
    pub epochs: u32,
    /// Training rows / held-out rows / features.
    pub rows: (usize, usize, usize),
    /// Held-out metrics of the final model.
    pub heldout: Metrics,
    /// Per-epoch history.
    pub history: Vec<EpochRecord>,
    /// Seconds of training (trainers started to last shard finished).
    pub train_seconds: f64,
    /// Seconds of the training loop: per epoch the slowest shard's time, summed (what
    /// scikit-learn's `fit` time measures: no process start, no final evaluation).
    pub loop_seconds: f64,
    /// Sample updates per second of the training loop, all shards.
    pub updates_per_second: f64,
    /// Merges in all, and per second.
    pub merges: u64,
    /// Merges per second.
    pub merges_per_second: f64,
    /// Share of the trainers' time spent merging (lock waits and rounds included).
    pub merge_share: f64,
    /// Trainers respawned after dying.
    pub respawns: u32,
    /// Peak memory of the trainers, MiB: private (their own) and the shared dataset (once).
    pub trainer_private_mib: f64,
    /// The shared training data's size, MiB (mapped by every trainer, resident once).
    pub shared_data_mib: f64,
    /// The ParamArray's size, bytes.
    pub param_bytes: usize,
}

/// Run `cohort train CONFIG`.
pub fn train(config: &Path, opts: &TrainOptions) -> Result<TrainSummary> {
    let cfg = TrainConfig::load(config)?;
    let (train_x, train_y, test_x, test_y, scaler, problem, names) = load_split(&cfg)?;
    let target = match &problem {
        Problem::Classification { classes } => Target::Classes(classes.len()),
        Problem::Regression => Target::Regression,
    };
    let model = SgdModel::new(&cfg.spec, train_x.ncols(), target)
        .map_err(|e| BadInput::new(anyhow!("{}: `model`: {e}", cfg.path.display())))?;
    let shards = opts.shards.or(cfg.shards).unwrap_or(1);
    if shards > train_x.nrows() {
        return Err(BadInput::new(anyhow!(
            "{}: {shards} shards for {} training rows",
            cfg.path.display(),
            train_x.nrows()
        ))
        .into());
    }
    let dir = opts
        .study_dir
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&cfg.name));
    prepare_dir(&dir, &cfg, opts.force_new)?;

    let n_train = train_x.nrows();
    let d = train_x.ncols();
    let image = Dataset {
        x: train_x,
        y: train_y,
        feature_names: Vec::new(),
        target_name: String::new(),
        problem: problem.clone(),
        checksum: String::new(),
    }
    .to_image();
    let shm = IpcSharedMemory::from_bytes(&image);
    let shared_data_mib = image.len() as f64 / 1048576.0;
    drop(image);

    remove_stale_arrays();
    let pa_path = ParamArray::shm_path(&format!("cohort-{}-{}", std::process::id(), cfg.name));
    let slots = if cfg.mode == MergeMode::Average {
        shards
    } else {
        0
    };
    let init = model.init(cfg.seed);
    let pa = ParamArray::create_with_slots(&pa_path, model.n_params(), &init, slots)
        .with_context(|| "creating the shared parameter array")?;
    info!(name = %cfg.name, shards, merge = cfg.mode.name(), epochs = cfg.epochs, rows = n_train, features = d, params = model.n_params(), "training starting");
    let setup = |shard: usize, start_epoch: u32| TrainSetup {
        data: shm.clone(),
        spec: cfg.spec.clone(),
        target,
        params_path: pa_path.clone(),
        shard: shard as u32,
        rows: (shard * n_train / shards, (shard + 1) * n_train / shards),
        epochs: cfg.epochs,
        start_epoch,
        mode: cfg.mode,
        merges_per_epoch: cfg.merges_per_epoch,
        seed: cfg.seed,
    };
    let exe = std::env::current_exe().context("locating the cohort binary to start trainers")?;
    let pool = PoolSpec {
        exe,
        memory: cfg.memory,
        cores: crate::pool::pinning_order(&crate::pool::usable_cores()),
    };
    let started = Instant::now();
    // Per-epoch evaluation runs on a low-priority thread: on a busy machine it takes the gaps
    // (a trainer waiting at a round's barrier) instead of pre-empting a trainer, which in
    // `average` mode would hold every other shard at the barrier too.
    let (to_eval, eval_in) = mpsc::channel::<(u32, Vec<f64>)>();
    let (eval_out, from_eval) = mpsc::channel::<(u32, Result<Metrics, models::sgd::SgdError>)>();
    let (model_ref, test_x_ref, test_y_ref) = (&model, &test_x, &test_y);
    let run = std::thread::scope(|scope| {
        scope.spawn(move || {
            lower_thread_priority();
            for (epoch, params) in eval_in {
                let m = model_ref.evaluate(&params, test_x_ref.view(), test_y_ref.view());
                if eval_out.send((epoch, m)).is_err() {
                    break;
                }
            }
        });
        Coordinator::new(&pool, shards, cfg.epochs, &setup, &pa, to_eval, from_eval).run()
    });
    let train_seconds = started.elapsed().as_secs_f64();
    let outcome = run?;
    let mut params = vec![0.0; model.n_params()];
    pa.snapshot(&mut params)?;
    let merges = pa.merges();
    drop(pa);
    let heldout = model
        .evaluate(&params, test_x.view(), test_y.view())
        .context("evaluating the final model")?;
    save_model(&dir, &model, &params, &scaler, &names, &problem)?;
    let samples: u64 = outcome.history.iter().map(|e| e.samples).sum();
    let summary = TrainSummary {
        name: cfg.name.clone(),
        dir: dir.clone(),
        shards,
        merge: cfg.mode.name(),
        epochs: cfg.epochs,
        rows: (n_train, test_x.nrows(), d),
        heldout,
        history: outcome.history,
        train_seconds,
        loop_seconds: outcome.loop_seconds,
        updates_per_second: samples as f64 / outcome.loop_seconds.max(1e-9),
        merges,
        merges_per_second: merges as f64 / outcome.loop_seconds.max(1e-9),
        merge_share: outcome.merge_seconds / outcome.worker_seconds.max(1e-9),
        respawns: outcome.respawns,
        trainer_private_mib: outcome.private_mib,
        shared_data_mib,
        param_bytes: params.len() * 8,
    };
    write_atomic(
        &dir.join("summary.json"),
        &serde_json::to_string_pretty(&summary)?,
    )?;
    Ok(summary)
}

type Split = (
    Array2<f64>,
    Array1<f64>,
    Array2<f64>,
    Array1<f64>,
    Option<Standardizer>,
    Problem,
    Vec<String>,
);

/// Read (or generate) the data, split off the held-out rows (shuffled with the seed), and
/// standardize both on the training split's statistics.
fn load_split(cfg: &TrainConfig) -> Result<Split> {
    let kind = if cfg.spec.model == SgdKind::LinearRegression {
        ProblemKind::Regression
    } else {
        ProblemKind::Classification
    };
    let data = match &cfg.source {
        DataSource::Csv(p) => {
            Dataset::read_csv(p, cfg.target.as_deref(), kind).map_err(BadInput::new)?
        }
        DataSource::Synthetic(s) => {
            if kind == ProblemKind::Regression {
                return Err(BadInput::new(anyhow!(
                    "{}: `data.synthetic` makes classification data; `{}` is a regressor",
                    cfg.path.display(),
                    "sgd_linear_regression"
                ))
                .into());
            }
            let (x, y) = models::synth::make_classification(
                s.rows,
                s.features,
                s.informative,
                s.classes,
                s.seed,
            )
            .map_err(|e| BadInput::new(anyhow!("{}: `data.synthetic`: {e}", cfg.path.display())))?;
            Dataset {
                x,
                y,
                feature_names: (0..s.features).map(|i| format!("f{i}")).collect(),
                target_name: "label".into(),
                problem: Problem::Classification {
                    classes: (0..s.classes).map(|c| c.to_string()).collect(),
                },
                checksum: String::new(),
            }
        }
    };
    let n = data.n_rows();
    let n_test = ((n as f64) * cfg.holdout).round() as usize;
    if n_test == 0 || n_test >= n {
        return Err(BadInput::new(anyhow!(
            "{}: `data.holdout` = {} leaves no rows on one side of {n}",
            cfg.path.display(),
            cfg.holdout
        ))
        .into());
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed));
    let (test_rows, train_rows) = order.split_at(n_test);
    // Training rows keep the shuffled order: contiguous shards are then random subsets.
    let mut train_x = data.x.select(Axis(0), train_rows);
    let train_y = data.y.select(Axis(0), train_rows);
    let mut test_x = data.x.select(Axis(0), test_rows);
    let test_y = data.y.select(Axis(0), test_rows);
    let names = data.feature_names.clone();
    let problem = data.problem.clone();
    drop(data);
    let scaler = cfg.standardize.then(|| Standardizer::fit(train_x.view()));
    if let Some(s) = &scaler {
        s.transform_in_place(train_x.view_mut());
        s.transform_in_place(test_x.view_mut());
    }
    Ok((train_x, train_y, test_x, test_y, scaler, problem, names))
}

/// Remove parameter arrays left in /dev/shm by orchestrators that were killed (SIGKILL leaves
/// no chance to clean up): their names carry the owner's pid.
fn remove_stale_arrays() {
    let Ok(entries) = std::fs::read_dir("/dev/shm") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("cohort-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            info!(file = %e.path().display(), "removing a parameter array left by a killed run");
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Refuse to overwrite a previous run unless asked (then it is moved aside), and create the directory.
fn prepare_dir(dir: &Path, cfg: &TrainConfig, force_new: bool) -> Result<()> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        if !force_new {
            return Err(BadInput::new(anyhow!("{} already holds a run; use --force-new to start over (the old run is kept aside) or --study-dir", dir.display())).into());
        }
        let aside = dir.with_file_name(format!(
            "{}.replaced-{}",
            dir.file_name()
                .map_or("run".into(), |n| n.to_string_lossy()),
            now() as u64
        ));
        std::fs::rename(dir, &aside)
            .with_context(|| format!("moving the old run aside to {}", aside.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        BadInput::new(anyhow!(
            "{}: cannot create the study directory: {e}",
            dir.display()
        ))
    })?;
    write_atomic(&dir.join("config.toml"), &cfg.text)
}

/// Write a file whole or not at all.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .with_context(|| format!("writing {}", path.display()))
}

/// The model as saved: what `predict` needs to apply it to raw feature rows.
fn save_model(
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
        "classes": match problem { Problem::Classification { classes } => json!(classes), Problem::Regression => serde_json::Value::Null },
        "standardize": scaler.as_ref().map(|s| json!({ "mean": s.mean.to_vec(), "scale": s.scale.to_vec() })),
        "model": sgd,
    });
    write_atomic(&dir.join("model.json"), &serde_json::to_string(&doc)?)
}

struct Outcome {
    history: Vec<EpochRecord>,
    respawns: u32,
    loop_seconds: f64,
    merge_seconds: f64,
    worker_seconds: f64,
    private_mib: f64,
}

struct ShardSlot {
    worker: Option<Worker>,
    tasks: Option<IpcSender<Task>>,
    next_epoch: u32,
    finished: bool,
    deaths_in_a_row: u32,
}

/// Make the calling thread yield to every normal-priority thread (nice 19).
fn lower_thread_priority() {
    // SAFETY: gettid has no preconditions; setpriority on our own thread id only changes its
    // scheduling priority (Linux applies PRIO_PROCESS with a thread id to that thread).
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}

/// One epoch's totals over the shards that reported it.
#[derive(Debug, Clone, Copy, Default)]
struct EpochStats {
    samples: u64,
    loss_sum: f64,
    merges: u64,
    /// The slowest shard's training time for the epoch (merges and round waits included).
    slowest_s: f64,
}

/// Epoch statistics waiting for their held-out evaluation.
struct PendingEpoch {
    train_loss: f64,
    merges: u64,
    samples: u64,
    elapsed_s: f64,
}

struct Coordinator<'a> {
    pool: &'a PoolSpec,
    epochs: u32,
    setup: &'a dyn Fn(usize, u32) -> TrainSetup,
    pa: &'a ParamArray,
    to_eval: Option<mpsc::Sender<(u32, Vec<f64>)>>,
    from_eval: mpsc::Receiver<(u32, Result<Metrics, models::sgd::SgdError>)>,
    pending: BTreeMap<u32, PendingEpoch>,
    slots: Vec<ShardSlot>,
    next_id: WorkerId,
    tx: mpsc::Sender<Inbox>,
    rx: mpsc::Receiver<Inbox>,
    epoch_stats: BTreeMap<u32, EpochStats>,
    evaluated: u32,
    history: Vec<EpochRecord>,
    started: Instant,
    respawns: u32,
    merge_seconds: f64,
    worker_seconds: f64,
    private_mib: f64,
}

impl<'a> Coordinator<'a> {
    fn new(
        pool: &'a PoolSpec,
        shards: usize,
        epochs: u32,
        setup: &'a dyn Fn(usize, u32) -> TrainSetup,
        pa: &'a ParamArray,
        to_eval: mpsc::Sender<(u32, Vec<f64>)>,
        from_eval: mpsc::Receiver<(u32, Result<Metrics, models::sgd::SgdError>)>,
    ) -> Coordinator<'a> {
        let (tx, rx) = mpsc::channel();
        let slots = (0..shards)
            .map(|_| ShardSlot {
                worker: None,
                tasks: None,
                next_epoch: 0,
                finished: false,
                deaths_in_a_row: 0,
            })
            .collect();
        Coordinator {
            pool,
            epochs,
            setup,
            pa,
            to_eval: Some(to_eval),
            from_eval,
            pending: BTreeMap::new(),
            slots,
            next_id: 0,
            tx,
            rx,
            epoch_stats: BTreeMap::new(),
            evaluated: 0,
            history: Vec::new(),
            started: Instant::now(),
            respawns: 0,
            merge_seconds: 0.0,
            worker_seconds: 0.0,
            private_mib: 0.0,
        }
    }

    fn spawn(&mut self, shard: usize) -> Result<()> {
        let id = self.next_id;
        self.next_id += 1;
        let w =
            Worker::spawn(self.pool, id, shard, self.tx.clone()).context("starting a trainer")?;
        self.slots[shard].worker = Some(w);
        self.slots[shard].tasks = None;
        Ok(())
    }

    fn shard_of(&self, id: WorkerId) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.worker.as_ref().is_some_and(|w| w.id == id))
    }

    fn run(mut self) -> Result<Outcome> {
        let result = self.drive();
        self.stop_all();
        // No more epochs to evaluate: let the evaluation thread finish what it has.
        drop(self.to_eval.take());
        let evaluated = self.collect_evaluations(true);
        result?;
        evaluated?;
        Ok(Outcome {
            history: self.history,
            respawns: self.respawns,
            loop_seconds: self.epoch_stats.values().map(|e| e.slowest_s).sum(),
            merge_seconds: self.merge_seconds,
            worker_seconds: self.worker_seconds,
            private_mib: self.private_mib,
        })
    }

    fn drive(&mut self) -> Result<()> {
        for shard in 0..self.slots.len() {
            self.spawn(shard)?;
        }
        self.started = Instant::now();
        while !self.slots.iter().all(|s| s.finished) {
            if signals::received() > 0 {
                return Err(anyhow::Error::new(Interrupted));
            }
            match self.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(msg) => self.handle(msg)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(anyhow!("inbox closed")),
            }
            self.collect_evaluations(false)?;
        }
        Ok(())
    }

    fn handle(&mut self, msg: Inbox) -> Result<()> {
        match msg {
            Inbox::Connected {
                worker,
                tasks,
                pinned,
            } => {
                let Some(shard) = self.shard_of(worker) else {
                    return Ok(());
                };
                if let Err(why) = &pinned {
                    warn!(worker, "trainer runs unpinned: {why}");
                }
                let slot = &mut self.slots[shard];
                if let Some(w) = slot.worker.as_mut() {
                    w.set_connected();
                }
                let setup = (self.setup)(shard, slot.next_epoch);
                if tasks.send(Task::Train(Box::new(setup))).is_ok() {
                    slot.tasks = Some(tasks);
                }
            }
            Inbox::ConnectFailed { worker, error } => {
                if let Some(shard) = self.shard_of(worker) {
                    warn!(worker, "{error}");
                    self.died(shard)?;
                }
            }
            Inbox::Disconnected { worker } => {
                if let Some(shard) = self.shard_of(worker) {
                    self.died(shard)?;
                }
            }
            Inbox::Event { worker, event } => {
                let Some(shard) = self.shard_of(worker) else {
                    return Ok(());
                };
                match event {
                    Event::EpochDone {
                        epoch,
                        samples,
                        mean_loss,
                        merges,
                        seconds,
                        merge_seconds,
                        ..
                    } => {
                        self.sample_memory(shard);
                        let slot = &mut self.slots[shard];
                        slot.next_epoch = epoch + 1;
                        slot.deaths_in_a_row = 0;
                        self.merge_seconds += merge_seconds;
                        self.worker_seconds += seconds;
                        let e = self.epoch_stats.entry(epoch).or_default();
                        e.samples += samples;
                        e.loss_sum += mean_loss * samples as f64;
                        e.merges += merges;
                        e.slowest_s = e.slowest_s.max(seconds);
                        self.evaluate_done_epochs()?;
                    }
                    Event::ShardFinished { .. } => {
                        self.slots[shard].finished = true;
                        if let Some(t) = self.slots[shard].tasks.take() {
                            let _ = t.send(Task::Shutdown);
                        }
                    }
                    Event::ShardFailed { message, .. } => {
                        return Err(anyhow!("shard {shard} failed: {message}"));
                    }
                    other => warn!(worker, "unexpected event: {other:?}"),
                }
            }
        }
        Ok(())
    }

    /// After every shard has finished an epoch, hand a snapshot of the merged parameters to
    /// the evaluation thread.
    fn evaluate_done_epochs(&mut self) -> Result<()> {
        let done = self.slots.iter().map(|s| s.next_epoch).min().unwrap_or(0);
        while self.evaluated < done {
            let epoch = self.evaluated;
            let mut params = vec![0.0; self.pa.len()];
            self.pa.snapshot(&mut params)?;
            let EpochStats {
                samples,
                loss_sum: loss,
                merges,
                ..
            } = self.epoch_stats.get(&epoch).copied().unwrap_or_default();
            let elapsed_s = self.started.elapsed().as_secs_f64();
            self.pending.insert(
                epoch,
                PendingEpoch {
                    train_loss: loss / samples.max(1) as f64,
                    merges,
                    samples,
                    elapsed_s,
                },
            );
            if let Some(tx) = &self.to_eval {
                tx.send((epoch, params))
                    .map_err(|_| anyhow!("the evaluation thread stopped"))?;
            }
            self.evaluated += 1;
        }
        Ok(())
    }

    /// Record (and log) the evaluations that are done; with `wait`, all of them.
    fn collect_evaluations(&mut self, wait: bool) -> Result<()> {
        loop {
            let (epoch, heldout) = if wait {
                match self.from_eval.recv() {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            } else {
                match self.from_eval.try_recv() {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            };
            let heldout = heldout.context("evaluating the merged parameters")?;
            let Some(p) = self.pending.remove(&epoch) else {
                continue;
            };
            let shown = match heldout {
                Metrics::Classification { accuracy, log_loss } => {
                    format!("held-out accuracy {accuracy:.4}, log-loss {log_loss:.4}")
                }
                Metrics::Regression { rmse, r2 } => format!("held-out rmse {rmse:.4}, r2 {r2:.4}"),
            };
            info!(
                "epoch {}/{}: {shown}; train loss {:.4}; {} merges; {:.1}s",
                epoch + 1,
                self.epochs,
                p.train_loss,
                p.merges,
                p.elapsed_s
            );
            self.history.push(EpochRecord {
                epoch,
                heldout,
                train_loss: p.train_loss,
                merges: p.merges,
                samples: p.samples,
                elapsed_s: p.elapsed_s,
            });
        }
    }

    /// A trainer is gone: unless its shard is finished, start a new one on it from the
    /// current shared parameters, at the epoch it was in.
    fn died(&mut self, shard: usize) -> Result<()> {
        let slot = &mut self.slots[shard];
        let Some(worker) = slot.worker.take() else {
            return Ok(());
        };
        slot.tasks = None;
        let (status, summary) = worker.reap(Duration::from_millis(200));
        if slot.finished {
            return Ok(());
        }
        let how = describe_exit(status, &summary);
        slot.deaths_in_a_row += 1;
        if slot.deaths_in_a_row > MAX_RESPAWNS {
            return Err(anyhow!(
                "the trainer of shard {shard} died {} times in a row; the last {how}",
                slot.deaths_in_a_row
            ));
        }
        warn!(
            shard,
            epoch = slot.next_epoch,
            "{how}; respawning it on its shard from the shared parameters"
        );
        self.respawns += 1;
        self.spawn(shard)
    }

    /// Track the trainers' private memory (their own pages; the shared data counts once).
    fn sample_memory(&mut self, shard: usize) {
        let Some(w) = self.slots[shard].worker.as_ref() else {
            return;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{}/smaps_rollup", w.pid)) else {
            return;
        };
        let kib = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let private = (kib("Private_Clean:") + kib("Private_Dirty:")) / 1024.0;
        self.private_mib = self.private_mib.max(private);
    }

    fn stop_all(&mut self) {
        for slot in &mut self.slots {
            if let Some(w) = slot.worker.take() {
                w.terminate();
                let _ = w.reap(Duration::from_secs(2));
            }
        }
    }
}

/// Training was stopped by a signal.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// The summary for people.
pub fn summary_text(s: &TrainSummary) -> String {
    let heldout = match s.heldout {
        Metrics::Classification { accuracy, log_loss } => {
            format!("held-out accuracy {accuracy:.4}, log-loss {log_loss:.4}")
        }
        Metrics::Regression { rmse, r2 } => format!("held-out rmse {rmse:.4}, r2 {r2:.4}"),
    };
    let mut t = String::from("epoch  held-out                      train loss  merges  elapsed\n");
    for e in &s.history {
        let h = match e.heldout {
            Metrics::Classification { accuracy, log_loss } => {
                format!("acc {accuracy:.4} log-loss {log_loss:.4}")
            }
            Metrics::Regression { rmse, r2 } => format!("rmse {rmse:.4} r2 {r2:.4}"),
        };
        t.push_str(&format!(
            "{:<6} {:<29} {:<11.4} {:<7} {:.2}s\n",
            e.epoch + 1,
            h,
            e.train_loss,
            e.merges,
            e.elapsed_s
        ));
    }
    t.push_str(&format!(
        "\n{heldout}\n{} shard{} ({} merges), {} epochs on {} rows x {} features in {:.2}s ({:.2}s in the training loop): {:.2} M sample-updates/s, {:.0} merges/s ({:.1}% of trainer time merging)\ntrainers: {:.1} MiB private each at most, plus {:.1} MiB of shared training data mapped once; {} respawned\nmodel: {}\n",
        s.shards,
        if s.shards == 1 { "" } else { "s" },
        s.merge,
        s.epochs,
        s.rows.0,
        s.rows.2,
        s.train_seconds,
        s.loop_seconds,
        s.updates_per_second / 1e6,
        s.merges_per_second,
        s.merge_share * 100.0,
        s.trainer_private_mib,
        s.shared_data_mib,
        s.respawns,
        s.dir.join("model.json").display()
    ));
    t
}
