//! Cross-validation of an estimator over fixed folds, reading the shared dataset in place.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use ndarray::{Array1, Array2};

use crate::cv::Folds;
use crate::dataset::{DataView, Problem};
use crate::error::ModelError;
use crate::estimator::Estimator;
use crate::iterative::IterativeEstimator;
use crate::metrics::Metric;
use crate::preprocess::{FittedPipeline, Preprocess, Standardizer};
use crate::rows::{RowSet, predict_rows};

/// One fold's scores, by metric name (names are open: a user's program reports any).
pub type FoldScores = BTreeMap<String, f64>;

/// What a cross-validation produced: every fold, or the folds before it was told to stop.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Scores of each fold evaluated, in fold order (for an iterative model, at its last epoch).
    pub folds: Vec<FoldScores>,
    /// The values at each report point, when report points are not the folds (an iterative
    /// model's epochs: the mean over folds of each metric after that epoch).
    pub reports: Option<Vec<FoldScores>>,
    /// The report point after which the caller asked to stop, if it did.
    pub stopped_after: Option<usize>,
}

/// Scores estimators by k-fold CV on one dataset, read in place: a fold is the indices of its
/// rows, never a copy of them.
///
/// With `standardize`, each fold's [`Standardizer`] is fitted on its training rows once (a mean
/// and a scale per column, reused by every trial this process runs) and applied as rows are
/// read: fused into the models that read rows in place (logistic regression), or applied while
/// gathering the one contiguous copy of the training rows that other models fit on, which lives
/// only as long as that fit. Test rows are predicted in small chunks.
pub struct CrossValidator<'a> {
    data: DataView<'a>,
    problem: Problem,
    folds: Folds,
    standardize: bool,
    /// A pipeline beyond plain standardization, if configured.
    pipeline: Option<Preprocess>,
    /// Bytes of standardized training-fold copies this validator may keep (0: none).
    cache_budget: usize,
    /// Bytes of copies kept so far.
    cache_used: usize,
    prepared: Vec<Option<PreparedFold>>,
}

/// What a fold keeps across trials: its training rows' standardization or fitted pipeline.
struct PreparedFold {
    scaler: Option<Standardizer>,
    pipeline: Option<FittedPipeline>,
    /// A contiguous standardized copy of the training rows and their targets, with the
    /// identity row list, when the cache budget allowed it.
    copy: Option<(Array2<f64>, Array1<f64>, Vec<usize>)>,
}

/// A fold's rows as a model sees them: in place, or transformed by a pipeline into new
/// matrices (made for one fit and dropped after it).
enum FoldRows<'a> {
    InPlace(RowSet<'a>, RowSet<'a>),
    Transformed {
        train: (Array2<f64>, Array1<f64>, Vec<usize>),
        test: (Array2<f64>, Array1<f64>, Vec<usize>),
    },
}

impl FoldRows<'_> {
    /// The training and test rows.
    fn sets(&self) -> (RowSet<'_>, RowSet<'_>) {
        match self {
            FoldRows::InPlace(train, test) => (train.reborrow(), test.reborrow()),
            FoldRows::Transformed { train, test } => (
                RowSet::all(train.0.view(), train.1.view(), &train.2),
                RowSet::all(test.0.view(), test.1.view(), &test.2),
            ),
        }
    }
}

