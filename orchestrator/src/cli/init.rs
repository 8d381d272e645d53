//! `cohort init`: a commented starter sweep config that runs as it is, on a shipped dataset.
//!
//! The dataset is the one in `configs/data` (found from the working directory or from the
//! binary's location) named by a path relative to the config; where no `configs/data` can be
//! found (an installed binary), a copy of the dataset is written next to the config.

use std::path::{Component, Path, PathBuf};

use anyhow::{Result, anyhow};

use crate::error::BadInput;

/// A shipped dataset: its file name and its contents (for when `configs/data` is not there).
struct Shipped {
    file: &'static str,
    text: &'static str,
    target: &'static str,
    about: &'static str,
}

const IRIS: Shipped = Shipped {
    file: "iris.csv",
    text: include_str!("../../../configs/data/iris.csv"),
    target: "label",
    about: "iris: 150 rows, 4 features, 3 classes",
};

const DIABETES: Shipped = Shipped {
    file: "diabetes.csv",
    text: include_str!("../../../configs/data/diabetes.csv"),
    target: "label",
    about: "diabetes: 442 rows, 10 features, a real-valued target",
};

/// The searched hyperparameters and fixed ones of a model's starter config.
fn space(model: &str) -> (&'static str, &'static str) {
    match model {
        "logistic_regression" => (
            "C = { type = \"log_uniform\", low = 0.01, high = 100.0, points = 5 }   # inverse regularization strength\nfit_intercept = [true, false]",
            "max_iter = 500",
        ),
        "elastic_net" => (
            "alpha = { type = \"log_uniform\", low = 0.001, high = 1.0, points = 4 }   # penalty strength\nl1_ratio = [0.2, 0.5, 0.8]",
            "max_iter = 5000",
        ),
        "lasso" | "ridge" => (
            "alpha = { type = \"log_uniform\", low = 0.001, high = 1.0, points = 4 }   # penalty strength",
            "max_iter = 5000",
        ),
        "decision_tree" => (
            "max_depth = [2, 3, 4, 6]\ncriterion = [\"gini\", \"entropy\"]",
            "min_samples_leaf = 1",
        ),
        "sgd_logistic" | "sgd_linear_regression" | "mlp" => (
            "alpha = { type = \"log_uniform\", low = 0.00001, high = 0.01, points = 3 }   # regularization strength",
            "epochs = 20",
        ),
        "dummy_classifier" => ("strategy = [\"most_frequent\", \"prior\"]", ""),
        "dummy_regressor" => ("strategy = [\"mean\", \"median\"]", ""),
        // A model added to the catalogue later: its defaults, one trial.
        _ => ("", ""),
    }
}

