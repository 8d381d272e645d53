//! Reading a study back: the ranked table for people, JSON and CSV for notebooks.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use models::{Direction, Metric};
use serde_json::{Value, json};

use crate::store::{TrialRecord, TrialState};

/// A study as read from its store: metadata and trials.
pub struct StudyView {
    /// Metadata (name, model, objective, ...).
    pub meta: BTreeMap<String, String>,
    /// Every trial, in trial order.
    pub trials: Vec<TrialRecord>,
}

impl StudyView {
    /// The objective metric.
    pub fn objective(&self) -> Metric {
        self.meta
            .get("objective")
            .and_then(|m| Metric::from_name(m))
            .unwrap_or(Metric::Accuracy)
    }

    /// All recorded metrics, objective first.
    pub fn metrics(&self) -> Vec<Metric> {
        self.meta
            .get("metrics")
            .and_then(|m| serde_json::from_str::<Vec<String>>(m).ok())
            .map(|v| v.iter().filter_map(|m| Metric::from_name(m)).collect())
            .unwrap_or_else(|| vec![self.objective()])
    }

    /// The searched hyperparameters' names (the table's columns).
    pub fn searched(&self) -> Vec<String> {
        self.meta
            .get("searched")
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default()
    }

    /// Complete trials best first (ties: the earlier trial first, as scikit-learn), then the rest by number.
    pub fn ranked(&self) -> Vec<&TrialRecord> {
        let dir = self.objective().direction();
        let mut complete: Vec<&TrialRecord> = self
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite))
            .collect();
        complete.sort_by(|a, b| {
            let (x, y) = (a.value.unwrap_or(f64::NAN), b.value.unwrap_or(f64::NAN));
            let ord = match dir {
                Direction::Maximize => y.total_cmp(&x),
                Direction::Minimize => x.total_cmp(&y),
            };
            ord.then(a.trial.cmp(&b.trial))
        });
        let rest = self
            .trials
            .iter()
            .filter(|t| !(t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite)));
        complete.into_iter().chain(rest).collect()
    }

    /// The best complete trial.
    pub fn best(&self) -> Option<&TrialRecord> {
        self.ranked()
            .into_iter()
            .next()
            .filter(|t| t.state == TrialState::Complete)
    }

    /// Trials per state.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut c = BTreeMap::new();
        for t in &self.trials {
            *c.entry(t.state.name()).or_insert(0) += 1;
        }
        c
    }
}

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
            "objective": view.objective().name(),
            "direction": view.objective().direction(),
            "metrics": view.metrics().iter().map(|m| m.name()).collect::<Vec<_>>(),
            "sampler": get("sampler"),
            "folds": get("folds").parse::<u64>().ok(),
            "seed": get("seed").parse::<u64>().ok(),
            "data": {
                "path": get("data_path"),
                "rows": get("data_rows").parse::<u64>().ok(),
                "features": get("data_features").parse::<u64>().ok(),
                "sha256": get("data_checksum"),
            },
            "created_at": get("created_at").parse::<f64>().ok(),
            "counts": view.counts(),
        },
        "best_trial": view.best().map(|t| trial_json(t, Some(1))),
        "trials": view.trials.iter().map(|t| trial_json(t, rank_of(t))).collect::<Vec<_>>(),
    })
}

fn fmt_value(v: &models::ParamValue) -> String {
    match v {
        models::ParamValue::Float(x) => format!("{x}"),
        models::ParamValue::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The ranked table: rank, trial, objective mean ± std, other metrics, searched params, state, time.
pub fn table(view: &StudyView, top: Option<usize>, state: Option<TrialState>) -> String {
    let metrics = view.metrics();
    let searched = view.searched();
    let mut header: Vec<String> = vec!["rank".into(), "trial".into()];
    header.extend(metrics.iter().map(|m| m.name().to_string()));
    header.extend(searched.iter().cloned());
    header.extend(["state".into(), "time".into()]);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut rank = 0;
    for t in view.ranked() {
        let complete = t.state == TrialState::Complete;
        if complete {
            rank += 1;
        }
        if state.is_some_and(|s| s != t.state) {
            continue;
        }
        let mut row = vec![
            if complete {
                rank.to_string()
            } else {
                "-".into()
            },
            t.trial.to_string(),
        ];
        for m in &metrics {
            row.push(match t.metrics.get(m.name()) {
                Some(s) => format!("{:.4} ± {:.4}", s.mean, s.std),
                None => "-".into(),
            });
        }
        for p in &searched {
            row.push(t.params.get(p).map(fmt_value).unwrap_or_else(|| "-".into()));
        }
        row.push(t.state.name().into());
        row.push(
            t.duration_s
                .map(human_duration)
                .unwrap_or_else(|| "-".into()),
        );
        rows.push(row);
        if top.is_some_and(|k| rows.len() >= k) {
            break;
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut out, &header);
    line(
        &mut out,
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    );
    for r in &rows {
        line(&mut out, r);
    }
    out
}

/// "4.2ms", "1.35s", "2m05s".
fn human_duration(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1}ms", s * 1e3)
    } else if s < 60.0 {
        format!("{s:.2}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

/// The trials as CSV: one row per trial, params and metric means/stds as columns.
pub fn csv(view: &StudyView, top: Option<usize>, state: Option<TrialState>) -> String {
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
    ];
    for m in &metrics {
        header.push(format!("{}_mean", m.name()));
        header.push(format!("{}_std", m.name()));
    }
    header.extend(params.iter().map(|p| format!("param_{p}")));
    header.extend([
        "worker".into(),
        "started_at".into(),
        "finished_at".into(),
        "duration_s".into(),
        "error".into(),
    ]);
    let mut w = String::new();
    w.push_str(&csv_line(&header));
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
        ];
        for m in &metrics {
            let s = t.metrics.get(m.name());
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
        w.push_str(&csv_line(&row));
        n += 1;
        if top.is_some_and(|k| n >= k) {
            break;
        }
    }
    w
}

fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}
