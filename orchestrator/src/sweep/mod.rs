//! Sweeps: a study's life. Check the config and data, create (or reopen and lock) the study
//! directory, run the trials on the pool, report.
//!
//! `space` is the search space, `sampler` proposes trials (ask/tell), `queue` decides what
//! runs next, `pruner` stops bad trials early, `scheduler` drives it all over the supervisor.
//!
//! Everything a user can get wrong is checked before anything is written: a refused study
//! leaves no directory behind and never touches an existing one.

pub mod pruner;
pub mod queue;
pub mod refit;
pub mod sampler;
pub mod scheduler;
pub mod space;

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ipc_channel::ipc::IpcSharedMemory;
use models::preprocess::Preprocess;
use models::{Dataset, Folds, ImageData, Problem};

use crate::shared_data::SharedImage;
use serde_json::json;
use tracing::info;
use trainer::{ProgramSetup, SweepSetup, Task};

use crate::config::{SamplerKind, StudyConfig, TrialKind, direction_name};
use crate::error::BadInput;
use crate::store::lock::StudyLock;
use crate::store::{Store, TrialRecord, TrialState, now};
use crate::supervisor::{Limits, PoolSpec, Supervisor, cores};
use queue::{Stored, TrialQueue};
use sampler::{GridSampler, RandomSampler, Sampler, TpeOptions, TpeSampler, TrialResult};
use scheduler::{SweepEnd, SweepJob, SweepOutcome, run_sweep};

/// What `cohort sweep` was asked to do.
pub struct SweepOptions {
    /// Trainer count override.
    pub workers: Option<NonZeroUsize>,
    /// Where the study lives (default `runs/<name>`).
    pub study_dir: Option<PathBuf>,
    /// Start over even if a different study is in the directory (the old one is kept aside).
    pub force_new: bool,
    /// Refit the best hyperparameters on every row when the sweep finishes.
    pub refit: bool,
    /// `--set key.path=value` overrides of the config, in order.
    pub overrides: Vec<crate::config::Override>,
}

/// How a study run ended, for the exit status and the report.
pub struct StudyOutcome {
    /// The study directory.
    pub dir: PathBuf,
    /// Finished or interrupted.
    pub end: SweepEnd,
    /// The study's store, to report from.
    pub store: Store,
    /// The study directory's lock, held until the report is out.
    pub lock: StudyLock,
    /// How the refit of the best hyperparameters ended (None: the sweep did not finish).
    pub refit: Option<refit::RefitEnd>,
}

/// The identity of a study: what must not change between a run and its resume.
fn fingerprint(cfg: &StudyConfig, data: Option<&SharedData>) -> BTreeMap<&'static str, String> {
    let sampler = match cfg.sampler {
        SamplerKind::Grid => "grid".to_string(),
        SamplerKind::Random { trials } => format!("random ({trials} trials)"),
        SamplerKind::Tpe {
            trials,
            batch,
            startup,
            candidates,
            multivariate,
        } => format!(
            "tpe ({trials} trials, batch {batch}, startup {startup}, candidates {candidates}, {})",
            if multivariate {
                "multivariate"
            } else {
                "univariate"
            }
        ),
    };
    let mut f = BTreeMap::from([
        ("search space", format!("{:?}", cfg.space.0)),
        ("sampler", sampler),
        ("seed", cfg.seed.to_string()),
        (
            "metrics",
            cfg.metrics
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ]);
    match (&cfg.kind, data) {
        (TrialKind::Model(m), Some(data)) => {
            f.extend([
                ("model", m.model.name.to_string()),
                (
                    "fixed hyperparameters",
                    serde_json::to_string(&cfg.fixed).unwrap_or_default(),
                ),
                ("cross-validation", format!("{:?}", m.cv)),
                (
                    "row budget",
                    m.budget
                        .map(|b| format!("{} x{}", b.min_share, b.factor))
                        .unwrap_or_else(|| "none".into()),
                ),
                ("dataset checksum", data.checksum.clone()),
                ("target column", data.target_name.clone()),
            ]);
        }
        (TrialKind::Program(p), _) => {
            // What the program is, not how it is stopped: a resume may change the grace.
            f.extend([
                ("program command", json!(p.command).to_string()),
                ("program cwd", p.cwd.display().to_string()),
                ("program env", json!(p.env).to_string()),
                ("program formats", json!(p.bool_styles).to_string()),
                (
                    "metrics regex",
                    p.metrics_regex.clone().unwrap_or_else(|| "none".into()),
                ),
            ]);
        }
        (TrialKind::Model(_), None) => {}
    }
    // Present only with a pruner, so that studies from before pruners keep their identity.
    if let Some(p) = &cfg.pruner {
        f.insert("pruner", p.to_string());
        f.insert("batch", cfg.batch.map_or(0, |b| b.get()).to_string());
    }
    f
}

