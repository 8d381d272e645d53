#!/usr/bin/env python3
"""cohort's benchmarks against its peers, measured side by side in one run.

  python3 bench/bench.py [--reps N] [--only sweep,overhead,scaling]

Sets up the peers (a venv with scikit-learn, the peer datasets) through ../shared/peers when
they are missing, builds cohort in release, then for each benchmark runs the peer and cohort
one after the other and prints ratios. Wall time is the whole process, start to exit; memory is
the peak of the summed RSS (and PSS) of the process and all its descendants, sampled from
/proc every 20 ms by this script (the same way for both). Results go to bench/results/.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work")
PEERS_SRC = os.path.join(ROOT, "..", "shared", "peers")
PEERS = os.path.join(WORK, "peers")
VENV = os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/cohort-peers"))
PY = os.path.join(VENV, "bin", "python")
COHORT = os.path.join(ROOT, "target", "release", "cohort")


def sh(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def setup():
    os.makedirs(WORK, exist_ok=True)
    if not os.path.isdir(PEERS):
        shutil.copytree(PEERS_SRC, PEERS)
    if not os.path.exists(PY):
        sh(["bash", os.path.join(PEERS, "setup.sh")])
    data = os.path.join(WORK, "data")
    if not os.path.exists(os.path.join(data, "synth_big.csv")):
        sh([PY, os.path.join(PEERS, "data.py"), "--out", data])
    # The peer scripts read ./data next to themselves.
    link = os.path.join(PEERS, "data")
    if not os.path.exists(link):
        os.symlink(data, link)
    sh(["cargo", "build", "--release", "-q", "--manifest-path", os.path.join(ROOT, "Cargo.toml")])


class TreeSampler(threading.Thread):
    """Peak summed RSS and PSS of a process and its descendants, from /proc."""

    def __init__(self, pid, period=0.02):
        super().__init__(daemon=True)
        self.pid, self.period, self.peak_rss, self.peak_pss, self.stop = pid, period, 0, 0, False

    def tree(self):
        children = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        s = f.read()
                    children.setdefault(int(s[s.rindex(")") + 2:].split()[1]), []).append(int(d))
                except (OSError, ValueError):
                    pass
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(children.get(p, []))
        return out

    def run(self):
        while not self.stop:
            rss = pss = 0
            for p in self.tree():
                try:
                    with open(f"/proc/{p}/smaps_rollup") as f:
                        for line in f:
                            if line.startswith("Rss:"):
                                rss += int(line.split()[1]) * 1024
                            elif line.startswith("Pss:"):
                                pss += int(line.split()[1]) * 1024
                except OSError:
                    pass
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            time.sleep(self.period)


def timed(cmd, cwd=None, env=None, sample=False):
    """Run cmd; return (wall seconds, peak tree RSS MiB, peak tree PSS MiB, stdout, stderr).

    Sampling /proc costs CPU (more with large mappings), so timed runs do not sample: memory
    comes from a separate sampled run of the same command."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    s = TreeSampler(p.pid)
    if sample:
        s.start()
    out, err = p.communicate()
    wall = time.perf_counter() - t
    s.stop = True
    if p.returncode != 0:
        raise SystemExit(f"{cmd} failed ({p.returncode}):\n{err[-3000:]}")
    return wall, s.peak_rss / 2**20, s.peak_pss / 2**20, out, err


def med(xs):
    return statistics.median(xs)


def cohort_sweep(config, workers, extra=(), sample=False, output="--json"):
    d = tempfile.mkdtemp(prefix="cohort-bench-")
    try:
        cmd = [COHORT, "sweep", config, "--workers", str(workers), "--study-dir", os.path.join(d, "st"), output, *extra]
        r = timed(cmd, cwd=HERE, sample=sample)
        if output == "--json":
            return r, json.loads(r[3])
        import sqlite3
        con = sqlite3.connect(os.path.join(d, "st", "study.db"))
        states = dict(con.execute("SELECT state, count(*) FROM trials GROUP BY state").fetchall())
        con.close()
        return r, states
    finally:
        shutil.rmtree(d, ignore_errors=True)


