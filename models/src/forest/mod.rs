//! Random forests and extra trees, for classification and regression, grown on our
//! deterministic tree (`tree.rs`) one tree per report point.
//!
//! Tree `t` of a fit draws everything random (its bootstrap sample, the features searched at
//! each node, extra trees' thresholds) from its own ChaCha8 stream `t` of the trial seed, so
//! the forest is the same whatever else runs, and a forest stopped after `t` trees is exactly
//! the first `t` trees of the full one. As in scikit-learn, a classifier averages the trees'
//! class frequencies (`predict_proba`) and predicts the most probable class (ties to the lowest
//! class index); a regressor averages the trees' leaf means.
//!
//! With `bootstrap` and `oob_score`, each report point also carries `oob_score`: the accuracy
//! (classifier) or R² (regressor) on the training rows of the fold, each predicted by the trees
//! whose bootstrap sample left it out (rows no tree has left out yet are skipped), as
//! scikit-learn's `oob_score_`.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::ModelError;
use crate::estimator::Prediction;
use crate::iterative::{IterativeEstimator, Learner};
use crate::staged::StagedSums;
use crate::tree::{
    Criterion, FittedTree, GrowParams, Labels, SampleLayout, check_input, encode_classes, grow_tree,
};

/// How many features each node searches, scikit-learn's `max_features`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxFeatures {
    /// ⌊√d⌋ (at least 1).
    Sqrt,
    /// ⌊log₂ d⌋ (at least 1).
    Log2,
    /// Every feature.
    All,
    /// ⌊fraction · d⌋ (at least 1).
    Fraction(f64),
    /// This many (at most d).
    Count(usize),
}

impl MaxFeatures {
    /// The number of features searched per node with `d` features.
    pub fn resolve(self, d: usize) -> usize {
        let n = match self {
            MaxFeatures::Sqrt => (d as f64).sqrt() as usize,
            MaxFeatures::Log2 => {
                if d > 0 {
                    (d as f64).log2() as usize
                } else {
                    0
                }
            }
            MaxFeatures::All => d,
            MaxFeatures::Fraction(f) => (f * d as f64) as usize,
            MaxFeatures::Count(c) => c,
        };
        n.clamp(1, d.max(1))
    }
}

/// A forest with its hyperparameters, ready to train tree by tree.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestSpec {
    /// Trees in a full training (its report points).
    pub n_estimators: usize,
    /// Depth limit of each tree (`None`: unlimited).
    pub max_depth: Option<usize>,
    /// Fewest samples a node needs to be split.
    pub min_samples_split: usize,
    /// Fewest samples each side of a split must keep.
    pub min_samples_leaf: usize,
    /// Smallest weighted impurity decrease a split must bring.
    pub min_impurity_decrease: f64,
    /// Entropy instead of Gini (classifiers; regressors use squared error).
    pub entropy: bool,
    /// Features searched at each node.
    pub max_features: MaxFeatures,
    /// Whether each tree fits a bootstrap sample (else all rows).
    pub bootstrap: bool,
    /// Bootstrap sample size as a share of the rows, in (0, 1].
    pub max_samples: f64,
    /// Whether to report the out-of-bag score (needs `bootstrap`).
    pub oob_score: bool,
    /// Extra trees: one random threshold per feature searched, instead of the best.
    pub extra: bool,
    /// Seeds every tree's random stream.
    pub seed: u64,
}

impl IterativeEstimator for ForestSpec {
    fn epochs(&self) -> usize {
        self.n_estimators
    }

    fn start(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        n_classes: usize,
    ) -> Result<Box<dyn Learner>, ModelError> {
        let what = if self.extra {
            "extra trees"
        } else {
            "random forest"
        };
        check_input(x, y, what)?;
        let (labels, classes) = if n_classes > 0 {
            let (code, classes) = encode_classes(y)?;
            let k = classes.len();
            (Labels::Classes { code, k }, classes)
        } else {
            (Labels::Values(y.to_vec()), Vec::new())
        };
        let width = n_classes.max(classes.last().map_or(0, |&c| c + 1));
        let (n, d) = x.dim();
        let params = GrowParams {
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            min_impurity_decrease: self.min_impurity_decrease,
            criterion: match (n_classes > 0, self.entropy) {
                (false, _) => Criterion::SquaredError,
                (true, true) => Criterion::Entropy,
                (true, false) => Criterion::Gini,
            },
            max_features: self.max_features.resolve(d),
            random_thresholds: self.extra,
        };
        let outputs = match &labels {
            Labels::Classes { k, .. } => *k,
            Labels::Values(_) => 1,
        };
        let oob = (self.bootstrap && self.oob_score).then(|| Oob {
            sums: Array2::zeros((n, outputs)),
            votes: vec![0; n],
        });
        Ok(Box::new(ForestLearner {
            spec: self.clone(),
            params,
            layout: SampleLayout::presort(x),
            labels,
            classes,
            width,
            outputs,
            trees: Vec::new(),
            oob,
            staged: StagedSums::default(),
        }))
    }
}

