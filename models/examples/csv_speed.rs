//! Times `Dataset::read_csv` on a generated CSV of full-precision floats and reports MB/s.
//!
//! `cargo run --release -p models --example csv_speed [ROWS [COLUMNS [PATH]]]`: ROWS × COLUMNS
//! counts the target column (default 50,000 × 21, ~20 MB). With PATH the file is written there
//! once and reused on later runs (large files take a while to generate); without it, a temporary
//! file is used and removed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use models::{Dataset, ProblemKind};
use rand::{Rng, SeedableRng};

/// Write `rows` rows of `features` random features and a 3-class label to `path`.
fn generate(path: &Path, rows: usize, features: usize) -> std::io::Result<()> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header: Vec<String> = (0..features)
        .map(|j| format!("x{j}"))
        .chain(["y".to_string()])
        .collect();
    writeln!(w, "{}", header.join(","))?;
    for _ in 0..rows {
        for _ in 0..features {
            write!(w, "{},", rng.r#gen::<f64>() * 4.0 - 2.0)?;
        }
        writeln!(w, "{}", rng.gen_range(0..3))?;
    }
    w.flush()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: usize = args.first().map_or(Ok(50_000), |a| a.parse())?;
    let cols: usize = args.get(1).map_or(Ok(21), |a| a.parse())?;
    if cols < 2 {
        return Err("COLUMNS counts the target: at least 2".into());
    }
    let temp = tempfile::TempDir::new()?;
    let path: PathBuf = match args.get(2) {
        Some(p) => PathBuf::from(p),
        None => temp.path().join("data.csv"),
    };
    if !path.exists() {
        generate(&path, rows, cols - 1)?;
    }
    let size = std::fs::metadata(&path)?.len() as f64;
    let runs = if size > 1e8 { 3 } else { 5 };
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        let d = Dataset::read_csv(&path, None, ProblemKind::Classification)?;
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!((d.n_rows(), d.n_features() + 1), (rows, cols));
    }
    println!(
        "read_csv: {:.1} MB, {rows}×{cols} in {:.1} ms (best of {runs}), {:.0} MB/s",
        size / 1e6,
        best * 1e3,
        size / 1e6 / best
    );
    Ok(())
}