def bench_sweep(reps):
    peer_cmd = [PY, os.path.join(PEERS, "sweep.py"), "--dataset", "synth_clf", "--search", "grid", "--n-jobs", "2", "--reps", "1", "--rss-period", "0"]
    peer, ours = [], []
    cfg = os.path.join(HERE, "configs", "sweep-synth-clf.toml")
    for _ in range(reps):
        peer.append(timed(peer_cmd, cwd=PEERS))
        ours.append(cohort_sweep(cfg, 2))
    peer_mem = timed(peer_cmd, cwd=PEERS, sample=True)
    ours_mem = cohort_sweep(cfg, 2, sample=True)[0]
    m = re.search(r"cv acc ([0-9.]+)", peer[0][3])
    peer_best = float(m.group(1)) if m else None
    doc = ours[0][1]
    best = doc["best_trial"]
    res = {
        "peer_wall_s": med([r[0] for r in peer]), "peer_rss_mib": peer_mem[1], "peer_pss_mib": peer_mem[2],
        "cohort_wall_s": med([r[0][0] for r in ours]), "cohort_rss_mib": ours_mem[1], "cohort_pss_mib": ours_mem[2],
        "cohort_walls": [r[0][0] for r in ours], "peer_walls": [r[0] for r in peer],
        "cohort_best_accuracy": best["value"], "cohort_best_params": best["params"], "peer_best_accuracy": peer_best,
        "peer_stdout_tail": peer[0][3][-600:],
    }
    res["wall_ratio"] = res["cohort_wall_s"] / res["peer_wall_s"]
    res["rss_ratio"] = res["cohort_rss_mib"] / res["peer_rss_mib"]
    print(f"[sweep] GridSearchCV n_jobs=2: {res['peer_wall_s']:.2f} s, {res['peer_rss_mib']:.0f} MiB RSS ({res['peer_pss_mib']:.0f} PSS)")
    print(f"[sweep] cohort --workers 2:    {res['cohort_wall_s']:.2f} s, {res['cohort_rss_mib']:.0f} MiB RSS ({res['cohort_pss_mib']:.0f} PSS)")
    print(f"[sweep] ratios: wall {res['wall_ratio']:.3f}, memory {res['rss_ratio']:.3f}; best accuracy cohort {best['value']:.5f} {best['params']}, peer {peer_best}")
    return res


POOL_SNIPPET = r"""
import time, multiprocessing as mp, sys
def noop(x):
    return x
if __name__ == "__main__":
    n = int(sys.argv[1])
    t0 = time.perf_counter()
    with mp.Pool(2) as p:
        t1 = time.perf_counter()
        p.map(noop, range(n), chunksize=1)
        t2 = time.perf_counter()
    print(f"{(t2 - t1) / n * 1e6:.2f} {(time.perf_counter() - t0) / n * 1e6:.2f}")
"""


def bench_overhead(reps):
    n = 2000
    snippet = os.path.join(WORK, "pool_map.py")
    with open(snippet, "w") as f:
        f.write(POOL_SNIPPET)
    peer_map, peer_whole, ours, ours_small = [], [], [], []
    cfg = os.path.join(HERE, "configs", "overhead.toml")
    small = os.path.join(WORK, "overhead-100.toml")
    with open(cfg) as f, open(small, "w") as g:
        g.write(f.read().replace("trials = 2000", "trials = 100"))
    for _ in range(reps):
        w, _, _, out, _ = timed([sys.executable, snippet, str(n)], sample=False)
        a, b = out.split()
        peer_map.append(float(a))
        peer_whole.append(w / n * 1e6)
        (r, states) = cohort_sweep(cfg, 2, output="-q")
        assert states == {"complete": n}, states
        ours.append(r[0])
        (r2, _) = cohort_sweep(small, 2, output="-q")
        ours_small.append(r2[0])
    res = {
        "trials": n,
        "peer_pool_map_us_per_task": med(peer_map), "peer_whole_process_us_per_task": med(peer_whole),
        "cohort_whole_process_us_per_trial": med(ours) / n * 1e6,
        "cohort_marginal_us_per_trial": (med(ours) - med(ours_small)) / (n - 100) * 1e6,
        "cohort_walls_s": ours,
    }
    print(f"[overhead] Pool(2).map chunksize=1: {res['peer_pool_map_us_per_task']:.1f} us/task (map only), {res['peer_whole_process_us_per_task']:.1f} us/task whole process")
    print(f"[overhead] cohort 2 workers: {res['cohort_whole_process_us_per_trial']:.1f} us/trial whole process, {res['cohort_marginal_us_per_trial']:.1f} us/trial marginal (2000 vs 100 trials), every trial in the store")
    return res


def scaling_of(config, reps):
    one, two, startup, dur1, dur2 = [], [], [], [], []
    for _ in range(reps):
        (r1, d1) = cohort_sweep(config, 1)
        one.append(r1[0])
        dur1.append(statistics.mean(t["duration_s"] for t in d1["trials"]))
        (r2, d2) = cohort_sweep(config, 2, ("-v",))
        two.append(r2[0])
        dur2.append(statistics.mean(t["duration_s"] for t in d2["trials"]))
        startup += [float(x) for x in re.findall(r"startup_ms=([0-9.]+)", r2[4])]
    return {"one_worker_s": med(one), "two_workers_s": med(two), "speedup": med(one) / med(two),
            "mean_trial_s_one_worker": med(dur1), "mean_trial_s_two_workers": med(dur2),
            "trial_slowdown_with_two": med(dur2) / med(dur1), "startup_ms": startup}