/// How a stored fingerprint and a new one differ, one line per key (a key either lacks counts).
fn fingerprint_differences(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            format!(
                "{k}: stored {}, now {}",
                old.get(k).map_or("(none)", String::as_str),
                new.get(k).map_or("(none)", String::as_str)
            )
        })
        .collect()
}

fn study_meta(cfg: &StudyConfig, data: Option<&SharedData>) -> BTreeMap<String, String> {
    let metrics: Vec<&str> = cfg.metrics.iter().map(|m| m.name.as_str()).collect();
    let searched: Vec<&String> = cfg.space.0.keys().collect();
    let sampler = match cfg.sampler {
        SamplerKind::Grid => "grid".to_string(),
        SamplerKind::Random { .. } => "random".to_string(),
        SamplerKind::Tpe { .. } => "tpe".to_string(),
    };
    let mut m = BTreeMap::from([
        ("name".to_string(), cfg.name.clone()),
        ("objective".to_string(), cfg.objective().name.clone()),
        (
            "direction".to_string(),
            direction_name(cfg.objective().direction).to_string(),
        ),
        ("metrics".to_string(), json!(metrics).to_string()),
        ("searched".to_string(), json!(searched).to_string()),
        ("sampler".to_string(), sampler),
        (
            "pruner".to_string(),
            cfg.pruner.map_or("none", |p| p.kind()).to_string(),
        ),
        ("seed".to_string(), cfg.seed.to_string()),
        ("config".to_string(), cfg.text.clone()),
        (
            "config_path".to_string(),
            std::path::absolute(&cfg.path)
                .unwrap_or_else(|_| cfg.path.clone())
                .display()
                .to_string(),
        ),
        ("created_at".to_string(), now().to_string()),
        (
            "cohort_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("status".to_string(), "running".to_string()),
    ]);
    match (&cfg.kind, data) {
        (TrialKind::Model(t), Some(data)) => {
            let data_path =
                std::path::absolute(&t.data_path).unwrap_or_else(|_| t.data_path.clone());
            m.extend([
                ("model".to_string(), t.model.name.to_string()),
                ("folds".to_string(), t.cv.folds.to_string()),
                ("data_path".to_string(), data_path.display().to_string()),
                ("data_checksum".to_string(), data.checksum.clone()),
                ("data_rows".to_string(), data.n_rows().to_string()),
                ("data_features".to_string(), data.n_features().to_string()),
            ]);
        }
        (TrialKind::Program(p), _) => {
            m.extend([
                ("model".to_string(), "program".to_string()),
                ("folds".to_string(), "1".to_string()),
                ("program".to_string(), json!(p.command).to_string()),
                ("program_cwd".to_string(), p.cwd.display().to_string()),
            ]);
        }
        (TrialKind::Model(_), None) => {}
    }
    m.insert(
        "fingerprint".to_string(),
        json!(fingerprint(cfg, data)).to_string(),
    );
    m
}

/// Load a config and its data (a built-in model's), checked; every failure is bad input (exit 2).
pub fn load_checked(
    config: &Path,
    overrides: &[crate::config::Override],
) -> Result<(StudyConfig, Option<SharedData>)> {
    let cfg = StudyConfig::load_with(config, overrides).map_err(BadInput::new)?;
    let data = load_data(&cfg, None)?.map(|(data, _)| data);
    Ok((cfg, data))
}

/// A built-in model's study's dataset and its `[preprocess]` pipeline (a program's has none).
pub type StudyData = Option<(SharedData, Option<Preprocess>)>;

/// A study's dataset: its image in shared memory, the one copy of the data (read straight into
/// it), which every trainer maps.
pub type SharedData = ImageData<SharedImage>;

/// The folder of a study directory that holds its data's image (see `Dataset::load_cached`).
pub const DATA_CACHE_DIR: &str = "cache";

/// The dataset of a built-in model's study, with its folds checked (a program has none), and
/// its `[preprocess]` pipeline if it has one.
///
/// With `cache` (the cache folder of a study that exists), the data's image is read instead of
/// parsing the data when it is valid, and written when it is not. Data with categorical columns
/// or missing cells is always parsed (the image holds numbers only).
fn load_data(cfg: &StudyConfig, cache: Option<&Path>) -> Result<StudyData> {
    let TrialKind::Model(t) = &cfg.kind else {
        return Ok(None);
    };
    let (path, target, kind) = (&t.data_path, t.target.as_deref(), t.model.problem);
    let (data, pipeline) = match &t.preprocess {
        // Categories and missing cells take the general cell reader; plain numbers the fast one.
        Some(spec) if spec.needs_cells() => {
            let options = models::CellOptions {
                categorical: spec.categorical.clone(),
                missing: spec.impute.is_some(),
            };
            let (data, vocabularies) =
                Dataset::read_cells(path, target, kind, &options).map_err(BadInput::new)?;
            let pipeline = spec.pipeline(&data.feature_names, &vocabularies);
            (ImageData::of(&data, &mut SharedImage::new), Some(pipeline))
        }
        spec => {
            let data = match cache {
                Some(cache) => {
                    let (data, used) = Dataset::load_cached_image(
                        path,
                        target,
                        kind,
                        cache,
                        &mut SharedImage::new,
                    )
                    .map_err(BadInput::new)?;
                    log_cache_use(path, &used);
                    data
                }
                None => {
                    let data = Dataset::read_path_image(path, target, kind, &mut SharedImage::new)
                        .map_err(BadInput::new)?;
                    info!(data = %path.display(), "data parsed (a new study)");
                    data
                }
            };
            let pipeline = spec
                .as_ref()
                .map(|s| s.pipeline(&data.feature_names, &Vec::new()));
            (data, pipeline)
        }
    };
    // The folds are a pure function of the data and the seed: checking them here means no
    // trainer ever meets data it cannot split.
    let seed = t.cv.shuffle.then_some(cfg.seed);
    let y = data.view().map_err(anyhow::Error::from)?.y;
    let folds = match &data.problem {
        Problem::Classification { classes } => {
            if let Some(note) = models::cv::stratification_warning(y, classes.len(), t.cv.folds) {
                tracing::warn!("{}: {note}", t.data_path.display());
            }
            Folds::stratified(y, classes.len(), t.cv.folds, seed)
        }
        Problem::Regression | Problem::Clustering => Folds::kfold(data.n_rows(), t.cv.folds, seed),
    };
    folds.map_err(|e| {
        BadInput::new(anyhow::anyhow!(
            "{}: `cv.folds` = {}: {e}",
            cfg.path.display(),
            t.cv.folds
        ))
    })?;
    if let Some(k) = pipeline.as_ref().and_then(|p| p.pca) {
        let width = pipeline.as_ref().map_or(0, |p| {
            p.columns
                .iter()
                .map(|c| match c {
                    models::preprocess::Column::Categorical { categories, .. } => categories.len(),
                    models::preprocess::Column::Numeric => 1,
                })
                .sum::<usize>()
        });
        if k.get() > width {
            return Err(BadInput::new(anyhow::anyhow!(
                "{}: `preprocess.pca` = {k}: the data has only {width} columns to project",
                cfg.path.display()
            ))
            .into());
        }
    }
    if let (Some(max), Problem::Classification { classes }) =
        (models::catalogue::max_classes(t.model.name), &data.problem)
        && classes.len() > max
    {
        return Err(BadInput::new(anyhow::anyhow!(
            "{}: `model.name`: `{}` classifies at most {max} classes; {} has {} in `{}`",
            cfg.path.display(),
            t.model.name,
            t.data_path.display(),
            classes.len(),
            data.target_name
        ))
        .into());
    }
    Ok(Some((data, pipeline)))
}

/// Say whether the data was parsed or read from the study's image, and why.
pub fn log_cache_use(path: &Path, used: &models::CacheUse) {
    match used {
        models::CacheUse::Hit => {
            info!(data = %path.display(), "data read from the study's image, not parsed");
        }
        models::CacheUse::Parsed { reason, not_stored } => {
            info!(data = %path.display(), "data parsed ({reason})");
            if let Some(e) = not_stored {
                tracing::warn!(data = %path.display(), "the data's image was not written: {e}");
            }
        }
    }
}

/// Write the image of `data` (read from the config's data file when `stamps` were taken) into
/// the study in `dir`, for resume and predict to read; failing only costs a parse later.
fn store_image(cfg: &StudyConfig, data: &SharedData, stamps: &models::SourceStamps, dir: &Path) {
    let TrialKind::Model(t) = &cfg.kind else {
        return;
    };
    let cache = dir.join(DATA_CACHE_DIR);
    if let Err(e) = data.store_cached(stamps, t.target.as_deref(), t.model.problem, &cache) {
        tracing::warn!("the data's image was not written: {e}");
    }
}

/// Open the study in `dir` if it is this study, or create it; refuse a different one.
fn open_or_create(
    dir: &Path,
    meta: &BTreeMap<String, String>,
    force_new: bool,
) -> Result<(Store, bool, StudyLock)> {
    if dir.join(crate::store::DB_FILE).is_file() {
        // Taken before anything is read: a live owner is refused, whatever this run wants.
        let lock = StudyLock::acquire(dir).map_err(BadInput::new)?;
        let store =
            Store::open(dir).with_context(|| format!("opening the study in {}", dir.display()))?;
        let stored = store.meta()?;
        let old: BTreeMap<String, String> = stored
            .get("fingerprint")
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or_default();
        let new: BTreeMap<String, String> = meta
            .get("fingerprint")
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or_default();
        let differs = fingerprint_differences(&old, &new);
        if differs.is_empty() {
            info!(dir = %dir.display(), "resuming the study");
            return Ok((store, true, lock));
        }
        if !force_new {
            return Err(BadInput::new(anyhow::anyhow!(
                "{} holds a different study; it differs in:\n  {}\nrun with --force-new to start a new study (the old one is kept aside), or use --study-dir",
                dir.display(),
                differs.join("\n  ")
            ))
            .into());
        }
        drop(store);
        drop(lock);
        let aside = crate::store::set_aside(dir)
            .with_context(|| format!("moving the old study in {} aside", dir.display()))?;
        info!(old = %aside.display(), "the previous study was moved aside");
    } else if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(BadInput::new(anyhow::anyhow!(
            "{}: exists and is not a study directory (no {}); choose another --study-dir",
            dir.display(),
            crate::store::DB_FILE
        ))
        .into());
    }
    let store = create_study_dir(dir, meta)?;
    let lock = StudyLock::acquire(dir).map_err(BadInput::new)?;
    Ok((store, false, lock))
}

