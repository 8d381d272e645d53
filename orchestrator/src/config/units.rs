//! Numbers with units in configs: durations ("90s", "10m") and sizes ("2GiB").

use std::time::Duration;

/// A quantity given as a plain number, or as a string of a number and a unit from `units`
/// (name, scale); the empty unit means the plain number.
fn scaled(v: &toml::Value, units: &[(&str, f64)], expected: &str) -> Result<f64, String> {
    let bad = || format!("{expected}, found {v}");
    match v {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(x) => Ok(*x),
        toml::Value::String(s) => {
            let s = s.trim();
            let split = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(s.len());
            let (num, unit) = s.split_at(split);
            let n: f64 = num.parse().map_err(|_| bad())?;
            let scale = units
                .iter()
                .find(|(u, _)| *u == unit.trim())
                .map(|(_, k)| *k)
                .ok_or_else(bad)?;
            Ok(n * scale)
        }
        _ => Err(bad()),
    }
}

/// Seconds as a number, or a string like "90s", "10m", "2h".
pub(crate) fn parse_duration(v: &toml::Value) -> Result<Duration, String> {
    let expected = "expected seconds (a number > 0) or a string like \"90s\", \"10m\", \"2h\"";
    let units = [
        ("", 1.0),
        ("s", 1.0),
        ("ms", 0.001),
        ("m", 60.0),
        ("min", 60.0),
        ("h", 3600.0),
    ];
    let secs = scaled(v, &units, expected)?;
    if !(secs.is_finite() && secs > 0.0 && secs < 1e9) {
        return Err(format!("{expected}, found {v}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Bytes as a number, or a string like "512MiB", "2GiB", "2G".
pub(crate) fn parse_bytes(v: &toml::Value) -> Result<u64, String> {
    let expected = "expected bytes (an integer) or a string like \"512MiB\" or \"2GiB\"";
    const KI: f64 = 1024.0;
    let units = [
        ("", 1.0),
        ("B", 1.0),
        ("K", KI),
        ("k", KI),
        ("KiB", KI),
        ("M", KI * KI),
        ("MiB", KI * KI),
        ("G", KI * KI * KI),
        ("GiB", KI * KI * KI),
        ("KB", 1e3),
        ("kB", 1e3),
        ("MB", 1e6),
        ("GB", 1e9),
    ];
    if matches!(v, toml::Value::Float(_)) {
        return Err(format!("{expected}, found {v}"));
    }
    let bytes = scaled(v, &units, expected)?;
    // Below ~64 MiB a trainer cannot even map its binary and the dataset.
    if !(64.0 * 1024.0 * 1024.0..1e15).contains(&bytes) {
        return Err(format!("{expected}, at least 64MiB; found {v}"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(
            parse_duration(&toml::Value::Integer(90)).unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_duration(&toml::Value::String("10m".into())).unwrap(),
            Duration::from_secs(600)
        );
        assert!(parse_duration(&toml::Value::String("ten".into())).is_err());
        assert!(parse_duration(&toml::Value::Integer(0)).is_err());
    }

    #[test]
    fn memory_sizes_accept_binary_units_and_refuse_tiny_caps() {
        assert_eq!(
            parse_bytes(&toml::Value::String("2GiB".into())).unwrap(),
            2 << 30
        );
        assert!(parse_bytes(&toml::Value::String("1MiB".into())).is_err());
    }
}
