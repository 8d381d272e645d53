#!/usr/bin/env python3
"""Fit time of each cohort model against its scikit-learn counterpart, one core each.

  python3 bench/model_speed.py [--reps N] [--only NAME,NAME] [--rows N] [--no-build]

Both sides fit the same rows (generated once by scikit-learn's make_classification /
make_regression and written to CSV under bench/work/model_speed/), pinned to the same core with
`taskset -c CORE` (default: the last core), with OMP/BLAS threads set to 1. Timed: the whole fit
only (cohort: `models/examples/model_speed.rs`, built in release, which builds the model as a
sweep does and trains all its report points; scikit-learn: `est.fit(X, y)`), best and median of
N repetitions. Both sides also score the fitted model on held-out rows (accuracy or R²), so a
fast fit that learns less shows.

Writes bench/results/model_speed.json whole (date, machine, load, commit, every raw number); a
partial run (--only) writes bench/work/model_speed-partial.json.

Each benchmark is one entry of CASES: add a model by adding an entry.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work", "model_speed")
VENV = os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/cohort-peers"))
PY = os.path.join(VENV, "bin", "python")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
EXAMPLE = os.path.join(TARGET, "release", "examples", "model_speed")
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "RAYON_NUM_THREADS")}

# One entry per benchmark:
#   name      the row's name in the results
#   data      "clf" (binary classification) or "reg" (regression): the generated dataset
#   cohort    (catalogue model, {hyperparameter: value}) as in a config's [model]
#   sklearn   (scikit-learn class path, {parameter: value})
CASES = [
    {"name": "random_forest_classifier", "data": "clf",
     "cohort": ("random_forest_classifier", {"n_estimators": 20}),
     "sklearn": ("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 20})},
    {"name": "extra_trees_classifier", "data": "clf",
     "cohort": ("extra_trees_classifier", {"n_estimators": 20}),
     "sklearn": ("sklearn.ensemble.ExtraTreesClassifier", {"n_estimators": 20})},
    {"name": "random_forest_regressor", "data": "reg",
     "cohort": ("random_forest_regressor", {"n_estimators": 10}),
     "sklearn": ("sklearn.ensemble.RandomForestRegressor", {"n_estimators": 10})},
    {"name": "extra_trees_regressor", "data": "reg",
     "cohort": ("extra_trees_regressor", {"n_estimators": 10}),
     "sklearn": ("sklearn.ensemble.ExtraTreesRegressor", {"n_estimators": 10})},
    {"name": "hist_gradient_boosting_classifier", "data": "clf",
     "cohort": ("hist_gradient_boosting_classifier", {"max_iter": 100, "early_stopping": False}),
     "sklearn": ("sklearn.ensemble.HistGradientBoostingClassifier",
                 {"max_iter": 100, "early_stopping": False})},
    {"name": "hist_gradient_boosting_regressor", "data": "reg",
     "cohort": ("hist_gradient_boosting_regressor", {"max_iter": 100, "early_stopping": False}),
     "sklearn": ("sklearn.ensemble.HistGradientBoostingRegressor",
                 {"max_iter": 100, "early_stopping": False})},
]

# The peer side, run in the peers' Python: fit `reps` times, print the times and the score.
PEER = r"""
import importlib, json, sys, time
import numpy as np, pandas as pd
cls, params, train, test, reps = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
mod, name = cls.rsplit(".", 1)
Est = getattr(importlib.import_module(mod), name)
tr, te = pd.read_csv(train).to_numpy(), pd.read_csv(test).to_numpy()
X, y, Xt, yt = tr[:, :-1], tr[:, -1], te[:, :-1], te[:, -1]
times = []
for _ in range(reps):
    est = Est(**params, random_state=0) if "random_state" in Est().get_params() else Est(**params)
    t = time.perf_counter(); est.fit(X, y); times.append(time.perf_counter() - t)
print(json.dumps({"fit_s": times, "score": float(est.score(Xt, yt))}))
"""

GEN = r"""
import sys
import numpy as np
from sklearn.datasets import make_classification, make_regression
kind, rows, features, out_train, out_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
n = rows + rows // 4
if kind == "clf":
    X, y = make_classification(n_samples=n, n_features=features, n_informative=10, random_state=0)
    fmt = ["%r"] * features + ["%d"]
else:
    X, y = make_regression(n_samples=n, n_features=features, n_informative=10, noise=10.0, random_state=0)
header = ",".join([f"x{j}" for j in range(features)] + ["label"])
for path, sl in ((out_train, slice(0, rows)), (out_test, slice(rows, n))):
    with open(path, "w") as f:
        f.write(header + "\n")
        for row, t in zip(X[sl], y[sl]):
            f.write(",".join(repr(float(v)) for v in row) + "," + (str(int(t)) if kind == "clf" else repr(float(t))) + "\n")
"""


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--core", type=int, default=(os.cpu_count() or 1) - 1)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    only = {s for s in args.only.split(",") if s}
    cases = [c for c in CASES if not only or c["name"] in only]
    os.makedirs(WORK, exist_ok=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "models", "--example", "model_speed"],
                       cwd=ROOT, check=True)
    data = {}
    for kind in sorted({c["data"] for c in cases}):
        train = os.path.join(WORK, f"{kind}_{args.rows}x{args.features}_train.csv")
        test = os.path.join(WORK, f"{kind}_{args.rows}x{args.features}_test.csv")
        if not (os.path.exists(train) and os.path.exists(test)):
            print(f"generating {train}", flush=True)
            run([PY, "-c", GEN, kind, str(args.rows), str(args.features), train, test])
        data[kind] = (train, test)
    env = dict(os.environ, **ONE_THREAD)
    pin = ["taskset", "-c", str(args.core)]
    results = []
    for c in cases:
        train, test = data[c["data"]]
        model, params = c["cohort"]
        kv = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items()]
        ours = json.loads(run(pin + [EXAMPLE, model, train, test, str(args.reps)] + kv, env=env))
        cls, sk_params = c["sklearn"]
        peer = json.loads(run(pin + [PY, "-c", PEER, cls, json.dumps(sk_params), train, test,
                                     str(args.reps)], env=env))
        row = {
            "name": c["name"], "rows": args.rows, "features": args.features,
            "cohort": {"model": model, "params": params, **ours,
                       "best_s": min(ours["fit_s"]), "median_s": statistics.median(ours["fit_s"])},
            "sklearn": {"class": cls, "params": sk_params, **peer,
                        "best_s": min(peer["fit_s"]), "median_s": statistics.median(peer["fit_s"])},
        }
        row["ratio_median"] = row["cohort"]["median_s"] / row["sklearn"]["median_s"]
        results.append(row)
        print(f"{c['name']:<36} cohort {row['cohort']['median_s']:8.3f} s (score {ours['score']:.4f})"
              f"   scikit-learn {row['sklearn']['median_s']:8.3f} s (score {peer['score']:.4f})"
              f"   ratio {row['ratio_median']:.2f}", flush=True)
    commit = run(["git", "rev-parse", "HEAD"]).strip()
    dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"]).strip())
    sk_version = run([PY, "-c", "import sklearn; print(sklearn.__version__)"]).strip()
    out = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                 if l.startswith("model name")), "")},
        "loadavg": open("/proc/loadavg").read().split()[:3],
        "commit": commit, "uncommitted_changes": dirty, "sklearn": sk_version,
        "reps": args.reps, "core": args.core, "cases": results,
    }
    path = (os.path.join(HERE, "results", "model_speed.json") if not only
            else os.path.join(HERE, "work", "model_speed-partial.json"))
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