/// Create the study directory atomically: built under a temporary name, then renamed.
fn create_study_dir(dir: &Path, meta: &BTreeMap<String, String>) -> Result<Store> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| {
        BadInput::new(anyhow::anyhow!(
            "{}: cannot create the study's parent directory: {e}",
            parent.display()
        ))
    })?;
    let name = dir
        .file_name()
        .map_or("study".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.creating-{}", std::process::id()));
    let build = || -> Result<()> {
        std::fs::create_dir(&tmp).map_err(|e| {
            BadInput::new(anyhow::anyhow!(
                "{}: cannot create the study directory: {e}",
                parent.display()
            ))
        })?;
        std::fs::write(
            tmp.join("config.toml"),
            meta.get("config").map_or("", String::as_str),
        )
        .with_context(|| format!("writing {}", tmp.join("config.toml").display()))?;
        drop(Store::create(&tmp, meta)?);
        if dir.exists() {
            std::fs::remove_dir(dir)
                .with_context(|| format!("replacing the empty directory {}", dir.display()))?;
        }
        std::fs::rename(&tmp, dir)
            .with_context(|| format!("renaming {} to {}", tmp.display(), dir.display()))?;
        Ok(())
    };
    if let Err(e) = build() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(Store::open(dir)?)
}

/// A study checked, its directory opened (or created) and locked, ready to run or submit.
pub struct Prepared {
    /// The checked config.
    pub cfg: StudyConfig,
    /// Its dataset and `[preprocess]` pipeline (a built-in model's).
    pub data: StudyData,
    /// The study directory.
    pub dir: PathBuf,
    /// The study directory's own store.
    pub store: Store,
    /// Whether the directory held this study already (false: this call created it).
    pub resumed: bool,
    /// The study directory's lock.
    pub lock: StudyLock,
}