def bench_scaling(reps):
    res = {}
    for name, cfg in (("cpu_bound", "scaling.toml"), ("memory_bound", "scaling-memory.toml")):
        r = scaling_of(os.path.join(HERE, "configs", cfg), reps)
        res[name] = r
        print(f"[scaling] {name} ({cfg}): 1 worker {r['one_worker_s']:.2f} s, 2 workers {r['two_workers_s']:.2f} s: "
              f"speedup {r['speedup']:.2f}x; mean trial {r['mean_trial_s_one_worker']*1e3:.1f} ms alone, "
              f"{r['mean_trial_s_two_workers']*1e3:.1f} ms with two side by side ({r['trial_slowdown_with_two']:.2f}x)")
    st = res["cpu_bound"]["startup_ms"] + res["memory_bound"]["startup_ms"]
    res["trainer_startup_ms_median"] = med(st) if st else None
    res["trainer_startup_ms_max"] = max(st) if st else None
    for r in ("cpu_bound", "memory_bound"):
        del res[r]["startup_ms"]
    print(f"[scaling] trainer start-up (spawn to hello): median {res['trainer_startup_ms_median']:.2f} ms, max {res['trainer_startup_ms_max']:.2f} ms over {len(st)} trainers")
    return res


def cohort_train(config, shards, merge, merges_per_epoch=20, sample=False):
    d = tempfile.mkdtemp(prefix="cohort-bench-")
    try:
        text = open(config).read().replace('merge = "average"', f'merge = "{merge}"')
        text = text.replace("merges_per_epoch = 20", f"merges_per_epoch = {merges_per_epoch}")
        cfg = os.path.join(HERE, "configs", f".sgd-{merge}.toml")
        with open(cfg, "w") as f:
            f.write(text)
        cmd = [COHORT, "train", cfg, "--shards", str(shards), "--study-dir", os.path.join(d, "run"), "--json"]
        r = timed(cmd, cwd=HERE, sample=sample)
        os.remove(cfg)
        return r, json.loads(r[3])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def bench_sgd(reps):
    peer = []
    for _ in range(reps):
        w, rss, pss, out, err = timed([PY, os.path.join(PEERS, "sgd.py"), "--reps", "1"], cwd=PEERS)
        with open(os.path.join(PEERS, "results", "sgd.json")) as f:
            doc = json.load(f)
        peer.append((doc["samples_epochs_per_s"]["median"], doc["test_accuracy_raw"], doc["max_rss_bytes"] / 2**20))
    cfg = os.path.join(HERE, "configs", "sgd-big.toml")
    res = {"peer_updates_per_s": med([p[0] for p in peer]), "peer_heldout_accuracy": peer[0][1], "peer_rss_mib": med([p[2] for p in peer])}
    print(f"[sgd] scikit-learn SGDClassifier: {res['peer_updates_per_s']/1e6:.2f} M updates/s, held-out accuracy {res['peer_heldout_accuracy']:.4f}, process RSS {res['peer_rss_mib']:.0f} MiB")
    for merge in ("average", "locked", "hogwild"):
        for shards in (1, 2):
            runs = [cohort_train(cfg, shards, merge) for _ in range(reps)]
            sampled = cohort_train(cfg, shards, merge, sample=True)
            doc = runs[0][1]
            r = {
                "train_seconds": med([x[1]["train_seconds"] for x in runs]),
                "loop_seconds": med([x[1]["loop_seconds"] for x in runs]),
                "updates_per_s": med([x[1]["updates_per_second"] for x in runs]),
                "heldout_accuracy": doc["heldout"]["accuracy"],
                "merges_per_s": med([x[1]["merges_per_second"] for x in runs]),
                "merge_share": med([x[1]["merge_share"] for x in runs]),
                "process_tree_rss_mib": sampled[0][1],
                "process_tree_pss_mib": sampled[0][2],
                "wall_s": med([x[0][0] for x in runs]),
                "trainer_private_mib": doc["trainer_private_mib"],
                "shared_data_mib": doc["shared_data_mib"],
            }
            res[f"{merge}_{shards}"] = r
            print(f"[sgd] cohort {merge} {shards} shard(s): training loop {r['loop_seconds']:.3f} s (trainers up {r['train_seconds']:.3f} s), {r['updates_per_s']/1e6:.2f} M updates/s, "
                  f"held-out accuracy {r['heldout_accuracy']:.4f}, {r['merges_per_s']:.0f} merges/s ({r['merge_share']*100:.1f}% merging); "
                  f"whole run {r['wall_s']:.2f} s, tree RSS {r['process_tree_rss_mib']:.0f} MiB / PSS {r['process_tree_pss_mib']:.0f} MiB; "
                  f"trainers {r['trainer_private_mib']:.1f} MiB private + {r['shared_data_mib']:.0f} MiB shared data")
        one, two = res[f"{merge}_1"], res[f"{merge}_2"]
        print(f"[sgd] {merge}: 2 shards are {one['loop_seconds'] / two['loop_seconds']:.2f}x faster than 1 (training loop); "
              f"single-trainer throughput {one['updates_per_s'] / res['peer_updates_per_s']:.2f}x scikit-learn's")
    # What merging costs: the locked mode at rising merge frequency (2 shards).
    res["locked_merge_frequency"] = []
    for per_epoch in (20, 200, 2000, 20000):
        runs = [cohort_train(cfg, 2, "locked", per_epoch) for _ in range(reps)]
        r = {"merges_per_epoch": per_epoch, "loop_seconds": med([x[1]["loop_seconds"] for x in runs]),
             "merges_per_s": med([x[1]["merges_per_second"] for x in runs]), "merge_share": med([x[1]["merge_share"] for x in runs]),
             "heldout_accuracy": runs[0][1]["heldout"]["accuracy"]}
        res["locked_merge_frequency"].append(r)
        print(f"[sgd] locked, 2 shards, {per_epoch} merges/epoch/shard: training loop {r['loop_seconds']:.3f} s, {r['merges_per_s']:.0f} merges/s, "
              f"{r['merge_share']*100:.1f}% of trainer time merging, held-out accuracy {r['heldout_accuracy']:.4f}")
    return res


