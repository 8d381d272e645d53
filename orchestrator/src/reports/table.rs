//! The ranked table for people: rank, trial, each metric's mean ± std, the searched
//! hyperparameters, the state and the time.

use std::fmt::Write as _;

use super::view::{StudyView, fmt_value, state_text};
use crate::store::TrialState;

/// The ranked table: rank, trial, objective mean ± std, other metrics, searched params, state, time.
pub fn table(view: &StudyView, top: Option<usize>, state: Option<TrialState>) -> String {
    let metrics = view.metrics();
    let searched = view.searched();
    let mut header: Vec<String> = vec!["rank".into(), "trial".into()];
    header.extend(metrics.iter().cloned());
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
            row.push(match t.metrics.get(m) {
                Some(s) => format!("{:.4} ± {:.4}", s.mean, s.std),
                None => "-".into(),
            });
        }
        for p in &searched {
            row.push(t.params.get(p).map(fmt_value).unwrap_or_else(|| "-".into()));
        }
        row.push(state_text(t));
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
