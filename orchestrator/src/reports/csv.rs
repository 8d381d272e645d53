//! The trials as CSV, for notebooks and spreadsheets.

use super::view::{StudyView, fmt_value};
use crate::store::TrialState;

/// The trials as CSV: one row per trial, params and metric means/stds as columns.
pub fn csv(view: &StudyView, top: Option<usize>, state: Option<TrialState>) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let metrics = view.metrics();
    let mut params: Vec<String> = view
        .trials
        .iter()
        .flat_map(|t| t.params.keys().cloned())
        .collect();
    params.sort();
    params.dedup();
    let mut header = vec![
        "trial".to_string(),
        "rank".into(),
        "state".into(),
        "attempts".into(),
        "value".into(),
        "step".into(),
    ];
    for m in &metrics {
        header.push(format!("{m}_mean"));
        header.push(format!("{m}_std"));
    }
    header.extend(params.iter().map(|p| format!("param_{p}")));
    header.extend([
        "worker".into(),
        "started_at".into(),
        "finished_at".into(),
        "duration_s".into(),
        "error".into(),
    ]);
    // Writing to memory cannot fail.
    let _ = out.write_record(&header);
    let mut rank = 0;
    let mut n = 0;
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for t in view.ranked() {
        let complete = t.state == TrialState::Complete;
        if complete {
            rank += 1;
        }
        if state.is_some_and(|s| s != t.state) {
            continue;
        }
        let mut row = vec![
            t.trial.to_string(),
            if complete {
                rank.to_string()
            } else {
                String::new()
            },
            t.state.name().into(),
            t.attempts.to_string(),
            opt(t.value),
            t.step.map(|s| s.to_string()).unwrap_or_default(),
        ];
        for m in &metrics {
            let s = t.metrics.get(m);
            row.push(opt(s.map(|s| s.mean)));
            row.push(opt(s.map(|s| s.std)));
        }
        row.extend(
            params
                .iter()
                .map(|p| t.params.get(p).map(fmt_value).unwrap_or_default()),
        );
        row.extend([
            t.worker.map(|w| w.to_string()).unwrap_or_default(),
            opt(t.started_at),
            opt(t.finished_at),
            opt(t.duration_s),
            t.error.clone().unwrap_or_default(),
        ]);
        let _ = out.write_record(&row);
        n += 1;
        if top.is_some_and(|k| n >= k) {
            break;
        }
    }
    let bytes = out.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}