/// Check `config` and its data, then open or create the study directory; `placement`: also
/// check that the trials fit on this machine's cores.
pub fn prepare(config: &Path, opts: &SweepOptions, placement: bool) -> Result<Prepared> {
    let cfg = StudyConfig::load_with(config, &opts.overrides).map_err(BadInput::new)?;
    let dir = opts
        .study_dir
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&cfg.name));
    // A study that exists keeps its data's image: read that instead of parsing. A new study's
    // directory is created whole later (nothing half-written), so its image is written then,
    // with the source's stamps taken before the parse.
    let existing = dir.join(crate::store::DB_FILE).is_file() && !opts.force_new;
    let stamps = match &cfg.kind {
        TrialKind::Model(t) if !existing => models::SourceStamps::of(&t.data_path).ok(),
        _ => None,
    };
    let data = load_data(&cfg, existing.then(|| dir.join(DATA_CACHE_DIR)).as_deref())?;
    // Checked before the study directory exists: a refused placement leaves nothing behind.
    if placement {
        Placement::of(&cfg, cores::usable_cores().len())?;
    }
    let meta = study_meta(&cfg, data.as_ref().map(|(d, _)| d));
    let (store, resumed, lock) = open_or_create(&dir, &meta, opts.force_new)?;
    if let (Some((data, None)), Some(stamps)) = (&data, &stamps) {
        store_image(&cfg, data, stamps, &dir);
    }
    Ok(Prepared {
        cfg,
        data,
        dir,
        store,
        resumed,
        lock,
    })
}

