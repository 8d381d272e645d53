//! Times one catalogue model's fit (and prediction) on a CSV file: the Rust side of
//! bench/model_speed_linfa.py.
//!
//! `cargo run --release -p models --example fit_speed -- MODEL PARAMS_JSON DATA.csv
//! classification|regression|clustering REPEATS [EPOCHS]` prints one JSON line: every fit's
//! seconds, the prediction's seconds on the same rows, and the training score (accuracy, R² or
//! inertia). An iterative model (ftrl) is timed over `EPOCHS` epochs (default: its `epochs`).

use std::time::Instant;

use models::{Dataset, Metric, Params, ProblemKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, params, data, kind, repeats, ..] = &args[..] else {
        return Err("usage: fit_speed MODEL PARAMS_JSON DATA.csv KIND REPEATS".into());
    };
    let params: Params = serde_json::from_str(params)?;
    let kind = match kind.as_str() {
        "classification" => ProblemKind::Classification,
        "regression" => ProblemKind::Regression,
        "clustering" => ProblemKind::Clustering,
        other => return Err(format!("unknown kind {other}").into()),
    };
    let repeats: usize = repeats.parse()?;
    let data = Dataset::read_csv(std::path::Path::new(data), None, kind)?;
    let (x, y) = (data.x.view(), data.y.view());
    let info = models::lookup(model)?;
    let mut fits = Vec::with_capacity(repeats);
    let mut prediction = None;
    let mut predict_s = 0.0;
    for _ in 0..repeats {
        if info.iterative {
            let est = models::build_iterative(model, &params, 0)?;
            let t = Instant::now();
            let mut learner = est.start(x, y, data.problem.n_classes())?;
            for _ in 0..est.epochs() {
                learner.epoch(x, y)?;
            }
            fits.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            prediction = Some(learner.predict(x)?);
            predict_s = t.elapsed().as_secs_f64();
        } else {
            let est = models::build(model, &params, 0)?;
            let t = Instant::now();
            let fitted = est.fit(x, y)?;
            fits.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            prediction = Some(fitted.predict(x));
            predict_s = t.elapsed().as_secs_f64();
        }
    }
    let metric = match kind {
        ProblemKind::Classification => Metric::Accuracy,
        ProblemKind::Regression => Metric::R2,
        ProblemKind::Clustering => Metric::Inertia,
    };
    let score = match &prediction {
        Some(p) => metric.score_rows(p, x, y, data.problem.n_classes())?,
        None => f64::NAN,
    };
    println!(
        "{}",
        serde_json::json!({ "fit_s": fits, "predict_s": predict_s, "train_score": score })
    );
    Ok(())
}