def side_by_side(make_cmd, parse):
    """Run two independent copies of a one-core job at once: how much slower is each than alone?
    This is the machine's own contention (shared caches, memory, the hypervisor), with no
    orchestration between the two."""
    d = tempfile.mkdtemp(prefix="cohort-bench-")
    try:
        # Each copy is confined to its own core with taskset (its trainer pins there too).
        alone = subprocess.run(["taskset", "-c", "0", *make_cmd(os.path.join(d, "alone"))], cwd=HERE, capture_output=True, text=True, check=True)
        procs = [subprocess.Popen(["taskset", "-c", str(i), *make_cmd(os.path.join(d, f"pair{i}"))], cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
        pair = [p.communicate()[0] for p in procs]
        a = parse(alone.stdout)
        b = statistics.mean(parse(x) for x in pair)
        return a, b, b / a
    finally:
        shutil.rmtree(d, ignore_errors=True)


def bench_contention(reps):
    res = {}
    mean_trial = lambda out: statistics.mean(t["duration_s"] for t in json.loads(out)["trials"])
    sweep = lambda d: [COHORT, "sweep", os.path.join(HERE, "configs", "scaling.toml"), "--workers", "1", "--study-dir", d, "--json", "-q"]
    runs = [side_by_side(sweep, mean_trial) for _ in range(reps)]
    res["sweep_trial_slowdown"] = med([r[2] for r in runs])
    print(f"[contention] two independent 1-worker sweeps at once: each trial {res['sweep_trial_slowdown']:.2f}x slower than alone "
          f"(so 2 workers can reach at most {2 / res['sweep_trial_slowdown']:.2f}x)")
    cfg = os.path.join(HERE, "configs", "sgd-big.toml")
    train = lambda d: [COHORT, "train", cfg, "--shards", "1", "--study-dir", d, "--json", "-q"]
    runs = [side_by_side(train, lambda out: json.loads(out)["loop_seconds"]) for _ in range(reps)]
    res["sgd_train_slowdown"] = med([r[2] for r in runs])
    print(f"[contention] two independent 1-shard SGD trainings at once: each {res['sgd_train_slowdown']:.2f}x slower than alone "
          f"(so 2 shards can reach at most {2 / res['sgd_train_slowdown']:.2f}x)")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="sweep,overhead,scaling,sgd,contention")
    args = ap.parse_args()
    setup()
    results = {}
    for name in args.only.split(","):
        results[name] = {"sweep": bench_sweep, "overhead": bench_overhead, "scaling": bench_scaling, "sgd": bench_sgd, "contention": bench_contention}[name](args.reps)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", "bench.json")
    old = json.load(open(out)) if os.path.exists(out) else {}
    old.update(results)
    with open(out, "w") as f:
        json.dump(old, f, indent=1)


if __name__ == "__main__":
    main()
