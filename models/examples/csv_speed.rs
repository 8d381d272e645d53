//! Times `Dataset::read_csv` on a generated 50,000 × 21 CSV of full-precision floats (~20 MB).
//!
//! Run with `cargo run --release -p models --example csv_speed`.

use std::io::Write;
use std::time::Instant;

use models::{Dataset, ProblemKind};
use rand::{Rng, SeedableRng};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (rows, cols) = (50_000, 20);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut file = tempfile::NamedTempFile::new()?;
    {
        let mut w = std::io::BufWriter::new(file.as_file_mut());
        let header: Vec<String> = (0..cols)
            .map(|j| format!("x{j}"))
            .chain(["y".to_string()])
            .collect();
        writeln!(w, "{}", header.join(","))?;
        for _ in 0..rows {
            for _ in 0..cols {
                write!(w, "{},", rng.r#gen::<f64>() * 4.0 - 2.0)?;
            }
            writeln!(w, "{}", rng.gen_range(0..3))?;
        }
    }
    let size = std::fs::metadata(file.path())?.len();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        let d = Dataset::read_csv(file.path(), None, ProblemKind::Classification)?;
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(d.n_rows(), rows);
    }
    println!(
        "read_csv: {:.1} MB, {rows}×{} in {:.1} ms (best of 5)",
        size as f64 / 1e6,
        cols + 1,
        best * 1e3
    );
    Ok(())
}