/// `cohort init [--model NAME] PATH`.
pub(super) fn init(path: &Path, model: &str) -> Result<String> {
    let info =
        models::lookup(model).map_err(|e| BadInput::new(anyhow!("`--model {model}`: {e}")))?;
    if path.exists() {
        return Err(BadInput::new(anyhow!(
            "{}: already exists; choose another path (init never overwrites a file)",
            path.display()
        ))
        .into());
    }
    let classifier = info.problem == models::ProblemKind::Classification;
    let data = if classifier { IRIS } else { DIABETES };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(BadInput::new(anyhow!(
            "{}: no such directory to write the config in",
            dir.display()
        ))
        .into());
    }
    let data_path = match shipped_dir() {
        Some(shipped) => relative_or_absolute(&dir, &shipped.join(data.file)),
        None => {
            // No repository here: the config gets its own copy of the data.
            let copy = dir.join("data").join(data.file);
            if !copy.exists() {
                std::fs::create_dir_all(dir.join("data"))?;
                std::fs::write(&copy, data.text)?;
            }
            PathBuf::from("data").join(data.file)
        }
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| crate::config::check_name(s).is_ok())
        .unwrap_or_else(|| "starter".into());
    let (metric, also) = if classifier {
        (
            "accuracy",
            if info.probabilistic {
                "[\"macro_f1\", \"log_loss\"]"
            } else {
                "[\"macro_f1\"]"
            },
        )
    } else {
        ("r2", "[\"rmse\", \"mae\"]")
    };
    let (searched, fixed) = space(model);
    let text = format!(
        r#"# A starter sweep of `{model}` ({summary}), written by `cohort init`.
# It runs as it is:
#
#   cohort check {path}     # what would run, without running it
#   cohort sweep {path}     # run it; then `cohort results runs/{name}`
#
# Any value can be changed on the command line too: `cohort sweep {path} --set cv.folds=3`.

[study]
name = "{name}"        # the study directory is runs/{name} unless --study-dir says otherwise
seed = 0               # folds, random draws and model randomness all follow from it
metric = "{metric}"    # the objective, maximized (a known metric brings its direction)
metrics = {also}       # also recorded for every trial

[data]
path = "{data_path}"   # {about}; relative to this file
target = "{target}"    # the target column (default: the last one)

[model]
name = "{model}"       # `cohort models {model}` lists its hyperparameters
params = {{ {fixed} }}  # fixed for every trial

[cv]
folds = 5              # k-fold cross-validation (stratified for a classifier)
shuffle = true         # shuffled with the seed
standardize = true     # features standardized, fitted on the training folds only

[search]
sampler = "grid"       # every combination; or "random" / "tpe" with `trials = N`

[search.space]
{searched}

[run]
# workers = 2          # trainer processes (default: cores minus one)
# timeout = "5m"       # per trial
"#,
        summary = info.summary,
        path = path.display(),
        data_path = data_path.display(),
        about = data.about,
        target = data.target,
    );
    std::fs::write(path, &text)
        .map_err(|e| anyhow!("{}: cannot write the config: {e}", path.display()))?;
    Ok(format!(
        "wrote {} ({model} on {}); run it with: cohort sweep {}\n",
        path.display(),
        data.file,
        path.display()
    ))
}

/// The repository's `configs/data`, looked for above the working directory and above the binary.
fn shipped_dir() -> Option<PathBuf> {
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        starts.push(exe);
    }
    starts.into_iter().find_map(|start| {
        start
            .ancestors()
            .map(|a| a.join("configs").join("data"))
            .find(|d| d.join(IRIS.file).is_file() && d.join(DIABETES.file).is_file())
    })
}

/// `to` relative to the directory `from` when they share more than the root, else absolute.
fn relative_or_absolute(from: &Path, to: &Path) -> PathBuf {
    let (Ok(from), Ok(to)) = (std::fs::canonicalize(from), std::fs::canonicalize(to)) else {
        return to.to_path_buf();
    };
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    // Only the root in common: an absolute path says it better than a climb to `/`.
    if common <= 1 {
        return to;
    }
    let mut rel = PathBuf::new();
    for _ in common..a.len() {
        rel.push("..");
    }
    for c in &b[common..] {
        rel.push(c.as_os_str());
    }
    rel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_under_a_shared_ancestor_is_relative() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::create_dir_all(d.path().join("c")).unwrap();
        std::fs::write(d.path().join("c/x.csv"), "").unwrap();
        assert_eq!(
            relative_or_absolute(&d.path().join("a/b"), &d.path().join("c/x.csv")),
            Path::new("../../c/x.csv")
        );
    }

    #[test]
    fn every_model_has_a_starter_space_that_names_its_own_hyperparameters() {
        for m in models::catalogue() {
            let (searched, fixed) = space(m.name);
            for line in searched.lines().chain(fixed.split(',')) {
                let Some((name, _)) = line.split_once('=') else {
                    continue;
                };
                assert!(
                    m.param(name.trim()).is_some(),
                    "{}: `{}`",
                    m.name,
                    name.trim()
                );
            }
        }
    }
}
