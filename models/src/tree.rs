//! Decision-tree classifier, fitted by linfa-trees.
//!
//! Not reproducible in every case: linfa-trees 0.8.1 keeps class weights in
//! `std::collections::HashMap`s, whose iteration order is random per map. Two things depend
//! on that order (measured: 30 fits of the same data in one process):
//!
//! * the f32 sums of the Gini/entropy terms, when there are three classes or more: the
//!   rounding differs, near-equal candidate splits swap ranks, and the tree differs
//!   (6 different split structures in 30 fits of a 3-class and of a 5-class problem);
//! * the majority class of a node whose counts tie (`find_modal_class`), for any number of
//!   classes, and through it the pruning of equal-prediction siblings: a binary problem with
//!   duplicated feature values gave 4 different trees in 30 fits.
//!
//! A binary problem without ties at the leaves (e.g. continuous features) is deterministic:
//! a sum of two terms does not depend on their order. No ordering of our own inputs can fix
//! the rest (the maps are created inside linfa with fresh random keys), so the results of a
//! sweep over this model can differ in the last digits between runs. Fixing it needs a tree
//! of our own (or a fork of linfa-trees with ordered maps).

use linfa::prelude::{Fit, Predict};
use linfa_trees::{DecisionTree, SplitQuality};
use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::error::ModelError;
use crate::estimator::{Estimator, Fitted, Prediction};

/// Stack for the fit: linfa recurses once per tree level, and an unlimited tree on tens of
/// thousands of rows can be thousands of levels deep. Reserved address space only, touched
/// as used.
const FIT_STACK: usize = 256 << 20;

/// A decision tree with its hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tree {
    /// Depth limit (`None`: grow until the other limits stop it).
    pub max_depth: Option<usize>,
    /// Fewest rows a node needs to be split.
    pub min_samples_split: usize,
    /// Fewest rows each side of a split must keep.
    pub min_samples_leaf: usize,
    /// Smallest impurity decrease a split must bring.
    pub min_impurity_decrease: f64,
    /// Entropy instead of Gini impurity.
    pub entropy: bool,
}

/// A fitted decision tree.
pub(crate) struct FittedTree(DecisionTree<f64, usize>);

impl Estimator for Tree {
    fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Box<dyn Fitted>, ModelError> {
        if x.nrows() == 0 || x.nrows() != y.len() {
            return Err(ModelError::Fit(format!(
                "decision tree: {} rows of features, {} targets",
                x.nrows(),
                y.len()
            )));
        }
        let mut labels = Array1::zeros(y.len());
        for (l, &v) in labels.iter_mut().zip(y) {
            if !(v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64) {
                return Err(ModelError::Fit(format!(
                    "decision tree: target {v} is not a class index"
                )));
            }
            *l = v as usize;
        }
        let params = DecisionTree::<f64, usize>::params()
            .split_quality(if self.entropy {
                SplitQuality::Entropy
            } else {
                SplitQuality::Gini
            })
            .max_depth(self.max_depth)
            .min_weight_split(self.min_samples_split as f32)
            .min_weight_leaf(self.min_samples_leaf as f32)
            // linfa refuses a threshold below machine epsilon; that is zero in effect.
            .min_impurity_decrease(self.min_impurity_decrease.max(f64::EPSILON));
        let data = linfa::DatasetBase::new(x, labels);
        // On its own thread for the deep stack; a panic inside linfa fails this fit only.
        let outcome = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("tree-fit".into())
                .stack_size(FIT_STACK)
                .spawn_scoped(scope, || params.fit(&data))
                .map(|handle| handle.join())
        });
        match outcome {
            Ok(Ok(Ok(tree))) => Ok(Box::new(FittedTree(tree))),
            Ok(Ok(Err(e))) => Err(ModelError::Fit(format!("decision tree: {e}"))),
            Ok(Err(_)) => Err(ModelError::Fit(
                "decision tree: linfa-trees panicked during the fit".into(),
            )),
            Err(e) => Err(ModelError::Fit(format!(
                "decision tree: cannot start the fitting thread: {e}"
            ))),
        }
    }
}

impl Fitted for FittedTree {
    fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        Prediction::Classes {
            class: self.0.predict(&x),
            proba: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn tree() -> Tree {
        Tree {
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            min_impurity_decrease: 0.0,
            entropy: false,
        }
    }

    fn classes(p: Prediction) -> Array1<usize> {
        match p {
            Prediction::Classes { class, proba } => {
                assert!(proba.is_none());
                class
            }
            Prediction::Values(_) => panic!("values from a classifier"),
        }
    }

    /// Class 1 iff x0 > 0.3 (continuous, no ties): a binary problem linfa fits the same way
    /// every time.
    fn threshold_problem() -> (Array2<f64>, Array1<f64>) {
        let x = Array2::from_shape_fn((120, 2), |(i, j)| ((i * (j + 3)) as f64 * 0.731).sin());
        let y = x.column(0).mapv(|v| if v > 0.3 { 1.0 } else { 0.0 });
        (x, y)
    }

    #[test]
    fn a_threshold_is_learned_exactly() {
        let (x, y) = threshold_problem();
        let fitted = tree().fit(x.view(), y.view()).unwrap();
        assert_eq!(classes(fitted.predict(x.view())), y.mapv(|v| v as usize));
    }

    #[test]
    fn max_depth_one_is_a_stump() {
        // Three classes in bands of x0: one split cannot separate them all.
        let x = Array2::from_shape_fn((90, 1), |(i, _)| i as f64);
        let y = x.column(0).mapv(|v| (v / 30.0).floor());
        let stump = Tree {
            max_depth: Some(1),
            ..tree()
        }
        .fit(x.view(), y.view())
        .unwrap();
        let distinct: std::collections::BTreeSet<usize> =
            classes(stump.predict(x.view())).into_iter().collect();
        assert_eq!(distinct.len(), 2);
        let full = tree().fit(x.view(), y.view()).unwrap();
        assert_eq!(classes(full.predict(x.view())), y.mapv(|v| v as usize));
    }

    #[test]
    fn min_samples_leaf_larger_than_the_data_gives_one_leaf() {
        let (x, y) = threshold_problem();
        let fitted = Tree {
            min_samples_leaf: 100,
            ..tree()
        }
        .fit(x.view(), y.view())
        .unwrap();
        let pred = classes(fitted.predict(x.view()));
        assert!(pred.iter().all(|&c| c == pred[0]));
    }

    #[test]
    fn non_integer_targets_are_refused() {
        let x = Array2::zeros((2, 1));
        assert!(
            tree()
                .fit(x.view(), ndarray::array![0.0, 0.5].view())
                .is_err()
        );
    }
}
