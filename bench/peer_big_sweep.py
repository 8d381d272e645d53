#!/usr/bin/env python3
"""The peer of bench/big_sweep.py: GridSearchCV(n_jobs=2) on synth_big, C in {0.01, 1}.

  python peer_big_sweep.py --peers DIR [--refit true|false]

The estimator and loader are ../shared/peers/sweep.py's own (pandas read_csv; Pipeline of
StandardScaler and LogisticRegression(max_iter=1000, lbfgs)); cv=5 (stratified, no shuffle),
accuracy. Prints one JSON line: the best C, every candidate's mean CV accuracy, and wall-clock
stamps (time.time()) of the phases.
"""
import time

FIRST_LINE = time.time()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--peers", required=True)
ap.add_argument("--refit", choices=["true", "false"], default="false")
args = ap.parse_args()

sys.path.insert(0, args.peers)
import sweep  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

IMPORTS = time.time()
X, y, _ = sweep.load("synth_big")
LOADED = time.time()
s = GridSearchCV(sweep.make_pipe(), {"clf__C": [0.01, 1.0]}, cv=5, scoring="accuracy", n_jobs=2,
                 refit=args.refit == "true")
s.fit(X, y)
SEARCHED = time.time()
print(json.dumps({
    "best_C": float(s.best_params_["clf__C"]),
    "best_cv_accuracy": float(s.best_score_),
    "mean_cv_accuracy": {str(float(p["clf__C"])): float(m) for p, m in zip(s.cv_results_["params"], s.cv_results_["mean_test_score"])},
    "stamps": {"first_line": FIRST_LINE, "imports": IMPORTS, "loaded": LOADED, "searched": SEARCHED, "end": time.time()},
}), flush=True)
