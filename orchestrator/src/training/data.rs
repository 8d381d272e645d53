//! The training data: read (or generated), split into training and held-out rows with the seed,
//! and standardized on the training rows' statistics.

use anyhow::{Result, anyhow};
use models::preprocess::Standardizer;
use models::sgd::SgdKind;
use models::{Dataset, Problem, ProblemKind};
use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::config::{DataSource, TrainConfig};
use crate::error::BadInput;

/// Training features and targets, held-out features and targets, the scaler fitted on the
/// training rows, the problem, the feature names and the target's name.
pub type Split = (
    Array2<f64>,
    Array1<f64>,
    Array2<f64>,
    Array1<f64>,
    Option<Standardizer>,
    Problem,
    Vec<String>,
    String,
);

/// Read (or generate) the data, split off the held-out rows (shuffled with the seed), and
/// standardize both on the training split's statistics.
pub fn load_split(cfg: &TrainConfig) -> Result<Split> {
    let kind = if cfg.spec.model == SgdKind::LinearRegression {
        ProblemKind::Regression
    } else {
        ProblemKind::Classification
    };
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
    let target = data.target_name.clone();
    let problem = data.problem.clone();
    drop(data);
    let scaler = cfg.standardize.then(|| Standardizer::fit(train_x.view()));
    if let Some(s) = &scaler {
        s.transform_in_place(train_x.view_mut());
        s.transform_in_place(test_x.view_mut());
    }
    Ok((
        train_x, train_y, test_x, test_y, scaler, problem, names, target,
    ))
}
