//! One boosting tree, grown leaf-wise on gradient and hessian histograms, as scikit-learn's
//! `TreeGrower`: the splittable leaf of highest gain is split next, until `max_leaf_nodes`
//! leaves; the smaller child's histogram is built from its rows, the larger one's is the
//! parent's minus it.

use std::collections::BinaryHeap;

use ndarray::ArrayView1;

/// scikit-learn's `min_hessian_to_split`: a side with a smaller hessian sum is not split off.
const MIN_HESSIAN_TO_SPLIT: f64 = 1e-3;

/// Histogram columns per feature (bins fit in a byte).
const STRIDE: usize = 256;

/// How trees grow.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TreeLimits {
    /// Leaves per tree.
    pub max_leaf_nodes: usize,
    /// Depth limit (`None`: unlimited); the root is depth 0.
    pub max_depth: Option<usize>,
    /// Fewest rows in a leaf.
    pub min_samples_leaf: usize,
    /// λ: added to hessian sums.
    pub l2: f64,
    /// Multiplies every leaf value.
    pub shrinkage: f64,
}

/// A node of a boosting tree.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BoostNode {
    /// Rows with `x[feature] <= threshold` go left.
    Split {
        /// Feature tested.
        feature: usize,
        /// The upper edge of the last bin going left.
        threshold: f64,
        /// Left child.
        left: usize,
        /// Right child.
        right: usize,
    },
    /// A leaf and its (shrunk) value.
    Leaf(f64),
}

/// A fitted boosting tree: nodes, the root first.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct BoostTree {
    /// The nodes.
    pub nodes: Vec<BoostNode>,
}

impl BoostTree {
    /// Whether a tree read back from a file can be walked: a root, children after their parent
    /// and inside the tree.
    pub(crate) fn check(&self) -> Result<(), String> {
        let n = self.nodes.len();
        if n == 0 {
            return Err("boosting tree: no nodes".into());
        }
        for (id, node) in self.nodes.iter().enumerate() {
            if let BoostNode::Split { left, right, .. } = *node
                && !(id < left && left < n && id < right && right < n)
            {
                return Err(format!("boosting tree: node {id} points outside the tree"));
            }
        }
        Ok(())
    }

    /// The value of the leaf `row` reaches.
    pub(crate) fn predict(&self, row: ArrayView1<'_, f64>) -> f64 {
        let mut id = 0;
        loop {
            match self.nodes[id] {
                BoostNode::Leaf(v) => return v,
                BoostNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    id = if row[feature] <= threshold {
                        left
                    } else {
                        right
                    };
                }
            }
        }
    }
}

/// Gradient, hessian and row sums of one bin.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

/// The binned training rows a tree grows on.
pub(crate) struct Binned<'a> {
    /// Rows.
    pub n: usize,
    /// Features.
    pub d: usize,
    /// Feature-major bins.
    pub bins: &'a [u8],
    /// Bins per feature.
    pub n_bins: &'a [usize],
    /// Per feature, the upper edge of each bin but the last.
    pub thresholds: &'a [Vec<f64>],
}

/// A leaf that may still be split.
struct Open {
    /// Its index in the tree.
    id: usize,
    /// Its rows: `rows[start..end]`.
    start: usize,
    end: usize,
    depth: usize,
    sum_g: f64,
    sum_h: f64,
    /// Its histogram (d × STRIDE), while it may be split.
    hist: Vec<Bin>,
}

/// The best split of an open leaf.
#[derive(Debug, Clone, Copy)]
struct SplitInfo {
    gain: f64,
    feature: usize,
    bin: usize,
    g_left: f64,
    h_left: f64,
    n_left: usize,
}

/// An open leaf in the queue: best gain first, then the lowest node id.
struct Queued {
    gain: f64,
    id: usize,
    slot: usize,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.gain
            .total_cmp(&other.gain)
            .then(other.id.cmp(&self.id))
    }
}

/// −G/(H + λ), scikit-learn's `compute_node_value`.
fn node_value(g: f64, h: f64, l2: f64) -> f64 {
    -g / (h + l2 + 1e-15)
}

