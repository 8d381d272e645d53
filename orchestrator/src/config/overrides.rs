//! `--set key.path=value`: a config value given on the command line. Each is applied to the
//! file's TOML tree, in order, before the config is checked, and is checked like the file:
//! an unknown key or a wrong type is refused naming the `--set` it came from.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// One `--set key.path=value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The dotted key, split (`search.space.C` → `search`, `space`, `C`).
    pub key: Vec<String>,
    /// The value, read as a TOML value (`3`, `true`, `[1, 2]`, `"x"`); anything that is not
    /// one is a string, so `--set study.name=mine` needs no quotes.
    pub value: toml::Value,
    /// As given, for messages.
    pub text: String,
}

impl FromStr for Override {
    type Err = String;

    fn from_str(s: &str) -> Result<Override, String> {
        let Some((key, raw)) = s.split_once('=') else {
            return Err(format!("`{s}`: expected KEY.PATH=VALUE"));
        };
        let key: Vec<String> = key
            .trim()
            .split('.')
            .map(|k| k.trim().to_string())
            .collect();
        if key.iter().any(String::is_empty) {
            return Err(format!(
                "`{s}`: the key must be dotted names, like `cv.folds`"
            ));
        }
        let raw = raw.trim();
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        Ok(Override {
            key,
            value,
            text: s.to_string(),
        })
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--set {}", self.text)
    }
}

impl Override {
    /// Set the value in `table`, creating the tables on the way.
    fn apply(&self, table: &mut toml::Table) -> Result<(), String> {
        let (last, parents) = self.key.split_last().ok_or("empty key")?;
        let mut at = table;
        for (i, k) in parents.iter().enumerate() {
            let next = at
                .entry(k.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            at = match next {
                toml::Value::Table(t) => t,
                other => {
                    return Err(format!(
                        "`{}` is a {}, not a table",
                        self.key[..=i].join("."),
                        other.type_str()
                    ));
                }
            };
        }
        at.insert(last.clone(), self.value.clone());
        Ok(())
    }
}

/// Why a config with overrides cannot be used.
#[derive(Debug)]
pub enum Refused<E> {
    /// The file itself is wrong (its own error, naming its lines).
    File(E),
    /// This override made it wrong.
    Set {
        /// The override.
        set: Override,
        /// What is wrong, without the file's name.
        message: String,
    },
}

/// Check the config `text` of `path` with `overrides` applied, by `parse` (given the text to
/// check). On success, the effective text is what was checked (the file itself without
/// overrides; else the tree with them, headed by a comment naming them).
pub fn check_with<T, E: fmt::Display>(
    path: &Path,
    text: &str,
    overrides: &[Override],
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, Refused<E>> {
    if overrides.is_empty() {
        return parse(text).map_err(Refused::File);
    }
    let Ok(mut table) = toml::from_str::<toml::Table>(text) else {
        // Not TOML: the file's own error says where.
        return parse(text).map_err(Refused::File);
    };
    let render = |table: &toml::Table, upto: &[Override]| -> String {
        let sets: Vec<String> = upto.iter().map(|o| o.to_string()).collect();
        format!(
            "# {} with {}\n{}",
            path.display(),
            sets.join(", "),
            toml::to_string(table).unwrap_or_default()
        )
    };
    let mut steps = Vec::with_capacity(overrides.len());
    for o in overrides {
        o.apply(&mut table).map_err(|message| Refused::Set {
            set: o.clone(),
            message,
        })?;
        steps.push(table.clone());
    }
    let full = render(&table, overrides);
    match parse(&full) {
        Ok(cfg) => Ok(cfg),
        Err(_) => {
            // Which override broke it: the first after which the config no longer checks.
            if parse(text).is_err() {
                return parse(text).map_err(Refused::File);
            }
            for (i, step) in steps.iter().enumerate() {
                if let Err(e) = parse(&render(step, &overrides[..=i])) {
                    return Err(Refused::Set {
                        set: overrides[i].clone(),
                        message: without_place(path, &e.to_string()),
                    });
                }
            }
            parse(&full).map_err(Refused::File)
        }
    }
}

/// A config error's message without the file name and the line and column (they point into the
/// rendered tree, not anything the user wrote).
fn without_place(path: &Path, message: &str) -> String {
    let file = path.display().to_string();
    let rest = message
        .strip_prefix(file.as_str())
        .and_then(|r| r.strip_prefix(':'))
        .unwrap_or(message)
        .trim_start();
    // "LINE:COLUMN: message" after a syntax error.
    let mut parts = rest.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(l), Some(c), Some(m))
            if l.chars().all(|ch| ch.is_ascii_digit())
                && c.chars().all(|ch| ch.is_ascii_digit())
                && !l.is_empty() =>
        {
            m.trim_start().to_string()
        }
        _ => rest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> Override {
        s.parse().unwrap()
    }

    #[test]
    fn a_value_is_read_as_toml_and_a_bare_word_as_a_string() {
        assert_eq!(set("cv.folds=3").value, toml::Value::Integer(3));
        assert_eq!(
            set("study.name=mine").value,
            toml::Value::String("mine".into())
        );
        assert_eq!(
            set("search.space.C=[0.1, 1.0]").value,
            toml::Value::Array(vec![0.1.into(), 1.0.into()])
        );
        assert_eq!(set("a.b=\"x=y\"").value, toml::Value::String("x=y".into()));
    }

    #[test]
    fn a_setting_without_equals_or_with_an_empty_key_part_is_refused() {
        assert!("cv.folds".parse::<Override>().is_err());
        assert!("cv..folds=3".parse::<Override>().is_err());
    }

    #[test]
    fn setting_inside_a_value_that_is_not_a_table_is_refused_naming_it() {
        let mut t: toml::Table = toml::from_str("a = 1").unwrap();
        let err = set("a.b=2").apply(&mut t).unwrap_err();
        assert!(err.contains("`a` is a integer"), "{err}");
    }

    #[test]
    fn the_override_that_breaks_the_config_is_named() {
        let parse = |t: &str| -> Result<toml::Table, String> {
            let t: toml::Table = toml::from_str(t).map_err(|e| format!("f.toml:1:1: {e}"))?;
            match t.get("n").and_then(|n| n.as_integer()) {
                Some(n) if n > 0 => Ok(t),
                _ => Err("f.toml: `n`: expected a positive integer".into()),
            }
        };
        let sets = [set("m=1"), set("n=0")];
        match check_with(Path::new("f.toml"), "n = 1", &sets, parse) {
            Err(Refused::Set { set, message }) => {
                assert_eq!(set.text, "n=0");
                assert_eq!(message, "`n`: expected a positive integer");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_override_can_complete_a_file() {
        let parse = |t: &str| -> Result<toml::Table, String> {
            let t: toml::Table = toml::from_str(t).map_err(|e| e.to_string())?;
            t.get("n")
                .map(|_| t.clone())
                .ok_or("f.toml: `n`: missing".into())
        };
        let cfg = check_with(Path::new("f.toml"), "m = 1", &[set("n=2")], parse).unwrap();
        assert_eq!(cfg["n"], toml::Value::Integer(2));
    }
}
