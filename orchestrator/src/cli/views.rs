//! The JSON and CSV forms of reports that had only a text form (status, models, a training's
//! history), and the refit line of `status`.

use std::path::Path;

use serde_json::{Value, json};

use crate::reports::{Records, StudyView};
use crate::store::TrialState;
use crate::sweep::refit::{META_KEY, RefitEnd};

/// How the study's refit ended, if it was recorded.
fn refit_end(view: &StudyView) -> Option<RefitEnd> {
    view.meta
        .get(META_KEY)
        .and_then(|v| serde_json::from_str(v).ok())
}

/// `model: …` for `status`: where the refit model is, or why there is none.
pub(super) fn refit_line(view: &StudyView, dir: &Path) -> Option<String> {
    refit_end(view).map(|e| e.describe(dir))
}

/// `cohort status --format json`.
pub(super) fn status_json(view: &StudyView, now: f64) -> Value {
    let get = |k: &str| view.meta.get(k).cloned().unwrap_or_default();
    let running: Vec<Value> = view
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Running)
        .map(|t| {
            json!({
                "trial": t.trial,
                "attempt": t.attempts,
                "worker": t.worker,
                "seconds": t.started_at.map(|s| now - s),
            })
        })
        .collect();
    json!({
        "study": get("name"),
        "model": get("model"),
        "status": get("status"),
        "counts": view.counts(),
        "running": running,
        "best": view.best().map(|b| json!({
            "trial": b.trial,
            "objective": view.objective(),
            "value": b.value,
        })),
        "refit": refit_end(view),
    })
}

/// `cohort status --format csv`: trials by state.
pub(super) fn status_records(view: &StudyView) -> Records {
    let mut r = Records::new(&["state", "trials"]);
    for (state, n) in view.counts() {
        r.push(vec![json!(state), json!(n)]);
    }
    r
}

/// `cohort train --format csv`: the per-epoch history.
pub(super) fn history_records(summary: &crate::training::TrainSummary) -> Records {
    // Nested values (the held-out metrics) become columns of their own: `heldout_accuracy`.
    let flatten = |v: Value| -> Value {
        let Value::Object(o) = v else { return v };
        let mut flat = serde_json::Map::new();
        for (k, v) in o {
            match v {
                Value::Object(inner) => {
                    for (ik, iv) in inner {
                        flat.insert(format!("{k}_{ik}"), iv);
                    }
                }
                other => {
                    flat.insert(k, other);
                }
            }
        }
        Value::Object(flat)
    };
    let rows: Vec<Value> = summary
        .history
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .map(flatten)
        .collect();
    let columns: Vec<String> = rows
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    Records {
        rows: rows
            .iter()
            .map(|r| columns.iter().map(|c| r[c].clone()).collect())
            .collect(),
        columns,
    }
}

fn kind(m: &models::ModelInfo) -> &'static str {
    match m.problem {
        models::ProblemKind::Classification => "classifier",
        models::ProblemKind::Regression => "regressor",
        models::ProblemKind::Clustering => "clustering",
    }
}

/// `cohort models --format json`.
pub(super) fn models_json(chosen: &[&models::ModelInfo]) -> Value {
    Value::Array(
        chosen
            .iter()
            .map(|m| {
                json!({
                    "name": m.name,
                    "kind": kind(m),
                    "probabilistic": m.probabilistic,
                    "iterative": m.iterative,
                    "summary": m.summary,
                    "hyperparameters": m.hyperparams.iter().map(|h| json!({
                        "name": h.name,
                        "expected": h.kind.expected(),
                        "default": h.default.as_ref().map(|d| serde_json::to_value(d).unwrap_or(Value::Null)),
                        "help": h.help,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// `cohort models --format csv`: one row per hyperparameter.
pub(super) fn models_records(chosen: &[&models::ModelInfo]) -> Records {
    let mut r = Records::new(&[
        "model",
        "kind",
        "hyperparameter",
        "expected",
        "default",
        "help",
    ]);
    for m in chosen {
        for h in &m.hyperparams {
            r.push(vec![
                json!(m.name),
                json!(kind(m)),
                json!(h.name),
                json!(h.kind.expected()),
                h.default.as_ref().map_or(Value::Null, |d| {
                    serde_json::to_value(d).unwrap_or(Value::Null)
                }),
                json!(h.help),
            ]);
        }
    }
    r
}