/// Out-of-bag predictions so far: per training row, the sum of the predictions of the trees
/// that did not see it, and how many there were.
struct Oob {
    /// Rows × outputs.
    sums: Array2<f64>,
    /// Trees that left each row out.
    votes: Vec<u32>,
}

/// A forest in training on one fold.
struct ForestLearner {
    /// Its hyperparameters.
    spec: ForestSpec,
    /// How each tree grows (max_features resolved).
    params: GrowParams,
    /// The training rows, presorted once for every tree.
    layout: SampleLayout,
    /// The training targets, by row.
    labels: Labels,
    /// Class index of each code (classifier).
    classes: Vec<usize>,
    /// Width of the probability matrix.
    width: usize,
    /// Columns of a tree's prediction: class codes, or 1.
    outputs: usize,
    /// The trees grown so far.
    trees: Vec<FittedTree>,
    /// Out-of-bag predictions, when asked for.
    oob: Option<Oob>,
    /// Test-row predictions summed over the trees so far.
    staged: StagedSums,
}

impl ForestLearner {
    /// Add `tree`'s prediction for `row` to `out`.
    fn add(tree: &FittedTree, regression: bool, row: ArrayView1<'_, f64>, out: &mut [f64]) {
        let leaf = tree.leaf(row);
        if regression {
            out[0] += tree.mean(leaf);
        } else {
            tree.add_frequencies(leaf, out);
        }
    }

    /// Whether the forest is a regressor.
    fn regression(&self) -> bool {
        matches!(self.labels, Labels::Values(_))
    }

    /// The out-of-bag score so far, over the rows some tree left out.
    fn oob_score(&self) -> Option<f64> {
        let oob = self.oob.as_ref()?;
        let rows = (0..oob.votes.len()).filter(|&r| oob.votes[r] > 0);
        match &self.labels {
            Labels::Classes { code, .. } => {
                let (mut right, mut total) = (0usize, 0usize);
                for r in rows {
                    let best = argmax(oob.sums.row(r));
                    right += usize::from(best == code[r] as usize);
                    total += 1;
                }
                (total > 0).then(|| right as f64 / total as f64)
            }
            Labels::Values(y) => {
                let rows: Vec<usize> = rows.collect();
                if rows.is_empty() {
                    return None;
                }
                let mean = rows.iter().map(|&r| y[r]).sum::<f64>() / rows.len() as f64;
                let (mut res, mut tot) = (0.0, 0.0);
                for &r in &rows {
                    let p = oob.sums[[r, 0]] / f64::from(oob.votes[r]);
                    res += (y[r] - p) * (y[r] - p);
                    tot += (y[r] - mean) * (y[r] - mean);
                }
                Some(if tot > 0.0 { 1.0 - res / tot } else { 0.0 })
            }
        }
    }
}

/// The forest's prediction from its trees' outputs summed per row: the mean value, or the
/// class frequencies averaged over the trees (columns: class codes) and their most likely class.
fn combine(
    sums: &Array2<f64>,
    n_trees: usize,
    regression: bool,
    classes: &[usize],
    width: usize,
) -> Prediction {
    let trees = n_trees.max(1) as f64;
    if regression {
        return Prediction::Values(sums.column(0).mapv(|v| v / trees));
    }
    let mut proba = Array2::zeros((sums.nrows(), width));
    let mut class = Array1::zeros(sums.nrows());
    for (i, row) in sums.rows().into_iter().enumerate() {
        class[i] = classes.get(argmax(row)).copied().unwrap_or(0);
        for (&c, &v) in classes.iter().zip(row) {
            proba[[i, c]] = v / trees;
        }
    }
    Prediction::Classes {
        class,
        proba: Some(proba),
    }
}