impl<'a> CrossValidator<'a> {
    /// A validator over `data` with `folds`; `standardize` fits a scaler on each training fold.
    pub fn new(
        data: DataView<'a>,
        problem: Problem,
        folds: Folds,
        standardize: bool,
    ) -> CrossValidator<'a> {
        let prepared = (0..folds.len()).map(|_| None).collect();
        CrossValidator {
            data,
            problem,
            folds,
            standardize,
            pipeline: None,
            cache_budget: 0,
            cache_used: 0,
            prepared,
        }
    }

    /// Keep contiguous standardized copies of training folds, up to `bytes` in all.
    ///
    /// A fit reads a fold in place at about 1.5 times the time of a fit on a contiguous copy
    /// (`cargo run --release -p models --example fold_in_place`): a copy pays when a trainer
    /// fits the same fold several times, at the price of the fold's size in memory. Folds are
    /// copied in order while they fit in the budget; the others are read in place.
    pub fn with_fold_cache(mut self, bytes: usize) -> CrossValidator<'a> {
        self.cache_budget = bytes;
        self
    }

    /// Preprocess with `pipeline`, fitted on each training fold, instead of `standardize`.
    ///
    /// Plain standardization (or nothing) stays fused and in place; any other step (imputation,
    /// min-max scaling, one-hot encoding, PCA) transforms each fold's rows into new matrices
    /// for each fit.
    pub fn with_preprocess(mut self, pipeline: Preprocess) -> CrossValidator<'a> {
        match pipeline.as_plain_scaling() {
            Some(standardize) => {
                self.standardize = standardize;
                self.pipeline = None;
            }
            None => self.pipeline = Some(pipeline),
        }
        self.prepared = (0..self.folds.len()).map(|_| None).collect();
        self
    }

    /// The folds.
    pub fn folds(&self) -> &Folds {
        &self.folds
    }

    /// The problem the data poses.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Check every fold and fit its standardization now (e.g. at setup, so the first trial's
    /// time is only its own).
    pub fn prepare_all(&mut self) -> Result<(), ModelError> {
        for i in 0..self.folds.len() {
            self.prepare(i)?;
        }
        Ok(())
    }

    /// Fit and score `estimator` on every fold, calling `on_fold(fold_index, &scores)` after each:
    /// each fold is a report point, and `ControlFlow::Break` there stops the evaluation.
    ///
    /// A metric for the other kind of problem is refused before any fit, and `log_loss` of a
    /// model without probabilities at the first fold, both as [`ModelError::MetricMismatch`].
    /// The first fold whose fit or scoring fails ends the evaluation with that error.
    pub fn evaluate(
        &mut self,
        estimator: &dyn Estimator,
        metrics: &[Metric],
        on_fold: &mut dyn FnMut(usize, &FoldScores) -> ControlFlow<()>,
    ) -> Result<Evaluation, ModelError> {
        self.check_metrics(metrics)?;
        let n_classes = self.problem.n_classes();
        let mut all = Vec::with_capacity(self.folds.len());
        for i in 0..self.folds.len() {
            self.prepare(i)?;
            let rows = self.fold_rows(i)?;
            let (train, test) = rows.sets();
            let fitted = estimator.fit_rows(train)?;
            let prediction = predict_rows(fitted.as_ref(), test);
            let scores = score(&prediction, test, metrics, n_classes)?;
            let flow = on_fold(i, &scores);
            all.push(scores);
            // A stop at the last report point changes nothing: the trial is complete.
            if flow.is_break() && i + 1 < self.folds.len() {
                return Ok(Evaluation {
                    folds: all,
                    reports: None,
                    stopped_after: Some(i),
                });
            }
        }
        Ok(Evaluation {
            folds: all,
            reports: None,
            stopped_after: None,
        })
    }

    /// Train an iterative model on every fold in lockstep, one epoch at a time: after each
    /// epoch, every fold is scored and `on_epoch(epoch, &mean scores over folds)` is called, a
    /// report point where `ControlFlow::Break` stops the training.
    ///
    /// Iterative models take their rows contiguous: each fold's training rows are gathered
    /// for its epoch and dropped after it, so one fold's copy exists at a time.
    ///
    /// Metrics are checked as in [`CrossValidator::evaluate`]; the first failing fit or score
    /// ends the evaluation with its error.
    pub fn evaluate_iterative(
        &mut self,
        estimator: &dyn IterativeEstimator,
        metrics: &[Metric],
        on_epoch: &mut dyn FnMut(usize, &FoldScores) -> ControlFlow<()>,
    ) -> Result<Evaluation, ModelError> {
        self.check_metrics(metrics)?;
        let n_classes = self.problem.n_classes();
        let k = self.folds.len();
        let mut learners = Vec::with_capacity(k);
        for i in 0..k {
            self.prepare(i)?;
            let rows = self.fold_rows(i)?;
            let (train, _) = rows.sets();
            let (x, y) = (train.gather_x(), train.gather_y());
            learners.push(estimator.start(x.view(), y.view(), n_classes)?);
        }
        let mut reports = Vec::with_capacity(estimator.epochs());
        let mut folds = Vec::new();
        for epoch in 0..estimator.epochs() {
            folds = Vec::with_capacity(k);
            for (i, learner) in learners.iter_mut().enumerate() {
                let rows = self.fold_rows(i)?;
                let (train, test) = rows.sets();
                let (x, y) = (train.gather_x(), train.gather_y());
                learner.epoch(x.view(), y.view())?;
                drop(x);
                let prediction = learner.predict(test.gather_x().view())?;
                let mut scores = score(&prediction, test, metrics, n_classes)?;
                scores.extend(learner.own_values());
                folds.push(scores);
            }
            let mean = mean_scores(&folds);
            let flow = on_epoch(epoch, &mean);
            reports.push(mean);
            if flow.is_break() && epoch + 1 < estimator.epochs() {
                return Ok(Evaluation {
                    folds,
                    reports: Some(reports),
                    stopped_after: Some(epoch),
                });
            }
        }
        Ok(Evaluation {
            folds,
            reports: Some(reports),
            stopped_after: None,
        })
    }

    /// Successive halving over rows: fit on a growing share of every training fold (`shares`,
    /// increasing, the last normally 1.0), score on the whole test fold, and call
    /// `on_budget(k, &mean scores over folds)` after each share: a report point where
    /// `ControlFlow::Break` stops. Shares take the first rows of each training fold, which is
    /// shuffled and stratified when the folds are, so each budget is a sample of the fold.
    ///
    /// The folds' scores returned are those at the last share evaluated.
    pub fn evaluate_budgeted(
        &mut self,
        estimator: &dyn Estimator,
        metrics: &[Metric],
        shares: &[f64],
        on_budget: &mut dyn FnMut(usize, &FoldScores) -> ControlFlow<()>,
    ) -> Result<Evaluation, ModelError> {
        self.check_metrics(metrics)?;
        let n_classes = self.problem.n_classes();
        let k = self.folds.len();
        let mut reports = Vec::with_capacity(shares.len());
        let mut folds = Vec::new();
        for (b, &share) in shares.iter().enumerate() {
            folds = Vec::with_capacity(k);
            for i in 0..k {
                self.prepare(i)?;
                let rows = self.fold_rows(i)?;
                let (train, test) = rows.sets();
                let n = train.len();
                let rows = ((share * n as f64).ceil() as usize).clamp(1, n);
                let fitted = estimator.fit_rows(train.head(rows))?;
                let prediction = predict_rows(fitted.as_ref(), test);
                folds.push(score(&prediction, test, metrics, n_classes)?);
            }
            let mean = mean_scores(&folds);
            let flow = on_budget(b, &mean);
            reports.push(mean);
            if flow.is_break() && b + 1 < shares.len() {
                return Ok(Evaluation {
                    folds,
                    reports: Some(reports),
                    stopped_after: Some(b),
                });
            }
        }
        Ok(Evaluation {
            folds,
            reports: Some(reports),
            stopped_after: None,
        })
    }

    /// Refuse a metric for the other kind of problem before any fit.
    fn check_metrics(&self, metrics: &[Metric]) -> Result<(), ModelError> {
        let kind = self.problem.kind();
        if let Some(m) = metrics.iter().find(|m| m.problem() != kind) {
            let name = |k| match k {
                crate::ProblemKind::Classification => "classification",
                crate::ProblemKind::Regression => "regression",
                crate::ProblemKind::Clustering => "clustering",
            };
            let (wants, has) = (name(m.problem()), name(kind));
            return Err(ModelError::MetricMismatch {
                metric: m.name().to_string(),
                reason: format!("it scores {wants}, and the data poses a {has} problem"),
            });
        }
        Ok(())
    }

    /// Check fold `i` and fit its standardization, on first use.
    fn prepare(&mut self, i: usize) -> Result<(), ModelError> {
        if self.prepared[i].is_some() {
            return Ok(());
        }
        let fold = &self.folds.0[i];
        let (x, y) = (self.data.x, self.data.y);
        if y.len() != x.nrows() {
            return Err(ModelError::Data(format!(
                "{} feature rows but {} targets",
                x.nrows(),
                y.len()
            )));
        }
        let n = x.nrows();
        if let Some(&bad) = fold.train.iter().chain(&fold.test).find(|&&r| r >= n) {
            return Err(ModelError::Data(format!(
                "fold {i} names row {bad}, but the data has {n} rows"
            )));
        }
        if fold.train.is_empty() || fold.test.is_empty() {
            return Err(ModelError::Data(format!(
                "fold {i} has no training or no test rows"
            )));
        }
        let (scaler, pipeline) = match &self.pipeline {
            Some(p) => (None, Some(p.fit(x, &fold.train)?)),
            None => (
                self.standardize
                    .then(|| Standardizer::fit_rows(x, &fold.train)),
                None,
            ),
        };
        let bytes = fold.train.len() * (x.ncols() + 2) * std::mem::size_of::<f64>();
        let copy =
            (pipeline.is_none() && self.cache_used + bytes <= self.cache_budget).then(|| {
                self.cache_used += bytes;
                let set = RowSet {
                    x: x.reborrow(),
                    y: y.reborrow(),
                    rows: &fold.train,
                    scaler: scaler.as_ref(),
                };
                (
                    set.gather_x(),
                    set.gather_y(),
                    (0..fold.train.len()).collect(),
                )
            });
        self.prepared[i] = Some(PreparedFold {
            scaler,
            pipeline,
            copy,
        });
        Ok(())
    }

    /// Fold `i`'s rows (prepared) as the model sees them.
    fn fold_rows(&self, i: usize) -> Result<FoldRows<'_>, ModelError> {
        let pipeline = self.prepared[i].as_ref().and_then(|p| p.pipeline.as_ref());
        let (train, test) = self.sets(i);
        if let Some((cx, cy, rows)) = self.prepared[i].as_ref().and_then(|p| p.copy.as_ref()) {
            return Ok(FoldRows::InPlace(
                RowSet::all(cx.view(), cy.view(), rows),
                test,
            ));
        }
        let Some(pipeline) = pipeline else {
            return Ok(FoldRows::InPlace(train, test));
        };
        let transform = |set: RowSet<'_>| -> Result<_, ModelError> {
            let x = pipeline.transform(set.gather_x().view())?;
            Ok((x, set.gather_y(), (0..set.len()).collect::<Vec<usize>>()))
        };
        Ok(FoldRows::Transformed {
            train: transform(train)?,
            test: transform(test)?,
        })
    }

    /// Fold `i`'s training and test rows (prepared), read in place.
    fn sets(&self, i: usize) -> (RowSet<'_>, RowSet<'_>) {
        let fold = &self.folds.0[i];
        let scaler = self.prepared[i].as_ref().and_then(|p| p.scaler.as_ref());
        let (x, y) = (self.data.x.reborrow(), self.data.y.reborrow());
        (
            RowSet {
                x,
                y,
                rows: &fold.train,
                scaler,
            },
            RowSet {
                x,
                y,
                rows: &fold.test,
                scaler,
            },
        )
    }
}

