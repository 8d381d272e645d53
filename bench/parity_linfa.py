#!/usr/bin/env python3
"""scikit-learn's side of the parity checks for svc, svr, gaussian_nb, multinomial_nb,
knn_classifier, knn_regressor, ftrl and kmeans: the mean CV score of every grid candidate on
the same folds as the matching config under configs/parity/ (unshuffled 5-fold: stratified for
classifiers, plain for regressors and clustering; StandardScaler fitted inside each training
fold where the config standardizes).

    ~/.cache/cohort-peers/bin/python bench/parity_linfa.py > bench/results/parity_linfa.json

tests/e2e/parity.rs pins these numbers; rerun this to check where they came from.
"""
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import silhouette_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

DATA = Path(__file__).resolve().parent.parent / "configs" / "data"


def load(name):
    raw = np.genfromtxt(DATA / f"{name}.csv", delimiter=",", skip_header=1)
    return raw[:, :-1], raw[:, -1]


def silhouette(est, x, _y=None):
    # Scored on the rows as the model sees them (standardized when the pipeline scales).
    rows = est[:-1].transform(x) if hasattr(est, "steps") else x
    return silhouette_score(rows, est.predict(x))


def inertia(est, x, _y=None):
    # KMeans.score is −inertia; cohort minimizes inertia itself.
    return -est.score(x)


# (config, data, kind, standardize, scoring, estimator(params), grid)
CASES = [
    ("svc", "breast_cancer", "clf", True, "accuracy",
     lambda p: SVC(**p), {"kernel": ["linear", "rbf", "poly"], "C": [0.1, 1.0, 10.0]}),
    ("svr", "diabetes", "reg", True, "r2",
     lambda p: SVR(**p), {"kernel": ["linear", "rbf"], "C": [1.0, 10.0, 100.0]}),
    ("gaussian-nb", "wine", "clf", False, "accuracy",
     lambda p: GaussianNB(**p), {"var_smoothing": [1e-9, 1e-6, 1e-3, 0.1]}),
    ("multinomial-nb", "wine", "clf", False, "accuracy",
     lambda p: MultinomialNB(**p), {"alpha": [0.01, 0.1, 1.0, 10.0]}),
    ("knn-classifier", "breast_cancer", "clf", True, "accuracy",
     lambda p: KNeighborsClassifier(**p),
     {"n_neighbors": [1, 5, 15], "weights": ["uniform", "distance"],
      "metric": ["euclidean", "manhattan"]}),
    ("knn-regressor", "diabetes", "reg", True, "r2",
     lambda p: KNeighborsRegressor(**p),
     {"n_neighbors": [3, 10, 30], "weights": ["uniform", "distance"]}),
    # FTRL has no scikit-learn counterpart: the closest are logistic regression by L-BFGS and by
    # SGD on the log-loss, each at its defaults (5 SGD epochs, as ftrl's default).
    ("ftrl", "breast_cancer", "clf", True, "accuracy",
     lambda p: LogisticRegression(**p), {"C": [1.0]}),
    ("ftrl", "breast_cancer", "clf", True, "accuracy",
     lambda p: SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0, **p),
     {"alpha": [1e-4]}),
    ("kmeans", "breast_cancer", "clu", True, silhouette,
     lambda p: KMeans(n_init=10, random_state=0, **p), {"n_clusters": [2, 3, 4, 5]}),
    ("kmeans-inertia", "breast_cancer", "clu", True, inertia,
     lambda p: KMeans(n_init=10, random_state=0, **p), {"n_clusters": [2, 3, 4, 5]}),
]


def main():
    out = {"scikit-learn": sklearn.__version__, "cases": []}
    for config, data, kind, standardize, scoring, make, grid in CASES:
        x, y = load(data)
        if kind == "clf":
            cv = StratifiedKFold(5)
        else:
            cv = KFold(5)
        keys = list(grid)
        rows = []
        for values in itertools.product(*(grid[k] for k in keys)):
            params = dict(zip(keys, values))
            est = make(params)
            if standardize:
                est = make_pipeline(StandardScaler(), est)
            scores = cross_val_score(est, x, y if kind != "clu" else None, cv=cv, scoring=scoring)
            rows.append({"params": params, "mean": float(np.mean(scores))})
        name = type(make({k: grid[k][0] for k in keys})).__name__
        out["cases"].append({"config": f"configs/parity/{config}.toml", "data": data,
                             "estimator": name, "standardize": standardize, "trials": rows})
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
