//! Cross-validation of an estimator over fixed folds, with prepared folds cached across trials.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::cv::Folds;
use crate::dataset::{DataView, Problem};
use crate::error::ModelError;
use crate::estimator::Estimator;
use crate::iterative::IterativeEstimator;
use crate::metrics::Metric;
use crate::preprocess::Standardizer;

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

/// Scores estimators by k-fold CV on one dataset; the folds (and their standardized copies) are
/// prepared once and reused by every trial this process runs.
///
/// Preparing a fold gathers its training and test rows into contiguous matrices and, with
/// `standardize`, scales both with a [`Standardizer`] fitted on the training rows only. The
/// cache holds every fold: k folds cost k copies of the dataset (k − 1 of them in training
/// rows, one in test rows) for the life of the validator.
pub struct CrossValidator<'a> {
    data: DataView<'a>,
    problem: Problem,
    folds: Folds,
    standardize: bool,
    prepared: Vec<Option<PreparedFold>>,
}

/// One fold's rows, gathered (and standardized) once.
struct PreparedFold {
    train_x: Array2<f64>,
    train_y: Array1<f64>,
    test_x: Array2<f64>,
    test_y: Array1<f64>,
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
            prepared,
        }
    }

    /// The folds.
    pub fn folds(&self) -> &Folds {
        &self.folds
    }

    /// The problem the data poses.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Prepare every fold now (e.g. at setup, so the first trial's time is only its own).
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
            let fold = self.prepare(i)?;
            let fitted = estimator.fit(fold.train_x.view(), fold.train_y.view())?;
            let prediction = fitted.predict(fold.test_x.view());
            let scores = score(
                &prediction,
                fold.test_x.view(),
                fold.test_y.view(),
                metrics,
                n_classes,
            )?;
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
            let fold = self.prepare(i)?;
            learners.push(estimator.start(fold.train_x.view(), fold.train_y.view(), n_classes)?);
        }
        let mut reports = Vec::with_capacity(estimator.epochs());
        let mut folds = Vec::new();
        for epoch in 0..estimator.epochs() {
            folds = Vec::with_capacity(k);
            for (i, learner) in learners.iter_mut().enumerate() {
                let fold = self.prepare(i)?;
                learner.epoch(fold.train_x.view(), fold.train_y.view())?;
                let prediction = learner.predict(fold.test_x.view())?;
                folds.push(score(
                    &prediction,
                    fold.test_x.view(),
                    fold.test_y.view(),
                    metrics,
                    n_classes,
                )?);
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
                let fold = self.prepare(i)?;
                let n = fold.train_x.nrows();
                let rows = ((share * n as f64).ceil() as usize).clamp(1, n);
                let x = fold.train_x.slice(ndarray::s![..rows, ..]);
                let y = fold.train_y.slice(ndarray::s![..rows]);
                let fitted = estimator.fit(x, y)?;
                let prediction = fitted.predict(fold.test_x.view());
                folds.push(score(
                    &prediction,
                    fold.test_x.view(),
                    fold.test_y.view(),
                    metrics,
                    n_classes,
                )?);
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

    /// Fold `i`, prepared on first use.
    fn prepare(&mut self, i: usize) -> Result<&PreparedFold, ModelError> {
        let slot = &mut self.prepared[i];
        if slot.is_none() {
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
            let mut train_x = gather_rows(x, &fold.train)?;
            let mut test_x = gather_rows(x, &fold.test)?;
            if self.standardize {
                let scaler = Standardizer::fit(train_x.view());
                scaler.transform_in_place(train_x.view_mut());
                scaler.transform_in_place(test_x.view_mut());
            }
            *slot = Some(PreparedFold {
                train_x,
                train_y: gather(y, &fold.train),
                test_x,
                test_y: gather(y, &fold.test),
            });
        }
        // Just filled if it was empty.
        slot.as_ref()
            .ok_or_else(|| ModelError::Data(format!("fold {i} could not be prepared")))
    }
}

/// A prediction's score on every metric; `x` are the rows predicted.
fn score(
    prediction: &crate::estimator::Prediction,
    x: ArrayView2<'_, f64>,
    truth: ArrayView1<'_, f64>,
    metrics: &[Metric],
    n_classes: usize,
) -> Result<FoldScores, ModelError> {
    let mut scores = FoldScores::new();
    for &metric in metrics {
        scores.insert(
            metric.name().to_string(),
            metric.score_rows(prediction, x, truth, n_classes)?,
        );
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

/// The rows `rows` of `x`, in that order, as a new row-major matrix.
fn gather_rows(x: ArrayView2<'_, f64>, rows: &[usize]) -> Result<Array2<f64>, ModelError> {
    let p = x.ncols();
    let mut out = Vec::with_capacity(rows.len() * p);
    for &r in rows {
        let row = x.row(r);
        match row.as_slice() {
            Some(s) => out.extend_from_slice(s),
            None => out.extend(row.iter().copied()),
        }
    }
    Array2::from_shape_vec((rows.len(), p), out)
        .map_err(|e| ModelError::Data(format!("gathering fold rows: {e}")))
}

/// The entries `rows` of `y`.
fn gather(y: ArrayView1<'_, f64>, rows: &[usize]) -> Array1<f64> {
    rows.iter().map(|&r| y[r]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::{Fitted, Prediction};
    use crate::hyper::{ParamValue, Params};
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
    }

    #[test]
    fn folds_are_prepared_once_and_reused_across_trials() {
        let (x, y) = problem();
        let folds = Folds::kfold(200, 4, Some(1)).unwrap();
        let mut cv = CrossValidator::new(view(&x, &y), classification(), folds, true);
        let seen = Arc::new(Mutex::new(Vec::new()));
        cv.evaluate(&Probe(seen.clone()), &[Metric::Accuracy], &mut |_, _| {
            ControlFlow::Continue(())
        })
        .unwrap();
        cv.evaluate(&Probe(seen.clone()), &[Metric::Accuracy], &mut |_, _| {
            ControlFlow::Continue(())
        })
        .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 8);
        for i in 0..4 {
            assert_eq!(seen[i].0, seen[i + 4].0, "fold {i} was prepared twice");
        }
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