/// A prediction's score on every metric; `x` are the rows predicted.
fn score(
    prediction: &crate::estimator::Prediction,
    test: RowSet<'_>,
    metrics: &[Metric],
    n_classes: usize,
) -> Result<FoldScores, ModelError> {
    let truth = test.gather_y();
    // Only the clustering metrics score the rows themselves: gather them once, and only then.
    let x = metrics
        .iter()
        .any(|m| m.needs_rows())
        .then(|| test.gather_x());
    let mut scores = FoldScores::new();
    for &metric in metrics {
        let value = match &x {
            Some(x) if metric.needs_rows() => {
                metric.score_rows(prediction, x.view(), truth.view(), n_classes)?
            }
            _ => metric.score(prediction, truth.view(), n_classes)?,
        };
        scores.insert(metric.name().to_string(), value);
    }
    Ok(scores)
}

/// Each metric's mean over the folds' scores.
fn mean_scores(folds: &[FoldScores]) -> FoldScores {
    let mut sums = FoldScores::new();
    for f in folds {
        for (name, v) in f {
            *sums.entry(name.clone()).or_insert(0.0) += v;
        }
    }
    let n = folds.len().max(1) as f64;
    sums.values_mut().for_each(|v| *v /= n);
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::{Fitted, Prediction};
    use crate::hyper::{ParamValue, Params};
    use ndarray::{ArrayView1, ArrayView2};
    use std::ops::ControlFlow;
    use std::sync::{Arc, Mutex};

    /// 200 rows, 3 features of different scales and offsets, binary target (rebuilt exactly in
    /// Python for the scikit-learn expectations below).
    fn problem() -> (Array2<f64>, Array1<f64>) {
        let n = 200;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            (i as f64 * (j as f64 + 1.0) * 0.37 + j as f64).sin() * (1.0 + 4.0 * j as f64)
                + 10.0 * j as f64
        });
        let y = (0..n)
            .map(|i| {
                let (a, b, c) = (
                    x[[i, 0]],
                    (x[[i, 1]] - 10.0) / 5.0,
                    (x[[i, 2]] - 20.0) / 9.0,
                );
                if a + 0.5 * b - c + 0.3 * (i as f64 * 1.7).sin() > 0.0 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        (x, y)
    }

    fn classification() -> Problem {
        Problem::Classification {
            classes: vec!["0".into(), "1".into()],
        }
    }

    #[test]
    fn logistic_cv_matches_scikit_learn_fold_scores() {
        // scikit-learn 1.9: cross_validate(make_pipeline(StandardScaler(), LogisticRegression()),
        // x, y, cv=StratifiedKFold(5), scoring=["accuracy", "neg_log_loss"]).
        let (x, y) = problem();
        let folds = Folds::stratified(y.view(), 2, 5, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let est = crate::build("logistic_regression", &Params::new(), 0).unwrap();
        let scores = cv
            .evaluate(
                est.as_ref(),
                &[Metric::Accuracy, Metric::LogLoss],
                &mut |_, _| ControlFlow::Continue(()),
            )
            .unwrap()
            .folds;
        for (s, (acc, ll)) in scores.iter().zip(SKLEARN_FOLDS) {
            assert!((s["accuracy"] - acc).abs() < 1e-12, "{s:?}");
            assert!((s["log_loss"] - ll).abs() < 1e-8, "{s:?} vs {ll}");
        }
    }

    const SKLEARN_FOLDS: [(f64, f64); 5] = [
        (0.975, 0.09968941785063115),
        (1.0, 0.06828552111392303),
        (0.975, 0.09706500270054277),
        (0.975, 0.10279042932368543),
        (0.95, 0.12416226567549775),
    ];

    /// Records the training matrix it is given (address and column means).
    /// Per fit: address of the training matrix, its column means.
    type Seen = Arc<Mutex<Vec<(usize, Vec<f64>, usize)>>>;

    /// A borrowed dataset over test arrays.
    fn view<'a>(x: &'a ndarray::Array2<f64>, y: &'a Array1<f64>) -> DataView<'a> {
        DataView {
            x: x.view(),
            y: y.view(),
        }
    }

    struct Probe(Seen);

    impl Estimator for Probe {
        fn fit(
            &self,
            x: ArrayView2<'_, f64>,
            _y: ArrayView1<'_, f64>,
        ) -> Result<Box<dyn Fitted>, ModelError> {
            let means = x
                .mean_axis(ndarray::Axis(0))
                .map(|m| m.to_vec())
                .unwrap_or_default();
            self.0
                .lock()
                .unwrap()
                .push((x.as_ptr() as usize, means, x.nrows()));
            Ok(Box::new(Constant))
        }
    }

    struct Constant;

    impl Fitted for Constant {
        fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
            Prediction::Classes {
                class: Array1::zeros(x.nrows()),
                proba: None,
            }
        }

        fn to_saved(&self) -> crate::saved::SavedModel {
            unreachable!("cross-validation never saves a model")
        }
    }

    /// Per fit: the matrix's address, the rows, the scaler's address.
    type Handed = Arc<Mutex<Vec<(usize, Vec<usize>, usize)>>>;

    /// Records what `fit_rows` is handed.
    struct InPlace(Handed);

    impl Estimator for InPlace {
        fn fit(
            &self,
            _x: ArrayView2<'_, f64>,
            _y: ArrayView1<'_, f64>,
        ) -> Result<Box<dyn Fitted>, ModelError> {
            panic!("cross-validation must hand over rows in place");
        }

        fn fit_rows(&self, train: RowSet<'_>) -> Result<Box<dyn Fitted>, ModelError> {
            let scaler = train
                .scaler
                .map_or(0, |s| s as *const Standardizer as usize);
            self.0
                .lock()
                .unwrap()
                .push((train.x.as_ptr() as usize, train.rows.to_vec(), scaler));
            Ok(Box::new(Constant))
        }
    }

    #[test]
    fn folds_are_read_in_place_and_their_standardization_is_fitted_once() {
        let (x, y) = problem();
        let folds = Folds::kfold(200, 4, Some(1)).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds.clone(), true);
        let seen = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..2 {
            cv.evaluate(&InPlace(seen.clone()), &[Metric::Accuracy], &mut |_, _| {
                ControlFlow::Continue(())
            })
            .unwrap();
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 8);
        for (i, (addr, rows, scaler)) in seen.iter().enumerate() {
            assert_eq!(*addr, x.as_ptr() as usize, "fold {i} was copied");
            assert_eq!(rows, &folds.0[i % 4].train);
            assert_ne!(*scaler, 0);
        }
        for i in 0..4 {
            assert_eq!(seen[i].2, seen[i + 4].2, "fold {i} was standardized twice");
        }
    }

    #[test]
    fn folds_within_the_cache_budget_are_copied_once_and_give_the_same_scores() {
        let (x, y) = problem();
        let folds = Folds::stratified(y.view(), 2, 4, None).unwrap();
        let est = crate::build("logistic_regression", &Params::new(), 0).unwrap();
        let mut scores = Vec::new();
        // 150 training rows of 3 features: 150 · 5 · 8 = 6,000 bytes a fold; room for two.
        for budget in [0, 12_000] {
            let mut cv = CrossValidator::new(view(&x, &y), classification(), folds.clone(), true)
                .with_fold_cache(budget);
            let seen = Arc::new(Mutex::new(Vec::new()));
            cv.evaluate(&InPlace(seen.clone()), &[Metric::Accuracy], &mut |_, _| {
                ControlFlow::Continue(())
            })
            .unwrap();
            let copied = seen
                .lock()
                .unwrap()
                .iter()
                .filter(|(addr, _, _)| *addr != x.as_ptr() as usize)
                .count();
            assert_eq!(copied, if budget == 0 { 0 } else { 2 });
            let eval = cv
                .evaluate(
                    est.as_ref(),
                    &[Metric::Accuracy, Metric::LogLoss],
                    &mut |_, _| ControlFlow::Continue(()),
                )
                .unwrap();
            scores.push(eval.folds);
        }
        assert_eq!(scores[0], scores[1]);
    }

    #[test]
    fn standardization_is_fitted_on_the_training_rows() {
        let (x, y) = problem();
        let folds = Folds::kfold(200, 4, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let seen = Arc::new(Mutex::new(Vec::new()));
        cv.evaluate(&Probe(seen.clone()), &[Metric::Accuracy], &mut |_, _| {
            ControlFlow::Continue(())
        })
        .unwrap();
        for (_, means, _) in seen.lock().unwrap().iter() {
            assert!(means.iter().all(|m| m.abs() < 1e-12), "{means:?}");
        }
    }

    #[test]
    fn without_standardization_the_rows_are_copied_as_they_are() {
        let (x, y) = problem();
        let folds = Folds::kfold(200, 4, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, false);
        let seen = Arc::new(Mutex::new(Vec::new()));
        cv.evaluate(&Probe(seen.clone()), &[Metric::Accuracy], &mut |_, _| {
            ControlFlow::Continue(())
        })
        .unwrap();
        let rows: Vec<usize> = (50..200).collect();
        let expected = x
            .select(ndarray::Axis(0), &rows)
            .mean_axis(ndarray::Axis(0))
            .unwrap();
        assert_eq!(seen.lock().unwrap()[0].1, expected.to_vec());
    }

    #[test]
    fn on_fold_is_called_after_each_fold_in_order() {
        let (x, y) = problem();
        let folds = Folds::stratified(y.view(), 2, 3, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let est = crate::build("dummy_classifier", &Params::new(), 0).unwrap();
        let mut calls = Vec::new();
        let scores = cv
            .evaluate(est.as_ref(), &[Metric::Accuracy], &mut |i, s| {
                calls.push((i, s.clone()));
                ControlFlow::Continue(())
            })
            .unwrap()
            .folds;
        assert_eq!(calls.iter().map(|c| c.0).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(calls.into_iter().map(|c| c.1).collect::<Vec<_>>(), scores);
    }

    #[test]
    fn a_break_at_a_fold_stops_the_evaluation_there() {
        let (x, y) = problem();
        let folds = Folds::stratified(y.view(), 2, 5, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let out = cv
            .evaluate(&Probe(seen.clone()), &[Metric::Accuracy], &mut |i, _| {
                if i == 1 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert_eq!(out.stopped_after, Some(1));
        assert_eq!(out.folds.len(), 2);
        assert_eq!(seen.lock().unwrap().len(), 2, "no fit after the stop");
    }

    #[test]
    fn an_iterative_model_reports_the_mean_over_folds_after_each_epoch() {
        let (x, y) = problem();
        let folds = Folds::stratified(y.view(), 2, 3, Some(1)).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let params: Params = [("epochs".to_string(), ParamValue::Int(4))].into();
        let est = crate::build_iterative("sgd_logistic", &params, 3).unwrap();
        let mut seen = Vec::new();
        let out = cv
            .evaluate_iterative(est.as_ref(), &[Metric::Accuracy], &mut |e, s| {
                seen.push((e, s["accuracy"]));
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        let last_mean = out.folds.iter().map(|f| f["accuracy"]).sum::<f64>() / 3.0;
        assert!((seen[3].1 - last_mean).abs() < 1e-12);
        assert_eq!(out.reports.as_ref().map(Vec::len), Some(4));
        assert!(seen[3].1 > 0.9, "{seen:?}");
    }

    #[test]
    fn an_iterative_model_stops_at_the_epoch_it_is_told_to() {
        let (x, y) = problem();
        let folds = Folds::stratified(y.view(), 2, 3, Some(1)).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let est = crate::build_iterative("sgd_logistic", &Params::new(), 3).unwrap();
        let out = cv
            .evaluate_iterative(est.as_ref(), &[Metric::Accuracy], &mut |e, _| {
                if e == 1 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert_eq!(out.stopped_after, Some(1));
        assert_eq!(out.reports.map(|r| r.len()), Some(2));
    }

    #[test]
    fn a_row_budget_fits_on_a_growing_share_of_each_training_fold() {
        let (x, y) = problem();
        let folds = Folds::kfold(200, 4, Some(2)).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut reported = Vec::new();
        let out = cv
            .evaluate_budgeted(
                &Probe(seen.clone()),
                &[Metric::Accuracy],
                &[0.1, 0.5, 1.0],
                &mut |b, _| {
                    reported.push(b);
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        assert_eq!(reported, [0, 1, 2]);
        assert_eq!(out.reports.map(|r| r.len()), Some(3));
        // 150 training rows a fold: 15, 75 and 150 rows, on each of the 4 folds.
        let rows: Vec<usize> = seen.lock().unwrap().iter().map(|s| s.2).collect();
        assert_eq!(rows, [15, 15, 15, 15, 75, 75, 75, 75, 150, 150, 150, 150]);
    }

    #[test]
    fn a_stop_at_the_last_report_point_leaves_the_trial_complete() {
        let (x, y) = problem();
        let folds = Folds::stratified(y.view(), 2, 3, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let est = crate::build("dummy_classifier", &Params::new(), 0).unwrap();
        let out = cv
            .evaluate(est.as_ref(), &[Metric::Accuracy], &mut |_, _| {
                ControlFlow::Break(())
            })
            .unwrap();
        assert_eq!((out.stopped_after, out.folds.len()), (Some(0), 1));
        let out = cv
            .evaluate(est.as_ref(), &[Metric::Accuracy], &mut |i, _| {
                if i == 2 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert_eq!((out.stopped_after, out.folds.len()), (None, 3));
    }

    #[test]
    fn regression_metric_on_classification_data_is_refused_before_fitting() {
        let (x, y) = problem();
        let folds = Folds::kfold(200, 2, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let err = cv
            .evaluate(
                &Probe(seen.clone()),
                &[Metric::Accuracy, Metric::Rmse],
                &mut |_, _| ControlFlow::Continue(()),
            )
            .unwrap_err();
        assert!(matches!(err, ModelError::MetricMismatch { .. }), "{err}");
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn log_loss_of_a_model_without_probabilities_is_a_metric_mismatch() {
        let (x, y) = problem();
        let folds = Folds::stratified(y.view(), 2, 2, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        // Every catalogue model has probabilities now: a probe without them stands in.
        let no_proba = Probe(Seen::default());
        let err = cv
            .evaluate(&no_proba, &[Metric::LogLoss], &mut |_, _| {
                ControlFlow::Continue(())
            })
            .unwrap_err();
        assert!(matches!(err, ModelError::MetricMismatch { .. }), "{err}");
    }

    #[test]
    fn a_failing_fit_fails_the_evaluation() {
        let (x, _) = problem();
        // One class only in every training fold: logistic regression refuses it.
        let y = Array1::zeros(200);
        let folds = Folds::kfold(200, 2, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let est = crate::build("logistic_regression", &Params::new(), 0).unwrap();
        let mut calls = 0;
        let err = cv
            .evaluate(est.as_ref(), &[Metric::Accuracy], &mut |_, _| {
                calls += 1;
                ControlFlow::Continue(())
            })
            .unwrap_err();
        assert!(matches!(err, ModelError::Fit(_)), "{err}");
        assert_eq!(calls, 0);
    }

    #[test]
    fn regression_cv_scores_a_regressor() {
        let (x, _) = problem();
        let y: Array1<f64> = x.column(0).mapv(|v| 3.0 * v - 1.0);
        let folds = Folds::kfold(200, 5, None).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), Problem::Regression, folds, true);
        let params: Params = [("alpha".to_string(), ParamValue::Float(0.0))].into();
        let est = crate::build("ridge", &params, 0).unwrap();
        let scores = cv
            .evaluate(est.as_ref(), &[Metric::R2, Metric::Rmse], &mut |_, _| {
                ControlFlow::Continue(())
            })
            .unwrap()
            .folds;
        assert!(
            scores
                .iter()
                .all(|s| s["r2"] > 0.999999 && s["rmse"] < 1e-3),
            "{scores:?}"
        );
    }

    #[test]
    fn fold_rows_outside_the_data_are_refused() {
        let (x, y) = problem();
        let folds = Folds(vec![crate::Fold {
            train: vec![0, 1],
            test: vec![500],
        }]);
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, false);
        assert!(matches!(cv.prepare_all(), Err(ModelError::Data(_))));
    }
}