/// Run the sweep described by `config`.
pub fn sweep(config: &Path, opts: &SweepOptions) -> Result<StudyOutcome> {
    let p = prepare(config, opts, true)?;
    run(
        p.cfg,
        p.data,
        p.dir,
        p.store,
        p.lock,
        p.resumed,
        RunOptions {
            workers: opts.workers,
            refit: opts.refit,
        },
        None,
    )
}

/// Continue the study in `dir` from its stored config (and refit its best trial at the end
/// when `refit`).
pub fn resume(dir: &Path, workers: Option<NonZeroUsize>, refit: bool) -> Result<StudyOutcome> {
    let (cfg, data, store, lock) = reopen(dir)?;
    info!(dir = %dir.display(), "resuming the study");
    run(
        cfg,
        data,
        dir.to_path_buf(),
        store,
        lock,
        true,
        RunOptions { workers, refit },
        None,
    )
}

/// Refit the best trial of the study in `dir` on every row and save the model there
/// (`cohort refit`): the study's stored config and its data, unchanged since it ran.
pub fn refit_study(dir: &Path) -> Result<refit::RefitEnd> {
    let (cfg, data, mut store, _lock) = reopen(dir)?;
    let (Some((data, preprocess)), TrialKind::Model(t)) = (data, &cfg.kind) else {
        return Err(BadInput::new(anyhow::anyhow!(
            "{}: the study runs its own program: program trials have no model to refit",
            dir.display()
        ))
        .into());
    };
    let Some(best) = store
        .best_trials(cfg.objective().direction, 1)?
        .into_iter()
        .next()
    else {
        return Err(anyhow::anyhow!(
            "{}: no complete trial yet: nothing to refit",
            dir.display()
        ));
    };
    let (job, _) = refit_job(&cfg, t, data, &preprocess);
    let end = refit::refit(
        &job,
        best.trial,
        &best.params,
        pool_spec(&cfg, &Placement::of(&cfg, cores::usable_cores().len())?)?,
        limits(&cfg),
        dir,
    )?;
    end.record(&mut store)?;
    Ok(end)
}

/// What a refit needs of a built-in model's study.
fn refit_job(
    cfg: &StudyConfig,
    t: &crate::config::ModelTrials,
    data: SharedData,
    preprocess: &Option<Preprocess>,
) -> (refit::RefitJob, IpcSharedMemory) {
    let rows = data.n_rows();
    let shm = data.image.into_shared();
    let job = refit::RefitJob {
        // The same pages (a clone maps them, it does not copy).
        data: shm.clone(),
        problem: data.problem,
        model: t.model.name.to_string(),
        standardize: t.cv.standardize,
        preprocess: preprocess.clone(),
        seed: cfg.seed,
        features: data.feature_names,
        target: data.target_name,
        rows,
    };
    (job, shm)
}

/// The trainer pool of a study on this machine.
fn pool_spec(cfg: &StudyConfig, placement: &Placement) -> Result<PoolSpec> {
    let backend = crate::backends::Local::current()
        .context("locating the cohort binary to start trainers")?;
    Ok(PoolSpec {
        backend: Box::new(backend),
        memory: cfg.run.memory,
        cores: cores::pinning_order(&cores::usable_cores()),
        cores_per_slot: placement.cores_per_trial,
        gpus: placement.gpus.clone(),
        gpus_per_slot: placement.gpus_per_trial,
    })
}

/// The supervisor's limits for a study.
fn limits(cfg: &StudyConfig) -> Limits {
    // A stopped trainer gives its program the program's grace before killing it: wait for
    // that, and a little more for the trainer itself to exit.
    let grace = match &cfg.kind {
        TrialKind::Program(p) => cfg
            .run
            .grace
            .max(p.grace + std::time::Duration::from_secs(1)),
        TrialKind::Model(_) => cfg.run.grace,
    };
    Limits {
        stall: cfg.run.stall,
        grace,
        ..Limits::default()
    }
}

/// The study in `dir`, locked, with its stored config and its data, checked unchanged.
fn reopen(dir: &Path) -> Result<(StudyConfig, StudyData, Store, StudyLock)> {
    if !dir.join(crate::store::DB_FILE).is_file() {
        return Err(BadInput::new(crate::store::StoreError::NotAStudy(dir.to_path_buf())).into());
    }
    let lock = StudyLock::acquire(dir).map_err(BadInput::new)?;
    let store = Store::open(dir).map_err(BadInput::new)?;
    let (cfg, data) = stored_config(dir, &store.meta()?)?;
    Ok((cfg, data, store, lock))
}

