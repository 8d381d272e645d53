#!/usr/bin/env python3
"""Fit time of each cohort model against its scikit-learn counterpart, one core each.

  python3 bench/model_speed.py [--reps N] [--only NAME,NAME] [--rows N] [--no-build]

Each case's data is made by one of scikit-learn's generators (`DATA` below), split into training
rows and a quarter as many held-out rows, and written once to CSV under bench/work/model_speed/;
both sides read the same files. Both are pinned to the same core with `taskset -c CORE` (default:
the last core), with OMP/BLAS/rayon threads set to 1. Timed: the whole fit only (cohort:
`models/examples/model_speed.rs`, built in release, which builds the model from the catalogue as a
sweep does and trains all its report points; scikit-learn: `est.fit(X, y)`), best and median of
N repetitions, each one fit in a fresh process, the two sides taking turns. Then each side predicts the training rows once (timed: k-NN's fit only stores or
indexes the rows, its work is here) and scores the fitted model on the training rows and the
held-out rows (accuracy, R², or inertia for clustering), so a fast fit that learns less shows.

Writes bench/results/model_speed.json: every raw number, each case with its own date, commit and
load average. A partial run (--only) replaces its own cases in that file and keeps the others.

Each benchmark is one entry of CASES: add a model by adding an entry.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work", "model_speed")
RESULTS = os.path.join(HERE, "results", "model_speed.json")
VENV = os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/cohort-peers"))
PY = os.path.join(VENV, "bin", "python")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
EXAMPLE = os.path.join(TARGET, "release", "examples", "model_speed")
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "RAYON_NUM_THREADS")}

# One entry per benchmark:
#   name      the row's name in the results
#   data      (generator, training rows, features); generators are in GEN:
#             "clf" binary classification, "clf3" three classes, "reg" regression,
#             "counts" non-negative integer features (binary labels), "blobs" 8 clusters
#   cohort    (catalogue model, {hyperparameter: value}) as in a config's [model]
#   sklearn   (scikit-learn class path, {parameter: value})
CASES = [
    {"name": "random_forest_classifier", "data": ("clf", 100_000, 20),
     "cohort": ("random_forest_classifier", {"n_estimators": 20}),
     "sklearn": ("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 20})},
    {"name": "extra_trees_classifier", "data": ("clf", 100_000, 20),
     "cohort": ("extra_trees_classifier", {"n_estimators": 20}),
     "sklearn": ("sklearn.ensemble.ExtraTreesClassifier", {"n_estimators": 20})},
    {"name": "random_forest_regressor", "data": ("reg", 100_000, 20),
     "cohort": ("random_forest_regressor", {"n_estimators": 10}),
     "sklearn": ("sklearn.ensemble.RandomForestRegressor", {"n_estimators": 10})},
    {"name": "extra_trees_regressor", "data": ("reg", 100_000, 20),
     "cohort": ("extra_trees_regressor", {"n_estimators": 10}),
     "sklearn": ("sklearn.ensemble.ExtraTreesRegressor", {"n_estimators": 10})},
    {"name": "hist_gradient_boosting_classifier", "data": ("clf", 100_000, 20),
     "cohort": ("hist_gradient_boosting_classifier", {"max_iter": 100, "early_stopping": False}),
     "sklearn": ("sklearn.ensemble.HistGradientBoostingClassifier",
                 {"max_iter": 100, "early_stopping": False})},
    {"name": "hist_gradient_boosting_regressor", "data": ("reg", 100_000, 20),
     "cohort": ("hist_gradient_boosting_regressor", {"max_iter": 100, "early_stopping": False}),
     "sklearn": ("sklearn.ensemble.HistGradientBoostingRegressor",
                 {"max_iter": 100, "early_stopping": False})},
    {"name": "svc_rbf", "data": ("clf3", 3_000, 20),
     "cohort": ("svc", {"kernel": "rbf"}),
     "sklearn": ("sklearn.svm.SVC", {})},
    {"name": "svc_linear", "data": ("clf", 3_000, 20),
     "cohort": ("svc", {"kernel": "linear"}),
     "sklearn": ("sklearn.svm.SVC", {"kernel": "linear"})},
    {"name": "svc_poly", "data": ("clf3", 3_000, 20),
     "cohort": ("svc", {"kernel": "poly", "degree": 3}),
     "sklearn": ("sklearn.svm.SVC", {"kernel": "poly", "degree": 3})},
    {"name": "svr_linear", "data": ("reg", 3_000, 20),
     "cohort": ("svr", {"kernel": "linear"}),
     "sklearn": ("sklearn.svm.SVR", {"kernel": "linear"})},
    {"name": "svr_rbf", "data": ("reg", 3_000, 20),
     "cohort": ("svr", {"kernel": "rbf", "C": 100.0}),
     "sklearn": ("sklearn.svm.SVR", {"C": 100.0})},
    {"name": "gaussian_nb", "data": ("clf3", 200_000, 20),
     "cohort": ("gaussian_nb", {}),
     "sklearn": ("sklearn.naive_bayes.GaussianNB", {})},
    {"name": "multinomial_nb", "data": ("counts", 200_000, 20),
     "cohort": ("multinomial_nb", {}),
     "sklearn": ("sklearn.naive_bayes.MultinomialNB", {})},
    {"name": "knn_classifier", "data": ("clf", 20_000, 8),
     "cohort": ("knn_classifier", {"n_neighbors": 5}),
     "sklearn": ("sklearn.neighbors.KNeighborsClassifier", {"algorithm": "kd_tree"})},
    {"name": "knn_regressor", "data": ("reg", 20_000, 8),
     "cohort": ("knn_regressor", {"n_neighbors": 5}),
     "sklearn": ("sklearn.neighbors.KNeighborsRegressor", {"algorithm": "kd_tree"})},
    {"name": "ftrl", "data": ("clf", 200_000, 20),
     "cohort": ("ftrl", {"epochs": 5, "l1": 0.0}),
     "sklearn": ("sklearn.linear_model.SGDClassifier",
                 {"loss": "log_loss", "max_iter": 5, "tol": None})},
    {"name": "kmeans", "data": ("blobs", 100_000, 10),
     "cohort": ("kmeans", {"n_clusters": 8, "n_init": 1}),
     "sklearn": ("sklearn.cluster.KMeans", {"n_clusters": 8, "n_init": 1})},
]

# The peer side, run in the peers' Python: fit `reps` times (the script asks for one), then
# predict the training rows once (timed) and score on the training and held-out rows.
PEER = r"""
import importlib, json, sys, time
import numpy as np, pandas as pd
cls, params, train, test, reps = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
mod, name = cls.rsplit(".", 1)
Est = getattr(importlib.import_module(mod), name)
tr, te = pd.read_csv(train).to_numpy(), pd.read_csv(test).to_numpy()
X, y, Xt, yt = tr[:, :-1], tr[:, -1], te[:, :-1], te[:, -1]
clustering = mod == "sklearn.cluster"
times = []
for _ in range(reps):
    est = Est(**params, random_state=0) if "random_state" in Est().get_params() else Est(**params)
    t = time.perf_counter()
    est.fit(X) if clustering else est.fit(X, y)
    times.append(time.perf_counter() - t)
