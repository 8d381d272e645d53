//! The store's tests: what is written reads back, through the tables and the views.

use std::collections::BTreeMap;

use models::Params;

use super::*;

fn meta() -> BTreeMap<String, String> {
    BTreeMap::from([("name".to_string(), "t".to_string())])
}

#[test]
fn a_finished_trial_reads_back_with_fold_metrics_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path(), &meta()).unwrap();
    let p: Params = BTreeMap::from([("C".to_string(), models::ParamValue::Float(0.1))]);
    s.trial_started(0, &p, 1, 3, 100.0).unwrap();
    let folds = vec![
        BTreeMap::from([("accuracy".to_string(), 0.8)]),
        BTreeMap::from([("accuracy".to_string(), 0.9)]),
    ];
    s.trial_finished(0, &folds, None, "accuracy", 101.5)
        .unwrap();
    s.commit().unwrap();
    let r = Store::open_readonly(dir.path()).unwrap().trials().unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].state, TrialState::Complete);
    assert!((r[0].value.unwrap() - 0.85).abs() < 1e-12);
    assert!((r[0].metrics["accuracy"].std - 0.05).abs() < 1e-12);
    assert_eq!(r[0].folds.len(), 2);
    assert_eq!(r[0].duration_s, Some(1.5));
    assert_eq!(r[0].worker, Some(3));
    assert_eq!(r[0].params, p);
}

#[test]
fn uncommitted_writes_are_not_visible_to_readers() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path(), &meta()).unwrap();
    s.insert_trial(0, &Params::new()).unwrap();
    assert!(
        Store::open_readonly(dir.path())
            .unwrap()
            .trials()
            .unwrap()
            .is_empty()
    );
    s.commit().unwrap();
    assert_eq!(
        Store::open_readonly(dir.path())
            .unwrap()
            .trials()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_directory_without_a_database_is_not_a_study() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open_readonly(dir.path()),
        Err(StoreError::NotAStudy(_))
    ));
}

#[test]
fn fold_and_trial_metrics_read_relationally_through_views() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path(), &BTreeMap::new()).unwrap();
    s.trial_started(4, &Params::new(), 1, 0, 1.0).unwrap();
    let folds = vec![
        BTreeMap::from([("accuracy".to_string(), 0.5), ("log_loss".to_string(), 0.7)]),
        BTreeMap::from([
            ("accuracy".to_string(), 0.75),
            ("log_loss".to_string(), 0.6),
        ]),
    ];
    s.trial_finished(4, &folds, None, "accuracy", 2.0).unwrap();
    s.commit().unwrap();
    let rows: Vec<(i64, i64, String, f64)> = s
        .conn
        .prepare("SELECT trial, fold, metric, value FROM fold_metrics ORDER BY fold, metric")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        vec![
            (4, 0, "accuracy".into(), 0.5),
            (4, 0, "log_loss".into(), 0.7),
            (4, 1, "accuracy".into(), 0.75),
            (4, 1, "log_loss".into(), 0.6)
        ]
    );
    let (mean, std): (f64, f64) = s
        .conn
        .query_row(
            "SELECT mean, std FROM trial_metrics WHERE metric = 'accuracy'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((mean, std), (0.625, 0.125));
}

#[test]
fn a_study_of_another_store_format_is_refused_with_both_formats_named() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), &BTreeMap::new()).unwrap();
    s.conn
        .execute(
            "UPDATE study SET value = '0' WHERE key = 'store_format'",
            [],
        )
        .unwrap();
    drop(s);
    let err = Store::open_readonly(dir.path()).err().unwrap().to_string();
    assert!(
        err.contains("store format 0") && err.contains(STORE_FORMAT),
        "{err}"
    );
}

#[test]
fn every_report_is_an_intermediate_value_the_last_fold_included() {
    let dir = tempfile::tempdir().unwrap();
    let meta = BTreeMap::from([("objective".to_string(), "accuracy".to_string())]);
    let mut s = Store::create(dir.path(), &meta).unwrap();
    let fold =
        |v: f64| BTreeMap::from([("accuracy".to_string(), v), ("log_loss".to_string(), 1.0)]);
    // Trial 0 finished (its folds are its reports); trial 1 is running with one live report;
    // trial 2 was pruned after two report points.
    s.trial_started(0, &Params::new(), 1, 0, 1.0).unwrap();
    s.report(0, 1, 0, Some(0.5), &fold(0.5)).unwrap();
    s.trial_finished(0, &[fold(0.5), fold(0.7), fold(0.9)], None, "accuracy", 2.0)
        .unwrap();
    s.trial_started(1, &Params::new(), 1, 1, 1.0).unwrap();
    s.report(1, 1, 0, Some(0.25), &fold(0.25)).unwrap();
    s.trial_started(2, &Params::new(), 1, 0, 2.0).unwrap();
    s.trial_pruned(2, Some(1), &[fold(0.1), fold(0.2)], None, 3.0)
        .unwrap();
    // Trial 3 learns epoch by epoch: its report points are its epochs, not its folds.
    s.trial_started(3, &Params::new(), 1, 1, 2.0).unwrap();
    let epochs = [fold(0.6), fold(0.7), fold(0.85)];
    s.trial_finished(3, &[fold(0.8), fold(0.9)], Some(&epochs), "accuracy", 4.0)
        .unwrap();
    s.commit().unwrap();
    let rows: Vec<(i64, i64, i64, f64)> = s
        .conn
        .prepare("SELECT trial, attempt, step, value FROM intermediate_values ORDER BY trial, step")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            (0, 1, 0, 0.5),
            (0, 1, 1, 0.7),
            (0, 1, 2, 0.9),
            (1, 1, 0, 0.25),
            (2, 1, 0, 0.1),
            (2, 1, 1, 0.2),
            (3, 1, 0, 0.6),
            (3, 1, 1, 0.7),
            (3, 1, 2, 0.85)
        ]
    );
    let pruned = &s.trials().unwrap()[2];
    assert_eq!((pruned.state, pruned.step), (TrialState::Pruned, Some(1)));
}
