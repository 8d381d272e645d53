//! libsvm's kernel cache: columns of the kernel matrix, least recently used dropped first, under a
//! memory budget. A column may be held in part (its first `len` entries, the solver's active
//! variables while shrinking) and is extended when more is asked.

/// Columns `0..l` of an l × l matrix of f32, as libsvm's `Cache`.
#[derive(Debug)]
pub(super) struct Cache {
    /// Each column's held entries (empty: not held).
    columns: Vec<Vec<f32>>,
    /// The held columns as a doubly linked list, least recently used first; node `l` is the
    /// list's head.
    prev: Vec<usize>,
    next: Vec<usize>,
    /// Entries that may still be allocated.
    free: usize,
    /// Index swaps (lower, higher) not yet applied to the held columns' entries: a shrinking
    /// pass swaps many indices, and applying them all to one column at a time reads each column
    /// once instead of once per swap.
    pending: Vec<(usize, usize)>,
}

impl Cache {
    /// A cache of `l` columns in `budget_bytes`; never less than two whole columns, as libsvm,
    /// since a solver step reads two at once.
    pub fn new(l: usize, budget_bytes: usize) -> Cache {
        let head = l;
        Cache {
            columns: vec![Vec::new(); l],
            prev: vec![head; l + 1],
            next: vec![head; l + 1],
            free: (budget_bytes / std::mem::size_of::<f32>()).max(2 * l),
            pending: Vec::new(),
        }
    }

    fn head(&self) -> usize {
        self.columns.len()
    }

    fn unlink(&mut self, h: usize) {
        let (p, n) = (self.prev[h], self.next[h]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    /// Put `h` last: the most recently used.
    fn push_back(&mut self, h: usize) {
        let head = self.head();
        let last = self.prev[head];
        self.next[last] = h;
        self.prev[h] = last;
        self.next[h] = head;
        self.prev[head] = h;
    }

    fn drop_column(&mut self, h: usize) {
        self.unlink(h);
        self.free += self.columns[h].len();
        self.columns[h] = Vec::new();
    }

    /// Column `i` with at least `len` entries, and the first of them still to be computed
    /// (`len` when all are held). Makes it the most recently used.
    pub fn fetch(&mut self, i: usize, len: usize) -> (&mut [f32], usize) {
        self.apply_swaps();
        let held = self.columns[i].len();
        if held > 0 {
            self.unlink(i);
        }
        if len > held {
            let more = len - held;
            let head = self.head();
            while self.free < more && self.next[head] != head {
                let oldest = self.next[head];
                self.drop_column(oldest);
            }
            self.columns[i].resize(len, 0.0);
            self.free = self.free.saturating_sub(more);
        }
        self.push_back(i);
        (&mut self.columns[i][..], held.min(len))
    }

    /// The first `len` entries of column `i`, which [`Cache::fetch`] made available.
    pub fn get(&self, i: usize, len: usize) -> &[f32] {
        &self.columns[i][..len]
    }

    /// Exchange indices `i` and `j`: the columns, and the two entries within every held column
    /// (a column holding `i` but not `j` is dropped, as libsvm does). The entries are exchanged
    /// by the next [`Cache::fetch`].
    pub fn swap_index(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        for h in [i, j] {
            if !self.columns[h].is_empty() {
                self.unlink(h);
            }
        }
        self.columns.swap(i, j);
        for h in [i, j] {
            if !self.columns[h].is_empty() {
                self.push_back(h);
            }
        }
        self.pending.push((i.min(j), i.max(j)));
    }

    /// Apply the pending swaps to every held column, in order.
    fn apply_swaps(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let head = self.head();
        let mut h = self.next[head];
        while h != head {
            let next = self.next[h];
            let column = &mut self.columns[h];
            let len = column.len();
            let mut dropped = false;
            for &(lo, hi) in &self.pending {
                if len > hi {
                    column.swap(lo, hi);
                } else if len > lo {
                    dropped = true;
                    break;
                }
            }
            if dropped {
                self.drop_column(h);
            }
            h = next;
        }
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_column_is_dropped_for_a_new_one() {
        // Three columns of 4 floats: room for two (the minimum), 32 bytes.
        let mut cache = Cache::new(4, 32);
        cache.fetch(0, 4).0.fill(1.0);
        cache.fetch(1, 4).0.fill(2.0);
        assert_eq!(cache.fetch(0, 4).1, 4, "column 0 is held");
        assert_eq!(cache.fetch(2, 4).1, 0, "column 2 is new");
        assert_eq!(
            cache.fetch(0, 4).1,
            4,
            "column 0 was used more recently than 1"
        );
        assert_eq!(cache.fetch(1, 4).1, 0, "column 1 was dropped");
    }

    #[test]
    fn a_part_column_is_extended_from_where_it_ends() {
        let mut cache = Cache::new(5, 1 << 20);
        cache.fetch(3, 2).0.fill(7.0);
        let (column, from) = cache.fetch(3, 5);
        assert_eq!(from, 2);
        assert_eq!(&column[..2], &[7.0, 7.0]);
    }

    #[test]
    fn swapping_indices_swaps_columns_and_entries() {
        let mut cache = Cache::new(3, 1 << 20);
        cache.fetch(0, 3).0.copy_from_slice(&[0.0, 1.0, 2.0]);
        cache.fetch(1, 2).0.copy_from_slice(&[10.0, 11.0]);
        cache.swap_index(0, 2);
        assert_eq!(cache.fetch(2, 3), (&mut [2.0, 1.0, 0.0][..], 3));
        assert_eq!(cache.fetch(0, 1).1, 0, "nothing held for the new index 0");
        assert_eq!(
            cache.fetch(1, 2).1,
            0,
            "column 1 held index 0 but not 2: dropped"
        );
    }

    #[test]
    fn swaps_reach_the_entries_in_the_order_they_were_made() {
        let mut cache = Cache::new(4, 1 << 20);
        cache.fetch(0, 4).0.copy_from_slice(&[0.0, 1.0, 2.0, 3.0]);
        cache.swap_index(0, 3);
        cache.swap_index(1, 3);
        // The column moved 0 → 3 → 1; its entries were swapped (0, 3) then (1, 3).
        assert_eq!(cache.fetch(1, 4), (&mut [3.0, 0.0, 2.0, 1.0][..], 4));
    }
}