t = time.perf_counter(); pred = est.predict(X); predict_s = time.perf_counter() - t
if clustering:
    train_score, score = -est.score(X), -est.score(Xt)
elif hasattr(est, "classes_"):
    train_score, score = np.mean(pred == y), est.score(Xt, yt)
else:
    train_score = 1 - np.sum((y - pred) ** 2) / np.sum((y - np.mean(y)) ** 2)
    score = est.score(Xt, yt)
print(json.dumps({"fit_s": times, "predict_s": predict_s, "train_score": float(train_score),
                  "score": float(score)}))
"""

GEN = r"""
import sys
import numpy as np
from sklearn.datasets import make_blobs, make_classification, make_regression
kind, rows, features, out_train, out_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
n = rows + rows // 4
informative = features // 2
if kind == "clf":
    X, y = make_classification(n_samples=n, n_features=features, n_informative=informative, random_state=0)
elif kind == "clf3":
    X, y = make_classification(n_samples=n, n_features=features, n_informative=informative, n_classes=3, random_state=0)
elif kind == "counts":
    X, y = make_classification(n_samples=n, n_features=features, n_informative=informative, random_state=0)
    X = np.floor(np.abs(X) * 3)
elif kind == "blobs":
    X, _ = make_blobs(n_samples=n, n_features=features, centers=8, random_state=0)
    y = np.zeros(n)
elif kind == "reg":
    X, y = make_regression(n_samples=n, n_features=features, n_informative=min(10, features), noise=10.0, random_state=0)
else:
    sys.exit(f"unknown data kind {kind}")
integer = kind != "reg"
header = ",".join([f"x{j}" for j in range(features)] + ["label"])
for path, sl in ((out_train, slice(0, rows)), (out_test, slice(rows, n))):
    with open(path, "w") as f:
        f.write(header + "\n")
        for row, t in zip(X[sl], y[sl]):
            f.write(",".join(repr(float(v)) for v in row) + "," + (str(int(t)) if integer else repr(float(t))) + "\n")