/// The config and data of the study in `dir` (whose metadata is `meta`), checked against what
/// the study started with.
pub fn stored_config(
    dir: &Path,
    meta: &BTreeMap<String, String>,
) -> Result<(StudyConfig, StudyData)> {
    let text = meta
        .get("config")
        .context("the study has no stored config")?;
    let config_path = PathBuf::from(
        meta.get("config_path")
            .map_or("config.toml", String::as_str),
    );
    let cfg = StudyConfig::parse(&config_path, text).map_err(BadInput::new)?;
    let data = load_data(&cfg, Some(&dir.join(DATA_CACHE_DIR)))?;
    let fresh = study_meta(&cfg, data.as_ref().map(|(d, _)| d));
    if fresh.get("fingerprint") != meta.get("fingerprint") {
        let what = match (&cfg.kind, &data) {
            (TrialKind::Model(t), Some((data, _))) => format!(
                "{}: the data file changed since the study started (checksum was {}, now {})",
                t.data_path.display(),
                meta.get("data_checksum").map_or("?", String::as_str),
                data.checksum
            ),
            _ => format!(
                "{}: the study's program or its working directory changed since it started",
                dir.display()
            ),
        };
        return Err(BadInput::new(anyhow::anyhow!(what)).into());
    }
    Ok((cfg, data))
}

/// One node's share of a study split across the nodes of a cluster job.
pub struct Share {
    /// Which trials this node runs.
    pub owns: Box<dyn Fn(u64) -> bool + Send>,
    /// The other nodes, whose results later batches wait on.
    pub peers: Box<dyn scheduler::Peers>,
    /// Every trial of the study, as all the stores have them (merged).
    pub existing: Vec<TrialRecord>,
}

/// Run one node's share of the study in `dir` on this node, writing into `store` (the node's).
pub fn run_share(
    cfg: StudyConfig,
    data: StudyData,
    dir: PathBuf,
    store: Store,
    lock: StudyLock,
    workers: NonZeroUsize,
    share: Share,
) -> Result<StudyOutcome> {
    run(
        cfg,
        data,
        dir,
        store,
        lock,
        true,
        RunOptions {
            workers: Some(workers),
            // Each node saves its trials; the refit is `cohort refit DIR` once all are done.
            refit: false,
        },
        Some(share),
    )
}

/// What a sampler is told of a stored trial: its result, when it is final.
pub fn result_of(record: &TrialRecord, objective: &str) -> Option<TrialResult> {
    record.state.is_final().then(|| TrialResult {
        trial: record.trial,
        params: record.params.clone(),
        state: record.state,
        value: record
            .value
            .filter(|_| record.state == TrialState::Complete),
        intermediate: record
            .reports
            .as_ref()
            .unwrap_or(&record.folds)
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.get(objective).map(|v| (i as u32, *v)))
            .collect(),
    })
}

/// What the queue needs of a stored trial: its result when final, else its attempts so far.
fn stored(record: TrialRecord, objective: &str) -> Stored {
    Stored {
        result: result_of(&record, objective),
        trial: record.trial,
        attempts: record.attempts,
        params: record.params,
    }
}

/// What a run of the trials may do beyond its config.
struct RunOptions {
    /// Trainer count override.
    workers: Option<NonZeroUsize>,
    /// Refit the best trial at the end.
    refit: bool,
}

/// The trainers a sweep of `cfg` would start on this machine with `--workers` = `workers`.
pub fn planned_workers(cfg: &StudyConfig, workers: Option<NonZeroUsize>) -> Result<usize> {
    let placement = Placement::of(cfg, cores::usable_cores().len())?;
    Ok(workers
        .or(cfg.run.workers)
        .map_or(placement.default_workers, |n| n.get())
        .min(placement.max_workers))
}

/// How many trials the study of `cfg` has in all.
pub fn total_trials(cfg: &StudyConfig) -> u64 {
    match cfg.sampler {
        SamplerKind::Grid => GridSampler::new(cfg.space.clone()).len(),
        SamplerKind::Random { trials } | SamplerKind::Tpe { trials, .. } => trials,
    }
}

/// Where a study's trials run: cores and GPUs per trial, and how many at once that allows.
struct Placement {
    cores_per_trial: usize,
    gpus_per_trial: usize,
    gpus: Vec<String>,
    /// Without `--workers` or `[run] workers`.
    default_workers: usize,
    /// No more trials at once than the cores and GPUs allow.
    max_workers: usize,
}

