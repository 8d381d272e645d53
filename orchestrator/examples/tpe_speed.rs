//! The cost of one TPE suggestion with 4 parameters after 100, 1,000 and 5,000 told trials.
//!
//! `cargo run --release -p orchestrator --example tpe_speed` prints one tab-separated line per
//! mode and history size: `mode  told  us_per_suggestion` (the median over 25 batches of 4);
//! an argument `univariate` or `multivariate` runs that mode only.

use std::collections::BTreeMap;
use std::time::Instant;

use models::{Direction, ParamValue};
use orchestrator::store::TrialState;
use orchestrator::sweep::sampler::{Sampler, TpeOptions, TpeSampler, TrialResult};
use orchestrator::sweep::space::{Distribution, Space};

/// A learning rate (log-uniform), a dropout (uniform), a layer count (int) and an activation.
fn space() -> Space {
    Space(BTreeMap::from([
        (
            "lr".to_string(),
            Distribution::Float {
                low: 1e-5,
                high: 1.0,
                log: true,
                points: None,
            },
        ),
        (
            "dropout".to_string(),
            Distribution::Float {
                low: 0.0,
                high: 0.5,
                log: false,
                points: None,
            },
        ),
        (
            "layers".to_string(),
            Distribution::Int {
                low: 1,
                high: 8,
                step: 1,
                log: false,
            },
        ),
        (
            "activation".to_string(),
            Distribution::Categorical(
                ["relu", "tanh", "gelu"]
                    .map(|s| ParamValue::Str(s.to_string()))
                    .to_vec(),
            ),
        ),
    ]))
}

/// A smooth objective with its minimum at lr 1e-2, dropout 0.1, 3 layers, gelu.
fn objective(p: &models::Params) -> f64 {
    let num = |k: &str| match p.get(k) {
        Some(ParamValue::Float(x)) => *x,
        Some(ParamValue::Int(i)) => *i as f64,
        _ => 0.0,
    };
    let act = match p.get("activation") {
        Some(ParamValue::Str(s)) if s == "gelu" => 0.0,
        _ => 0.3,
    };
    (num("lr").log10() + 2.0).powi(2)
        + (num("dropout") - 0.1).powi(2) * 10.0
        + (num("layers") - 3.0).powi(2) * 0.1
        + act
}

/// Median microseconds per suggestion over 25 batches asked after `told` results.
fn measure(told: u64, multivariate: bool) -> f64 {
    let opts = TpeOptions {
        multivariate,
        ..TpeOptions::default()
    };
    let batches = 25;
    let total = told + batches * opts.batch;
    let mut s = TpeSampler::new(space(), 7, total, Direction::Minimize, opts);
    let tell = |s: &mut TpeSampler, n: u64, p: models::Params| {
        let value = objective(&p);
        s.tell(&TrialResult {
            trial: n,
            params: p,
            state: TrialState::Complete,
            value: Some(value),
            intermediate: Vec::new(),
        });
    };
    // The history: asked and told a batch at a time, as the queue does.
    for n in 0..told {
        let p = s.ask(n).unwrap_or_default();
        tell(&mut s, n, p);
    }
    let mut per: Vec<f64> = Vec::new();
    for b in 0..batches {
        let first = told + b * opts.batch;
        let start = Instant::now();
        let ps: Vec<_> = (first..first + opts.batch)
            .map(|n| s.ask(n).unwrap_or_default())
            .collect();
        per.push(start.elapsed().as_secs_f64() * 1e6 / opts.batch as f64);
        for (i, p) in ps.into_iter().enumerate() {
            tell(&mut s, first + i as u64, p);
        }
    }
    per.sort_by(f64::total_cmp);
    per[per.len() / 2]
}

fn main() {
    // An optional argument picks one mode: `univariate` or `multivariate`.
    let only = std::env::args().nth(1);
    println!("mode\ttold\tus_per_suggestion");
    for multivariate in [false, true] {
        let mode = if multivariate {
            "multivariate"
        } else {
            "univariate"
        };
        if only.as_deref().is_some_and(|m| m != mode) {
            continue;
        }
        for told in [100, 1_000, 5_000] {
            println!("{mode}\t{told}\t{:.1}", measure(told, multivariate));
        }
    }
}
