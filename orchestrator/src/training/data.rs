//! The training data: read (or generated) straight into shared memory, split into training and
//! held-out rows with the seed, and standardized in place on the training rows' statistics.
//!
//! The image in shared memory is the one copy of the data: every row stays where it was read
//! (the split is the seed and a count, [`Holdout`]; the trainers read their shard's rows in
//! place), the held-out rows are copied out for evaluation, and standardization overwrites the
//! values. A run's directory keeps that prepared image (`cache/`, with the scaler beside it), so
//! a continued run reads it instead of parsing, fitting and standardizing. Only an unfinished
//! run is ever continued, so the image is written on a low-priority thread while the trainers
//! train and given up if the run finishes first: a short run pays nothing for it, a long one
//! (the kind worth continuing) has it within its first seconds.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use ipc_channel::ipc::IpcSharedMemory;
use models::preprocess::Standardizer;
use models::sgd::SgdKind;
use models::{Dataset, Holdout, ImageData, Problem, ProblemKind, SourceStamps};
use ndarray::{Array1, Array2, Axis};

use super::config::{DataSource, TrainConfig};
use crate::error::BadInput;
use crate::shared_data::{SharedImage, SharedView};

/// The data of a training run, split.
pub struct Split {
    /// Every row, standardized, as a dataset image in shared memory.
    pub train: IpcSharedMemory,
    /// Which rows of the image are the training rows.
    pub holdout: Holdout,
    /// Training rows.
    pub n_train: usize,
    /// Held-out features (standardized).
    pub test_x: Array2<f64>,
    /// Held-out targets.
    pub test_y: Array1<f64>,
    /// The scaler fitted on the training rows, if standardizing.
    pub scaler: Option<Standardizer>,
    /// The problem (classes).
    pub problem: Problem,
    /// Feature names.
    pub names: Vec<String>,
    /// The target column's name.
    pub target: String,
    /// Writes the prepared image into the run's directory meanwhile (a run that parsed).
    pub writer: Writer,
}