impl Placement {
    /// The placement of `cfg` on a machine with `cores` usable cores.
    fn of(cfg: &StudyConfig, cores: usize) -> Result<Placement> {
        let cores = cores.max(1);
        let TrialKind::Program(p) = &cfg.kind else {
            // Built-in models: one core each, one left for the system.
            return Ok(Placement {
                cores_per_trial: 1,
                gpus_per_trial: 0,
                gpus: Vec::new(),
                default_workers: cores.saturating_sub(1).max(1),
                max_workers: usize::MAX,
            });
        };
        let k = p.cores_per_trial;
        if k > cores {
            return Err(BadInput::new(anyhow::anyhow!(
                "{}: `program.cores_per_trial` = {k}, but only {cores} cores are usable here",
                cfg.path.display()
            ))
            .into());
        }
        let gpus: Vec<String> = match (&p.gpus, p.gpus_per_trial) {
            (_, 0) => Vec::new(),
            (Some(list), _) => list.clone(),
            (None, _) => std::env::var("CUDA_VISIBLE_DEVICES")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect(),
        };
        if p.gpus_per_trial > gpus.len() {
            return Err(BadInput::new(anyhow::anyhow!(
                "{}: `program.gpus_per_trial` = {}, but {} GPUs are visible (CUDA_VISIBLE_DEVICES or `program.gpus`)",
                cfg.path.display(),
                p.gpus_per_trial,
                gpus.len()
            ))
            .into());
        }
        let by_gpus = gpus
            .len()
            .checked_div(p.gpus_per_trial)
            .unwrap_or(usize::MAX);
        let by_cores = cores / k;
        Ok(Placement {
            cores_per_trial: k,
            gpus_per_trial: p.gpus_per_trial,
            gpus,
            default_workers: by_cores.min(by_gpus).max(1),
            max_workers: by_cores.min(by_gpus).max(1),
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    cfg: StudyConfig,
    data: StudyData,
    dir: PathBuf,
    store: Store,
    lock: StudyLock,
    resumed: bool,
    how: RunOptions,
    share: Option<Share>,
) -> Result<StudyOutcome> {
    let RunOptions { workers, refit } = how;
    let (existing, share) = match share {
        Some(Share {
            owns,
            peers,
            existing,
        }) => (existing, Some((owns, peers))),
        // Trials other processes ran into node stores of this study count too.
        None => {
            let mut all = store.trials()?;
            all.extend(crate::store::merge::node_trials(&dir, None)?);
            (crate::store::merge::merge(all), None)
        }
    };
    let sampler: Box<dyn Sampler> = match cfg.sampler {
        SamplerKind::Grid => Box::new(GridSampler::new(cfg.space.clone())),
        SamplerKind::Random { trials } => {
            Box::new(RandomSampler::new(cfg.space.clone(), cfg.seed, trials))
        }
        SamplerKind::Tpe {
            trials,
            batch,
            startup,
            candidates,
            multivariate,
        } => Box::new(TpeSampler::new(
            cfg.space.clone(),
            cfg.seed,
            trials,
            cfg.objective().direction,
            TpeOptions {
                batch,
                startup,
                candidates,
                multivariate,
            },
        )),
    };
    let total = sampler.len();
    let already = existing.iter().filter(|t| t.state.is_final()).count() as u64;
    if resumed {
        info!("{already} of {total} trials already done");
    }
    let cores = cores::usable_cores();
    let placement = Placement::of(&cfg, cores.len())?;
    let workers = workers
        .or(cfg.run.workers)
        .map_or(placement.default_workers, |n| n.get())
        .min(placement.max_workers);
    let mut data_bytes = 0;
    let mut refit_with = None;
    let setup: Box<dyn Fn() -> Task> = match (&cfg.kind, data) {
        (TrialKind::Model(t), Some((data, preprocess))) => {
            // The dataset crosses into shared memory once; every trainer maps the same pages.
            data_bytes = models::ImageRead::bytes(&data.image).len();
            let (rows, features) = (data.n_rows(), data.n_features());
            let problem = data.problem.clone();
            let (job, shm) = refit_job(&cfg, t, data, &preprocess);
            refit_with = Some(job);
            info!(study = %cfg.name, dir = %dir.display(), rows, features, trials = total, workers, "sweep starting");
            let setup = SweepSetup {
                data: shm,
                problem,
                model: t.model.name.to_string(),
                folds: t.cv.folds,
                shuffle: t.cv.shuffle,
                seed: cfg.seed,
                standardize: t.cv.standardize,
                fold_cache: t.cv.fold_cache,
                preprocess,
                metrics: cfg.builtin_metrics(),
                objective: cfg.objective().name.clone(),
                row_budgets: t.budget.map(|b| b.shares()),
                live_reports_after: std::time::Duration::from_millis(10),
            };
            Box::new(move || Task::Setup(Box::new(setup.clone())))
        }
        (TrialKind::Program(p), _) => {
            info!(study = %cfg.name, dir = %dir.display(), command = ?p.command, trials = total, workers, "sweep starting");
            let setup = ProgramSetup {
                command: p.command.clone(),
                cwd: p.cwd.clone(),
                env: p.env.clone(),
                bool_styles: p.bool_styles.clone(),
                metrics_regex: p.metrics_regex.clone(),
                objective: cfg.objective().name.clone(),
                study_dir: std::path::absolute(&dir).unwrap_or_else(|_| dir.clone()),
                seed: cfg.seed,
                grace: p.grace,
                threads: p.cores_per_trial,
            };
            Box::new(move || Task::ProgramSetup(Box::new(setup.clone())))
        }
        (TrialKind::Model(_), None) => {
            return Err(anyhow::anyhow!("a built-in model's study has no dataset"));
        }
    };
    let pool = pool_spec(&cfg, &placement)?;
    let remaining = total.saturating_sub(already).max(1);
    let mut supervisor = Supervisor::new(pool, limits(&cfg), workers.min(remaining as usize));
    supervisor.set_trial_logs(crate::supervisor::TrialLogs::new(
        &std::path::absolute(&dir).unwrap_or_else(|_| dir.clone()),
    ));
    let mut job = SweepJob {
        setup: setup.as_ref(),
        model: match &cfg.kind {
            TrialKind::Model(t) => Some(t.model),
            TrialKind::Program(_) => None,
        },
        metrics: cfg.metrics.clone(),
        retries: cfg.run.retries,
        timeout: cfg.run.timeout,
        peers: None,
    };
    let objective = cfg.objective().name.clone();
    let stored: Vec<Stored> = existing
        .into_iter()
        .map(|r| stored(r, &objective))
        .collect();
    let pruner = pruner::injected()
        .or_else(|| cfg.pruner.map(|p| p.build(cfg.objective().direction)))
        .unwrap_or_else(|| Box::new(pruner::NoPruner));
    // A pruner's rules come from earlier batches only, so it needs batches like a learning sampler.
    let batch = sampler
        .batch()
        .or(cfg.pruner.and(cfg.batch).map(|b| b.get()));
    let mut queue = TrialQueue::new(sampler, pruner, batch, cfg.fixed.clone(), stored);
    if let Some((owns, peers)) = share {
        queue = queue.only(owns);
        job.peers = Some(peers);
    }
    let SweepOutcome {
        end,
        mut store,
        peak_memory,
    } = run_sweep(job, supervisor, queue, store, already)?;
    let status = match end {
        SweepEnd::Finished => "finished",
        SweepEnd::Interrupted => "interrupted",
    };
    store.set_meta("status", status)?;
    // Of this run (a resumed study reports its last run's).
    store.set_meta("peak_memory_rss", &peak_memory.rss.to_string())?;
    store.set_meta("peak_memory_pss", &peak_memory.pss.to_string())?;
    store.set_meta("data_bytes", &data_bytes.to_string())?;
    store.commit()?;
    let refit = match end {
        SweepEnd::Interrupted => None,
        SweepEnd::Finished => {
            let best = store
                .best_trials(cfg.objective().direction, 1)?
                .into_iter()
                .next();
            let end = match (refit_with, best) {
                (None, _) => refit::RefitEnd::Skipped {
                    reason: "program trials have no model to refit".into(),
                },
                (Some(_), _) if !refit => refit::RefitEnd::Skipped {
                    reason: "--no-refit".into(),
                },
                (Some(_), None) => refit::RefitEnd::Skipped {
                    reason: "no trial completed".into(),
                },
                (Some(job), Some(best)) => refit::refit(
                    &job,
                    best.trial,
                    &best.params,
                    pool_spec(&cfg, &placement)?,
                    limits(&cfg),
                    &dir,
                )?,
            };
            end.record(&mut store)?;
            Some(end)
        }
    };
    Ok(StudyOutcome {
        dir,
        end,
        store,
        lock,
        refit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_fingerprint_key_added_or_removed_is_a_difference() {
        let plain = map(&[("seed", "1")]);
        let pruned = map(&[("seed", "1"), ("pruner", "median")]);
        assert_eq!(
            fingerprint_differences(&plain, &pruned),
            ["pruner: stored (none), now median"]
        );
        assert_eq!(
            fingerprint_differences(&pruned, &plain),
            ["pruner: stored median, now (none)"]
        );
        assert!(fingerprint_differences(&pruned, &pruned).is_empty());
    }
}
