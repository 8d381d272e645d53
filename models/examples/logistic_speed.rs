//! Times our logistic-regression fit against linfa-logistic on 40,000 × 20 standardized
//! features (binary and 3-class), one core, for C in {0.001 … 100}.
//!
//! Run with `cargo run --release -p models --example logistic_speed [-- --csv DIR]`; with
//! `--csv DIR` the two datasets are also written there (for a scikit-learn cross-check).

use std::io::Write;
use std::time::Instant;

use linfa::prelude::*;
use linfa_logistic::{LogisticRegression as LinfaBinary, MultiLogisticRegression as LinfaMulti};
use models::logistic::LogisticRegression;
use models::preprocess::Standardizer;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

const ROWS: usize = 40_000;
const COLS: usize = 20;
const CS: [f64; 6] = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0];

/// Gaussian features; the class comes from a noisy linear score on the first five.
fn dataset(n_classes: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((ROWS, COLS), |(_, j)| {
        let v: f64 = StandardNormal.sample(&mut rng);
        3.0 * v + j as f64 // not standardized yet
    });
    let weights: Vec<Vec<f64>> = (0..n_classes)
        .map(|_| (0..5).map(|_| rng.gen_range(-1.0..1.0)).collect())
        .collect();
    let y = x
        .rows()
        .into_iter()
        .map(|row| {
            let scores: Vec<f64> = weights
                .iter()
                .map(|w| {
                    let noise: f64 = StandardNormal.sample(&mut rng);
                    w.iter()
                        .enumerate()
                        .map(|(j, wj)| wj * (row[j] - j as f64) / 3.0)
                        .sum::<f64>()
                        + 0.8 * noise
                })
                .collect();
            let best = (0..n_classes).fold(0, |b, c| if scores[c] > scores[b] { c } else { b });
            best as f64
        })
        .collect();
    let x = Standardizer::fit(x.view()).transform(x.view());
    (x, y)
}

fn accuracy(pred: impl Iterator<Item = usize>, y: &Array1<f64>) -> f64 {
    pred.zip(y).filter(|(p, t)| *p as f64 == **t).count() as f64 / y.len() as f64
}

fn write_csv(path: &std::path::Path, x: &Array2<f64>, y: &Array1<f64>) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header: Vec<String> = (0..COLS)
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let csv_dir = args
        .iter()
        .position(|a| a == "--csv")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    let skip_linfa = args.iter().any(|a| a == "--no-linfa");
    for n_classes in [2, 3] {
        let (x, y) = dataset(n_classes, 42 + n_classes as u64);
        if let Some(dir) = &csv_dir {
            write_csv(&dir.join(format!("logistic_{n_classes}class.csv")), &x, &y)?;
        }
        println!("{ROWS}×{COLS}, {n_classes} classes");
        println!(
            "{:>8} | {:>9} {:>5} {:>5} {:>8} | {:>10} {:>8}",
            "C", "ours ms", "iters", "evals", "accuracy", "linfa ms", "accuracy"
        );
        for c in CS {
            let model = LogisticRegression {
                c,
                ..LogisticRegression::default()
            };
            let mut times = Vec::new();
            let mut fitted = None;
            for _ in 0..7 {
                let t = Instant::now();
                let m = model.fit_model(x.view(), y.view())?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
                fitted = Some(m);
            }
            times.sort_by(f64::total_cmp);
            let m = fitted.ok_or("no fit")?;
            let ours_acc = {
                let proba = m.predict_proba(x.view());
                accuracy(
                    proba
                        .rows()
                        .into_iter()
                        .map(|r| (0..r.len()).fold(0, |b, k| if r[k] > r[b] { k } else { b })),
                    &y,
                )
            };
            let (linfa_ms, linfa_acc) = if skip_linfa {
                (f64::NAN, f64::NAN)
            } else {
                let labels: Array1<usize> = y.mapv(|v| v as usize);
                let data = Dataset::new(x.clone(), labels);
                let t = Instant::now();
                if n_classes == 2 {
                    let fit = LinfaBinary::default()
                        .alpha(1.0 / c)
                        .max_iterations(100)
                        .fit(&data)?;
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    (ms, accuracy(fit.predict(&x).iter().copied(), &y))
                } else {
                    let fit = LinfaMulti::default()
                        .alpha(1.0 / c)
                        .max_iterations(100)
                        .fit(&data)?;
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    (ms, accuracy(fit.predict(&x).iter().copied(), &y))
                }
            };
            println!(
                "{c:>8} | {:>9.2} {:>5} {:>5} {:>8.4} | {:>10.1} {:>8.4}",
                times[times.len() / 2],
                m.n_iter,
                m.n_evals,
                ours_acc,
                linfa_ms,
                linfa_acc
            );
        }
    }
    println!("(ours: median of 7 fits; linfa: one fit, alpha = 1/C, max 100 iterations)");
    Ok(())
}
