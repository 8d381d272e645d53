//! `cohort intermediate`: the objective at each report point of each trial, as a long table
//! (one row per trial, attempt and step) for people, JSON and CSV for notebooks.

use super::Format;
use crate::store::IntermediateValue;

/// The intermediate values in `format`.
pub fn intermediate_text(values: &[IntermediateValue], format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(values)?),
        Format::Csv => {
            let mut w = ::csv::Writer::from_writer(Vec::new());
            w.write_record(["trial", "attempt", "step", "value", "state"])?;
            for v in values {
                w.write_record([
                    v.trial.to_string(),
                    v.attempt.to_string(),
                    v.step.to_string(),
                    v.value.map_or_else(String::new, |x| x.to_string()),
                    v.state.name().to_string(),
                ])?;
            }
            String::from_utf8(w.into_inner()?)?
        }
        Format::Table => {
            let mut out = format!(
                "{:<6} {:<7} {:<5} {:<12} {}\n",
                "trial", "attempt", "step", "value", "state"
            );
            for v in values {
                out.push_str(&format!(
                    "{:<6} {:<7} {:<5} {:<12} {}\n",
                    v.trial,
                    v.attempt,
                    v.step,
                    v.value
                        .map_or_else(|| "-".to_string(), |x| format!("{x:.6}")),
                    v.state.name()
                ));
            }
            out
        }
    })
}
