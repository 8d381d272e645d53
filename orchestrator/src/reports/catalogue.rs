//! `cohort models`: the model catalogue with every hyperparameter's range, default and meaning.

/// The catalogue, for people.
pub fn catalogue_text() -> String {
    let mut s = String::from(
        "Models for `cohort sweep` ([model] name = ...; hyperparameters go in model.params or search.space):\n",
    );
    for m in models::catalogue() {
        let kind = match m.problem {
            models::ProblemKind::Classification => "classifier",
            models::ProblemKind::Regression => "regressor",
        };
        s.push_str(&format!("\n{} ({kind}): {}\n", m.name, m.summary));
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
    }
    s.push_str("\nModels for `cohort train` (see configs/sgd-logistic.toml): sgd_logistic, sgd_linear_regression, mlp.\n");
    s
}
