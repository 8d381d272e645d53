//! The matrices Q of the dual problems the solver minimizes, ½αᵀQα + pᵀα, read a column at a
//! time through the kernel cache (libsvm's `SVC_Q` and `SVR_Q`).

use super::cache::Cache;
use super::kernel::KernelRows;

/// Q as the solver reads it: columns (the first `len` entries), and index swaps for shrinking.
pub(super) trait QMatrix {
    /// The diagonal, Qᵢᵢ, in the current index order.
    fn diagonal(&self) -> Vec<f64>;
    /// The first `len` entries of column `i`.
    fn column(&mut self, i: usize, len: usize) -> &[f32];
    /// The first `len` entries of columns `i` and `j` (i ≠ j), both at once.
    fn pair(&mut self, i: usize, j: usize, len: usize) -> (&[f32], &[f32]);
    /// Exchange variables `i` and `j`.
    fn swap_index(&mut self, i: usize, j: usize);
}

/// C-SVC's Q: Qᵢⱼ = yᵢyⱼK(xᵢ, xⱼ), y = ±1.
pub(super) struct SvcQ {
    rows: KernelRows,
    y: Vec<f64>,
    cache: Cache,
}

impl SvcQ {
    /// Q of `rows` labelled `y` (±1), caching columns in `cache_bytes`.
    pub fn new(rows: KernelRows, y: &[i8], cache_bytes: usize) -> SvcQ {
        let l = rows.len();
        SvcQ {
            rows,
            y: y.iter().map(|&v| f64::from(v)).collect(),
            cache: Cache::new(l, cache_bytes),
        }
    }

    fn fill(&mut self, i: usize, len: usize) {
        let (column, from) = self.cache.fetch(i, len);
        if from < len {
            let (y, yi) = (&self.y, self.y[i]);
            self.rows.column(i, from, &mut column[..len], |j| yi * y[j]);
        }
    }
}

impl QMatrix for SvcQ {
    fn diagonal(&self) -> Vec<f64> {
        (0..self.rows.len())
            .map(|i| self.rows.diagonal(i))
            .collect()
    }

    fn column(&mut self, i: usize, len: usize) -> &[f32] {
        self.fill(i, len);
        self.cache.get(i, len)
    }

    fn pair(&mut self, i: usize, j: usize, len: usize) -> (&[f32], &[f32]) {
        // The cache holds at least two columns and `i` is the most recently used when `j` is
        // fetched, so `i` stays.
        self.fill(i, len);
        self.fill(j, len);
        (self.cache.get(i, len), self.cache.get(j, len))
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.cache.swap_index(i, j);
        self.rows.swap(i, j);
        self.y.swap(i, j);
    }
}

/// ε-SVR's Q over 2n variables (αᵢ⁺ then αᵢ⁻): Qₖₘ = sₖsₘK(x_{k mod n}, x_{m mod n}), with
/// s = +1 for the first n and −1 for the rest. The cache holds whole kernel columns of the n rows,
/// which never move; the variables' order lives in `row` and `sign`.
pub(super) struct SvrQ {
    rows: KernelRows,
    cache: Cache,
    /// The training row of each variable.
    row: Vec<usize>,
    /// The sign of each variable.
    sign: Vec<f32>,
    /// The two columns handed out last.
    buffers: [Vec<f32>; 2],
    /// Which variable's column each buffer holds, and how many entries (none after a swap):
    /// a step reads again the column its working-set selection read.
    held: [Option<(usize, usize)>; 2],
}

impl SvrQ {
    /// Q of the 2n variables of `rows`, caching kernel columns in `cache_bytes`.
    pub fn new(rows: KernelRows, cache_bytes: usize) -> SvrQ {
        let n = rows.len();
        SvrQ {
            cache: Cache::new(n, cache_bytes),
            row: (0..2 * n).map(|k| k % n).collect(),
            sign: (0..2 * n).map(|k| if k < n { 1.0 } else { -1.0 }).collect(),
            buffers: [vec![0.0; 2 * n], vec![0.0; 2 * n]],
            held: [None; 2],
            rows,
        }
    }

    fn fill(&mut self, buffer: usize, i: usize, len: usize) {
        if matches!(self.held[buffer], Some((v, have)) if v == i && have >= len) {
            return;
        }
        self.held[buffer] = Some((i, len));
        let n = self.rows.len();
        let real = self.row[i];
        let (column, from) = self.cache.fetch(real, n);
        if from < n {
            self.rows.column(real, from, &mut column[..n], |_| 1.0);
        }
        let si = self.sign[i];
        let out = &mut self.buffers[buffer][..len];
        for ((o, &s), &r) in out.iter_mut().zip(&self.sign).zip(&self.row) {
            *o = si * s * column[r];
        }
    }
}

impl QMatrix for SvrQ {
    fn diagonal(&self) -> Vec<f64> {
        self.row.iter().map(|&r| self.rows.diagonal(r)).collect()
    }

    fn column(&mut self, i: usize, len: usize) -> &[f32] {
        self.fill(0, i, len);
        &self.buffers[0][..len]
    }

    fn pair(&mut self, i: usize, j: usize, len: usize) -> (&[f32], &[f32]) {
        // Buffer 0 still holds `i` when the working-set selection just read it.
        self.fill(0, i, len);
        self.fill(1, j, len);
        (&self.buffers[0][..len], &self.buffers[1][..len])
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.held = [None; 2];
        self.row.swap(i, j);
        self.sign.swap(i, j);
    }
}
