#!/usr/bin/env python3
"""scikit-learn's side of the ensemble parity checks (configs/parity/*.toml).

For each config: the same grid, scored by scikit-learn's cross_val_score with cv=5 (unshuffled
StratifiedKFold for classifiers, KFold for regressors: the folds cohort makes with
`shuffle = false`). Randomized ensembles (random forest, extra trees) are fitted with several
random_state values: their mean CV score is a random variable, and the table gives its mean and
spread over seeds. Prints JSON; the numbers are pinned in tests/e2e/parity.rs and the README.

    ~/.cache/cohort-peers/bin/python bench/parity_ensembles.py
"""
import json
import os
import sys
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.model_selection import ParameterGrid, cross_val_score

ROOT = Path(__file__).resolve().parent.parent
SEEDS = range(5)

CASES = [
    # (config, estimator, fixed params, grid, scoring, data, randomized)
    ("random-forest-classifier", RandomForestClassifier, {"n_estimators": 300},
     {"max_features": ["sqrt", 0.5]}, "accuracy", "breast_cancer", True),
    ("extra-trees-classifier", ExtraTreesClassifier, {"n_estimators": 300},
     {"max_features": ["sqrt", 0.5]}, "accuracy", "breast_cancer", True),
    ("random-forest-regressor", RandomForestRegressor, {"n_estimators": 300},
     {"min_samples_leaf": [1, 5]}, "r2", "diabetes", True),
    ("extra-trees-regressor", ExtraTreesRegressor, {"n_estimators": 300},
     {"min_samples_leaf": [1, 5]}, "r2", "diabetes", True),
    ("hist-gradient-boosting-classifier", HistGradientBoostingClassifier, {},
     {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [7, 31]}, "accuracy", "breast_cancer", False),
    ("hist-gradient-boosting-regressor", HistGradientBoostingRegressor, {},
     {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [7, 31]}, "r2", "diabetes", False),
    ("hist-gradient-boosting-multiclass", HistGradientBoostingClassifier, {"min_samples_leaf": 5},
     {"learning_rate": [0.05, 0.1]}, "accuracy", "wine", False),
]


def main():
    only = set(sys.argv[1:])
    out = {"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": {}}
    for name, est, fixed, grid, scoring, data, randomized in CASES:
        if only and name not in only:
            continue
        df = pd.read_csv(ROOT / "configs" / "data" / f"{data}.csv")
        x = df.drop(columns=["label"]).to_numpy() if "label" in df else df.iloc[:, :-1].to_numpy()
        y = df["label"].to_numpy() if "label" in df else df.iloc[:, -1].to_numpy()
        rows = []
        for params in ParameterGrid(grid):
            seeds = SEEDS if randomized else [0]
            means = [
                float(cross_val_score(est(**fixed, **params, random_state=s), x, y, cv=5,
                                      scoring=scoring).mean())
                for s in seeds
            ]
            rows.append({"params": params, "mean": float(np.mean(means)),
                         "std_over_seeds": float(np.std(means)), "per_seed": means})
            print(name, params, rows[-1]["mean"], rows[-1]["std_over_seeds"], file=sys.stderr)
        out["cases"][name] = rows
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
