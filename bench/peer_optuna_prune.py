#!/usr/bin/env python3
"""The pruned MLP search of bench/search.py in Optuna: TPESampler(seed=3) with its
SuccessiveHalvingPruner (ASHA; min_resource 3, reduction_factor 3), n_jobs=2 (threads),
scikit-learn's MLPClassifier (one hidden layer, SGD, constant rate, batch 16) trained epoch by
epoch with partial_fit on each of 3 stratified shuffled folds, the mean accuracy over folds
reported after each of 27 epochs. Prints best accuracy, wall time and trial counts as JSON."""
import argparse
import json
import os
import time
import warnings

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=48)
    ap.add_argument("--dataset", default="breast_cancer")
    args = ap.parse_args()
    t0 = time.perf_counter()
    df = pd.read_csv(os.path.join(ROOT, "configs", "data", args.dataset + ".csv"))
    x = df.drop(columns=["label"]).to_numpy(dtype=np.float64)
    y = df["label"].to_numpy()
    classes = np.unique(y)
    folds = []
    for tr, te in StratifiedKFold(3, shuffle=True, random_state=3).split(x, y):
        s = StandardScaler().fit(x[tr])
        folds.append((s.transform(x[tr]), y[tr], s.transform(x[te]), y[te]))

    def objective(trial):
        params = dict(
            learning_rate_init=trial.suggest_float("eta0", 1e-4, 0.3, log=True),
            alpha=trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
            hidden_layer_sizes=(trial.suggest_int("hidden_units", 2, 64, log=True),),
            activation=trial.suggest_categorical("activation", ["relu", "tanh"]),
        )
        models = [MLPClassifier(solver="sgd", learning_rate="constant", batch_size=16, momentum=0.0,
                                random_state=3, **params) for _ in folds]
        for epoch in range(27):
            accs = []
            for m, (xtr, ytr, xte, yte) in zip(models, folds):
                m.partial_fit(xtr, ytr, classes=classes)
                accs.append((m.predict(xte) == yte).mean())
            value = float(np.mean(accs))
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=3),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=3, reduction_factor=3),
    )
    t1 = time.perf_counter()
    study.optimize(objective, n_trials=args.trials, n_jobs=2)
    states = [t.state.name for t in study.trials]
    print(json.dumps({"best": study.best_value, "optimize_seconds": time.perf_counter() - t1,
                      "seconds_after_start": time.perf_counter() - t0,
                      "pruned": states.count("PRUNED"), "complete": states.count("COMPLETE")}))


main()
