//! The training data: read (or generated), split into training and held-out rows with the seed,
//! and standardized on the training rows' statistics.

use anyhow::{Result, anyhow};
use ipc_channel::ipc::IpcSharedMemory;
use models::dataset::{image_len, image_parts_mut};
use models::preprocess::Standardizer;
use models::sgd::SgdKind;
use models::{Dataset, Problem, ProblemKind};
use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::config::{DataSource, TrainConfig};
use crate::error::BadInput;

/// The data of a training run, split.
pub struct Split {
    /// The training rows, shuffled and standardized, as a dataset image in shared memory.
    pub train: IpcSharedMemory,
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

/// Read (or generate) the data, split off the held-out rows (shuffled with the seed), and
/// standardize both on the training split's statistics.
pub fn load_split(cfg: &TrainConfig) -> Result<Split> {
    let kind = if cfg.spec.model == SgdKind::LinearRegression {
        ProblemKind::Regression
    } else {
        ProblemKind::Classification
    };
    let started = std::time::Instant::now();
    let data = match &cfg.source {
        DataSource::Csv(p) => {
            Dataset::read_path(p, cfg.target.as_deref(), kind).map_err(BadInput::new)?
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
    tracing::debug!(phase = "read", seconds = started.elapsed().as_secs_f64());
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
    let scaler = cfg
        .standardize
        .then(|| Standardizer::fit_rows(data.x.view(), train_rows));
    let train = shared_image(&data, train_rows, scaler.as_ref())?;
    let mut test_x = data.x.select(Axis(0), test_rows);
    let test_y = data.y.select(Axis(0), test_rows);
    if let Some(s) = &scaler {
        s.transform_in_place(test_x.view_mut());
    }
    tracing::debug!(phase = "split", seconds = started.elapsed().as_secs_f64());
    Ok(Split {
        train,
        n_train: train_rows.len(),
        test_x,
        test_y,
        scaler,
        problem: data.problem,
        names: data.feature_names,
        target: data.target_name,
    })
}

/// The training rows, in the shuffled order (contiguous shards are then random subsets) and
/// standardized, written straight into shared memory: no copy of the training split is made
/// on the way (selecting, standardizing and imaging it used to cost three).
fn shared_image(
    data: &Dataset,
    rows: &[usize],
    scaler: Option<&Standardizer>,
) -> Result<IpcSharedMemory> {
    let d = data.n_features();
    let mut shm = IpcSharedMemory::from_byte(0, image_len(rows.len(), d));
    // SAFETY: `shm` was created just above and is neither cloned nor sent yet: this is the only
    // reader or writer of its bytes (ipc-channel's condition for `deref_mut`).
    let bytes = unsafe { shm.deref_mut() };
    let (xs, ys) = image_parts_mut(bytes, rows.len(), d)?;
    models::preprocess::gather_rows(data.x.view(), data.y.view(), rows, scaler, xs, ys);
    Ok(shm)
}
