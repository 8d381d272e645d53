//! Metrics out: the line protocol a program prints on stdout or stderr, and report points.
//!
//! A metric line starts with `cohort:` (after optional blanks), then either a JSON object
//! (`cohort: {"step": 3, "val_loss": 0.41}`) or `name=value` pairs separated by blanks or
//! commas (`cohort: step=3 val_loss=0.41`). `cohort: final …` gives final values instead of a
//! report. With a `metrics_regex` (named groups `name`, `value`, optional `step`), every match
//! on any line is read too, for programs that already print `val_loss: 0.41`.
//!
//! Report points are counted in order from 0: a line without a step opens the next one; a line
//! whose step equals the previous line's adds to the same point (so does a regex match whose
//! name the current point does not have yet, when it has no step). The program's own step is
//! kept in `metrics.jsonl`.

use models::FoldScores;

/// The prefix of a metric line.
pub const PREFIX: &str = "cohort:";

/// What one line said.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The program's step, if it gave one.
    pub step: Option<u64>,
    /// Named values.
    pub values: FoldScores,
    /// An explicit final line.
    pub last: bool,
    /// From the regex (merges by name) rather than the prefix protocol.
    pub matched: bool,
}

/// Reads lines: the prefix protocol, and the optional regex.
pub struct Reader {
    regex: Option<regex::Regex>,
}

impl Reader {
    /// A reader; `regex` must compile and have groups `name` and `value` (see [`check_regex`]).
    pub fn new(regex: Option<&str>) -> Result<Reader, String> {
        let regex = regex.map(check_regex).transpose()?;
        Ok(Reader { regex })
    }

    /// What `line` says, or why a `cohort:` line is malformed (other lines say nothing).
    pub fn read(&self, line: &str) -> Option<Result<Line, String>> {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(PREFIX) {
            return Some(parse_prefixed(rest.trim()));
        }
        let re = self.regex.as_ref()?;
        let mut values = FoldScores::new();
        let mut step = None;
        for c in re.captures_iter(line) {
            let (Some(name), Some(value)) = (c.name("name"), c.name("value")) else {
                continue;
            };
            let Ok(v) = value.as_str().trim().parse::<f64>() else {
                continue;
            };
            values.insert(name.as_str().to_string(), v);
            if let Some(s) = c.name("step").and_then(|s| s.as_str().trim().parse().ok()) {
                step = Some(s);
            }
        }
        (!values.is_empty()).then_some(Ok(Line {
            step,
            values,
            last: false,
            matched: true,
        }))
    }
}

/// Compile a metrics regex, refusing one without the `name` and `value` groups.
pub fn check_regex(text: &str) -> Result<regex::Regex, String> {
    let re = regex::Regex::new(text).map_err(|e| format!("not a valid regex: {e}"))?;
    let groups: Vec<&str> = re.capture_names().flatten().collect();
    for needed in ["name", "value"] {
        if !groups.contains(&needed) {
            return Err(format!(
                "the regex needs a named group `(?P<{needed}>…)`; it has {}",
                if groups.is_empty() {
                    "none".to_string()
                } else {
                    groups.join(", ")
                }
            ));
        }
    }
    Ok(re)
}

fn parse_prefixed(rest: &str) -> Result<Line, String> {
    let (last, body) = match rest.strip_prefix("final") {
        Some(b) if b.is_empty() || b.starts_with([' ', '\t', '{']) => (true, b.trim()),
        _ => (false, rest),
    };
    let mut values = FoldScores::new();
    let mut step = None;
    let mut put = |name: &str, v: f64| -> Result<(), String> {
        if name == "step" {
            if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f64 {
                return Err(format!("`step` must be a whole number ≥ 0, found {v}"));
            }
            step = Some(v as u64);
        } else {
            values.insert(name.to_string(), v);
        }
        Ok(())
    };
    if body.starts_with('{') {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(body).map_err(|e| format!("not a JSON object: {e}"))?;
        for (k, v) in map {
            let x = match &v {
                serde_json::Value::Number(n) => n.as_f64(),
                // JSON has no NaN or infinity: accept them as strings, as Python's json does not.
                serde_json::Value::String(s) => s.parse::<f64>().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("`{k}` is not a number: {v}"))?;
            put(&k, x)?;
        }
    } else {
        for pair in body.split([' ', '\t', ',']).filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("expected name=value, found `{pair}`"))?;
            let x = v
                .parse::<f64>()
                .map_err(|_| format!("`{k}` is not a number: `{v}`"))?;
            put(k, x)?;
        }
    }
    if values.is_empty() {
        return Err("no metric values on the line".into());
    }
    Ok(Line {
        step,
        values,
        last,
        matched: false,
    })
}

/// A trial's report points so far, and its final values.
#[derive(Debug, Default)]
pub struct Reports {
    /// The values at each report point.
    pub points: Vec<FoldScores>,
    /// The program's step of the last report point.
    last_step: Option<u64>,
    /// Values given on explicit final lines.
    finals: FoldScores,
}

