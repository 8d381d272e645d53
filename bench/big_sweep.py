#!/usr/bin/env python3
"""One copy of the data in a sweep: cohort against GridSearchCV(n_jobs=2) on synth_big.

  python3 bench/big_sweep.py [--reps N] [--cohort PATH]

The sweep: synth_big.csv (1,000,000 x 32, ../shared/peers/data.py), logistic regression
standardized inside the folds, C in {0.01, 1}, 5-fold stratified CV without shuffling,
accuracy, 2 workers (bench/configs/sweep-big.toml), against the peer's GridSearchCV(n_jobs=2,
refit=False) on the same grid (bench/peer_big_sweep.py). Both run as whole processes, one after
the other, N times each; wall time is start to exit. Memory is the peak summed RSS and PSS of
the process tree, sampled from /proc every 20 ms in one separate run of each (sampling costs
CPU). cohort is the release build of this working tree unless --cohort names another binary.

Targets (issue 14, benchmark 1): wall time at most 1/3 of GridSearchCV's; peak summed memory at
most 1/2 of GridSearchCV's and at most 1.5x the data's f64 size plus a fixed overhead; the same
best C, within 0.001 accuracy. Writes bench/results/big_sweep.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402  (the peers' setup, the process-tree sampler, timed runs)

CONFIG = os.path.join(HERE, "configs", "sweep-big.toml")
DATA = os.path.join(bench.WORK, "data", "synth_big.csv")


def peer(sample):
    cmd = [bench.PY, os.path.join(HERE, "peer_big_sweep.py"), "--peers", bench.PEERS]
    (wall, rss, pss, out, _), launch = bench.timed_stamped(cmd, cwd=bench.PEERS, sample=sample)
    doc = json.loads(out.strip().splitlines()[-1])
    st = doc.pop("stamps")
    doc.update({"wall_s": wall, "rss_mib": rss, "pss_mib": pss,
                "startup_s": st["imports"] - launch, "load_s": st["loaded"] - st["imports"],
                "search_s": st["searched"] - st["loaded"]})
    return doc


def cohort(binary, sample):
    d = tempfile.mkdtemp(prefix="cohort-big-")
    try:
        # The peer runs with refit=False: so does cohort.
        cmd = [binary, "sweep", CONFIG, "--workers", "2", "--study-dir", os.path.join(d, "st"), "--json", "--no-refit"]
        wall, rss, pss, out, err = bench.timed(cmd, cwd=HERE, sample=sample)
        doc = json.loads(out)
        trials = {str(float(t["params"]["C"])): t["value"] for t in doc["trials"]}
        best = doc["best_trial"]
        return {"wall_s": wall, "rss_mib": rss, "pss_mib": pss,
                "best_C": float(best["params"]["C"]), "best_cv_accuracy": best["value"],
                "mean_cv_accuracy": trials, "memory": doc["study"]["memory"],
                "data": doc["study"]["data"]}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cohort", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "cohort"))
    args = ap.parse_args()
    os.makedirs(bench.WORK, exist_ok=True)
    if not os.path.isdir(bench.PEERS):
        shutil.copytree(bench.PEERS_SRC, bench.PEERS)
    if not os.path.exists(bench.PY):
        bench.sh(["bash", os.path.join(bench.PEERS, "setup.sh")])
    os.makedirs(os.path.join(bench.PEERS, "data"), exist_ok=True)
    peer_data = os.path.join(bench.PEERS, "data", "synth_big.csv")
    if not os.path.exists(DATA):
        if not os.path.exists(peer_data):
            bench.sh([bench.PY, os.path.join(bench.PEERS, "data.py")], cwd=bench.PEERS)
        os.makedirs(os.path.dirname(DATA), exist_ok=True)
        shutil.copy(peer_data, DATA)
    if not os.path.exists(peer_data):
        os.link(DATA, peer_data)
    runs = {"peer": [], "cohort": []}
    for rep in range(args.reps):
        for name, run in (("peer", lambda: peer(False)), ("cohort", lambda: cohort(args.cohort, False))):
            r = run()
            runs[name].append(r)
            print(f"rep {rep} {name}: {r['wall_s']:.2f} s, best C {r['best_C']} ({r['best_cv_accuracy']:.5f})", flush=True)
    mem = {"peer": peer(True), "cohort": cohort(args.cohort, True)}
    for name, r in mem.items():
        print(f"memory {name}: RSS {r['rss_mib']:.0f} MiB, PSS {r['pss_mib']:.0f} MiB", flush=True)
    med = {name: bench.med([r["wall_s"] for r in rs]) for name, rs in runs.items()}
    data_mib = runs["cohort"][0]["memory"]["data_bytes"] / 2**20
    p, c = runs["peer"][0], runs["cohort"][0]
    best_gap = abs(p["mean_cv_accuracy"][str(c["best_C"])] - p["best_cv_accuracy"])
    summary = {
        "peer_wall_s": med["peer"], "cohort_wall_s": med["cohort"],
        "wall_ratio": med["cohort"] / med["peer"],
        "peer_pss_mib": mem["peer"]["pss_mib"], "cohort_pss_mib": mem["cohort"]["pss_mib"],
        "peer_rss_mib": mem["peer"]["rss_mib"], "cohort_rss_mib": mem["cohort"]["rss_mib"],
        "pss_ratio": mem["cohort"]["pss_mib"] / mem["peer"]["pss_mib"],
        "data_f64_mib": data_mib,
        "cohort_pss_over_data": mem["cohort"]["pss_mib"] / data_mib,
        "best_C": {"peer": p["best_C"], "cohort": c["best_C"]},
        "best_accuracy_gap": best_gap,
        "targets": {
            "wall_at_most_a_third": med["cohort"] <= med["peer"] / 3,
            "memory_at_most_half": mem["cohort"]["pss_mib"] <= mem["peer"]["pss_mib"] / 2,
            "same_best_C_within_0.001": best_gap <= 0.001,
        },
    }
    print(json.dumps(summary, indent=1))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": bench.machine(),
           "commit": commit, "uncommitted": dirty.splitlines(), "reps": args.reps,
           "runs": runs, "memory_runs": mem, "summary": summary}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "big_sweep.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
