#!/usr/bin/env python3
"""cohort's benchmarks against its peers, measured side by side in one run.

  python3 bench/bench.py [--reps N] [--only sweep,overhead,scaling,sgd,contention] [--commit REV | --worktree]

Sets up the peers (a venv with scikit-learn, the peer datasets) through ../shared/peers when
they are missing, builds cohort in release from the commit (HEAD, exported to bench/work/head;
--worktree: from the working tree), then for each benchmark runs the peer and cohort
one after the other and prints ratios. Wall time is the whole process, start to exit; memory is
the peak of the summed RSS (and PSS) of the process and all its descendants, sampled from
/proc every 20 ms by this script (the same way for both, in a separate run).

Beside the whole-process numbers:
  sweep  GridSearchCV is run with refit=True (its default, what ../shared/peers/sweep.py does)
         and refit=False (cohort runs with --no-refit), through bench/peer_gridsearch.py, which stamps
         the peer's phases from inside: its time without interpreter start-up and imports is the
         whole wall minus (launch to imports done). `python -c 'import numpy, pandas, scipy,
         sklearn, joblib'` is timed alone too, as a cross-check.
  sgd    speed-ups against SGDClassifier's fit() on the training loop (loop_seconds) and on
         trainers started to last shard finished (train_seconds), and whole process against
         whole process.

Every run of all the benchmarks overwrites bench/results/bench.json whole: the date, the
machine, the git commit (and what was uncommitted), every raw number and the medians. A partial
run (--only) writes bench/work/bench-partial.json instead.
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
# By default cohort is built from the committed tree (HEAD, exported with `git archive` under
# bench/work/head/), so that the numbers belong to a commit even while the working tree holds
# someone's unfinished edits; --worktree builds and measures the working tree instead.
HEAD_SRC = os.path.join(WORK, "head")
COHORT = os.path.join(HEAD_SRC, "target", "release", "cohort")


def sh(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def build_head(rev="HEAD"):
    """Export a commit (HEAD) to bench/work/head (keeping its target/ for incremental builds) and build it."""
    commit = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    stamp = os.path.join(HEAD_SRC, ".commit")
    if not (os.path.exists(stamp) and open(stamp).read() == commit):
        os.makedirs(HEAD_SRC, exist_ok=True)
        for name in os.listdir(HEAD_SRC):
            if name != "target":
                path = os.path.join(HEAD_SRC, name)
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", HEAD_SRC], input=archive, check=True)
        with open(stamp, "w") as f:
            f.write(commit)
    sh(["cargo", "build", "--release", "-q", "--manifest-path", os.path.join(HEAD_SRC, "Cargo.toml")])


def setup(worktree=False, rev="HEAD"):
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
    if worktree:
        sh(["cargo", "build", "--release", "-q", "--manifest-path", os.path.join(ROOT, "Cargo.toml")])
    else:
        build_head(rev)


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
        # The benchmarks measure the search: no refit of the best trial at the end.
        cmd = [COHORT, "sweep", config, "--workers", str(workers), "--study-dir", os.path.join(d, "st"), output, "--no-refit", *extra]
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


def timed_stamped(cmd, cwd=None, sample=False):
    """timed(), plus the wall-clock (time.time()) launch stamp, to set against stamps taken
    inside the child."""
    t0 = time.time()
    return timed(cmd, cwd=cwd, sample=sample), t0


def peer_grid(refit, sample=False):
    """One whole-process run of GridSearchCV (n_jobs=2) through bench/peer_gridsearch.py: the peer's
    sweep.py search with refit chosen, phases stamped inside the process."""
    cmd = [PY, os.path.join(HERE, "peer_gridsearch.py"), "--peers", PEERS, "--refit", "true" if refit else "false", "--n-jobs", "2"]
    (wall, rss, pss, out, _), launch = timed_stamped(cmd, cwd=PEERS, sample=sample)
    doc = json.loads(out.strip().splitlines()[-1])
    st = doc["stamps"]
    doc.update({
        "wall_s": wall, "rss_mib": rss, "pss_mib": pss,
        "interpreter_s": st["first_line"] - launch,           # python start-up, site, the venv
        "imports_s": st["imports"] - st["first_line"],        # numpy, pandas, scipy, sklearn, joblib
        "load_s": st["loaded"] - st["imports"],               # pandas read_csv
        "search_s": st["searched"] - st["loaded"],            # GridSearchCV.fit: loky start, 60 fits, refit
        "exit_s": launch + wall - st["end"],                  # interpreter and loky shut-down
    })
    doc["startup_s"] = doc["interpreter_s"] + doc["imports_s"]
    doc["without_startup_s"] = wall - doc["startup_s"]        # load + search (+ refit) + exit
    return doc


def bench_sweep(reps):
    cfg = os.path.join(HERE, "configs", "sweep-synth-clf.toml")
    imports_cmd = [PY, "-c", "import numpy, pandas, scipy, sklearn, joblib"]
    peer = {True: [], False: []}
    ours, bare = [], []
    for _ in range(reps):
        peer[True].append(peer_grid(True))
        peer[False].append(peer_grid(False))
        ours.append(cohort_sweep(cfg, 2))
        bare.append(timed(imports_cmd)[0])
    peer_mem = {k: peer_grid(k, sample=True) for k in (True, False)}
    bare_mem = timed(imports_cmd, sample=True)
    ours_mem = cohort_sweep(cfg, 2, sample=True)[0]
    best = ours[0][1]["best_trial"]
    cw = [r[0][0] for r in ours]
    res = {
        "what": "GridSearchCV(Pipeline([StandardScaler, LogisticRegression(max_iter=1000)]), C x fit_intercept (12), cv=5, accuracy, n_jobs=2) "
                "on synth_clf.csv (50,000 x 20) against `cohort sweep bench/configs/sweep-synth-clf.toml --workers 2`",
        "cohort": {"wall_s": med(cw), "walls_s": cw, "rss_mib": ours_mem[1], "pss_mib": ours_mem[2],
                   "best_accuracy": best["value"], "best_params": best["params"]},
        "python_imports_only": {"what": "python -c 'import numpy, pandas, scipy, sklearn, joblib', whole process",
                                "wall_s": med(bare), "walls_s": bare, "rss_mib": bare_mem[1], "pss_mib": bare_mem[2]},
    }
    keys = ("wall_s", "without_startup_s", "startup_s", "interpreter_s", "imports_s", "load_s", "search_s", "exit_s")
    for refit in (True, False):
        name = "peer_refit" if refit else "peer_no_refit"
        runs = peer[refit]
        r = {k: med([x[k] for x in runs]) for k in keys}
        r["runs"] = [{k: x[k] for k in keys} for x in runs]
        r.update({"rss_mib": peer_mem[refit]["rss_mib"], "pss_mib": peer_mem[refit]["pss_mib"],
                  "best_accuracy": runs[0]["best_cv_accuracy"], "best_params": runs[0]["best_params"]})
        r["ratio_whole_process"] = res["cohort"]["wall_s"] / r["wall_s"]
        r["ratio_without_peer_startup"] = res["cohort"]["wall_s"] / r["without_startup_s"]
        r["ratio_search_only"] = res["cohort"]["wall_s"] / r["search_s"]
        r["ratio_rss"] = res["cohort"]["rss_mib"] / r["rss_mib"]
        r["ratio_pss"] = res["cohort"]["pss_mib"] / r["pss_mib"]
        res[name] = r
    c = res["cohort"]
    print(f"[sweep] cohort --workers 2: {c['wall_s']:.2f} s whole process, {c['rss_mib']:.0f} MiB RSS ({c['pss_mib']:.0f} PSS); "
          f"best {c['best_accuracy']:.5f} {c['best_params']}")
    b = res["python_imports_only"]
    print(f"[sweep] python + imports alone: {b['wall_s']:.2f} s, {b['rss_mib']:.0f} MiB RSS")
    for name in ("peer_refit", "peer_no_refit"):
        r = res[name]
        print(f"[sweep] GridSearchCV n_jobs=2 {'refit=True ' if name == 'peer_refit' else 'refit=False'}: {r['wall_s']:.2f} s whole process "
              f"= {r['startup_s']:.2f} start-up ({r['interpreter_s']:.2f} interpreter + {r['imports_s']:.2f} imports) + {r['load_s']:.2f} load "
              f"+ {r['search_s']:.2f} search + {r['exit_s']:.2f} exit; {r['rss_mib']:.0f} MiB RSS ({r['pss_mib']:.0f} PSS); best {r['best_accuracy']:.5f} {r['best_params']}")
        print(f"[sweep]   cohort / peer: wall {r['ratio_whole_process']:.3f} whole process, {r['ratio_without_peer_startup']:.3f} without the peer's start-up, "
              f"{r['ratio_search_only']:.3f} against the peer's fit() alone; "
              f"memory {r['ratio_rss']:.3f} RSS, {r['ratio_pss']:.3f} PSS")
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
        "raw": {"peer_pool_map_us_per_task": peer_map, "peer_whole_process_us_per_task": peer_whole,
                "cohort_walls_s_2000_trials": ours, "cohort_walls_s_100_trials": ours_small},
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
            "trial_slowdown_with_two": med(dur2) / med(dur1), "startup_ms": startup,
            "raw": {"one_worker_s": one, "two_workers_s": two, "mean_trial_s_one_worker": dur1, "mean_trial_s_two_workers": dur2}}


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
    res["trainer_startup_ms_all"] = st
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
    peer_cmd = [PY, os.path.join(PEERS, "sgd.py"), "--reps", "1"]
    peer = []

    def peer_run(sample=False):
        w, rss, pss, out, err = timed(peer_cmd, cwd=PEERS, sample=sample)
        with open(os.path.join(PEERS, "results", "sgd.json")) as f:
            doc = json.load(f)
        return {"wall_s": w, "fit_s": doc["fit_s"]["median"], "updates_per_s": doc["samples_epochs_per_s"]["median"],
                "csv_load_s": doc["csv_load_s"], "scale_s": doc["scale_s"], "heldout_accuracy": doc["test_accuracy_raw"],
                "max_rss_mib": doc["max_rss_bytes"] / 2**20, "tree_rss_mib": rss, "tree_pss_mib": pss}

    cfg = os.path.join(HERE, "configs", "sgd-big.toml")
    # Interleaved: each repetition runs the peer once and then every cohort configuration once,
    # so that other work on the machine falls on both sides and on 1 and 2 shards alike.
    modes = [(merge, shards) for merge in ("average", "locked", "hogwild") for shards in (1, 2)]
    cohort_runs = {m: [] for m in modes}
    for _ in range(reps):
        peer.append(peer_run())
        for merge, shards in modes:
            cohort_runs[(merge, shards)].append(cohort_train(cfg, shards, merge))
    pm = peer_run(sample=True)
    keys = ("wall_s", "fit_s", "updates_per_s", "csv_load_s", "scale_s")
    p = {k: med([x[k] for x in peer]) for k in keys}
    p.update({"heldout_accuracy": peer[0]["heldout_accuracy"], "max_rss_mib": pm["max_rss_mib"],
              "tree_rss_mib": pm["tree_rss_mib"], "tree_pss_mib": pm["tree_pss_mib"], "runs": peer})
    res = {"what": "SGDClassifier(loss='log_loss', alpha=1e-4, max_iter=5, tol=None) on synth_big.csv (1,000,000 x 32, 80/20) "
                   "through ../shared/peers/sgd.py --reps 1, against `cohort train bench/configs/sgd-big.toml`",
           "peer": p}
    print(f"[sgd] scikit-learn SGDClassifier: fit() {p['fit_s']:.3f} s ({p['updates_per_s']/1e6:.2f} M updates/s), whole process {p['wall_s']:.2f} s "
          f"(CSV load {p['csv_load_s']:.2f} s, scaling {p['scale_s']:.2f} s), held-out accuracy {p['heldout_accuracy']:.4f}, tree RSS {p['tree_rss_mib']:.0f} MiB")
    for merge in ("average", "locked", "hogwild"):
        for shards in (1, 2):
            runs = cohort_runs[(merge, shards)]
            sampled = cohort_train(cfg, shards, merge, sample=True)
            doc = runs[0][1]
            r = {
                "train_seconds": med([x[1]["train_seconds"] for x in runs]),
                "loop_seconds": med([x[1]["loop_seconds"] for x in runs]),
                "wall_s": med([x[0][0] for x in runs]),
                "updates_per_s": med([x[1]["updates_per_second"] for x in runs]),
                "heldout_accuracy": doc["heldout"]["accuracy"],
                "merges_per_s": med([x[1]["merges_per_second"] for x in runs]),
                "merge_share": med([x[1]["merge_share"] for x in runs]),
                "process_tree_rss_mib": sampled[0][1],
                "process_tree_pss_mib": sampled[0][2],
                "trainer_private_mib": doc["trainer_private_mib"],
                "shared_data_mib": doc["shared_data_mib"],
                "raw": {"train_seconds": [x[1]["train_seconds"] for x in runs], "loop_seconds": [x[1]["loop_seconds"] for x in runs],
                        "wall_s": [x[0][0] for x in runs], "updates_per_s": [x[1]["updates_per_second"] for x in runs],
                        "heldout_accuracy": [x[1]["heldout"]["accuracy"] for x in runs]},
            }
            # Speed-ups against SGDClassifier, three ways: the training loop against fit(); trainers
            # started to last shard finished (train_seconds) against fit(); whole process against whole process.
            r["speedup_vs_peer_loop"] = p["fit_s"] / r["loop_seconds"]
            r["speedup_vs_peer_train_seconds"] = p["fit_s"] / r["train_seconds"]
            r["speedup_vs_peer_whole_process"] = p["wall_s"] / r["wall_s"]
            res[f"{merge}_{shards}"] = r
            print(f"[sgd] cohort {merge} {shards} shard(s): training loop {r['loop_seconds']:.3f} s, trainers start to finish {r['train_seconds']:.3f} s, "
                  f"whole process {r['wall_s']:.2f} s; {r['updates_per_s']/1e6:.2f} M updates/s, "
                  f"held-out accuracy {r['heldout_accuracy']:.4f}, {r['merges_per_s']:.0f} merges/s ({r['merge_share']*100:.1f}% merging); "
                  f"tree RSS {r['process_tree_rss_mib']:.0f} MiB / PSS {r['process_tree_pss_mib']:.0f} MiB; "
                  f"trainers {r['trainer_private_mib']:.1f} MiB private + {r['shared_data_mib']:.0f} MiB shared data")
            print(f"[sgd]   speed-up over SGDClassifier: {r['speedup_vs_peer_loop']:.2f}x training loop vs fit(), "
                  f"{r['speedup_vs_peer_train_seconds']:.2f}x trainers start to finish vs fit(), {r['speedup_vs_peer_whole_process']:.2f}x whole process")
        one, two = res[f"{merge}_1"], res[f"{merge}_2"]
        res[f"{merge}_shard_speedup"] = {"loop": one["loop_seconds"] / two["loop_seconds"],
                                         "train_seconds": one["train_seconds"] / two["train_seconds"],
                                         "whole_process": one["wall_s"] / two["wall_s"]}
        sp = res[f"{merge}_shard_speedup"]
        print(f"[sgd] {merge}: 2 shards against 1: {sp['loop']:.2f}x training loop, {sp['train_seconds']:.2f}x trainers start to finish, "
              f"{sp['whole_process']:.2f}x whole process")
    # What merging costs: the locked mode at rising merge frequency (2 shards).
    res["locked_merge_frequency"] = []
    freqs = (20, 200, 2000, 20000)
    freq_runs = {f: [] for f in freqs}
    for _ in range(reps):
        for per_epoch in freqs:
            freq_runs[per_epoch].append(cohort_train(cfg, 2, "locked", per_epoch))
    for per_epoch in freqs:
        runs = freq_runs[per_epoch]
        r = {"merges_per_epoch": per_epoch, "loop_seconds": med([x[1]["loop_seconds"] for x in runs]),
             "merges_per_s": med([x[1]["merges_per_second"] for x in runs]), "merge_share": med([x[1]["merge_share"] for x in runs]),
             "heldout_accuracy": runs[0][1]["heldout"]["accuracy"],
             "raw": {"loop_seconds": [x[1]["loop_seconds"] for x in runs], "merges_per_s": [x[1]["merges_per_second"] for x in runs],
                     "merge_share": [x[1]["merge_share"] for x in runs]}}
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
    sweep = lambda d: [COHORT, "sweep", os.path.join(HERE, "configs", "scaling.toml"), "--workers", "1", "--study-dir", d, "--json", "-q", "--no-refit"]
    runs = [side_by_side(sweep, mean_trial) for _ in range(reps)]
    res["sweep_trial_slowdown"] = med([r[2] for r in runs])
    res["sweep_raw_alone_pair_ratio"] = runs
    print(f"[contention] two independent 1-worker sweeps at once: each trial {res['sweep_trial_slowdown']:.2f}x slower than alone "
          f"(so 2 workers can reach at most {2 / res['sweep_trial_slowdown']:.2f}x)")
    cfg = os.path.join(HERE, "configs", "sgd-big.toml")
    train = lambda d: [COHORT, "train", cfg, "--shards", "1", "--study-dir", d, "--json", "-q"]
    runs = [side_by_side(train, lambda out: json.loads(out)["loop_seconds"]) for _ in range(reps)]
    res["sgd_train_slowdown"] = med([r[2] for r in runs])
    res["sgd_raw_alone_pair_ratio"] = runs
    print(f"[contention] two independent 1-shard SGD trainings at once: each {res['sgd_train_slowdown']:.2f}x slower than alone "
          f"(so 2 shards can reach at most {2 / res['sgd_train_slowdown']:.2f}x)")
    return res


ALL = "sweep,overhead,scaling,sgd,contention"


def run_out(cmd, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, **kw).stdout.strip()
    except OSError:
        return None


def machine():
    cpu = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"nproc": int(run_out(["nproc"])), "cpu_model": cpu, "mem_gib": round(mem_kib / 2**20, 1),
            "kernel": run_out(["uname", "-sr"]), "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
            "peer_versions": run_out([PY, "-c", "import sys, sklearn, numpy, pandas, joblib; "
                                      "print(sys.version.split()[0], sklearn.__version__, numpy.__version__, pandas.__version__, joblib.__version__)"])}


def git_info(worktree, rev):
    status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    rev = "HEAD" if worktree else rev
    info = {"commit": run_out(["git", "rev-parse", rev], cwd=ROOT),
            "subject": run_out(["git", "log", "-1", "--format=%s", rev], cwd=ROOT),
            "head_at_run": run_out(["git", "rev-parse", "HEAD"], cwd=ROOT),
            "cohort_built_from": "the working tree (--worktree)" if worktree else "the commit, exported with git archive to bench/work/head"}
    if worktree:  # what the measured binary had beyond the commit
        info["uncommitted"] = [l for l in status.splitlines() if l.strip()]
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default=ALL, help=f"comma list out of {ALL} (default: all; a partial run is not written to bench/results/)")
    ap.add_argument("--commit", default="HEAD", help="the commit to build and measure (default HEAD)")
    ap.add_argument("--worktree", action="store_true", help="build and measure the working tree instead of the commit (HEAD)")
    args = ap.parse_args()
    if args.worktree:
        global COHORT
        COHORT = os.path.join(ROOT, "target", "release", "cohort")
    setup(args.worktree, args.commit)
    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(["python3", "bench/bench.py", *sys.argv[1:]]),
           "reps": args.reps, "machine": machine(), "git": git_info(args.worktree, args.commit), "benchmarks": {}}
    t = time.perf_counter()
    # The load average around each benchmark: the machine is shared, and other work running
    # meanwhile shows here (cohort and its peer run one after the other, so both see it).
    doc["loadavg"] = {}
    for name in args.only.split(","):
        before = open("/proc/loadavg").read().split()[:3]
        doc["benchmarks"][name] = {"sweep": bench_sweep, "overhead": bench_overhead, "scaling": bench_scaling, "sgd": bench_sgd, "contention": bench_contention}[name](args.reps)
        doc["loadavg"][name] = {"before": before, "after": open("/proc/loadavg").read().split()[:3]}
    doc["duration_s"] = time.perf_counter() - t
    # One run, whole: bench/results/bench.json is overwritten by a run of every benchmark and
    # only by one; a partial run (--only) goes to bench/work/, out of the repository.
    if sorted(args.only.split(",")) == sorted(ALL.split(",")):
        out = os.path.join(HERE, "results", "bench.json")
    else:
        out = os.path.join(WORK, "bench-partial.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, out)
    print(f"results: {out}")


if __name__ == "__main__":
    main()
