#!/usr/bin/env python3
"""Per-trial overhead of program trials: N trials of a tiny program that prints one metric and
exits, on 2 workers.

    cohort sweep (whole process: every result in the store, every trial's logs on disk)
    multiprocessing.Pool(2).map over subprocess.run of the same program, collecting the metric
    `optuna ask` / `optuna tell` CLI per trial (reference; from ../shared/peers' venv if present)

Usage: python3 bench/program_overhead.py [--trials 500] [--reps 3] [--optuna-trials 20]
Writes bench/results/program_overhead.json (date, load average, commit, every run).
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.expanduser("~/.cache/cohort-peers/bin")

PROGRAM = '#!/bin/sh\necho "cohort: value=$1"\n'

POOL = r'''
import multiprocessing, subprocess, sys
prog, n = sys.argv[1], int(sys.argv[2])
def run(i):
    out = subprocess.run([prog, str(i)], capture_output=True, text=True).stdout
    return float(out.split("value=")[1])
if __name__ == "__main__":
    with multiprocessing.Pool(2) as p:
        values = p.map(run, range(n), chunksize=1)
    assert len(values) == n
'''


def timed(cmd, **kw):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=500)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--optuna-trials", type=int, default=20)
    ap.add_argument("--cohort", default=os.path.join(REPO, "target/release/cohort"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="program-overhead-")
    prog = os.path.join(work, "prog.sh")
    with open(prog, "w") as f:
        f.write(PROGRAM)
    os.chmod(prog, 0o755)
    config = os.path.join(work, "c.toml")
    with open(config, "w") as f:
        f.write(f'''[study]
name = "overhead"
metric = "value"
direction = "minimize"
[program]
command = ["./prog.sh", "{{x}}"]
[search]
sampler = "grid"
[search.space]
x = {{ type = "int", low = 0, high = {a.trials - 1} }}
[run]
workers = 2
''')
    # The program alone, run back to back from one process: what a trial costs at the least.
    t = time.perf_counter()
    for i in range(200):
        subprocess.run([prog, str(i)], capture_output=True)
    alone = (time.perf_counter() - t) / 200

    cohort, pool = [], []
    for rep in range(a.reps):
        # A new directory each run, removed only at the end: ext4 makes inode allocation slow
        # for a few seconds over inodes just freed, which would charge the previous run's
        # clean-up (not done by the peer) to this one.
        study = os.path.join(work, f"st{rep}")
        cohort.append(timed([a.cohort, "sweep", config, "--study-dir", study, "-q", "--no-refit"]))
        con = sqlite3.connect(os.path.join(study, "study.db"))
        done = con.execute("SELECT count(*) FROM trials WHERE state = 'complete'").fetchone()[0]
        assert done == a.trials, done
        logs = sum(os.path.isfile(os.path.join(study, "trials", str(n), "stdout.log")) for n in range(a.trials))
        assert logs == a.trials, logs
        pool.append(timed([sys.executable, "-c", POOL, prog, str(a.trials)]))

    result = {
        "trials": a.trials,
        "program_alone_ms": alone * 1e3,
        "cohort_s": statistics.median(cohort),
        "pool_s": statistics.median(pool),
        "cohort_ms_per_trial": statistics.median(cohort) / a.trials * 1e3,
        "pool_ms_per_trial": statistics.median(pool) / a.trials * 1e3,
        "runs": {"cohort": cohort, "pool": pool},
    }
    optuna = os.path.join(PEERS, "optuna")
    if os.path.exists(optuna) and a.optuna_trials > 0:
        storage = "sqlite:///" + os.path.join(work, "optuna.db")
        subprocess.run([optuna, "create-study", "--storage", storage, "--study-name", "o"],
                       check=True, capture_output=True)
        space = json.dumps({"x": {"name": "IntDistribution", "attributes": {"low": 0, "high": a.trials - 1}}})
        t = time.perf_counter()
        for _ in range(a.optuna_trials):
            asked = subprocess.run([optuna, "ask", "--storage", storage, "--study-name", "o",
                                    "--search-space", space], check=True, capture_output=True, text=True)
            trial = json.loads(asked.stdout)
            out = subprocess.run([prog, str(trial["params"]["x"])], capture_output=True, text=True).stdout
            value = float(out.split("value=")[1])
            subprocess.run([optuna, "tell", "--storage", storage, "--study-name", "o",
                            "--trial-number", str(trial["number"]), "--values", str(value)],
                           check=True, capture_output=True)
        result["optuna_cli_ms_per_trial"] = (time.perf_counter() - t) / a.optuna_trials * 1e3
        result["optuna_trials"] = a.optuna_trials
    else:
        result["optuna_cli_ms_per_trial"] = None
    shutil.rmtree(work, ignore_errors=True)
    result["date"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    result["loadavg"] = os.getloadavg()
    result["commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                      capture_output=True, text=True).stdout.strip()
    text = json.dumps(result, indent=2)
    with open(os.path.join(REPO, "bench/results/program_overhead.json"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
