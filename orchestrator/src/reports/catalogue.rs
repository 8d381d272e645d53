//! `cohort models`: the model catalogue with every hyperparameter's range, default and meaning.

/// The catalogue, for people.
pub fn catalogue_text() -> String {
    let mut s = String::from(
        "Models for `cohort sweep` ([model] name = ...; hyperparameters go in model.params or search.space):\n",
    );
    for m in models::catalogue() {
        s.push_str(&model_text(m));
    }
    s.push_str("\nModels for `cohort train` (see configs/sgd-logistic.toml): sgd_logistic, sgd_linear_regression, mlp.\n");
    s
}

/// One model: what it is, and each hyperparameter with its range, default and meaning.
pub fn model_text(m: &models::ModelInfo) -> String {
    let kind = match m.problem {
        models::ProblemKind::Classification => "classifier",
        models::ProblemKind::Regression => "regressor",
        models::ProblemKind::Clustering => "clustering",
    };
    let iterative = if m.iterative {
        ", iterative: each epoch, tree or boosting round is a report point"
    } else {
        ""
    };
    let mut s = format!("\n{} ({kind}{iterative}): {}\n", m.name, m.summary);
    for h in &m.hyperparams {
        let default = h
            .default
            .as_ref()
            .map_or("unset".to_string(), |d| d.to_string());
        s.push_str(&format!(
            "    {:<22} {:<36} default {:<9} {}\n",
            h.name,
            h.kind.expected(),
            default,
            h.help
        ));
    }
    s
}