/// Grow one tree on `data` for gradients `g` and hessians `h` (`h` empty: every hessian is 1).
/// Returns the tree and the (shrunk) value of each training row's leaf.
pub(crate) fn grow(
    data: &Binned<'_>,
    g: &[f32],
    h: &[f32],
    limits: &TreeLimits,
) -> (BoostTree, Vec<f64>) {
    let n = data.n;
    let mut rows: Vec<u32> = (0..n as u32).collect();
    let mut nodes = vec![BoostNode::Leaf(0.0)];
    // Leaves as (node id, start, end, unshrunk value), finalized.
    let mut leaves: Vec<(usize, usize, usize, f64)> = Vec::new();
    let sum_g: f64 = g.iter().map(|&v| f64::from(v)).sum();
    let sum_h: f64 = if h.is_empty() {
        n as f64
    } else {
        h.iter().map(|&v| f64::from(v)).sum()
    };
    let mut scratch = Scratch::default();
    let msl = limits.min_samples_leaf.max(1);
    let mut open: Vec<Option<(Open, SplitInfo)>> = Vec::new();
    let mut queue = BinaryHeap::new();
    if n >= 2 * msl && sum_h >= MIN_HESSIAN_TO_SPLIT {
        let hist = histogram(data, &rows, g, h, &mut scratch);
        // scikit-learn gives the root the value 0 (its loss term 0 in the root's gain).
        let root = Open {
            id: 0,
            start: 0,
            end: n,
            depth: 0,
            sum_g,
            sum_h,
            hist,
        };
        push(&mut open, &mut queue, root, 0.0, data, limits);
    }
    if queue.is_empty() {
        leaves.push((0, 0, n, 0.0));
    }
    let mut n_leaves = 1;
    while let Some(q) = queue.pop() {
        let Some((node, split)) = open[q.slot].take() else {
            continue;
        };
        // Partition the node's rows: left (bin <= split.bin) first.
        let col = &data.bins[split.feature * n..(split.feature + 1) * n];
        let range = &mut rows[node.start..node.end];
        let mid = partition(range, |r| usize::from(col[r as usize]) <= split.bin);
        debug_assert_eq!(mid, split.n_left);
        let mid = node.start + mid;
        let (left_id, right_id) = (nodes.len(), nodes.len() + 1);
        nodes[node.id] = BoostNode::Split {
            feature: split.feature,
            threshold: data.thresholds[split.feature][split.bin],
            left: left_id,
            right: right_id,
        };
        nodes.push(BoostNode::Leaf(0.0));
        nodes.push(BoostNode::Leaf(0.0));
        n_leaves += 1;
        let depth = node.depth + 1;
        let (g_right, h_right) = (node.sum_g - split.g_left, node.sum_h - split.h_left);
        let children = [
            (left_id, node.start, mid, split.g_left, split.h_left),
            (right_id, mid, node.end, g_right, h_right),
        ];
        let value = |c: &(usize, usize, usize, f64, f64)| node_value(c.3, c.4, limits.l2);
        let stop_all = n_leaves >= limits.max_leaf_nodes;
        let at_depth = limits.max_depth.is_some_and(|m| depth >= m);
        let can_split =
            |c: &(usize, usize, usize, f64, f64)| !stop_all && !at_depth && c.2 - c.1 >= 2 * msl;
        let (split_left, split_right) = (can_split(&children[0]), can_split(&children[1]));
        if split_left || split_right {
            // The smaller child's histogram from its rows, the larger's by subtraction.
            let (small, large) = if children[0].2 - children[0].1 < children[1].2 - children[1].1 {
                (0, 1)
            } else {
                (1, 0)
            };
            let small_hist = histogram(
                data,
                &rows[children[small].1..children[small].2],
                g,
                h,
                &mut scratch,
            );
            let mut large_hist = node.hist;
            for (l, s) in large_hist.iter_mut().zip(&small_hist) {
                l.g -= s.g;
                l.h -= s.h;
                l.n -= s.n;
            }
            let mut hists = [None, None];
            hists[small] = Some(small_hist);
            hists[large] = Some(large_hist);
            for (i, c) in children.iter().enumerate() {
                let wanted = if i == 0 { split_left } else { split_right };
                match hists[i].take() {
                    Some(hist) if wanted => {
                        let child = Open {
                            id: c.0,
                            start: c.1,
                            end: c.2,
                            depth,
                            sum_g: c.3,
                            sum_h: c.4,
                            hist,
                        };
                        if !push(&mut open, &mut queue, child, value(c), data, limits) {
                            leaves.push((c.0, c.1, c.2, value(c)));
                        }
                    }
                    _ => leaves.push((c.0, c.1, c.2, value(c))),
                }
            }
        } else {
            for c in &children {
                leaves.push((c.0, c.1, c.2, value(c)));
            }
        }
        if stop_all {
            // Every open leaf becomes a leaf.
            for slot in open.iter_mut() {
                if let Some((o, _)) = slot.take() {
                    let v = node_value(o.sum_g, o.sum_h, limits.l2);
                    leaves.push((o.id, o.start, o.end, v));
                }
            }
            break;
        }
    }
    let mut per_row = vec![0.0; n];
    for &(id, start, end, v) in &leaves {
        let v = v * limits.shrinkage;
        nodes[id] = BoostNode::Leaf(v);
        for &r in &rows[start..end] {
            per_row[r as usize] = v;
        }
    }
    (BoostTree { nodes }, per_row)
}

