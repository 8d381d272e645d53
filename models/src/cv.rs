//! K-fold splits: plain and stratified, shuffled with a seed or in scikit-learn's unshuffled order.

use ndarray::ArrayView1;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::ModelError;

/// One split: rows to train on and rows to score on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Training row indices, ascending.
    pub train: Vec<usize>,
    /// Test row indices, ascending.
    pub test: Vec<usize>,
}

/// A seeded hold-out split of a dataset's rows: the rows shuffled with the seed (ChaCha8), the
/// first `held_out` of them held out and the rest, in that order, trained on. Two processes
/// with the same split and row count draw the same rows, so the split travels as two numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holdout {
    /// The shuffle's seed.
    pub seed: u64,
    /// How many of the shuffled rows are held out.
    pub held_out: usize,
}

impl Holdout {
    /// All `n` rows in the split's order: the held-out rows, then the training rows.
    pub fn order(&self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
        order
    }
}

/// All k folds of a study: every row is in exactly one test set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folds(pub Vec<Fold>);

impl Folds {
    /// Plain k-fold over `n` rows; `shuffle_seed: None` gives scikit-learn's `KFold` contiguous blocks.
    ///
    /// With a seed the rows are shuffled (ChaCha8, the same on every machine) before being cut
    /// into blocks, as `KFold(shuffle=True)` does with its own generator. The first `n % k`
    /// folds get one row more. Errors if `k < 2` or `n < k`.
    pub fn kfold(n: usize, k: usize, shuffle_seed: Option<u64>) -> Result<Folds, ModelError> {
        check_k(n, k)?;
        let mut order: Vec<usize> = (0..n).collect();
        if let Some(seed) = shuffle_seed {
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        }
        let mut fold_of = vec![0usize; n];
        let mut start = 0;
        for fold in 0..k {
            let size = n / k + usize::from(fold < n % k);
            for &row in &order[start..start + size] {
                fold_of[row] = fold;
            }
            start += size;
        }
        Ok(Folds::from_assignment(&fold_of, k))
    }

    /// Stratified k-fold over class indices `y`; `shuffle_seed: None` gives scikit-learn's
    /// `StratifiedKFold(shuffle=False)` folds exactly.
    ///
    /// The algorithm is scikit-learn's `_make_test_folds`: classes are numbered in order of
    /// first appearance, the sorted labels are dealt round-robin to the folds to decide how
    /// many rows of each class each fold gets, and each class's rows receive their fold ids in
    /// row order. With a seed, each class's list of fold ids is shuffled (ChaCha8, one stream
    /// for all classes, in that class order), which keeps the folds exactly as balanced.
    ///
    /// Errors if `k < 2`, `n < k`, a label is not a class index below `n_classes`, or every
    /// class has fewer than `k` rows. As in scikit-learn, a single class smaller than `k` is
    /// allowed (some test folds then lack it); [`stratification_warning`] describes that case.
    pub fn stratified(
        y: ArrayView1<'_, f64>,
        n_classes: usize,
        k: usize,
        shuffle_seed: Option<u64>,
    ) -> Result<Folds, ModelError> {
        let n = y.len();
        check_k(n, k)?;
        let (encoded, counts) = encode_by_first_appearance(y, n_classes)?;
        if counts.iter().all(|&c| c < k) {
            let largest = counts.iter().copied().max().unwrap_or(0);
            return Err(ModelError::Data(format!(
                "cannot stratify into {k} folds: every class has fewer than {k} rows (the largest has {largest})"
            )));
        }
        // allocation[class][fold]: rows of `class` in `fold`, from dealing the sorted labels
        // round-robin (scikit-learn's `bincount(y_order[i::k])`).
        let mut y_order = encoded.clone();
        y_order.sort_unstable();
        let mut allocation = vec![vec![0usize; k]; counts.len()];
        for (i, &class) in y_order.iter().enumerate() {
            allocation[class][i % k] += 1;
        }
        let mut rng = shuffle_seed.map(ChaCha8Rng::seed_from_u64);
        let mut fold_of = vec![0usize; n];
        for (class, per_fold) in allocation.iter().enumerate() {
            let mut folds_for_class: Vec<usize> = per_fold
                .iter()
                .enumerate()
                .flat_map(|(fold, &count)| std::iter::repeat_n(fold, count))
                .collect();
            if let Some(rng) = rng.as_mut() {
                folds_for_class.shuffle(rng);
            }
            let rows = encoded
                .iter()
                .enumerate()
                .filter(|&(_, &c)| c == class)
                .map(|(row, _)| row);
            for (row, fold) in rows.zip(folds_for_class) {
                fold_of[row] = fold;
            }
        }
        Ok(Folds::from_assignment(&fold_of, k))
    }

