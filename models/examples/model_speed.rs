//! Times one catalogue model's whole fit on a CSV (features then the target in the last column),
//! as a sweep builds it, and scores it on a second CSV: the cohort side of
//! `bench/model_speed.py`.
//!
//! `cargo run --release -p models --example model_speed -- MODEL TRAIN.csv TEST.csv REPS [NAME=VALUE ...]`
//!
//! Prints one JSON object: the fit times in seconds (one per repetition) and the held-out
//! accuracy (classifiers) or R² (regressors). Iterative models are trained for all their report
//! points, predicting nothing in between; others are fitted once.

use std::time::Instant;

use models::{ParamValue, Params, Prediction, ProblemKind};
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
    let n_classes = match info.problem {
        ProblemKind::Classification => y.iter().fold(0.0f64, |m, &v| m.max(v)) as usize + 1,
        ProblemKind::Regression | ProblemKind::Clustering => 0,
    };
    let mut times = Vec::new();
    let mut prediction = None;
    for _ in 0..reps {
        let started = Instant::now();
        let p = if info.iterative {
            let est = models::build_iterative(model, &params, 0)?;
            let mut learner = est.start(x.view(), y.view(), n_classes)?;
            for _ in 0..est.epochs() {
                learner.epoch(x.view(), y.view())?;
            }
            let fit = started.elapsed();
            times.push(fit.as_secs_f64());
            learner.predict(xt.view())?
        } else {
            let fitted = models::build(model, &params, 0)?.fit(x.view(), y.view())?;
            times.push(started.elapsed().as_secs_f64());
            fitted.predict(xt.view())
        };
        prediction = Some(p);
    }
    let score = match prediction {
        Some(Prediction::Classes { class, .. }) => {
            class
                .iter()
                .zip(&yt)
                .filter(|(c, t)| **c as f64 == **t)
                .count() as f64
                / yt.len() as f64
        }
        Some(Prediction::Values(v)) => {
            let mean = yt.mean().unwrap_or(0.0);
            let res: f64 = v.iter().zip(&yt).map(|(p, t)| (t - p).powi(2)).sum();
            let tot: f64 = yt.iter().map(|t| (t - mean).powi(2)).sum();
            1.0 - res / tot
        }
        // Clusters have no truth to score against (fit_speed measures k-means).
        Some(Prediction::Clusters { .. }) | None => f64::NAN,
    };
    println!(
        "{}",
        serde_json::json!({"model": model, "fit_s": times, "score": score})
    );
    Ok(())
}
