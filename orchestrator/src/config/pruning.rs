//! `[search.pruner]` and `[search] batch`: which pruner stops trials early, and how many trials
//! are proposed together so that its decisions are reproducible.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use serde::Deserialize;

use super::{Checker, ConfigError};
use crate::sweep::pruner::{PrunerSpec, ReductionFactor};

/// Trials per batch when a pruner is configured and `batch` is not given.
pub const DEFAULT_BATCH: u64 = 4;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPruner {
    kind: Option<String>,
    min_resource: Option<i64>,
    reduction_factor: Option<i64>,
    min_trials: Option<i64>,
    warmup: Option<i64>,
}

impl Checker<'_> {
    /// The pruner (None: trials run to the end) and the batch; `learns`: the sampler uses
    /// results, so a batch is its own (TPE reads it) even without a pruner.
    pub(super) fn pruning(
        &self,
        raw: Option<&RawPruner>,
        batch: Option<i64>,
        learns: bool,
    ) -> Result<(Option<PrunerSpec>, Option<NonZeroU64>), ConfigError> {
        let none = RawPruner::default();
        let raw = raw.unwrap_or(&none);
        let kind = raw.kind.as_deref().unwrap_or("none");
        // One knob per idea: median waits `warmup` steps, ASHA's first rung is `min_resource`.
        let takes: &[&str] = match kind {
            "none" => &[],
            "median" => &["min_trials", "warmup"],
            "asha" => &["min_resource", "reduction_factor", "min_trials"],
            other => {
                let hint = models::hyper::closest(other, ["none", "median", "asha"])
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(self.err(
                    "search.pruner.kind",
                    format!("unknown pruner `{other}`{hint}; expected `none`, `median` or `asha`"),
                ));
            }
        };
        let given = [
            ("min_resource", raw.min_resource),
            ("reduction_factor", raw.reduction_factor),
            ("min_trials", raw.min_trials),
            ("warmup", raw.warmup),
        ];
        for (key, value) in given {
            if value.is_some() && !takes.contains(&key) {
                let takes = if takes.is_empty() {
                    "no settings".to_string()
                } else {
                    takes.join(", ")
                };
                return Err(self.err(
                    format!("search.pruner.{key}"),
                    format!("does not apply to the `{kind}` pruner, which takes {takes}"),
                ));
            }
        }
        let int = |key: &str, value: Option<i64>, default: i64, min: i64, max: i64| {
            let v = value.unwrap_or(default);
            if (min..=max).contains(&v) {
                Ok(v)
            } else {
                Err(self.err(
                    format!("search.pruner.{key}"),
                    format!("expected an integer from {min} to {max}, found {v}"),
                ))
            }
        };
        // The ranges below make these conversions infallible.
        let min_trials = || -> Result<NonZeroUsize, ConfigError> {
            let n = int("min_trials", raw.min_trials, 5, 1, 1_000_000)?;
            Ok(NonZeroUsize::new(n as usize).unwrap_or(NonZeroUsize::MIN))
        };
        let spec = match kind {
            "median" => Some(PrunerSpec::Median {
                min_trials: min_trials()?,
                warmup: int("warmup", raw.warmup, 0, 0, 1_000_000)? as u32,
            }),
            "asha" => {
                let r = int("min_resource", raw.min_resource, 1, 1, 1_000_000)?;
                let eta = int("reduction_factor", raw.reduction_factor, 3, 2, 1000)?;
                Some(PrunerSpec::Asha {
                    min_resource: NonZeroU32::new(r as u32).unwrap_or(NonZeroU32::MIN),
                    reduction_factor: ReductionFactor::new(eta as u32).ok_or_else(|| {
                        self.err("search.pruner.reduction_factor", "expected ≥ 2")
                    })?,
                    min_trials: min_trials()?,
                })
            }
            _ => None,
        };
        let batch = match (batch, spec) {
            (Some(b), _) if !(1..=1024).contains(&b) => {
                return Err(self.err(
                    "search.batch",
                    format!("expected an integer from 1 to 1024, found {b}"),
                ));
            }
            (Some(_), None) if !learns => {
                return Err(self.err(
                    "search.batch",
                    "batches keep a learning sampler's proposals and a pruner's decisions reproducible, and this study has neither (`sampler = \"tpe\"`, `[search.pruner]`): remove `batch` or add one",
                ));
            }
            (Some(_), None) => None,
            (Some(b), Some(_)) => NonZeroU64::new(b as u64),
            (None, Some(_)) => NonZeroU64::new(DEFAULT_BATCH),
            (None, None) => None,
        };
        Ok((spec, batch))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::StudyConfig;

    /// A grid study over the breast cancer data with these `[search]` lines.
    fn parse(search: &str) -> Result<StudyConfig, ConfigError> {
        let dir = env!("CARGO_MANIFEST_DIR");
        let text = format!(
            "[study]\nmetric = \"accuracy\"\n[data]\npath = \"data/breast_cancer.csv\"\n[model]\nname = \"logistic_regression\"\n[search]\nsampler = \"grid\"\n{search}"
        );
        StudyConfig::parse(&Path::new(dir).join("../configs/x.toml"), &text)
    }

    fn error(search: &str) -> String {
        match parse(search) {
            Ok(_) => panic!("accepted: {search}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn no_pruner_table_means_no_pruner_and_no_batch() {
        let cfg = parse("").unwrap();
        assert_eq!((cfg.pruner, cfg.batch), (None, None));
        let cfg = parse("[search.pruner]\nkind = \"none\"\n").unwrap();
        assert_eq!((cfg.pruner, cfg.batch), (None, None));
    }

    #[test]
    fn a_median_pruner_gets_its_defaults_and_a_batch_of_four() {
        let cfg = parse("[search.pruner]\nkind = \"median\"\n").unwrap();
        assert_eq!(
            cfg.pruner,
            Some(PrunerSpec::Median {
                min_trials: NonZeroUsize::new(5).unwrap(),
                warmup: 0
            })
        );
        assert_eq!(cfg.batch, NonZeroU64::new(DEFAULT_BATCH));
    }

    #[test]
    fn an_asha_pruner_takes_its_settings_and_the_given_batch() {
        let cfg = parse(
            "batch = 8\n[search.pruner]\nkind = \"asha\"\nmin_resource = 2\nreduction_factor = 4\nmin_trials = 3\n",
        )
        .unwrap();
        assert_eq!(
            cfg.pruner,
            Some(PrunerSpec::Asha {
                min_resource: NonZeroU32::new(2).unwrap(),
                reduction_factor: ReductionFactor::new(4).unwrap(),
                min_trials: NonZeroUsize::new(3).unwrap(),
            })
        );
        assert_eq!(cfg.batch, NonZeroU64::new(8));
    }

    #[test]
    fn a_key_that_does_not_apply_to_the_kind_is_refused_naming_it() {
        let err = error("[search.pruner]\nkind = \"median\"\nmin_resource = 2\n");
        assert!(err.contains("`search.pruner.min_resource`"), "{err}");
        assert!(err.contains("min_trials, warmup"), "{err}");
        let err = error("[search.pruner]\nkind = \"asha\"\nwarmup = 2\n");
        assert!(err.contains("`search.pruner.warmup`"), "{err}");
        let err = error("[search.pruner]\nmin_trials = 2\n");
        assert!(
            err.contains("`search.pruner.min_trials`") && err.contains("`none`"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_pruner_key_is_refused_at_its_line_with_a_suggestion() {
        let err = error("[search.pruner]\nkind = \"median\"\nwarmpu = 2\n");
        assert!(err.contains("x.toml:11:1"), "{err}");
        assert!(err.contains("did you mean `warmup`"), "{err}");
    }

    #[test]
    fn an_unknown_pruner_kind_is_refused_with_the_kinds() {
        let err = error("[search.pruner]\nkind = \"hyperband\"\n");
        assert!(err.contains("`search.pruner.kind`"), "{err}");
        assert!(err.contains("`median` or `asha`"), "{err}");
    }

    #[test]
    fn settings_out_of_range_are_refused_with_the_range() {
        for (line, field, range) in [
            (
                "kind = \"asha\"\nreduction_factor = 1",
                "reduction_factor",
                "from 2 to 1000",
            ),
            (
                "kind = \"asha\"\nmin_resource = 0",
                "min_resource",
                "from 1 to 1000000",
            ),
            (
                "kind = \"median\"\nmin_trials = 0",
                "min_trials",
                "from 1 to 1000000",
            ),
            (
                "kind = \"median\"\nwarmup = -1",
                "warmup",
                "from 0 to 1000000",
            ),
        ] {
            let err = error(&format!("[search.pruner]\n{line}\n"));
            assert!(err.contains(&format!("`search.pruner.{field}`")), "{err}");
            assert!(err.contains(range), "{err}");
        }
        let err = error("batch = 0\n[search.pruner]\nkind = \"median\"\n");
        assert!(
            err.contains("`search.batch`") && err.contains("from 1 to 1024"),
            "{err}"
        );
    }

    #[test]
    fn a_batch_without_a_pruner_is_refused() {
        let err = error("batch = 4\n");
        assert!(
            err.contains("`search.batch`") && err.contains("[search.pruner]"),
            "{err}"
        );
    }
}
