//! Times one catalogue model's whole fit on a CSV (features then the target in the last column),
//! as a sweep builds it, and scores it: the cohort side of `bench/model_speed.py`.
//!
//! `cargo run --release -p models --example model_speed -- MODEL TRAIN.csv TEST.csv REPS [NAME=VALUE ...]`
//!
//! Prints one JSON object: the fit times in seconds (one per repetition), the time to predict the
//! training rows once, and the score on the training rows and on the held-out rows: accuracy
//! (classifiers), R² (regressors) or inertia (clustering; the target column is ignored).
//! Iterative models are trained for all their report points, predicting nothing in between;
//! others are fitted once.

use std::time::Instant;

use models::{Metric, ParamValue, Params, Prediction, ProblemKind};
use ndarray::{Array1, Array2};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The rows of a CSV with a header: features, and the target in the last column.
fn read(path: &str) -> Res<(Array2<f64>, Array1<f64>)> {
    let text = std::fs::read_to_string(path)?;
    let mut cells = Vec::new();
    let mut rows = 0;
    let mut cols = 0;
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let row: Vec<f64> = line.split(',').map(str::parse).collect::<Result<_, _>>()?;
        cols = row.len();
        cells.extend(row);
        rows += 1;
    }
    let all = Array2::from_shape_vec((rows, cols), cells)?;
    let x = all.slice(ndarray::s![.., ..cols - 1]).to_owned();
    let y = all.column(cols - 1).to_owned();
    Ok((x, y))
}

/// A value as written on the command line: integer, number, bool or name.
fn value(text: &str) -> ParamValue {
    if let Ok(i) = text.parse::<i64>() {
        ParamValue::Int(i)
    } else if let Ok(f) = text.parse::<f64>() {
        ParamValue::Float(f)
    } else if let Ok(b) = text.parse::<bool>() {
        ParamValue::Bool(b)
    } else {
        ParamValue::Str(text.to_string())
    }
}

/// A fitted model of either kind, to predict with.
enum Model {
    Batch(Box<dyn models::Fitted>),
    Iterative(Box<dyn models::Learner>),
}

impl Model {
    fn predict(&self, x: ndarray::ArrayView2<'_, f64>) -> Res<Prediction> {
        Ok(match self {
            Model::Batch(f) => f.predict(x),
            Model::Iterative(l) => l.predict(x)?,
        })
    }
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, train, test, reps, rest @ ..] = args.as_slice() else {
        return Err("usage: model_speed MODEL TRAIN.csv TEST.csv REPS [NAME=VALUE ...]".into());
    };
    let reps: usize = reps.parse()?;
    let mut params = Params::new();
    for kv in rest {
        let (k, v) = kv.split_once('=').ok_or("parameters are NAME=VALUE")?;
        params.insert(k.to_string(), value(v));
    }
    let info = models::lookup(model)?;
    let (x, y) = read(train)?;
    let (xt, yt) = read(test)?;
    let (n_classes, metric) = match info.problem {
        ProblemKind::Classification => (
            y.iter().fold(0.0f64, |m, &v| m.max(v)) as usize + 1,
            Metric::Accuracy,
        ),
        ProblemKind::Regression => (0, Metric::R2),
        ProblemKind::Clustering => (0, Metric::Inertia),
    };
    let mut times = Vec::new();
    let mut fitted = None;
    for _ in 0..reps {
        let started = Instant::now();
        let f = if info.iterative {
            let est = models::build_iterative(model, &params, 0)?;
            let mut learner = est.start(x.view(), y.view(), n_classes)?;
            for _ in 0..est.epochs() {
                learner.epoch(x.view(), y.view())?;
            }
            Model::Iterative(learner)
        } else {
            Model::Batch(models::build(model, &params, 0)?.fit(x.view(), y.view())?)
        };
        times.push(started.elapsed().as_secs_f64());
        fitted = Some(f);
    }
    let fitted = fitted.ok_or("REPS must be at least 1")?;
    let started = Instant::now();
    let on_train = fitted.predict(x.view())?;
    let predict_s = started.elapsed().as_secs_f64();
    let train_score = metric.score_rows(&on_train, x.view(), y.view(), n_classes)?;
    let on_test = fitted.predict(xt.view())?;
    let score = metric.score_rows(&on_test, xt.view(), yt.view(), n_classes)?;
    println!(
        "{}",
        serde_json::json!({"model": model, "fit_s": times, "predict_s": predict_s,
                           "train_score": train_score, "score": score})
    );
    Ok(())
}
