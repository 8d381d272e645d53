//! Parameters in: the argv template, the environment and `params.json`, with every value
//! encoded one predictable way.
//!
//! A command token may hold `{name}` anywhere (`--lr={lr}`); `{{` and `}}` are literal braces.
//! Names are the searched parameters and `trial`, `trial_dir`, `seed`; a token that is exactly
//! `{args}` becomes one `--name=value` argument per parameter. Values: integers as integers
//! (never `3.0`), floats in shortest round-trip form with a `.` or an exponent (`0.1`, `3.0`,
//! `1e-5`), booleans `true`/`false` unless a parameter's style says otherwise (`1/0`), strings
//! as they are.

use std::collections::BTreeMap;

use models::{ParamValue, Params};

/// The token that expands to every parameter as `--name=value`.
pub const ARGS: &str = "{args}";
/// Placeholders every trial has besides its parameters.
pub const BUILTINS: [&str; 3] = ["trial", "trial_dir", "seed"];

/// A command template that cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// The token's index in the command.
    pub index: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// How one boolean parameter is written: the words for true and false.
pub type BoolStyle = (String, String);

/// A piece of a token: literal text or a placeholder.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(String),
    Name(&'a str),
}

fn pieces(token: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = token;
    while let Some(i) = rest.find(['{', '}']) {
        text.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            text.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            text.push('}');
            rest = after;
        } else if tail.starts_with('}') {
            return Err(format!(
                "a lone `}}` in `{token}`; write `}}}}` for a literal brace"
            ));
        } else {
            let Some(end) = tail.find('}') else {
                return Err(format!(
                    "an unclosed `{{` in `{token}`; write `{{{{` for a literal brace"
                ));
            };
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Name(&tail[1..end]));
            rest = &tail[end + 1..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Check a command against the parameter names a study has: every placeholder must be known,
/// `{args}` must be a whole token, and the command must not be empty.
pub fn check<'a>(
    command: &[String],
    names: impl IntoIterator<Item = &'a str> + Clone,
) -> Result<(), TemplateError> {
    if command.is_empty() {
        return Err(TemplateError {
            index: 0,
            message: "the command is empty: expected the program and its arguments".into(),
        });
    }
    if command[0].trim().is_empty() {
        return Err(TemplateError {
            index: 0,
            message: "the program's name is empty".into(),
        });
    }
    for (index, token) in command.iter().enumerate() {
        if token == ARGS {
            continue;
        }
        let parts = pieces(token).map_err(|message| TemplateError { index, message })?;
        for p in parts {
            let Piece::Name(name) = p else { continue };
            if name == "args" {
                return Err(TemplateError {
                    index,
                    message: format!(
                        "`{{args}}` must be a whole argument (it becomes several), found `{token}`"
                    ),
                });
            }
            let known = BUILTINS.contains(&name) || names.clone().into_iter().any(|n| n == name);
            if !known {
                let mut all: Vec<&str> = names.clone().into_iter().collect();
                all.extend(BUILTINS);
                let hint = models::hyper::closest(name, all.iter().copied())
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(TemplateError {
                    index,
                    message: format!(
                        "unknown placeholder `{{{name}}}`{hint}; expected one of {}, or `{{args}}`",
                        all.iter()
                            .map(|n| format!("`{{{n}}}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// A parameter value as text, in the documented encoding.
pub fn encode(value: &ParamValue, style: Option<&BoolStyle>) -> String {
    match value {
        ParamValue::Bool(b) => match (style, b) {
            (Some((t, _)), true) => t.clone(),
            (Some((_, f)), false) => f.clone(),
            (None, b) => b.to_string(),
        },
        ParamValue::Int(i) => i.to_string(),
        // Debug is Rust's shortest round-trip form, and always shows a float as a float.
        ParamValue::Float(x) => format!("{x:?}"),
        ParamValue::Str(s) => s.clone(),
    }
}

/// What one trial's placeholders stand for.
pub struct Values<'a> {
    /// Its parameters.
    pub params: &'a Params,
    /// Boolean styles by parameter name.
    pub styles: &'a BTreeMap<String, BoolStyle>,
    /// `{trial}`.
    pub trial: u64,
    /// `{trial_dir}`.
    pub trial_dir: &'a str,
    /// `{seed}`.
    pub seed: u64,
}

impl Values<'_> {
    fn get(&self, name: &str) -> Option<String> {
        match name {
            "trial" => Some(self.trial.to_string()),
            "trial_dir" => Some(self.trial_dir.to_string()),
            "seed" => Some(self.seed.to_string()),
            _ => self
                .params
                .get(name)
                .map(|v| encode(v, self.styles.get(name))),
        }
    }
}

/// The argv of one trial (the command is checked: see [`check`]).
pub fn expand(command: &[String], values: &Values<'_>) -> Result<Vec<String>, TemplateError> {
    let mut argv = Vec::with_capacity(command.len());
    for (index, token) in command.iter().enumerate() {
        if token == ARGS {
            for (name, v) in values.params {
                argv.push(format!("--{name}={}", encode(v, values.styles.get(name))));
            }
            continue;
        }
        let mut out = String::new();
        for p in pieces(token).map_err(|message| TemplateError { index, message })? {
            match p {
                Piece::Text(t) => out.push_str(&t),
                Piece::Name(n) => out.push_str(&values.get(n).ok_or_else(|| TemplateError {
                    index,
                    message: format!("no value for `{{{n}}}`"),
                })?),
            }
        }
        argv.push(out);
    }
    Ok(argv)
}

/// The environment variable that carries parameter `name`: `COHORT_PARAM_` and the name in
/// upper case, anything but letters and digits as `_`.
pub fn env_name(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("COHORT_PARAM_{upper}")
}

/// A trial's seed: a mix of the study seed and the trial number, below 2^32 (numpy's limit).
pub fn trial_seed(study_seed: u64, trial: u64) -> u64 {
    // splitmix64: neighbouring trials get unrelated seeds.
    let mut z = study_seed
        .wrapping_add(trial.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) & 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(tokens: &[&str]) -> Vec<String> {
        tokens.iter().map(|s| s.to_string()).collect()
    }

    fn params() -> Params {
        Params::from([
            ("lr".to_string(), ParamValue::Float(1e-5)),
            ("layers".to_string(), ParamValue::Int(3)),
            ("flag".to_string(), ParamValue::Bool(true)),
            ("act".to_string(), ParamValue::Str("relu".into())),
        ])
    }

    fn expand_with(tokens: &[&str], styles: &BTreeMap<String, BoolStyle>) -> Vec<String> {
        let p = params();
        let v = Values {
            params: &p,
            styles,
            trial: 7,
            trial_dir: "/s/trials/7",
            seed: 11,
        };
        expand(&cmd(tokens), &v).unwrap()
    }

    #[test]
    fn placeholders_are_replaced_inside_tokens() {
        let argv = expand_with(
            &[
                "train.py",
                "--lr={lr}",
                "--layers={layers}",
                "out/{trial}.json",
            ],
            &BTreeMap::new(),
        );
        assert_eq!(argv, ["train.py", "--lr=1e-5", "--layers=3", "out/7.json"]);
    }

    #[test]
    fn the_args_token_becomes_one_argument_per_parameter_in_name_order() {
        let argv = expand_with(&["p", "{args}"], &BTreeMap::new());
        assert_eq!(
            argv,
            ["p", "--act=relu", "--flag=true", "--layers=3", "--lr=1e-5"]
        );
    }

    #[test]
    fn integers_never_look_like_floats_and_floats_always_do() {
        assert_eq!(encode(&ParamValue::Int(3), None), "3");
        assert_eq!(encode(&ParamValue::Float(3.0), None), "3.0");
        assert_eq!(encode(&ParamValue::Float(0.1), None), "0.1");
        assert_eq!(encode(&ParamValue::Float(1e-5), None), "1e-5");
        let x = 0.1 + 0.2;
        assert_eq!(
            encode(&ParamValue::Float(x), None).parse::<f64>().unwrap(),
            x
        );
    }

    #[test]
    fn a_boolean_follows_its_parameters_style() {
        let styles = BTreeMap::from([("flag".to_string(), ("1".to_string(), "0".to_string()))]);
        assert_eq!(expand_with(&["p", "-f{flag}"], &styles), ["p", "-f1"]);
        assert_eq!(
            expand_with(&["p", "{flag}"], &BTreeMap::new()),
            ["p", "true"]
        );
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(
            expand_with(&["p", "{{\"lr\": {lr}}}"], &BTreeMap::new()),
            ["p", "{\"lr\": 1e-5}"]
        );
    }

    #[test]
    fn an_unknown_placeholder_is_refused_naming_the_closest() {
        let e = check(&cmd(&["p", "--lr={lrr}"]), ["lr", "layers"]).unwrap_err();
        assert_eq!(e.index, 1);
        assert!(
            e.message.contains("`{lrr}`") && e.message.contains("`lr`"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_command_and_args_inside_a_token_are_refused() {
        assert!(check(&[], ["lr"]).is_err());
        let e = check(&cmd(&["p", "x{args}"]), ["lr"]).unwrap_err();
        assert!(e.message.contains("whole argument"), "{e}");
        assert!(check(&cmd(&["p", "{lr"]), ["lr"]).is_err());
    }

    #[test]
    fn parameter_variables_are_upper_case_with_underscores() {
        assert_eq!(env_name("lr"), "COHORT_PARAM_LR");
        assert_eq!(env_name("drop-out.p"), "COHORT_PARAM_DROP_OUT_P");
    }

    #[test]
    fn trial_seeds_differ_between_trials_and_repeat_for_the_same_trial() {
        assert_eq!(trial_seed(42, 3), trial_seed(42, 3));
        assert_ne!(trial_seed(42, 3), trial_seed(42, 4));
        assert!(trial_seed(42, 3) < 1 << 32);
    }
}
