#!/usr/bin/env python3
"""Optuna's TPESampler on the objective of bench/search.py's tpe part: mean 5-fold CV accuracy
(unshuffled StratifiedKFold, StandardScaler fitted on the training folds) of scikit-learn's
LogisticRegression(lbfgs) on the shipped breast-cancer data, over C, tol, max_iter and
fit_intercept. Prints {"best": ..., "values": [...]} as JSON."""
import argparse
import json
import os
import warnings

import numpy as np
import optuna
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=ConvergenceWarning)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=100)
    args = ap.parse_args()
    df = pd.read_csv(os.path.join(ROOT, "configs", "data", "breast_cancer.csv"))
    x = df.drop(columns=["label"]).to_numpy(dtype=np.float64)
    y = df["label"].to_numpy()
    cv = StratifiedKFold(5)

    def objective(trial):
        model = LogisticRegression(
            C=trial.suggest_float("C", 1e-4, 1e3, log=True),
            tol=trial.suggest_float("tol", 1e-6, 0.1, log=True),
            max_iter=trial.suggest_int("max_iter", 2, 200, log=True),
            fit_intercept=trial.suggest_categorical("fit_intercept", [True, False]),
        )
        return cross_val_score(make_pipeline(StandardScaler(), model), x, y, cv=cv).mean()

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=args.seed))
    study.optimize(objective, n_trials=args.trials)
    print(json.dumps({"best": study.best_value, "values": [t.value for t in study.trials]}))


main()