impl Reports {
    /// Add a line; returns the report point it went to (None for a final line).
    pub fn add(&mut self, line: Line) -> Option<(usize, u64)> {
        if line.last {
            self.finals.extend(line.values);
            return None;
        }
        let same_point = match (line.step, self.last_step, self.points.last()) {
            (_, _, None) => false,
            (Some(s), Some(prev), _) => s == prev,
            // A regex match without a step joins the point until a name repeats.
            (None, _, Some(p)) if line.matched => line.values.keys().all(|k| !p.contains_key(k)),
            _ => false,
        };
        let step = line
            .step
            .unwrap_or_else(|| match (same_point, self.last_step) {
                (true, Some(s)) => s,
                (false, Some(s)) => s + 1,
                (_, None) => self.points.len() as u64,
            });
        if !same_point {
            self.points.push(FoldScores::new());
        }
        let i = self.points.len() - 1;
        self.points[i].extend(line.values);
        self.last_step = Some(step);
        Some((i, step))
    }

    /// The final values: each name's last reported value, then the explicit final lines.
    pub fn finals(&self) -> FoldScores {
        let mut out = FoldScores::new();
        for p in &self.points {
            out.extend(p.iter().map(|(k, v)| (k.clone(), *v)));
        }
        out.extend(self.finals.iter().map(|(k, v)| (k.clone(), *v)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> Line {
        Reader::new(None).unwrap().read(line).unwrap().unwrap()
    }

    #[test]
    fn a_json_line_gives_its_step_and_values() {
        let l = read(r#"cohort: {"step": 3, "val_loss": 0.41}"#);
        assert_eq!(l.step, Some(3));
        assert_eq!(l.values, FoldScores::from([("val_loss".into(), 0.41)]));
    }

    #[test]
    fn a_pairs_line_reads_like_the_json_line() {
        assert_eq!(
            read("  cohort: step=3 val_loss=0.41"),
            read(r#"cohort: {"step": 3, "val_loss": 0.41}"#)
        );
    }

    #[test]
    fn a_final_line_is_marked_final() {
        let l = read("cohort: final val_loss=0.3");
        assert!(l.last && l.values["val_loss"] == 0.3);
    }

    #[test]
    fn lines_without_the_prefix_say_nothing_and_malformed_ones_say_why() {
        let r = Reader::new(None).unwrap();
        assert!(r.read("val_loss=0.3").is_none());
        let e = r.read("cohort: val_loss=abc").unwrap().unwrap_err();
        assert!(e.contains("val_loss"), "{e}");
        assert!(r.read("cohort: {\"a\": [1]}").unwrap().is_err());
    }

    #[test]
    fn a_regex_reads_lines_a_program_already_prints() {
        let r = Reader::new(Some(r"(?P<name>\w+): (?P<value>[-0-9.e]+)")).unwrap();
        let l = r.read("epoch 2 loss: 0.5 acc: 0.9").unwrap().unwrap();
        assert_eq!(l.values.len(), 2);
        assert!(l.matched && l.step.is_none());
    }

    #[test]
    fn a_regex_without_name_and_value_groups_is_refused() {
        let e = Reader::new(Some(r"(\w+): ([0-9.]+)")).err().unwrap();
        assert!(e.contains("`(?P<name>"), "{e}");
        assert!(Reader::new(Some("(")).is_err());
    }

    #[test]
    fn report_points_count_up_and_a_repeated_step_adds_to_its_point() {
        let mut r = Reports::default();
        assert_eq!(r.add(read("cohort: loss=1")), Some((0, 0)));
        assert_eq!(r.add(read("cohort: loss=0.5")), Some((1, 1)));
        assert_eq!(r.add(read("cohort: step=5 loss=0.4")), Some((2, 5)));
        assert_eq!(r.add(read("cohort: step=5 acc=0.9")), Some((2, 5)));
        assert_eq!(r.add(read("cohort: loss=0.3")), Some((3, 6)));
        assert_eq!(r.points[2].len(), 2);
    }

    #[test]
    fn final_values_are_each_names_last_report_unless_a_final_line_says_otherwise() {
        let mut r = Reports::default();
        r.add(read("cohort: loss=1 acc=0.5"));
        r.add(read("cohort: loss=0.5"));
        assert_eq!(
            r.finals(),
            FoldScores::from([("loss".into(), 0.5), ("acc".into(), 0.5)])
        );
        r.add(read("cohort: final loss=0.7"));
        assert_eq!(r.finals()["loss"], 0.7);
        assert_eq!(r.points.len(), 2);
    }

    #[test]
    fn regex_matches_without_a_step_share_a_point_until_a_name_repeats() {
        let rd = Reader::new(Some(r"(?P<name>\w+): (?P<value>[0-9.]+)")).unwrap();
        let mut r = Reports::default();
        r.add(rd.read("loss: 1.0").unwrap().unwrap());
        r.add(rd.read("acc: 0.5").unwrap().unwrap());
        r.add(rd.read("loss: 0.5").unwrap().unwrap());
        assert_eq!(r.points.len(), 2);
        assert_eq!(r.points[0].len(), 2);
    }
}
