#!/usr/bin/env python3
"""Search that learns and stops early: cohort's TPE and pruners against random search and Optuna,
measured side by side in one run.

  python3 bench/search.py [--seeds 10] [--only tpe,cost,pruning]

1. tpe: does TPE pay off? The objective is the mean 5-fold CV accuracy (unshuffled stratified
   folds, standardized on the training folds) of logistic regression on the shipped
   breast-cancer data over C (log-uniform), tol (log-uniform), max_iter (int) and fit_intercept
   (categorical). cohort's logistic regression is scikit-learn's objective and solver to 1e-6, so
   Optuna (TPESampler + scikit-learn) optimizes the same function. Per seed: the trial at which
   cohort's TPE first reaches the best that cohort's random search finds in 100 trials, and each
   side's best after 100 trials; medians over the seeds.
2. cost: the time of one TPE suggestion with 100, 1,000 and 5,000 finished trials of 4
   parameters: cohort (`examples/tpe_speed.rs`) against Optuna's TPESampler on the same kind of
   history (its sampler's own time, not the study's storage).
3. pruning: an MLP sweep (96 trials, batch 4) on the shipped breast-cancer data with and without
   ASHA (and median): best accuracy and total training time (the sum of the trials' durations),
   with random search (the same 96 proposals either way: what pruning alone saves) and with TPE;
   and the same search in Optuna (TPESampler + its SuccessiveHalvingPruner, n_jobs=2, scikit-learn's
   MLPClassifier trained epoch by epoch with partial_fit) timed end to end, whole process.

Results go to bench/results/search.json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/cohort-peers"))
PY = os.path.join(VENV, "bin", "python")
COHORT = os.path.join(ROOT, "target", "release", "cohort")
DATA = os.path.join(ROOT, "configs", "data")

LOGISTIC = """
[study]
name = "tpe"
seed = {seed}
metric = "accuracy"
[data]
path = "{data}/breast_cancer.csv"
[model]
name = "logistic_regression"
[cv]
folds = 5
shuffle = false
[search]
sampler = "{sampler}"
trials = {trials}
{extra}
[search.space]
C = {{ type = "log_uniform", low = 0.0001, high = 1000.0 }}
tol = {{ type = "log_uniform", low = 1e-6, high = 0.1 }}
max_iter = {{ type = "int", low = 2, high = 200, log = true }}
fit_intercept = [true, false]
"""

MLP = """
[study]
name = "mlp"
seed = {seed}
metric = "accuracy"
[data]
path = "{data}/{dataset}.csv"
[model]
name = "mlp"
params = {{ epochs = 27, batch_size = 16 }}
[cv]
folds = 3
[search]
sampler = "{sampler}"
trials = {trials}
batch = 4
[search.space]
eta0 = {{ type = "log_uniform", low = 1e-4, high = 0.3 }}
alpha = {{ type = "log_uniform", low = 1e-6, high = 1e-1 }}
hidden_units = {{ type = "int", low = 2, high = 64, log = true }}
activation = ["relu", "tanh"]
{pruner}
"""


def cohort_sweep(text, workers=2):
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "c.toml")
        with open(cfg, "w") as f:
            f.write(text)
        t = time.perf_counter()
        out = subprocess.run(
            [COHORT, "-q", "sweep", cfg, "--study-dir", os.path.join(d, "st"), "--workers", str(workers), "--json", "--no-refit"],
            check=True, capture_output=True, text=True,
        ).stdout
        wall = time.perf_counter() - t
    return json.loads(out), wall


def values_in_order(doc):
    trials = sorted(doc["trials"], key=lambda t: t["trial"])
    return [t["value"] if t["state"] == "complete" and t["value"] is not None else float("-inf") for t in trials]


def running_best(values):
    best, out = float("-inf"), []
    for v in values:
        best = max(best, v)
        out.append(best)
    return out


def bench_tpe(seeds):
    rows = []
    for seed in range(seeds):
        rnd, _ = cohort_sweep(LOGISTIC.format(seed=seed, data=DATA, sampler="random", trials=100, extra=""))
        tpe, _ = cohort_sweep(LOGISTIC.format(seed=seed, data=DATA, sampler="tpe", trials=100, extra="batch = 4"))
        target = max(values_in_order(rnd))
        tpe_best = running_best(values_in_order(tpe))
        reached = next((i + 1 for i, v in enumerate(tpe_best) if v >= target - 1e-12), None)
        optuna = json.loads(subprocess.run(
            [PY, os.path.join(HERE, "peer_optuna_tpe.py"), "--seed", str(seed), "--trials", "100"],
            check=True, capture_output=True, text=True).stdout)
        rows.append({"seed": seed, "random_best": target, "tpe_best": tpe_best[-1],
                     "tpe_trials_to_random_best": reached, "optuna_best": optuna["best"]})
        print(rows[-1], flush=True)
    reached = [r["tpe_trials_to_random_best"] if r["tpe_trials_to_random_best"] else 101 for r in rows]
    summary = {
        "median_trials_to_random_best": statistics.median(reached),
        "median_tpe_best": statistics.median(r["tpe_best"] for r in rows),
        "median_random_best": statistics.median(r["random_best"] for r in rows),
        "median_optuna_best": statistics.median(r["optuna_best"] for r in rows),
        "seeds_tpe_at_least_optuna": sum(r["tpe_best"] >= r["optuna_best"] - 1e-12 for r in rows),
    }
    print("tpe:", summary, flush=True)
    return {"per_seed": rows, "summary": summary}


def bench_cost():
    out = subprocess.run(["cargo", "run", "--release", "-q", "-p", "orchestrator", "--example", "tpe_speed"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    optuna = json.loads(subprocess.run([PY, os.path.join(HERE, "peer_optuna_cost.py")],
                                       check=True, capture_output=True, text=True).stdout)
    print("cohort tpe_speed:\n" + out, "optuna:", optuna, flush=True)
    return {"cohort": out, "optuna": optuna}


def bench_pruning():
    ds = "breast_cancer"
    asha_table = "[search.pruner]\nkind = \"asha\"\nmin_resource = 3\nreduction_factor = 3\nmin_trials = 8"
    median_table = "[search.pruner]\nkind = \"median\"\nmin_trials = 8\nwarmup = 2"

    def run(sampler, pruner, epochs=27):
        # Random search with a batch needs a pruner; without one it takes no batch.
        text = MLP.format(seed=3, data=DATA, dataset=ds, trials=96, sampler=sampler, pruner=pruner)
        text = text.replace("epochs = 27", f"epochs = {epochs}")
        if sampler == "random" and not pruner:
            text = text.replace("batch = 4\n", "")
        return cohort_sweep(text)

    def summary(doc, wall):
        done = [t for t in doc["trials"] if t["duration_s"] is not None]
        return {"best": max((t["value"] for t in doc["trials"] if t["state"] == "complete"), default=None),
                "training_seconds": sum(t["duration_s"] for t in done),
                "pruned": sum(t["state"] == "pruned" for t in doc["trials"]),
                "wall_seconds": wall}
    result = {}
    # The same 96 proposals (random search ignores results), with and without a pruner:
    # what pruning itself saves.
    for name, sampler, pruner, epochs in [
            ("random_unpruned", "random", "", 27), ("random_asha", "random", asha_table, 27),
            ("random_median", "random", median_table, 27),
            ("random_unpruned_81_epochs", "random", "", 81), ("random_asha_81_epochs", "random", asha_table, 81),
            ("tpe_unpruned", "tpe", "", 27), ("tpe_asha", "tpe", asha_table, 27)]:
        doc, wall = run(sampler, pruner, epochs)
        result[name] = summary(doc, wall)
    t = time.perf_counter()
    optuna = json.loads(subprocess.run([PY, os.path.join(HERE, "peer_optuna_prune.py"), "--trials", "96",
                                        "--dataset", ds],
                                       check=True, capture_output=True, text=True).stdout)
    optuna["wall_seconds_whole_process"] = time.perf_counter() - t
    result["optuna_tpe_successive_halving"] = optuna
    print("pruning:", json.dumps(result, indent=1), flush=True)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--only", default="tpe,cost,pruning")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    parts = args.only.split(",")
    results = {"date": time.strftime("%Y-%m-%d %H:%M"),
               "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                        capture_output=True, text=True).stdout.strip()}
    if "tpe" in parts:
        results["tpe"] = bench_tpe(args.seeds)
    if "cost" in parts:
        results["cost"] = bench_cost()
    if "pruning" in parts:
        results["pruning"] = bench_pruning()
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "search.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