/// Find `node`'s best split and queue it; `false` (nothing queued) if it has none.
fn push(
    open: &mut Vec<Option<(Open, SplitInfo)>>,
    queue: &mut BinaryHeap<Queued>,
    node: Open,
    value: f64,
    data: &Binned<'_>,
    limits: &TreeLimits,
) -> bool {
    if node.sum_h < MIN_HESSIAN_TO_SPLIT {
        return false;
    }
    let Some(split) = best_split(&node, value, data, limits) else {
        return false;
    };
    queue.push(Queued {
        gain: split.gain,
        id: node.id,
        slot: open.len(),
    });
    open.push(Some((node, split)));
    true
}

/// The best split of `node` (its value `value`), scikit-learn's `find_node_split` without
/// missing values: gain = loss(node) − loss(left) − loss(right), loss = −G·value, kept only if
/// above 0; ties go to the lowest feature, then the lowest bin.
fn best_split(
    node: &Open,
    value: f64,
    data: &Binned<'_>,
    limits: &TreeLimits,
) -> Option<SplitInfo> {
    let rows = node.end - node.start;
    let msl = limits.min_samples_leaf.max(1);
    let loss_node = node.sum_g * value;
    let mut best: Option<SplitInfo> = None;
    let mut best_gain = 0.0;
    for f in 0..data.d {
        let hist = &node.hist[f * STRIDE..f * STRIDE + data.n_bins[f]];
        let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0usize);
        for (b, bin) in hist
            .iter()
            .enumerate()
            .take(data.n_bins[f].saturating_sub(1))
        {
            gl += bin.g;
            hl += bin.h;
            nl += bin.n as usize;
            let nr = rows - nl;
            if nl < msl {
                continue;
            }
            if nr < msl {
                break;
            }
            let hr = node.sum_h - hl;
            if hl < MIN_HESSIAN_TO_SPLIT {
                continue;
            }
            if hr < MIN_HESSIAN_TO_SPLIT {
                break;
            }
            let gr = node.sum_g - gl;
            let vl = node_value(gl, hl, limits.l2);
            let vr = node_value(gr, hr, limits.l2);
            let gain = loss_node - gl * vl - gr * vr;
            if gain > best_gain {
                best_gain = gain;
                best = Some(SplitInfo {
                    gain,
                    feature: f,
                    bin: b,
                    g_left: gl,
                    h_left: hl,
                    n_left: nl,
                });
            }
        }
    }
    best
}

/// Reusable buffers for building histograms.
#[derive(Default)]
struct Scratch {
    g: Vec<f32>,
    h: Vec<f32>,
}

/// The histogram (d × STRIDE) of `rows`: per feature and bin, the sums of g, h and rows.
fn histogram(
    data: &Binned<'_>,
    rows: &[u32],
    g: &[f32],
    h: &[f32],
    scratch: &mut Scratch,
) -> Vec<Bin> {
    let n = data.n;
    let mut hist = vec![Bin::default(); data.d * STRIDE];
    // Gradients gathered once in row order, so the per-feature loops read them in sequence.
    let whole = rows.len() == n;
    let (og, oh): (&[f32], &[f32]) = if whole {
        (g, h)
    } else {
        scratch.g.clear();
        scratch.g.extend(rows.iter().map(|&r| g[r as usize]));
        scratch.h.clear();
        if !h.is_empty() {
            scratch.h.extend(rows.iter().map(|&r| h[r as usize]));
        }
        (&scratch.g, &scratch.h)
    };
    for f in 0..data.d {
        let col = &data.bins[f * n..(f + 1) * n];
        let hf = &mut hist[f * STRIDE..(f + 1) * STRIDE];
        if oh.is_empty() {
            if whole {
                for (&b, &gv) in col.iter().zip(og) {
                    let bin = &mut hf[b as usize];
                    bin.g += f64::from(gv);
                    bin.n += 1;
                }
            } else {
                for (&r, &gv) in rows.iter().zip(og) {
                    let bin = &mut hf[col[r as usize] as usize];
                    bin.g += f64::from(gv);
                    bin.n += 1;
                }
            }
            for bin in hf.iter_mut() {
                bin.h = f64::from(bin.n);
            }
        } else if whole {
            for ((&b, &gv), &hv) in col.iter().zip(og).zip(oh) {
                let bin = &mut hf[b as usize];
                bin.g += f64::from(gv);
                bin.h += f64::from(hv);
                bin.n += 1;
            }
        } else {
            for ((&r, &gv), &hv) in rows.iter().zip(og).zip(oh) {
                let bin = &mut hf[col[r as usize] as usize];
                bin.g += f64::from(gv);
                bin.h += f64::from(hv);
                bin.n += 1;
            }
        }
    }
    hist
}

/// Reorder `rows` so those `left` accepts come first (each side keeping its order); returns
/// how many they are.
fn partition(rows: &mut [u32], left: impl Fn(u32) -> bool) -> usize {
    let mut right = Vec::new();
    let mut w = 0;
    for i in 0..rows.len() {
        let r = rows[i];
        if left(r) {
            rows[w] = r;
            w += 1;
        } else {
            right.push(r);
        }
    }
    rows[w..].copy_from_slice(&right);
    w
}
