#!/usr/bin/env python3
"""`cohort train` on synth_big.csv (1,000,000 x 32), whole process, against an earlier cohort
binary in the same run (bench/configs/sgd-big.toml: sgd_logistic, 5 epochs, 1 shard).

  python3 bench/train_big.py [--reps N] [--baseline PATH] [--shards S]

Each run is a fresh process in a fresh study directory (nothing cached), taking turns with the
baseline so drift on the shared machine hits both. Wall time is start to exit; the JSON summary
gives the trainers' part (train_seconds: start to last shard done; loop_seconds: the SGD loop);
the phases before the trainers start are read from the log (`phase` lines). Writes
bench/results/train_big.json.
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
COHORT = os.path.join(TARGET, "release", "cohort")
CONFIG = os.path.join(HERE, "configs", "sgd-big.toml")


def run(binary, shards, workdir):
    study = tempfile.mkdtemp(prefix="run-", dir=workdir)
    os.rmdir(study)
    cmd = [binary, "train", CONFIG, "--study-dir", study, "--json", "--shards", str(shards), "-v"]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode:
        sys.exit(f"{cmd} failed ({p.returncode}): {p.stderr[-3000:]}")
    summary = json.loads(p.stdout)
    phases = {m.group(1): float(m.group(2)) for m in re.finditer(r"phase=\"?([a-z]+)\"? seconds=([0-9.]+)", p.stderr)}
    return {
        "wall": wall,
        "train_seconds": summary.get("train_seconds"),
        "loop_seconds": summary.get("loop_seconds"),
        "accuracy": (summary.get("heldout") or {}).get("accuracy"),
        "phases": phases,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--baseline", default=os.path.join(HERE, "work", "cohort-fcb29ca"))
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "orchestrator"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="cohort-train-big-")
    with open(os.path.join(HERE, "work", "data", "synth_big.csv"), "rb") as f:
        while f.read(1 << 24):
            pass
    contenders = {"cohort": COHORT}
    if os.path.exists(args.baseline):
        contenders["baseline"] = args.baseline
    raw = {n: [] for n in contenders}
    for rep in range(args.reps):
        for name, binary in contenders.items():
            r = run(binary, args.shards, work)
            raw[name].append(r)
            print(f"rep {rep} {name:9s} wall {r['wall']:.3f} s  train {r['train_seconds']:.3f} s  loop {r['loop_seconds']:.3f} s  acc {r['accuracy']}  {r['phases']}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    med = {n: {k: statistics.median(x[k] for x in v) for k in ("wall", "train_seconds", "loop_seconds")} for n, v in raw.items()}
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_before": os.getloadavg()},
        "commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
        "baseline": os.path.basename(args.baseline),
        "shards": args.shards,
        "reps": args.reps,
        "raw": raw,
        "median": med,
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "train_big.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(med, indent=1))


if __name__ == "__main__":
    main()
