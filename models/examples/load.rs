//! Loads one data file (or directory) into a checked dataset and prints its shape and checksum:
//! the whole-process load benchmark (`bench/load.py`).
//!
//! `cargo run --release -p models --example load -- PATH [--cache DIR]`: with `--cache`, through
//! the image cache in DIR (`Dataset::load_cached`), as a study's resume reads its data.

use std::path::PathBuf;
use std::time::Instant;

use models::{Dataset, ProblemKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (path, cache) = match args.as_slice() {
        [path] => (path, None),
        [path, flag, dir] if flag.as_os_str() == "--cache" => (path, Some(dir)),
        _ => return Err("usage: load PATH [--cache DIR]".into()),
    };
    let t = Instant::now();
    let kind = ProblemKind::Classification;
    let (d, how) = match cache {
        Some(dir) => {
            let (d, used) = Dataset::load_cached(path, None, kind, dir)?;
            (d, format!("{used:?}"))
        }
        None => (Dataset::read_path(path, None, kind)?, "parsed".to_string()),
    };
    let secs = t.elapsed().as_secs_f64();
    println!(
        "rows {} features {} classes {} {} {how} in {secs:.3} s",
        d.n_rows(),
        d.n_features(),
        d.problem.n_classes(),
        d.checksum,
    );
    Ok(())
}
