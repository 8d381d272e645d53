//! The `[slurm]` table: how a study is submitted to a Slurm cluster (`--backend slurm`). The
//! same settings as the flags, which override it, plus extra `#SBATCH` lines.

use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;

use super::{Checker, ConfigError, parse_duration};

/// The `[slurm]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlurm {
    partition: Option<String>,
    time: Option<String>,
    account: Option<String>,
    mem: Option<String>,
    nodes: Option<i64>,
    cpus: Option<i64>,
    signal: Option<String>,
    peer_wait: Option<toml::Value>,
    #[serde(default)]
    extra: Vec<String>,
}

/// How a study is submitted to Slurm (every value checked to be one `#SBATCH` line's worth).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlurmSpec {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (Slurm's formats: `MM`, `HH:MM:SS`, `D-HH:MM`, ...).
    pub time: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--mem` per node (`8G`, `500M`, ...).
    pub mem: Option<String>,
    /// Array tasks, one node each.
    pub nodes: Option<NonZeroU32>,
    /// CPUs per node (`--cpus-per-task`); None: whole nodes (`--exclusive`).
    pub cpus: Option<NonZeroU32>,
    /// `--signal` (default `B:USR1@60`: a minute's warning before the time limit).
    pub signal: Option<String>,
    /// How long a node waits for other nodes' trials a later batch needs.
    pub peer_wait: Option<Duration>,
    /// More `#SBATCH` lines, as `--option=value`.
    pub extra: Vec<String>,
}

/// Check one value that becomes (part of) an `#SBATCH` line.
pub fn check_word(value: &str, expected: &str, ok: impl Fn(char) -> bool) -> Result<(), String> {
    if value.is_empty() || !value.chars().all(ok) {
        return Err(format!("expected {expected}, found {value:?}"));
    }
    Ok(())
}

/// Slurm's time formats: minutes, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`, or
/// `UNLIMITED`.
pub fn check_time(value: &str) -> Result<(), String> {
    let expected = "a Slurm time limit like \"90\" (minutes), \"01:30:00\" or \"2-00:00:00\"";
    if matches!(value, "UNLIMITED" | "INFINITE") {
        return Ok(());
    }
    let (days, rest) = match value.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, value),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let numeric = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let ok = days.is_none_or(numeric) && parts.len() <= 3 && parts.iter().all(|p| numeric(p));
    if ok {
        Ok(())
    } else {
        Err(format!("expected {expected}, found {value:?}"))
    }
}

/// A memory size as Slurm's `--mem` takes it: a number and an optional K, M, G or T.
pub fn check_mem(value: &str) -> Result<(), String> {
    let digits = value.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || value.len() - digits.len() > 1
    {
        return Err(format!(
            "expected a size like \"8G\" or \"500M\" (Slurm's --mem), found {value:?}"
        ));
    }
    Ok(())
}

/// A name Slurm knows (partition, account): letters, digits, `-`, `_`, `.` (and `,` for a
/// list of partitions).
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.,".contains(c)
}

/// `--signal`'s value: `[B:|R:]SIG[@SECONDS]`.
pub fn is_signal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ":@".contains(c)
}

impl Checker<'_> {
    pub(super) fn slurm(&self, raw: Option<RawSlurm>) -> Result<SlurmSpec, ConfigError> {
        let Some(raw) = raw else {
            return Ok(SlurmSpec::default());
        };
        let word = |field: &str, v: &Option<String>, expected: &str, ok: fn(char) -> bool| {
            v.as_deref()
                .map(|v| check_word(v, expected, ok).map_err(|m| self.err(field, m)))
                .transpose()
        };
        word(
            "slurm.partition",
            &raw.partition,
            "a partition name",
            is_name_char,
        )?;
        word(
            "slurm.account",
            &raw.account,
            "an account name",
            is_name_char,
        )?;
        word(
            "slurm.signal",
            &raw.signal,
            "a signal like \"B:USR1@60\" or \"TERM@120\"",
            is_signal_char,
        )?;
        if let Some(t) = &raw.time {
            check_time(t).map_err(|m| self.err("slurm.time", m))?;
        }
        if let Some(m) = &raw.mem {
            check_mem(m).map_err(|m| self.err("slurm.mem", m))?;
        }
        let count = |field: &str, v: Option<i64>| match v {
            None => Ok(None),
            Some(n) if (1..=100_000).contains(&n) => Ok(NonZeroU32::new(n as u32)),
            Some(n) => Err(self.err(
                field,
                format!("expected an integer from 1 to 100000, found {n}"),
            )),
        };
        let nodes = count("slurm.nodes", raw.nodes)?;
        let cpus = count("slurm.cpus", raw.cpus)?;
        let peer_wait = raw
            .peer_wait
            .as_ref()
            .map(|v| parse_duration(v).map_err(|m| self.err("slurm.peer_wait", m)))
            .transpose()?;
        let mut extra = Vec::new();
        for (i, line) in raw.extra.iter().enumerate() {
            let line = line.trim();
            let line = line.strip_prefix("#SBATCH").map_or(line, str::trim);
            if !line.starts_with('-') || line.contains(['\n', '\r']) {
                return Err(self.err(
                    format!("slurm.extra[{i}]"),
                    format!("expected one sbatch option like \"--qos=high\", found {line:?}"),
                ));
            }
            extra.push(line.to_string());
        }
        Ok(SlurmSpec {
            partition: raw.partition,
            time: raw.time,
            account: raw.account,
            mem: raw.mem,
            nodes,
            cpus,
            signal: raw.signal,
            peer_wait,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_time_limits_in_slurm_formats_are_accepted_and_others_refused() {
        for ok in ["90", "01:30:00", "2-00:00:00", "1-12", "UNLIMITED", "30:00"] {
            assert!(check_time(ok).is_ok(), "{ok}");
        }
        for bad in ["1h", "", "1:2:3:4", "-5", "01:30:00\n#SBATCH --x"] {
            assert!(check_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn slurm_memory_takes_one_unit_letter() {
        assert!(check_mem("8G").is_ok());
        assert!(check_mem("500").is_ok());
        assert!(check_mem("8GB").is_err());
        assert!(check_mem("G").is_err());
    }
}
