//! The training data: read (or generated) straight into shared memory, split into training and
//! held-out rows with the seed, and standardized in place on the training rows' statistics.
//!
//! The image in shared memory is the one copy of the data: every row stays where it was read
//! (the split is the seed and a count, [`Holdout`]; the trainers read their shard's rows in
//! place), the held-out rows are copied out for evaluation, and standardization overwrites the
//! values. A run's directory keeps the data's image (`cache/`), so a continued run reads that
//! instead of parsing.

use std::path::Path;

use anyhow::{Result, anyhow};
use ipc_channel::ipc::IpcSharedMemory;
use models::preprocess::Standardizer;
use models::sgd::SgdKind;
use models::{Dataset, Holdout, ImageData, Problem, ProblemKind, SourceStamps};
use ndarray::{Array1, Array2, Axis};

use super::config::{DataSource, TrainConfig};
use crate::error::BadInput;
use crate::shared_data::SharedImage;

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
}

/// The data read, not yet split.
pub struct Loaded {
    /// The dataset's image in shared memory.
    pub data: ImageData<SharedImage>,
    /// The source's stamps when it was parsed for a run whose directory does not exist yet:
    /// the image is stored once the directory does ([`Loaded::store`]).
    stamps: Option<SourceStamps>,
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
        DataSource::Csv(p) => match cache {
            Some(cache) => {
                let (data, used) =
                    Dataset::load_cached_image(p, target, kind, cache, &mut SharedImage::new)
                        .map_err(BadInput::new)?;
                crate::sweep::log_cache_use(p, &used);
                (data, None)
            }
            None => {
                // Taken before the parse: stamps taken after could belong to a newer file.
                let stamps = SourceStamps::of(p).ok();
                let data = Dataset::read_path_image(p, target, kind, &mut SharedImage::new)
                    .map_err(BadInput::new)?;
                tracing::info!(data = %p.display(), "data parsed (a new run)");
                (data, stamps)
            }
        },
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
    Ok(Loaded { data, stamps })
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
    /// statistics. A new run's image is written into `dir`'s cache first, beside the fit of
    /// the statistics (both only read the data).
    pub fn split(self, cfg: &TrainConfig, holdout: Holdout, dir: &Path) -> Result<Split> {
        let started = std::time::Instant::now();
        let Loaded { mut data, stamps } = self;
        let n = data.n_rows();
        let order = holdout.order(n);
        let (test_rows, train_rows) = order.split_at(holdout.held_out);
        let view = data.view()?;
        let cache = dir.join(crate::sweep::DATA_CACHE_DIR);
        let (kind, target) = (kind(cfg), cfg.target.as_deref());
        let (scaler, mut test_x, test_y) = std::thread::scope(|s| {
            let data = &data;
            let stored = stamps.as_ref().map(|stamps| {
                s.spawn(move || {
                    if let Err(e) = data.store_cached(stamps, target, kind, &cache) {
                        tracing::warn!("the data's image was not written: {e}");
                    }
                })
            });
            let scaler = cfg
                .standardize
                .then(|| Standardizer::fit_rows(view.x, train_rows));
            let test_x = view.x.select(Axis(0), test_rows);
            let test_y = view.y.select(Axis(0), test_rows);
            if let Some(h) = stored {
                h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            }
            (scaler, test_x, test_y)
        });
        if let Some(s) = &scaler {
            s.transform_in_place(test_x.view_mut());
            let d = data.n_features();
            let (x, _) = data.parts_mut()?;
            standardize_in_place(s, x, d);
        }
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
            train: data.image.into_shared(),
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