    /// Folds from the test-fold id of every row.
    fn from_assignment(fold_of: &[usize], k: usize) -> Folds {
        let folds = (0..k)
            .map(|fold| {
                let (test, train): (Vec<usize>, Vec<usize>) =
                    (0..fold_of.len()).partition(|&row| fold_of[row] == fold);
                Fold { train, test }
            })
            .collect();
        Folds(folds)
    }

    /// Number of folds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no folds.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The note scikit-learn warns with when the least populated class has fewer rows than folds
/// (the split is still made), or `None` when every class fills every fold.
pub fn stratification_warning(
    y: ArrayView1<'_, f64>,
    n_classes: usize,
    k: usize,
) -> Option<String> {
    let (_, counts) = encode_by_first_appearance(y, n_classes).ok()?;
    let least = counts.iter().copied().min()?;
    (least < k).then(|| format!("the least populated class has only {least} rows, fewer than the {k} folds: some test folds will lack it"))
}

/// Refuse fewer than 2 folds or fewer rows than folds.
fn check_k(n: usize, k: usize) -> Result<(), ModelError> {
    if k < 2 {
        return Err(ModelError::Data(format!(
            "k-fold cross-validation needs at least 2 folds, got {k}"
        )));
    }
    if n < k {
        return Err(ModelError::Data(format!(
            "cannot split {n} rows into {k} folds: need at least one row per fold"
        )));
    }
    Ok(())
}

/// Classes renumbered in order of first appearance, and the row count of each.
fn encode_by_first_appearance(
    y: ArrayView1<'_, f64>,
    n_classes: usize,
) -> Result<(Vec<usize>, Vec<usize>), ModelError> {
    let mut code_of: Vec<Option<usize>> = vec![None; n_classes];
    let mut counts: Vec<usize> = Vec::new();
    let mut encoded = Vec::with_capacity(y.len());
    for (row, &label) in y.iter().enumerate() {
        if !(label >= 0.0 && label.fract() == 0.0 && label < n_classes as f64) {
            return Err(ModelError::Data(format!(
                "row {row}: label {label} is not a class index below {n_classes}"
            )));
        }
        let slot = &mut code_of[label as usize];
        let code = *slot.get_or_insert_with(|| {
            counts.push(0);
            counts.len() - 1
        });
        counts[code] += 1;
        encoded.push(code);
    }
    Ok((encoded, counts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    fn assignment(folds: &Folds, n: usize) -> Vec<usize> {
        let mut fold_of = vec![usize::MAX; n];
        for (f, fold) in folds.0.iter().enumerate() {
            for &row in &fold.test {
                assert_eq!(fold_of[row], usize::MAX, "row {row} in two test folds");
                fold_of[row] = f;
            }
        }
        assert!(
            fold_of.iter().all(|&f| f != usize::MAX),
            "a row in no test fold"
        );
        fold_of
    }

    fn labels(v: &[usize]) -> Array1<f64> {
        v.iter().map(|&c| c as f64).collect()
    }

    #[test]
    fn kfold_unshuffled_matches_scikit_learn_blocks() {
        // KFold(3) on 10 rows: sizes 4, 3, 3, contiguous.
        let folds = Folds::kfold(10, 3, None).unwrap();
        assert_eq!(assignment(&folds, 10), [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
        assert_eq!(folds.0[1].train, [0, 1, 2, 3, 7, 8, 9]);
    }

    #[test]
    fn stratified_unshuffled_matches_scikit_learn_folds() {
        // Expected from StratifiedKFold(5).split on these labels (scikit-learn 1.9).
        let y = [
            2, 0, 1, 0, 0, 0, 1, 1, 2, 1, 1, 2, 1, 2, 0, 0, 0, 1, 2, 0, 2, 1, 2,
        ];
        let expected = [
            0, 0, 0, 1, 2, 2, 0, 1, 0, 1, 2, 1, 2, 1, 3, 3, 4, 3, 2, 4, 3, 4, 4,
        ];
        let folds = Folds::stratified(labels(&y).view(), 3, 5, None).unwrap();
        assert_eq!(assignment(&folds, y.len()), expected);
    }

    #[test]
    fn stratified_unshuffled_matches_hand_derivation_with_a_rare_class() {
        // Classes by first appearance: 1→0, 0→1, 2→2; sorted labels dealt to 4 folds give
        // class 0 [3,2,2,2], class 1 [0,1,1,0], class 2 [0,0,0,1] (and scikit-learn agrees).
        let y = [1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 2, 1];
        let folds = Folds::stratified(labels(&y).view(), 3, 4, None).unwrap();
        assert_eq!(
            assignment(&folds, y.len()),
            [0, 0, 1, 0, 1, 1, 2, 2, 2, 3, 3, 3]
        );
    }

    #[test]
    fn same_seed_gives_the_same_folds() {
        let y = labels(&[0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0]);
        assert_eq!(
            Folds::kfold(50, 5, Some(9)).unwrap(),
            Folds::kfold(50, 5, Some(9)).unwrap()
        );
        assert_eq!(
            Folds::stratified(y.view(), 2, 3, Some(9)).unwrap(),
            Folds::stratified(y.view(), 2, 3, Some(9)).unwrap()
        );
    }

    #[test]
    fn different_seeds_give_different_folds() {
        assert_ne!(
            Folds::kfold(50, 5, Some(1)).unwrap(),
            Folds::kfold(50, 5, Some(2)).unwrap()
        );
        assert_ne!(
            Folds::kfold(50, 5, Some(1)).unwrap(),
            Folds::kfold(50, 5, None).unwrap()
        );
    }

    #[test]
    fn shuffled_kfold_is_pinned_across_machines() {
        // ChaCha8 and rand 0.8's shuffle are portable: this fixes the stream for good.
        let folds = Folds::kfold(8, 2, Some(42)).unwrap();
        assert_eq!(folds.0[0].test, [0, 3, 4, 6]);
    }

    #[test]
    fn shuffled_stratified_folds_keep_class_balance() {
        let y: Vec<usize> = (0..30).map(|i| usize::from(i % 3 == 0)).collect(); // 10 ones, 20 zeros
        let folds = Folds::stratified(labels(&y).view(), 2, 5, Some(3)).unwrap();
        assignment(&folds, y.len());
        for fold in &folds.0 {
            let ones = fold.test.iter().filter(|&&r| y[r] == 1).count();
            assert_eq!((fold.test.len(), ones), (6, 2));
        }
    }

    #[test]
    fn train_and_test_are_ascending_complements() {
        let folds = Folds::kfold(11, 4, Some(5)).unwrap();
        for fold in &folds.0 {
            assert!(fold.train.windows(2).all(|w| w[0] < w[1]));
            assert!(fold.test.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(fold.train.len() + fold.test.len(), 11);
            assert!(fold.test.iter().all(|r| !fold.train.contains(r)));
        }
    }

    #[test]
    fn fewer_than_two_folds_is_refused() {
        let err = Folds::kfold(10, 1, None).unwrap_err();
        assert!(err.to_string().contains("at least 2 folds"), "{err}");
    }

    #[test]
    fn fewer_rows_than_folds_is_refused() {
        let err = Folds::kfold(3, 5, None).unwrap_err();
        assert!(err.to_string().contains("3 rows into 5 folds"), "{err}");
        let err = Folds::stratified(labels(&[0, 1, 0]).view(), 2, 5, None).unwrap_err();
        assert!(err.to_string().contains("3 rows into 5 folds"), "{err}");
    }

    #[test]
    fn stratified_refuses_when_every_class_is_smaller_than_k() {
        let err =
            Folds::stratified(labels(&[0, 1, 2, 3, 0, 1, 2, 3]).view(), 4, 3, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("every class has fewer than 3 rows"),
            "{err}"
        );
    }

    #[test]
    fn stratified_allows_one_class_smaller_than_k() {
        let folds = Folds::stratified(labels(&[0, 0, 0, 1, 2]).view(), 3, 3, None).unwrap();
        assert_eq!(assignment(&folds, 5), [0, 1, 2, 0, 1]);
    }

    #[test]
    fn stratified_refuses_labels_that_are_not_class_indices() {
        assert!(Folds::stratified(ndarray::array![0.0, 1.0, 2.0, 0.5].view(), 3, 2, None).is_err());
        assert!(Folds::stratified(ndarray::array![0.0, 1.0, 3.0, 1.0].view(), 3, 2, None).is_err());
    }

    #[test]
    fn small_class_gives_a_warning_and_balanced_data_none() {
        let y = labels(&[1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 2, 1]);
        assert!(
            stratification_warning(y.view(), 3, 4)
                .unwrap()
                .contains("only 1 rows")
        );
        assert_eq!(
            stratification_warning(labels(&[0, 1, 0, 1]).view(), 2, 2),
            None
        );
    }
}
