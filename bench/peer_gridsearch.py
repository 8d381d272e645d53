#!/usr/bin/env python3
"""The peer's sweep (../shared/peers/sweep.py) with refit chosen, and its phases stamped.

  python peer_gridsearch.py --peers DIR --refit {true,false} [--n-jobs 2] [--dataset synth_clf]

The search is sweep.py's own: its Pipeline (StandardScaler + LogisticRegression(max_iter=1000,
lbfgs)), its grid (C x fit_intercept, 12 candidates), its loader (pandas), cv=5 (stratified, no
shuffle), accuracy. sweep.py always refits (GridSearchCV's default, refit=True: after the search
it fits the best candidate once more on all the data); cohort does not refit, so the benchmark
runs both. This script only adds `refit=` and wall-clock stamps (time.time(), so the caller can
subtract its own launch stamp to get the interpreter's start-up):

  first_line   the first statement of this script ran (interpreter started, site imported)
  imports      numpy, pandas, scipy, scikit-learn, joblib imported (sweep.py's imports)
  loaded       the CSV read into a float64 matrix
  searched     GridSearchCV.fit returned (loky workers started, 60 fits, and the refit if any)
  end          results printed; what follows is interpreter and loky shut-down

It prints one JSON line on stdout.
"""
import time

FIRST_LINE = time.time()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--peers", required=True, help="the peers directory (holds sweep.py and data/)")
ap.add_argument("--refit", choices=["true", "false"], required=True)
ap.add_argument("--n-jobs", type=int, default=2)
ap.add_argument("--dataset", default="synth_clf")
args = ap.parse_args()

sys.path.insert(0, args.peers)
import sweep  # noqa: E402  (imports numpy, pandas, scipy, sklearn, joblib, threadpoolctl)
from sklearn.model_selection import GridSearchCV  # noqa: E402

IMPORTS = time.time()
X, y, _ = sweep.load(args.dataset)
LOADED = time.time()
s = GridSearchCV(sweep.make_pipe(), sweep.PARAM_GRID, cv=5, scoring="accuracy", n_jobs=args.n_jobs,
                 refit=args.refit == "true")
s.fit(X, y)
SEARCHED = time.time()
best = {k.replace("clf__", ""): (v.item() if hasattr(v, "item") else v) for k, v in s.best_params_.items()}
print(json.dumps({
    "refit": args.refit == "true", "n_jobs": args.n_jobs, "dataset": args.dataset,
    "candidates": len(s.cv_results_["params"]), "best_params": best, "best_cv_accuracy": float(s.best_score_),
    "stamps": {"first_line": FIRST_LINE, "imports": IMPORTS, "loaded": LOADED, "searched": SEARCHED, "end": time.time()},
}), flush=True)
