#!/usr/bin/env python3
"""The cost of one TPESampler suggestion with 100, 1,000 and 5,000 finished trials of 4
parameters (two log-uniform, one int, one categorical) already in an in-memory study: the
sampler's own time (study.ask with the space), median of 20 suggestions. Prints JSON."""
import json
import random
import statistics
import time

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = {
    "a": FloatDistribution(1e-4, 1e3, log=True),
    "b": FloatDistribution(1e-6, 1e-1, log=True),
    "c": IntDistribution(2, 200, log=True),
    "d": CategoricalDistribution(["x", "y", "z"]),
}


def history(n, rng):
    for i in range(n):
        params = {"a": 10 ** rng.uniform(-4, 3), "b": 10 ** rng.uniform(-6, -1),
                  "c": rng.randint(2, 200), "d": rng.choice(["x", "y", "z"])}
        yield optuna.trial.create_trial(params=params, distributions=SPACE, value=rng.random())


out = {}
for n in (100, 1000, 5000):
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.add_trials(list(history(n, random.Random(n))))
    times = []
    for _ in range(20):
        t = time.perf_counter()
        trial = study.ask(SPACE)
        times.append(time.perf_counter() - t)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    out[str(n)] = {"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3}
print(json.dumps(out))
