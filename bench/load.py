#!/usr/bin/env python3
"""Loading synth_big.csv (1,000,000 x 32, 630 MB) into a checked float64 matrix: cohort against
pandas.read_csv and polars.read_csv, whole process against whole process, in one run.

  python3 bench/load.py [--reps N] [--data PATH]

Every contender is a fresh process that reads the CSV into a float64 matrix, checks that every
value is finite, prints its shape and exits; wall time is start to exit, peak RSS from wait4.
The contenders take turns (one round of each, N rounds) so drift on the shared machine hits all
alike; the file is read once beforehand so every run starts from the page cache.

  cohort        models/examples/load.rs: Dataset::read_path (parallel parse, BLAKE3 while
                parsing, every cell checked), built in release
  cohort-image  the same through Dataset::load_cached from a warm image cache (what resume and
                predict do): no parsing
  pandas        pandas.read_csv(path).to_numpy(float64) (the default C engine), numpy isfinite
  polars        polars.read_csv(path).to_numpy() (all cores), numpy isfinite

Writes bench/results/load.json (every raw number and the medians).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/cohort-peers"))
PY = os.path.join(VENV, "bin", "python")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
LOAD = os.path.join(TARGET, "release", "examples", "load")

PANDAS = """
import sys, numpy as np, pandas as pd
x = pd.read_csv(sys.argv[1]).to_numpy(dtype=np.float64)
assert np.isfinite(x).all()
print(x.shape)
"""
POLARS = """
import sys, numpy as np, polars as pl
x = pl.read_csv(sys.argv[1]).to_numpy().astype(np.float64, copy=False)
assert np.isfinite(x).all()
print(x.shape)
"""


def run(cmd):
    """Wall seconds and peak RSS (MiB) of one whole process."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, _, rusage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    out, err = p.communicate()
    if p.returncode:
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {err.decode()[-2000:]}")
    return wall, rusage.ru_maxrss / 1024, out.decode().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--data", default=os.path.join(HERE, "work", "data", "synth_big.csv"))
    args = ap.parse_args()
    if not os.path.exists(args.data):
        sys.exit(f"{args.data}: missing; make it with ../shared/peers/data.py (README, Benchmarks, section 6)")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "models", "--example", "load"], cwd=ROOT, check=True)
    cache = tempfile.mkdtemp(prefix="cohort-load-cache-")
    with open(args.data, "rb") as f:
        while f.read(1 << 24):
            pass
    contenders = {
        "cohort": [LOAD, args.data],
        "cohort-image": [LOAD, args.data, "--cache", cache],
        "pandas": [PY, "-c", PANDAS, args.data],
        "polars": [PY, "-c", POLARS, args.data],
    }
    run(contenders["cohort-image"])  # writes the image
    raw = {name: [] for name in contenders}
    for rep in range(args.reps):
        for name, cmd in contenders.items():
            wall, rss, out = run(cmd)
            raw[name].append({"wall": wall, "rss_mib": rss})
            print(f"rep {rep} {name:13s} {wall:6.3f} s  {rss:7.0f} MiB  {out[:90]}", flush=True)
    med = {n: {"wall": statistics.median(r["wall"] for r in v), "rss_mib": statistics.median(r["rss_mib"] for r in v)} for n, v in raw.items()}
    best_peer = min(med["pandas"]["wall"], med["polars"]["wall"])
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_before": os.getloadavg()},
        "commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
        "data": {"path": os.path.relpath(args.data, ROOT), "bytes": os.path.getsize(args.data)},
        "reps": args.reps,
        "raw": raw,
        "median": med,
        "speedup_vs_best_peer": best_peer / med["cohort"]["wall"],
        "image_speedup_vs_best_peer": best_peer / med["cohort-image"]["wall"],
    }
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "load.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(med, indent=1))
    print(f"cohort is {result['speedup_vs_best_peer']:.2f}x the faster peer; from the image {result['image_speedup_vs_best_peer']:.2f}x")


if __name__ == "__main__":
    main()
