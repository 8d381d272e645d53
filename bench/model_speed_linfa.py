#!/usr/bin/env python3
"""Fit time of cohort's svc, svr, gaussian_nb, multinomial_nb, knn_classifier, knn_regressor,
ftrl and kmeans against scikit-learn's equivalent on the same data, one core each.

    cargo build --release -p models --example fit_speed
    ~/.cache/cohort-peers/bin/python bench/model_speed_linfa.py [--quick] [--only NAME,...]

Each case's data is made once by scikit-learn's generators and written as CSV; both sides read it
and are timed on the fit alone (the best of REPEATS fits: the least disturbed on a shared
machine), both pinned to core 0 with every thread pool at one thread. k-NN's fit only stores the
rows (ours) or builds the tree (scikit-learn's), so its prediction on the training rows is timed
too. Results: bench/results/model_speed_linfa.json; the README's "More models" section
summarizes them.

The list of cases is `CASES`; each is (name, cohort model, cohort params, scikit-learn estimator,
data maker, rows, features).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import make_blobs, make_classification, make_regression  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402
from sklearn.naive_bayes import GaussianNB, MultinomialNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor  # noqa: E402
from sklearn.svm import SVC, SVR  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
FIT_SPEED = TARGET / "release" / "examples" / "fit_speed"
REPEATS = 3


def clf(rows, cols):
    return make_classification(rows, cols, n_informative=cols // 2, random_state=0)


def clf3(rows, cols):
    return make_classification(rows, cols, n_informative=cols // 2, n_classes=3, random_state=0)


def reg(rows, cols):
    return make_regression(rows, cols, noise=10.0, random_state=0)


def counts(rows, cols):
    x, y = make_classification(rows, cols, n_informative=cols // 2, random_state=0)
    return np.floor(np.abs(x) * 3), y


def blobs(rows, cols):
    x, _ = make_blobs(rows, cols, centers=8, random_state=0)
    return x, np.zeros(rows)


# (name, kind, cohort model, cohort params, scikit-learn estimator, data, rows, features)
CASES = [
    ("svc_rbf", "classification", "svc", {"kernel": "rbf"}, lambda: SVC(), clf3, 3000, 20),
    ("svc_linear", "classification", "svc", {"kernel": "linear"},
     lambda: SVC(kernel="linear"), clf, 3000, 20),
    ("svr_rbf", "regression", "svr", {"kernel": "rbf", "C": 100.0},
     lambda: SVR(C=100.0), reg, 3000, 20),
    ("gaussian_nb", "classification", "gaussian_nb", {}, lambda: GaussianNB(), clf3, 200_000, 20),
    ("multinomial_nb", "classification", "multinomial_nb", {}, lambda: MultinomialNB(),
     counts, 200_000, 20),
    ("knn_classifier", "classification", "knn_classifier", {"n_neighbors": 5},
     lambda: KNeighborsClassifier(algorithm="kd_tree"), clf, 20_000, 8),
    ("knn_regressor", "regression", "knn_regressor", {"n_neighbors": 5},
     lambda: KNeighborsRegressor(algorithm="kd_tree"), reg, 20_000, 8),
    ("ftrl", "classification", "ftrl", {"epochs": 5, "l1": 0.0},
     lambda: SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0),
     clf, 200_000, 20),
    ("kmeans", "clustering", "kmeans", {"n_clusters": 8, "n_init": 1},
     lambda: KMeans(8, n_init=1, random_state=0), blobs, 100_000, 10),
]


def write_csv(path, x, y):
    header = ",".join([f"x{j}" for j in range(x.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="",
               fmt="%.17g")


def time_sklearn(make, x, y, kind, predict):
    fits = []
    est = None
    for _ in range(REPEATS):
        est = make()
        t = time.perf_counter()
        if kind == "clustering":
            est.fit(x)
        else:
            est.fit(x, y)
        fits.append(time.perf_counter() - t)
    t = time.perf_counter()
    pred = est.predict(x)
    predict_s = time.perf_counter() - t
    if kind == "classification":
        score = float(np.mean(pred == y))
    elif kind == "regression":
        score = float(1 - np.sum((y - pred) ** 2) / np.sum((y - np.mean(y)) ** 2))
    else:
        score = float(-est.score(x))
    return {"fit_s": fits, "predict_s": predict_s if predict else None, "train_score": score}


def time_cohort(model, params, path, kind):
    out = subprocess.run(
        ["taskset", "-c", "0", str(FIT_SPEED), model, json.dumps(params), str(path), kind,
         str(REPEATS)],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a tenth of the rows")
    ap.add_argument("--only", help="comma-separated case names")
    args = ap.parse_args()
    if not FIT_SPEED.exists():
        sys.exit(f"{FIT_SPEED} is missing: cargo build --release -p models --example fit_speed")
    os.sched_setaffinity(0, {0})
    only = set(args.only.split(",")) if args.only else None
    results = {"scikit-learn": sklearn.__version__, "repeats": REPEATS, "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kind, model, params, make, data, rows, cols in CASES:
            if only and name not in only:
                continue
            if args.quick:
                rows //= 10
            x, y = data(rows, cols)
            path = Path(tmp) / f"{name}.csv"
            write_csv(path, x, y)
            predict = model.startswith("knn")
            ours = time_cohort(model, params, path, kind)
            theirs = time_sklearn(make, x, y, kind, predict)
            row = {
                "name": name, "model": model, "params": params, "rows": rows, "features": cols,
                "sklearn": type(make()).__name__,
                "cohort_fit_s": min(ours["fit_s"]), "sklearn_fit_s": min(theirs["fit_s"]),
                "cohort_predict_s": ours["predict_s"] if predict else None,
                "sklearn_predict_s": theirs["predict_s"],
                "cohort_train_score": ours["train_score"],
                "sklearn_train_score": theirs["train_score"],
            }
            row["fit_ratio"] = row["cohort_fit_s"] / row["sklearn_fit_s"]
            print(json.dumps(row), flush=True)
            results["cases"].append(row)
    out = ROOT / "bench" / "results" / "model_speed_linfa.json"
    if only and out.exists():
        # A partial run replaces its own cases in the last full run's results.
        previous = json.loads(out.read_text())
        fresh = {c["name"]: c for c in results["cases"]}
        results["cases"] = [fresh.pop(c["name"], c) for c in previous["cases"]] + list(fresh.values())
    results["loadavg"] = os.getloadavg()
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
