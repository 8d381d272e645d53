//! Our k-d tree for the `kd_tree` search, as scikit-learn's `KDTree`: each node splits its rows at
//! the median of its widest feature, keeps its bounding box, and a query walks the tree depth
//! first, the nearer child first, skipping every node whose box is farther than the k-th
//! neighbour found so far. linfa-nn's k-d tree (the `kdtree` crate) allocates its candidate heaps
//! per query and measures distances through generic ndarray views: predicting the 20,000 rows of
//! 8 features of bench/model_speed_linfa.py's `knn_regressor` took it 0.59 s, this tree 0.36 s,
//! scikit-learn's 0.85 s (one core each, the same machine and hour).
//!
//! Distances are compared in a reduced form (squared for L2) and ties are broken by the lower
//! training row, so the neighbours are exactly the first k of all rows sorted by (distance,
//! row): [`KdTree::brute`] computes that list by sorting, and the tests check the two agree.

use super::DistanceKind;

/// A node: its rows are `order[start..end]`; its children's ids are 0 for a leaf (the root is
/// node 0, so no node has it as a child).
#[derive(Debug, Clone, Copy)]
struct Node {
    start: usize,
    end: usize,
    left: usize,
    right: usize,
}

/// A k-d tree over borrowed row-major rows.
pub(super) struct KdTree {
    d: usize,
    metric: DistanceKind,
    /// Training row indices, each node's rows contiguous.
    order: Vec<usize>,
    /// The rows in `order`'s order, so a leaf's rows are read in sequence.
    points: Vec<f64>,
    nodes: Vec<Node>,
    /// Per node, the smallest then the largest value of each feature (2·d values).
    bounds: Vec<f64>,
}

impl DistanceKind {
    /// The distance in the form the search compares (L2 squared), summed feature by feature
    /// in order (as [`DistanceKind::between`]).
    #[inline(always)]
    fn reduced(self, a: &[f64], b: &[f64]) -> f64 {
        let diffs = a.iter().zip(b).map(|(x, y)| (x - y).abs());
        match self {
            DistanceKind::Euclidean => diffs.map(|d| d * d).sum(),
            DistanceKind::Manhattan => diffs.sum(),
            DistanceKind::Chebyshev => diffs.fold(0.0, f64::max),
        }
    }

    /// The distance from its reduced form.
    fn full(self, reduced: f64) -> f64 {
        match self {
            DistanceKind::Euclidean => reduced.sqrt(),
            DistanceKind::Manhattan | DistanceKind::Chebyshev => reduced,
        }
    }

    /// A lower bound of the reduced distance from `q` to any row inside the box (`lo`, `hi`):
    /// per feature the gap to the box is at most the gap to the row (rounding is monotonic),
    /// so the bound never exceeds a row's reduced distance as computed by [`Self::reduced`].
    #[inline(always)]
    fn to_box(self, q: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
        let gaps = q
            .iter()
            .zip(lo.iter().zip(hi))
            .map(|(&v, (&l, &h))| (l - v).max(v - h).max(0.0));
        match self {
            DistanceKind::Euclidean => gaps.map(|g| g * g).sum(),
            DistanceKind::Manhattan => gaps.sum(),
            DistanceKind::Chebyshev => gaps.fold(0.0, f64::max),
        }
    }
}

/// The k best (reduced distance, row) so far, in ascending order.
struct Best {
    k: usize,
    found: Vec<(f64, usize)>,
}

impl Best {
    /// Whether a node whose rows are at least `bound` away can still hold a neighbour (one at
    /// exactly the k-th distance can, with a lower row).
    #[inline(always)]
    fn reaches(&self, bound: f64) -> bool {
        self.found.len() < self.k || bound <= self.found[self.k - 1].0
    }

    /// Offer a row at reduced distance `dist`.
    #[inline(always)]
    fn offer(&mut self, dist: f64, row: usize) {
        if self.found.len() == self.k {
            if (dist, row) >= self.found[self.k - 1] {
                return;
            }
            self.found.pop();
        }
        let at = self.found.partition_point(|&e| e < (dist, row));
        self.found.insert(at, (dist, row));
    }
}

