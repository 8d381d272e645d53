//! `cohort status`: trial counts by state, the running trials, the best so far.

use super::view::StudyView;
use crate::store::TrialState;

/// The status of a study at Unix time `now`, for people.
pub fn status_text(view: &StudyView, now: f64) -> String {
    let mut text = format!(
        "study {} ({}): {}\n",
        view.meta.get("name").map_or("?", String::as_str),
        view.meta.get("model").map_or("?", String::as_str),
        view.meta.get("status").map_or("?", String::as_str)
    );
    for (state, n) in view.counts() {
        text.push_str(&format!("  {state:<14} {n}\n"));
    }
    for t in view
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Running)
    {
        let elapsed = t.started_at.map_or(0.0, |s| now - s);
        text.push_str(&format!(
            "  running: trial {} (attempt {}) on worker {} for {elapsed:.1}s\n",
            t.trial,
            t.attempts,
            t.worker.map_or("-".into(), |w| w.to_string())
        ));
    }
    if let Some(b) = view.best() {
        text.push_str(&format!(
            "  best: trial {} {} {:.4}\n",
            b.trial,
            view.objective(),
            b.value.unwrap_or(f64::NAN)
        ));
    }
    text
}