"""


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return out.stdout


def summary(side):
    return {**side, "best_s": min(side["fit_s"]), "median_s": statistics.median(side["fit_s"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--rows", type=int, help="training rows of every case (default: the case's)")
    ap.add_argument("--core", type=int, default=(os.cpu_count() or 1) - 1)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    only = {s for s in args.only.split(",") if s}
    unknown = only - {c["name"] for c in CASES}
    if unknown:
        ap.error(f"unknown case(s) {', '.join(sorted(unknown))}; "
                 f"cases: {', '.join(c['name'] for c in CASES)}")
    cases = [c for c in CASES if not only or c["name"] in only]
    os.makedirs(WORK, exist_ok=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "models", "--example", "model_speed"],
                       cwd=ROOT, check=True)
    env = dict(os.environ, **ONE_THREAD)
    pin = ["taskset", "-c", str(args.core)]
    commit = run(["git", "rev-parse", "HEAD"], env=env).strip()
    dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"]).strip())
    results = []
    for c in cases:
        kind, rows, features = c["data"]
        rows = args.rows or rows
        train = os.path.join(WORK, f"{kind}_{rows}x{features}_train.csv")
        test = os.path.join(WORK, f"{kind}_{rows}x{features}_test.csv")
        if not (os.path.exists(train) and os.path.exists(test)):
            print(f"generating {train}", flush=True)
            run([PY, "-c", GEN, kind, str(rows), str(features), train, test])
        model, params = c["cohort"]
        kv = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items()]
        cls, sk_params = c["sklearn"]
        # One fit per process, the two sides alternating: on a shared machine both meet the
        # same spells of load (in turns of a few seconds) rather than one side getting a quiet
        # minute and the other a busy one.
        ours_runs, peer_runs = [], []
        for _ in range(args.reps):
            ours_runs.append(json.loads(run(pin + [EXAMPLE, model, train, test, "1"] + kv,
                                            env=env)))
            peer_runs.append(json.loads(run(pin + [PY, "-c", PEER, cls, json.dumps(sk_params),
                                                   train, test, "1"], env=env)))
        ours = {**ours_runs[-1], "fit_s": [r["fit_s"][0] for r in ours_runs]}
        peer = {**peer_runs[-1], "fit_s": [r["fit_s"][0] for r in peer_runs]}
        row = {
            "name": c["name"], "data": kind, "rows": rows, "features": features,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "commit": commit, "uncommitted_changes": dirty,
            "loadavg": open("/proc/loadavg").read().split()[:3],
            "cohort": {"model": model, "params": params, **summary(ours)},
            "sklearn": {"class": cls, "params": sk_params, **summary(peer)},
        }
        row["ratio_median"] = row["cohort"]["median_s"] / row["sklearn"]["median_s"]
        row["ratio_best"] = row["cohort"]["best_s"] / row["sklearn"]["best_s"]
        results.append(row)
        print(f"{c['name']:<34} cohort {row['cohort']['median_s']:8.3f} s "
              f"(train {ours['train_score']:.4f}, held-out {ours['score']:.4f})   "
              f"scikit-learn {row['sklearn']['median_s']:8.3f} s "
              f"(train {peer['train_score']:.4f}, held-out {peer['score']:.4f})   "
              f"ratio {row['ratio_median']:.2f} (best {row['ratio_best']:.2f})   "
              f"predict {ours['predict_s']:.3f} s / {peer['predict_s']:.3f} s", flush=True)
    previous = []
    if only and os.path.exists(RESULTS):
        with open(RESULTS) as f:
            before = json.load(f)
        # Rows from before cases carried their own provenance keep the file's.
        for c in before["cases"]:
            for key in ("date", "commit", "loadavg"):
                c.setdefault(key, before.get(key))
        previous = before["cases"]
    fresh = {r["name"]: r for r in results}
    merged = [fresh.pop(c["name"], c) for c in previous] + list(fresh.values())
    order = {c["name"]: i for i, c in enumerate(CASES)}
    merged.sort(key=lambda r: order.get(r["name"], len(order)))
    sk_version = run([PY, "-c", "import sklearn; print(sklearn.__version__)"]).strip()
    out = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                 if l.startswith("model name")), "")},
        "sklearn": sk_version, "reps": args.reps, "core": args.core, "cases": merged,
    }
    with open(RESULTS, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", RESULTS)


if __name__ == "__main__":
    main()
