//! The objective's value at each report point of each trial, read from the
//! `intermediate_values` view (finished trials' report points and running trials' live reports).

use serde::Serialize;

use super::{Store, StoreError, TrialState};

/// The objective's value at one report point of one trial attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntermediateValue {
    /// The trial.
    pub trial: u64,
    /// Its attempt.
    pub attempt: u32,
    /// The report point (a fold, an epoch, a program's step), from 0.
    pub step: u32,
    /// The objective's value there (None when the report did not carry it).
    pub value: Option<f64>,
    /// The trial's state now.
    pub state: TrialState,
}

impl Store {
    /// Every intermediate value, by trial, attempt and step.
    pub fn intermediate_values(&self) -> Result<Vec<IntermediateValue>, StoreError> {
        let sql = "SELECT i.trial, i.attempt, i.step, i.value, t.state
                   FROM intermediate_values AS i JOIN trials AS t ON t.trial = i.trial
                   ORDER BY i.trial, i.attempt, i.step";
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let state: String = r.get(4)?;
                Ok(IntermediateValue {
                    trial: r.get::<_, i64>(0)? as u64,
                    attempt: r.get::<_, i64>(1)? as u32,
                    step: r.get::<_, i64>(2)? as u32,
                    value: r.get(3)?,
                    state: TrialState::from_name(&state).unwrap_or(TrialState::Failed),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}
