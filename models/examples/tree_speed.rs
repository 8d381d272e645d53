//! Times our decision tree against linfa-trees on 40,000 × 20 (binary, continuous features
//! from `make_classification`), one core, at depths 3, 10 and unlimited; prints the fit times
//! and the accuracies on 10,000 held-out rows of the same problem.
//!
//! Run with `cargo run --release -p models --example tree_speed [-- --no-linfa] [--csv DIR]`:
//! `--no-linfa` skips linfa (its unlimited fit takes seconds); with `--csv DIR` the training
//! and held-out rows are written to DIR/tree_train.csv and DIR/tree_test.csv (for a
//! scikit-learn cross-check).

use std::io::Write;
use std::time::{Duration, Instant};

use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality};
use models::{ParamValue, Params, Prediction};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, s};

const TRAIN: usize = 40_000;
const TEST: usize = 10_000;
const COLS: usize = 20;
const DEPTHS: [Option<usize>; 3] = [Some(3), Some(10), None];
/// Fits of ours per setting (the fastest is reported: least disturbed by the shared machine).
const REPEATS: usize = 5;

fn accuracy(pred: impl Iterator<Item = usize>, y: ArrayView1<'_, f64>) -> f64 {
    pred.zip(y).filter(|(p, t)| *p as f64 == **t).count() as f64 / y.len() as f64
}

fn write_csv(
    path: &std::path::Path,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header: Vec<String> = (0..x.ncols())
        .map(|j| format!("x{j}"))
        .chain(["y".into()])
        .collect();
    writeln!(w, "{}", header.join(","))?;
    for (row, t) in x.rows().into_iter().zip(y) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        writeln!(w, "{},{}", cells.join(","), *t as usize)?;
    }
    Ok(())
}

/// Our tree, through the catalogue as a sweep builds it.
fn ours(
    depth: Option<usize>,
    criterion: &str,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    xt: ArrayView2<'_, f64>,
    yt: ArrayView1<'_, f64>,
) -> Result<(Duration, f64, f64), Box<dyn std::error::Error>> {
    let mut params = Params::new();
    if let Some(d) = depth {
        params.insert("max_depth".into(), ParamValue::Int(d as i64));
    }
    params.insert("criterion".into(), ParamValue::Str(criterion.into()));
    let estimator = models::build("decision_tree", &params, 0)?;
    let mut best = Duration::MAX;
    let mut fitted = None;
    for _ in 0..REPEATS {
        let t = Instant::now();
        let f = estimator.fit(x, y)?;
        best = best.min(t.elapsed());
        fitted = Some(f);
    }
    let fitted = fitted.ok_or("no fit")?;
    let score = |x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>| match fitted.predict(x) {
        Prediction::Classes { class, .. } => accuracy(class.into_iter(), y),
        Prediction::Values(_) | Prediction::Clusters { .. } => f64::NAN,
    };
    Ok((best, score(x, y), score(xt, yt)))
}

/// linfa-trees with the same settings (its smallest accepted `min_impurity_decrease`).
fn linfa(
    depth: Option<usize>,
    criterion: &str,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    xt: ArrayView2<'_, f64>,
    yt: ArrayView1<'_, f64>,
) -> Result<(Duration, f64, f64), Box<dyn std::error::Error>> {
    let data = DatasetBase::new(x, y.mapv(|v| v as usize));
    let params = DecisionTree::<f64, usize>::params()
        .split_quality(if criterion == "entropy" {
            SplitQuality::Entropy
        } else {
            SplitQuality::Gini
        })
        .max_depth(depth)
        .min_weight_split(2.0)
        .min_weight_leaf(1.0)
        .min_impurity_decrease(f64::EPSILON);
    let t = Instant::now();
    let tree = params.fit(&data)?;
    let elapsed = t.elapsed();
    let train: Array1<usize> = tree.predict(&x);
    let test: Array1<usize> = tree.predict(&xt);
    Ok((
        elapsed,
        accuracy(train.into_iter(), y),
        accuracy(test.into_iter(), yt),
    ))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let skip_linfa = args.iter().any(|a| a == "--no-linfa");
    let csv_dir = args
        .iter()
        .position(|a| a == "--csv")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);

    let (x_all, y_all): (Array2<f64>, Array1<f64>) =
        models::synth::make_classification(TRAIN + TEST, COLS, 10, 2, 7)?;
    let (x, y) = (x_all.slice(s![..TRAIN, ..]), y_all.slice(s![..TRAIN]));
    let (xt, yt) = (x_all.slice(s![TRAIN.., ..]), y_all.slice(s![TRAIN..]));
    if let Some(dir) = &csv_dir {
        std::fs::create_dir_all(dir)?;
        write_csv(&dir.join("tree_train.csv"), x, y)?;
        write_csv(&dir.join("tree_test.csv"), xt, yt)?;
        println!("wrote {}/tree_train.csv and tree_test.csv", dir.display());
    }

    println!(
        "decision tree, {TRAIN} x {COLS} binary (make_classification, 10 informative), one core; \
         ours: fastest of {REPEATS} fits"
    );
    println!(
        "{:<9} {:<8} {:>11} {:>10} {:>9} {:>11} {:>10} {:>9}",
        "criterion",
        "depth",
        "ours (ms)",
        "train acc",
        "test acc",
        "linfa (ms)",
        "train acc",
        "test acc"
    );
    for criterion in ["gini", "entropy"] {
        for depth in DEPTHS {
            let label = depth.map_or("unlimited".to_string(), |d| d.to_string());
            let (t, train, test) = ours(depth, criterion, x, y, xt, yt)?;
            print!(
                "{criterion:<9} {label:<8} {:>11.1} {train:>10.4} {test:>9.4}",
                t.as_secs_f64() * 1e3
            );
            if skip_linfa {
                println!();
            } else {
                let (t, train, test) = linfa(depth, criterion, x, y, xt, yt)?;
                println!(" {:>11.1} {train:>10.4} {test:>9.4}", t.as_secs_f64() * 1e3);
            }
        }
    }
    Ok(())
}
