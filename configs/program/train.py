#!/usr/bin/env python3
"""A tiny training script for `cohort sweep configs/program-sweep.toml`: logistic regression by
SGD on a synthetic two-class problem, standard library only.

It takes its hyperparameters as ordinary flags and prints one `cohort:` line per epoch; cohort
reads those lines as the trial's reports (and can stop the trial early from them).
"""
import argparse
import json
import math
import os
import random


def make_data(rng, n, d):
    w = [rng.gauss(0, 1) for _ in range(d)]
    rows = []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(d)]
        z = sum(a * b for a, b in zip(w, x)) + rng.gauss(0, 1.0)
        rows.append((x, 1 if z > 0 else 0))
    return rows


def loss_and_accuracy(w, b, rows):
    loss, right = 0.0, 0
    for x, y in rows:
        z = sum(a * c for a, c in zip(w, x)) + b
        p = 1 / (1 + math.exp(-max(min(z, 30), -30)))
        loss -= math.log(p if y else 1 - p)
        right += (p > 0.5) == bool(y)
    return loss / len(rows), right / len(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--l2", type=float, default=0.0)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--shuffle", choices=["true", "false"], default="true")
    a = ap.parse_args()
    # The data is the same for every trial; the trial's own seed drives its shuffling.
    data = make_data(random.Random(0), 1200, 8)
    train, val = data[:900], data[900:]
    rng = random.Random(int(os.environ.get("COHORT_SEED", "0")))
    w, b = [0.0] * 8, 0.0
    for epoch in range(a.epochs):
        if a.shuffle == "true":
            rng.shuffle(train)
        for x, y in train:
            z = sum(p * q for p, q in zip(w, x)) + b
            g = 1 / (1 + math.exp(-max(min(z, 30), -30))) - y
            w = [wi - a.lr * (g * xi + a.l2 * wi) for wi, xi in zip(w, x)]
            b -= a.lr * g
        train_loss, _ = loss_and_accuracy(w, b, train)
        val_loss, val_acc = loss_and_accuracy(w, b, val)
        line = {"step": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_acc}
        print("cohort: " + json.dumps(line))
        # A cooperative stop: cohort creates this file when it prunes the trial.
        if os.path.exists(os.environ.get("COHORT_STOP_FILE", "/nonexistent")):
            break


if __name__ == "__main__":
    main()