/// A fitted forest as saved: its trees and how their outputs combine.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SavedForest {
    /// The trees.
    trees: Vec<FittedTree>,
    /// Class index of each code (classifier).
    classes: Vec<usize>,
    /// Width of the probability matrix.
    width: usize,
    /// Whether it is a regressor.
    regression: bool,
}

impl SavedForest {
    /// Whether a forest read back from a file can predict: trees that can be walked, of the
    /// forest's kind, class indices inside the probability width.
    pub fn check(&self) -> Result<(), String> {
        if self.trees.is_empty() {
            return Err("forest: no trees".into());
        }
        for tree in &self.trees {
            tree.check()?;
        }
        if !self.regression && self.classes.iter().any(|&c| c >= self.width) {
            return Err("forest: a class index is outside the probabilities".into());
        }
        Ok(())
    }

    /// Predict for rows `x`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        let outputs = if self.regression {
            1
        } else {
            self.classes.len()
        };
        let mut sums = Array2::zeros((x.nrows(), outputs));
        for (row, mut out) in x.rows().into_iter().zip(sums.rows_mut()) {
            if let Some(out) = out.as_slice_mut() {
                for tree in &self.trees {
                    ForestLearner::add(tree, self.regression, row, out);
                }
            }
        }
        combine(
            &sums,
            self.trees.len(),
            self.regression,
            &self.classes,
            self.width,
        )
    }
}

/// The index of the largest value, the first of equals.
fn argmax(v: ArrayView1<'_, f64>) -> usize {
    v.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |b, (i, &p)| if p > b.1 { (i, p) } else { b },
        )
        .0
}

impl Learner for ForestLearner {
    fn epoch(&mut self, x: ArrayView2<'_, f64>, _y: ArrayView1<'_, f64>) -> Result<(), ModelError> {
        let t = self.trees.len();
        let mut rng = ChaCha8Rng::seed_from_u64(self.spec.seed);
        rng.set_stream(t as u64);
        let n = self.layout.n;
        let tree = if self.spec.bootstrap {
            let m = ((self.spec.max_samples * n as f64).round() as usize).max(1);
            let mut counts = vec![0u32; n];
            for _ in 0..m {
                counts[rng.gen_range(0..n)] += 1;
            }
            let (layout, row_of) = self.layout.bootstrap(&counts);
            let labels = match &self.labels {
                Labels::Classes { code, k } => Labels::Classes {
                    code: row_of.iter().map(|&r| code[r as usize]).collect(),
                    k: *k,
                },
                Labels::Values(y) => {
                    Labels::Values(row_of.iter().map(|&r| y[r as usize]).collect())
                }
            };
            let tree = grow_tree(
                &self.params,
                layout,
                labels,
                self.classes.clone(),
                Some(&mut rng),
            );
            let regression = self.regression();
            if let Some(oob) = self.oob.as_mut() {
                for r in (0..n).filter(|&r| counts[r] == 0) {
                    let mut row = oob.sums.row_mut(r);
                    if let Some(out) = row.as_slice_mut() {
                        Self::add(&tree, regression, x.row(r), out);
                    }
                    oob.votes[r] += 1;
                }
            }
            tree
        } else {
            grow_tree(
                &self.params,
                self.layout.clone(),
                self.labels.clone(),
                self.classes.clone(),
                Some(&mut rng),
            )
        };
        self.trees.push(tree);
        Ok(())
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Prediction, ModelError> {
        let regression = self.regression();
        let sums = self.staged.sums(
            x,
            self.outputs,
            self.trees.len(),
            |_| {},
            |s, row, out| Self::add(&self.trees[s], regression, row, out),
        );
        Ok(combine(
            &sums,
            self.trees.len(),
            regression,
            &self.classes,
            self.width,
        ))
    }

    fn to_saved(&self) -> crate::saved::SavedModel {
        crate::saved::SavedModel::Forest(SavedForest {
            trees: self.trees.clone(),
            classes: self.classes.clone(),
            width: self.width,
            regression: self.regression(),
        })
    }

    fn own_values(&self) -> Vec<(String, f64)> {
        self.oob_score()
            .map(|s| vec![("oob_score".to_string(), s)])
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