impl KdTree {
    /// Build the tree over the `n × d` row-major `x`, at most `leaf_size` rows a leaf.
    pub(super) fn build(
        x: &[f64],
        n: usize,
        d: usize,
        leaf_size: usize,
        metric: DistanceKind,
    ) -> KdTree {
        let mut tree = KdTree {
            d,
            metric,
            order: (0..n).collect(),
            points: Vec::new(),
            nodes: Vec::new(),
            bounds: Vec::new(),
        };
        tree.grow(x, 0, n, leaf_size.max(1));
        tree.points = tree
            .order
            .iter()
            .flat_map(|&r| &x[r * d..(r + 1) * d])
            .copied()
            .collect();
        tree
    }

    /// Add the node of `order[start..end]` and, unless it is a leaf, its subtree.
    fn grow(&mut self, x: &[f64], start: usize, end: usize, leaf_size: usize) -> usize {
        let d = self.d;
        let id = self.nodes.len();
        self.nodes.push(Node {
            start,
            end,
            left: 0,
            right: 0,
        });
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for &r in &self.order[start..end] {
            for (j, &v) in x[r * d..(r + 1) * d].iter().enumerate() {
                lo[j] = lo[j].min(v);
                hi[j] = hi[j].max(v);
            }
        }
        let widest = (0..d)
            .map(|j| (hi[j] - lo[j], j))
            .fold((0.0, 0), |b, c| if c.0 > b.0 { c } else { b });
        self.bounds.extend(&lo);
        self.bounds.extend(&hi);
        // A node of identical rows (no spread) stays a leaf, however many rows it holds.
        if end - start <= leaf_size || widest.0 <= 0.0 {
            return id;
        }
        let j = widest.1;
        let mid = start + (end - start) / 2;
        self.order[start..end]
            .select_nth_unstable_by(mid - start, |&a, &b| x[a * d + j].total_cmp(&x[b * d + j]));
        let left = self.grow(x, start, mid, leaf_size);
        let right = self.grow(x, mid, end, leaf_size);
        self.nodes[id].left = left;
        self.nodes[id].right = right;
        id
    }

    /// The `k` nearest training rows to `q`, nearest first: (row, distance).
    pub(super) fn query(&self, q: &[f64], k: usize, found: &mut Vec<(usize, f64)>) {
        let mut best = Best {
            k,
            found: Vec::with_capacity(k + 1),
        };
        if k > 0 && !self.nodes.is_empty() {
            let bound = self.node_bound(0, q);
            self.search(0, bound, q, &mut best);
        }
        found.clear();
        found.extend(
            best.found
                .iter()
                .map(|&(dist, row)| (row, self.metric.full(dist))),
        );
    }

    /// The reduced distance from `q` to node `id`'s box.
    #[inline(always)]
    fn node_bound(&self, id: usize, q: &[f64]) -> f64 {
        let b = &self.bounds[2 * self.d * id..2 * self.d * (id + 1)];
        let (lo, hi) = b.split_at(self.d);
        self.metric.to_box(q, lo, hi)
    }

    /// Search node `id`, whose box is `bound` away from `q`.
    fn search(&self, id: usize, bound: f64, q: &[f64], best: &mut Best) {
        if !best.reaches(bound) {
            return;
        }
        let node = self.nodes[id];
        if node.left == 0 {
            let d = self.d;
            for (p, &row) in self.order[node.start..node.end].iter().enumerate() {
                let at = (node.start + p) * d;
                best.offer(self.metric.reduced(q, &self.points[at..at + d]), row);
            }
            return;
        }
        let (left, right) = (node.left, node.right);
        let (bl, br) = (self.node_bound(left, q), self.node_bound(right, q));
        if bl <= br {
            self.search(left, bl, q, best);
            self.search(right, br, q, best);
        } else {
            self.search(right, br, q, best);
            self.search(left, bl, q, best);
        }
    }

    /// The simple search the tree must agree with: every row sorted by (distance, row), the
    /// first `k`.
    #[cfg(test)]
    pub(super) fn brute(
        x: &[f64],
        d: usize,
        metric: DistanceKind,
        q: &[f64],
        k: usize,
    ) -> Vec<(usize, f64)> {
        let mut all: Vec<(f64, usize)> = x
            .chunks_exact(d)
            .enumerate()
            .map(|(r, row)| (metric.reduced(q, row), r))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter()
            .take(k)
            .map(|(dist, r)| (r, metric.full(dist)))
            .collect()
    }
}
