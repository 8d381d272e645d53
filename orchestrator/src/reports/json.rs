//! The study as one JSON document, and one trial as JSON (`--json`, `cohort best`).

use serde_json::{Value, json};

use super::view::StudyView;
use crate::store::{TrialRecord, TrialState};

/// One trial as JSON.
pub fn trial_json(t: &TrialRecord, rank: Option<usize>) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("rank".into(), rank.map_or(Value::Null, |r| json!(r)));
    }
    v
}

/// The whole study as one JSON document.
pub fn study_json(view: &StudyView, status: &str) -> Value {
    let ranked = view.ranked();
    let rank_of = |t: &TrialRecord| {
        ranked
            .iter()
            .position(|r| r.trial == t.trial && t.state == TrialState::Complete)
            .map(|p| p + 1)
    };
    let m = &view.meta;
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    json!({
        "study": {
            "name": get("name"),
            "status": status,
            "model": get("model"),
            "objective": view.objective(),
            "direction": view.direction(),
            "metrics": view.metrics(),
            "sampler": get("sampler"),
            "folds": get("folds").parse::<u64>().ok(),
            "seed": get("seed").parse::<u64>().ok(),
            "data": {
                "path": get("data_path"),
                "rows": get("data_rows").parse::<u64>().ok(),
                "features": get("data_features").parse::<u64>().ok(),
                "checksum": get("data_checksum"),
            },
            "created_at": get("created_at").parse::<f64>().ok(),
            "memory": {
                "peak_rss_bytes": get("peak_memory_rss").parse::<u64>().ok(),
                "peak_pss_bytes": get("peak_memory_pss").parse::<u64>().ok(),
                "data_bytes": get("data_bytes").parse::<u64>().ok(),
            },
            "counts": view.counts(),
        },
        "best_trial": view.best().map(|t| trial_json(t, Some(1))),
        "trials": view.trials.iter().map(|t| trial_json(t, rank_of(t))).collect::<Vec<_>>(),
    })
}
