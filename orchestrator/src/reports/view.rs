//! A study as read back from its store, ranked.

use std::collections::BTreeMap;

use models::Direction;

use crate::store::{TrialRecord, TrialState};

/// A study as read from its store: metadata and trials.
pub struct StudyView {
    /// Metadata (name, model, objective, ...).
    pub meta: BTreeMap<String, String>,
    /// Every trial, in trial order.
    pub trials: Vec<TrialRecord>,
}

impl StudyView {
    /// The objective's name.
    pub fn objective(&self) -> &str {
        self.meta.get("objective").map_or("value", String::as_str)
    }

    /// Which way the objective is better.
    pub fn direction(&self) -> Direction {
        match self.meta.get("direction").map(String::as_str) {
            Some("minimize") => Direction::Minimize,
            _ => Direction::Maximize,
        }
    }

    /// Every metric's name: the configured ones (objective first), then any other name a trial
    /// reported (names are open), in order of first appearance.
    pub fn metrics(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .meta
            .get("metrics")
            .and_then(|m| serde_json::from_str::<Vec<String>>(m).ok())
            .unwrap_or_else(|| vec![self.objective().to_string()]);
        for t in &self.trials {
            for k in t.metrics.keys() {
                if !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
        names
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
        let dir = self.direction();
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

/// A hyperparameter value as shown in tables and CSV cells.
pub fn fmt_value(v: &models::ParamValue) -> String {
    match v {
        models::ParamValue::Float(x) => format!("{x}"),
        models::ParamValue::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A trial's state as shown to people: a pruned trial says where it stopped.
pub fn state_text(t: &TrialRecord) -> String {
    match (t.state, t.step) {
        (TrialState::Pruned, Some(step)) => format!("pruned at step {step}"),
        (state, _) => state.name().to_string(),
    }
}
