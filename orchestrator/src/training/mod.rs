//! `cohort train`: one model trained data-parallel by S trainers through the ParamArray.
//!
//! The orchestrator reads and splits the data (held-out rows stay here for evaluation),
//! standardizes the training split once, places it in shared memory, creates the ParamArray
//! (a `/dev/shm` file, removed at the end whatever happens), and has the supervisor start one
//! trainer per shard. Each whole epoch is evaluated on the held-out rows and checkpointed; a
//! trainer that dies or stalls is respawned on its shard. A run whose orchestrator was killed
//! continues from its last checkpoint. At the end the model (with its standardization) is saved
//! in the run directory.
//!
//! `config` checks the config, `data` splits the data, `coordinator` drives the shards,
//! `evaluation` scores each epoch, `checkpoint` and `run_dir` keep the run on disk,
//! `model_file` saves the model, `summary` reports.

pub mod checkpoint;
pub mod config;
mod coordinator;
mod data;
mod evaluation;
mod model_file;
pub mod run_dir;
pub mod summary;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use models::Problem;
use models::sgd::{SgdModel, Target};
use tracing::info;
use trainer::param_array::ParamArray;
use trainer::{MergeMode, TrainSetup};

use crate::error::BadInput;
use crate::supervisor::{Limits, PoolSpec, Supervisor, cores};
pub use config::TrainConfig;
use coordinator::Coordinator;
pub use model_file::MODEL_FILE;
pub use summary::{EpochRecord, TrainSummary, summary_text};

/// What `cohort train` was asked.
pub struct TrainOptions {
    /// Shards override.
    pub shards: Option<usize>,
    /// Study directory (default `runs/<name>`).
    pub study_dir: Option<PathBuf>,
    /// Replace an existing run in the directory (kept aside).
    pub force_new: bool,
    /// `--set key.path=value` overrides of the config, in order.
    pub overrides: Vec<crate::config::Override>,
}

/// Training was stopped by a signal.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Run `cohort train CONFIG`.
pub fn train(config: &Path, opts: &TrainOptions) -> Result<TrainSummary> {
    let run_started = Instant::now();
    let cfg = TrainConfig::load_with(config, &opts.overrides)?;
    let dir = opts
        .study_dir
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&cfg.name));
    // A run that exists (and is continued) keeps its data's image: read that instead of
    // parsing. A new run's directory is made after the data is checked (nothing half-written),
    // and its image is written then.
    let existing = run_dir::continues(&dir, &cfg, opts.force_new);
    let loaded = data::load(
        &cfg,
        existing
            .then(|| dir.join(crate::sweep::DATA_CACHE_DIR))
            .as_deref(),
    )?;
    let holdout = loaded.holdout(&cfg)?;
    let d = loaded.data.n_features();
    let target = match &loaded.data.problem {
        Problem::Classification { classes } => Target::Classes(classes.len()),
        // `load` reads classification or regression data only.
        Problem::Regression | Problem::Clustering => Target::Regression,
    };
    let model = SgdModel::new(&cfg.spec, d, target)
        .map_err(|e| BadInput::new(anyhow!("{}: `model`: {e}", cfg.path.display())))?;
    let shards = opts.shards.or(cfg.shards).unwrap_or(1);
    let n_train = loaded.data.n_rows() - holdout.held_out;
    if shards > n_train {
        return Err(BadInput::new(anyhow!(
            "{}: {shards} shards for {n_train} training rows",
            cfg.path.display(),
        ))
        .into());
    }
    let (_lock, resumed) = run_dir::open(&dir, &cfg, opts.force_new)?;
    if let Some(c) = &resumed {
        if c.params.len() != model.n_params() {
            return Err(BadInput::new(anyhow!(
                "{}: the checkpoint holds {} parameters, the model has {}; use --force-new",
                dir.join(checkpoint::CHECKPOINT_FILE).display(),
                c.params.len(),
                model.n_params()
            ))
            .into());
        }
        info!(
            "continuing from the checkpoint after epoch {} of {}",
            c.epoch + 1,
            cfg.epochs
        );
    }
    let data::Split {
        train: shm,
        holdout,
        n_train,
        test_x,
        test_y,
        scaler,
        problem,
        names,
        target: target_name,
        writer,
    } = loaded.split(&cfg, holdout, &dir)?;
    let start_epoch = resumed.as_ref().map_or(0, |c| c.epoch + 1);

    let shared_data_mib = shm.len() as f64 / 1048576.0;

    remove_stale_arrays();
    let pa_path = ParamArray::shm_path(&format!("cohort-{}-{}", std::process::id(), cfg.name));
    let slots = if cfg.mode == MergeMode::Average {
        shards
    } else {
        0
    };
    let init = match &resumed {
        Some(c) => c.params.clone(),
        None => model.init(cfg.seed),
    };
    // A continued run's array starts at the round after its checkpoint's epoch.
    let round = u64::from(start_epoch) * cfg.merges_per_epoch;
    let pa = ParamArray::create_at(&pa_path, model.n_params(), &init, slots, round)
        .with_context(|| "creating the shared parameter array")?;
    info!(name = %cfg.name, shards, merge = cfg.mode.name(), epochs = cfg.epochs, rows = n_train, features = d, params = model.n_params(), "training starting");
    let setup = |shard: usize, start_epoch: u32| TrainSetup {
        data: shm.clone(),
        split: holdout,
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
    let backend = crate::backends::Local::current()
        .context("locating the cohort binary to start trainers")?;
    let pool = PoolSpec::one_core_each(
        Box::new(backend),
        cfg.memory,
        cores::pinning_order(&cores::usable_cores()),
    );
    let limits = Limits {
        stall: Some(cfg.stall),
        grace: cfg.grace,
        ..Limits::default()
    };
    let supervisor = Supervisor::new(pool, limits, shards);
    tracing::debug!(
        phase = "setup",
        seconds = run_started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let (to_eval, eval_in) = mpsc::channel();
    let (eval_out, from_eval) = mpsc::channel();
    let (model_ref, test_x_ref, test_y_ref) = (&model, &test_x, &test_y);
    let run = std::thread::scope(|scope| {
        scope.spawn(move || {
            evaluation::serve(
                model_ref,
                test_x_ref.view(),
                test_y_ref.view(),
                eval_in,
                eval_out,
            )
        });
        Coordinator::new(
            supervisor,
            cfg.epochs,
            &setup,
            &pa,
            &dir,
            (to_eval, from_eval),
            resumed.as_ref(),
        )
        .run()
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
    model_file::save_model(
        &dir,
        &model,
        &params,
        scaler,
        (&names, &target_name),
        &problem,
        n_train,
    )?;
    // A finished run is never continued: its prepared data is not needed.
    writer.give_up();
    tracing::debug!(
        phase = "saved",
        seconds = run_started.elapsed().as_secs_f64()
    );
    let samples: u64 = outcome
        .history
        .iter()
        .filter(|e| e.epoch >= start_epoch)
        .map(|e| e.samples)
        .sum();
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
        resumed_after_epoch: resumed.as_ref().map(|c| c.epoch),
    };
    run_dir::write_atomic(
        &dir.join(run_dir::SUMMARY_FILE),
        &serde_json::to_string_pretty(&summary)?,
    )?;
    Ok(summary)
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
