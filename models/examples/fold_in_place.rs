//! Does a per-fold copy pay? Times one logistic-regression fit on a training fold read in place
//! and standardized on the fly, against the same fit on a standardized copy of the fold (the
//! copy's own cost shown apart): 5-fold CV's first fold of 1,000,000 × 32, one core.
//!
//! Run with `cargo run --release -p models --example fold_in_place`.

use std::time::Instant;

use models::logistic::LogisticRegression;
use models::preprocess::Standardizer;
use models::rows::RowSet;
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

const ROWS: usize = 1_000_000;
const COLS: usize = 32;

fn main() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
    let x = Array2::from_shape_fn((ROWS, COLS), |(_, j)| {
        let v: f64 = StandardNormal.sample(&mut rng);
        2.0 * v + j as f64
    });
    let y: Array1<f64> = x
        .rows()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            f64::from(u8::from(
                r[0] - r[1] + 0.5 * r[2] - 1.0 + (i as f64).sin() > 0.0,
            ))
        })
        .collect();
    let train: Vec<usize> = (ROWS / 5..ROWS).collect();
    let scaler = Standardizer::fit_rows(x.view(), &train);
    let set = RowSet {
        scaler: Some(&scaler),
        ..RowSet::all(x.view(), y.view(), &train)
    };
    println!("C\tin place ms\tcopy ms\tfit on copy ms\tevals");
    for c in [0.01, 1.0] {
        let model = LogisticRegression {
            c,
            max_iter: 1000,
            ..LogisticRegression::default()
        };
        let t = Instant::now();
        let a = model.fit_row_set(set).expect("fit in place");
        let in_place = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let (cx, cy) = (set.gather_x(), set.gather_y());
        let copy = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let b = model.fit_model(cx.view(), cy.view()).expect("fit on copy");
        let on_copy = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(a.coef, b.coef, "the two fits must be the same to the bit");
        println!("{c}\t{in_place:.0}\t{copy:.0}\t{on_copy:.0}\t{}", a.n_evals);
    }
}
