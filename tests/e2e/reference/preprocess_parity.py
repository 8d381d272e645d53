#!/usr/bin/env python3
"""Provenance of the preprocessing parity test (tests/e2e/preprocess.rs).

  python3 tests/e2e/reference/preprocess_parity.py [--write]

Makes configs/data/mixed.csv deterministically (numpy's PCG64, seed 14; --write rewrites it):
300 rows, numeric columns `a`, `b`, `c` with about 8% empty or NA cells, categorical columns
`color` (red/green/blue, some missing) and `size` (S/M/L, a rare XL, and an XXL in one row only, which
the other folds' training rows never see), and a binary `label`. Then prints scikit-learn's mean CV accuracy per C for the
pipelines of configs/preprocess.toml and configs/preprocess-pca.toml, in GridSearchCV with
cv=5 (stratified, unshuffled) and accuracy scoring.
"""
import argparse
import os

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CSV = os.path.join(ROOT, "configs", "data", "mixed.csv")
NUM = ["a", "b", "c"]
CAT = ["color", "size"]
GRID = [0.01, 0.1, 1.0, 10.0]


def make():
    rng = np.random.default_rng(14)
    n = 300
    a = rng.normal(5.0, 2.0, n)
    b = rng.normal(-1.0, 10.0, n)
    c = rng.uniform(0.0, 1.0, n)
    color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    size = rng.choice(["S", "M", "L", "XL"], n, p=[0.4, 0.35, 0.23, 0.02])
    score = 0.8 * (a - 5) - 0.05 * b + 1.5 * (c - 0.5) + np.select(
        [color == "red", color == "green"], [0.8, -0.6], -0.3) + np.select(
        [size == "S", size == "L", size == "XL"], [-0.7, 0.6, 1.5], 0.0) + rng.logistic(0, 0.6, n)
    label = (score > 0).astype(int)
    size = size.astype(object)
    size[7] = "XXL"  # once: the training folds without row 7 never see it
    rows = []
    for i in range(n):
        cells = [repr(float(round(a[i], 6))), str(color[i]), repr(float(round(b[i], 6))), str(size[i]), repr(float(round(c[i], 6)))]
        for j in range(5):
            if j != 3 and rng.uniform() < 0.08:
                cells[j] = "NA" if rng.uniform() < 0.5 else ""
        rows.append(",".join(cells + [str(label[i])]))
    return "a,color,b,size,c,label\n" + "\n".join(rows) + "\n"


def pipeline(impute, scaler, pca=None):
    pre = ColumnTransformer([
        ("num", Pipeline([("imp", SimpleImputer(strategy=impute)), ("scale", scaler)]), NUM),
        ("ind", MissingIndicator(), ["a", "color", "b", "size", "c"]),
        ("cat", Pipeline([("imp", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore"))]), CAT),
    ])
    steps = [("pre", pre)] + ([("pca", PCA(pca))] if pca else []) + [("clf", LogisticRegression(max_iter=1000))]
    return Pipeline(steps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    text = make()
    if args.write:
        with open(CSV, "w") as f:
            f.write(text)
    elif open(CSV).read() != text:
        raise SystemExit(f"{CSV} differs from what this script makes (run with --write)")
    df = pd.read_csv(CSV, keep_default_na=False, na_values=["", "NA"])
    X, y = df.drop(columns=["label"]), df["label"]
    for name, pipe in [("preprocess.toml", pipeline("median", StandardScaler())),
                       ("preprocess-pca.toml", pipeline("mean", MinMaxScaler(), pca=4))]:
        s = GridSearchCV(pipe, {"clf__C": GRID}, cv=5, scoring="accuracy").fit(X, y)
        print(name)
        for c, m in zip(GRID, s.cv_results_["mean_test_score"]):
            print(f"    ({c}, {float(m)!r}),")


if __name__ == "__main__":
    main()
