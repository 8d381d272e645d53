//! Predictions of an ensemble that grows one stage (a tree, a boosting round) at a time.
//!
//! A sweep scores an iterative model on the same test rows after every report point. Predicting
//! with the whole ensemble each time would cost O(stages²) tree walks over a training; instead the
//! per-row sums of the stages seen so far are kept with a copy of the rows they were computed
//! for, and only the new stages are added. Any other rows start the sums afresh, so the cache is
//! never wrong, only sometimes cold.

use std::cell::RefCell;

use ndarray::{Array2, ArrayView2};

/// The rows some sums are for, the sums (rows × outputs), and how many stages they cover.
type Cached = (Array2<f64>, Array2<f64>, usize);

/// Per-row sums of an ensemble's first `stages` stages on one set of rows.
#[derive(Debug, Default)]
pub(crate) struct StagedSums {
    /// The cached sums, if any.
    state: RefCell<Option<Cached>>,
}

impl StagedSums {
    /// The sums over stages `0..stages` for rows `x` (`outputs` columns), adding stage `s` to
    /// row `i`'s sums with `add(s, i, row sums)` for the stages not yet summed.
    pub(crate) fn sums(
        &self,
        x: ArrayView2<'_, f64>,
        outputs: usize,
        stages: usize,
        init: impl Fn(&mut [f64]),
        mut add: impl FnMut(usize, ndarray::ArrayView1<'_, f64>, &mut [f64]),
    ) -> Array2<f64> {
        let mut state = self.state.borrow_mut();
        let fresh = match state.as_ref() {
            Some((rows, sums, done)) => {
                rows.view() != x || sums.ncols() != outputs || *done > stages
            }
            None => true,
        };
        if fresh {
            let mut sums = Array2::zeros((x.nrows(), outputs));
            for mut row in sums.rows_mut() {
                if let Some(r) = row.as_slice_mut() {
                    init(r);
                }
            }
            *state = Some((x.to_owned(), sums, 0));
        }
        let Some((_, sums, done)) = state.as_mut() else {
            return Array2::zeros((x.nrows(), outputs));
        };
        for s in *done..stages {
            for (i, mut row) in sums.rows_mut().into_iter().enumerate() {
                if let Some(r) = row.as_slice_mut() {
                    add(s, x.row(i), r);
                }
            }
        }
        *done = stages;
        sums.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn only_new_stages_are_added_and_other_rows_start_afresh() {
        let staged = StagedSums::default();
        let x = array![[1.0], [2.0]];
        let calls = std::cell::Cell::new(0);
        let add = |s: usize, row: ndarray::ArrayView1<'_, f64>, out: &mut [f64]| {
            calls.set(calls.get() + 1);
            out[0] += row[0] * (s + 1) as f64;
        };
        assert_eq!(
            staged.sums(x.view(), 1, 2, |_| {}, add),
            array![[3.0], [6.0]]
        );
        assert_eq!(calls.get(), 4);
        assert_eq!(
            staged.sums(x.view(), 1, 3, |_| {}, add),
            array![[6.0], [12.0]]
        );
        assert_eq!(calls.get(), 6);
        let other = array![[1.0], [5.0]];
        assert_eq!(
            staged.sums(other.view(), 1, 1, |o| o[0] = 10.0, add),
            array![[11.0], [15.0]]
        );
        assert_eq!(calls.get(), 8);
    }
}