/// A thread writing the run's prepared image. Dropping it waits for the thread (a run that
/// stopped unfinished may be continued: its image is worth finishing); [`Writer::give_up`]
/// stops it first (a finished run is never continued).
pub struct Writer {
    thread: Option<std::thread::JoinHandle<()>>,
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Writer {
    /// Stop writing (within a few MiB; the partial file is removed) and wait for the thread.
    pub fn give_up(self) {
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(h) = self.thread.take() {
            let _ = h.join();
        }
    }
}

/// Beside the run's prepared image: what it was prepared for and the scaler it was
/// standardized with.
#[derive(serde::Serialize, serde::Deserialize)]
struct Prepared {
    reader: String,
    checksum: String,
    scaler: Option<Standardizer>,
}

/// The file of [`Prepared`] in the run's cache folder.
const PREPARED_FILE: &str = "train-prepared.json";

/// What the run's image is keyed by: the data as the trainers read it depends on these.
fn reader(cfg: &TrainConfig) -> String {
    format!(
        "train (holdout {}, seed {}, standardize {}, target {:?}, {:?})",
        cfg.holdout,
        cfg.seed,
        cfg.standardize,
        cfg.target,
        kind(cfg)
    )
}

/// The data read, not yet split.
pub struct Loaded {
    /// The dataset's image in shared memory.
    pub data: ImageData<SharedImage>,
    /// The source's stamps when it was parsed: its prepared image is stored once split.
    stamps: Option<SourceStamps>,
    /// Read from the run's image: already standardized, with this scaler.
    prepared: Option<Option<Standardizer>>,
}

/// The problem kind the config's model learns.
fn kind(cfg: &TrainConfig) -> ProblemKind {
    if cfg.spec.model == SgdKind::LinearRegression {
        ProblemKind::Regression
    } else {
        ProblemKind::Classification
    }
}

/// Read (or generate) the data into shared memory; with `cache` (the cache folder of a run that
/// exists), through its image: a valid image is read instead of parsing the file.
pub fn load(cfg: &TrainConfig, cache: Option<&Path>) -> Result<Loaded> {
    let kind = kind(cfg);
    let started = std::time::Instant::now();
    let target = cfg.target.as_deref();
    let (data, stamps) = match &cfg.source {
        DataSource::Csv(p) => {
            let why = match cache {
                Some(cache) => match read_prepared(cfg, p, cache)? {
                    Ok((data, scaler)) => {
                        crate::sweep::log_cache_use(p, &models::CacheUse::Hit);
                        tracing::debug!(phase = "read", seconds = started.elapsed().as_secs_f64());
                        return Ok(Loaded {
                            data,
                            stamps: None,
                            prepared: Some(scaler),
                        });
                    }
                    Err(why) => why,
                },
                None => "a new run".to_string(),
            };
            // Taken before the parse: stamps taken after could belong to a newer file.
            let stamps = SourceStamps::of(p).ok();
            let data = Dataset::read_path_image(p, target, kind, &mut SharedImage::new)
                .map_err(BadInput::new)?;
            tracing::info!(data = %p.display(), "data parsed ({why})");
            (data, stamps)
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
            let data = Dataset {
                x,
                y,
                feature_names: (0..s.features).map(|i| format!("f{i}")).collect(),
                target_name: "label".into(),
                problem: Problem::Classification {
                    classes: (0..s.classes).map(|c| c.to_string()).collect(),
                },
                checksum: String::new(),
            };
            (ImageData::of(&data, &mut SharedImage::new), None)
        }
    };
    tracing::debug!(phase = "read", seconds = started.elapsed().as_secs_f64());
    Ok(Loaded {
        data,
        stamps,
        prepared: None,
    })
}

/// A prepared image and the scaler it was standardized with.
type PreparedData = (ImageData<SharedImage>, Option<Standardizer>);

/// The run's prepared image of `path` in `cache` with its scaler, if it is valid and prepared
/// the way this config prepares; else why not.
fn read_prepared(
    cfg: &TrainConfig,
    path: &Path,
    cache: &Path,
) -> Result<Result<PreparedData, String>> {
    let reader = reader(cfg);
    let Ok(text) = std::fs::read(cache.join(PREPARED_FILE)) else {
        return Ok(Err("no image yet".into()));
    };
    let Ok(prepared) = serde_json::from_slice::<Prepared>(&text) else {
        return Ok(Err("the image's scaler is unreadable".into()));
    };
    if prepared.reader != reader {
        return Ok(Err("the image was prepared by another config".into()));
    }
    let data = Dataset::read_cached_image_by(path, &reader, cache, &mut SharedImage::new)
        .map_err(BadInput::new)?;
    Ok(match data {
        Ok(data) if data.checksum == prepared.checksum => Ok((data, prepared.scaler)),
        Ok(_) => Err("the image's scaler is of other data".into()),
        Err(why) => Err(why),
    })
}

/// Write the prepared image (`shm`, described by `data`) and its scaler into `cache`.
fn store_prepared(
    data: ImageData<SharedView>,
    stamps: &SourceStamps,
    reader: &str,
    scaler: Option<Standardizer>,
    cache: &Path,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<()> {
    data.store_cached_by(stamps, reader, cache, Some(cancel))?;
    let prepared = Prepared {
        reader: reader.to_string(),
        checksum: data.checksum.clone(),
        scaler,
    };
    let tmp: PathBuf = cache.join(format!(".{PREPARED_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(&prepared)?)?;
    std::fs::rename(&tmp, cache.join(PREPARED_FILE))?;
    Ok(())
}

impl Loaded {
    /// The hold-out split of these rows by the config, refused when it leaves a side empty.
    pub fn holdout(&self, cfg: &TrainConfig) -> Result<Holdout> {
        let n = self.data.n_rows();
        let n_test = ((n as f64) * cfg.holdout).round() as usize;
        if n_test == 0 || n_test >= n {
            return Err(BadInput::new(anyhow!(
                "{}: `data.holdout` = {} leaves no rows on one side of {n}",
                cfg.path.display(),
                cfg.holdout
            ))
            .into());
        }
        Ok(Holdout {
            seed: cfg.seed,
            held_out: n_test,
        })
    }

    /// Split off the held-out rows and standardize every row in place on the training rows'
    /// statistics (unless the image was read prepared). The data parsed by this run is then
    /// written into `dir`'s cache as prepared, on a thread, while the trainers train.
    pub fn split(self, cfg: &TrainConfig, holdout: Holdout, dir: &Path) -> Result<Split> {
        let started = std::time::Instant::now();
        let Loaded {
            mut data,
            stamps,
            prepared,
        } = self;
        let n = data.n_rows();
        let order = holdout.order(n);
        let (test_rows, train_rows) = order.split_at(holdout.held_out);
        let view = data.view()?;
        let read_prepared = prepared.is_some();
        let scaler = match prepared {
            Some(scaler) => scaler,
            None => cfg
                .standardize
                .then(|| Standardizer::fit_rows(view.x, train_rows)),
        };
        let mut test_x = view.x.select(Axis(0), test_rows);
        let test_y = view.y.select(Axis(0), test_rows);
        if let (Some(s), false) = (&scaler, read_prepared) {
            s.transform_in_place(test_x.view_mut());
            let d = data.n_features();
            let (x, _) = data.parts_mut()?;
            standardize_in_place(s, x, d);
        }
        let train = data.image.into_shared();
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = stamps.map(|stamps| {
            let image = ImageData {
                image: SharedView(train.clone()),
                feature_names: data.feature_names.clone(),
                target_name: data.target_name.clone(),
                problem: data.problem.clone(),
                checksum: data.checksum.clone(),
            };
            let (reader, scaler) = (reader(cfg), scaler.clone());
            let cache = dir.join(crate::sweep::DATA_CACHE_DIR);
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                // The lowest priority: the trainers come first.
                // SAFETY: setpriority on this thread's own id changes only its scheduling.
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19);
                }
                match store_prepared(image, &stamps, &reader, scaler, &cache, &cancel) {
                    Ok(()) => tracing::debug!("the data's prepared image is written"),
                    Err(_) if cancel.load(std::sync::atomic::Ordering::Relaxed) => {}
                    Err(e) => tracing::warn!("the data's image was not written: {e:#}"),
                }
            })
        });
        let writer = Writer { thread, cancel };
        tracing::debug!(phase = "split", seconds = started.elapsed().as_secs_f64());
        Ok(Split {
            n_train: train_rows.len(),
            holdout,
            test_x,
            test_y,
            scaler,
            problem: data.problem,
            names: data.feature_names,
            target: data.target_name,
            train,
            writer,
        })
    }
}

/// Standardize the rows of `x` (`d` values each) in place, on the cores this process may use.
fn standardize_in_place(s: &Standardizer, x: &mut [f64], d: usize) {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let rows = x.len() / d.max(1);
    let per = rows.div_ceil(threads).max(1) * d.max(1);
    std::thread::scope(|scope| {
        for part in x.chunks_mut(per) {
            scope.spawn(move || {
                let rows = part.len() / d.max(1);
                if let Ok(view) = ndarray::ArrayViewMut2::from_shape((rows, d), part) {
                    s.transform_in_place(view);
                }
            });
        }
    });
}
