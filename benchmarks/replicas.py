"""Benchmark of the replica engine against sequential Keras ``fit``.

Prints, in one run:
  (a) training time per model: ``fit_replicas`` on the 120 target models of the tutorial's
      comparison (30 repeats each of standalone and transfer with 0, 1, 2 frozen layers, 100
      epochs) against sequential ``model.fit`` on a sample of the same models (target: 200x);
  (b) the whole comparison end to end, timed after TensorFlow is imported and with nothing
      compiled yet: train the Problem 1 source, build the 120 target models, train them,
      evaluate them (target: under 5 s);
  (c) the peak memory of training R = 1000 replicas, in a fresh process (target: under 2 GB).

Usage: python benchmarks/replicas.py [--sample K] [--check]
"""

import argparse
import json
import subprocess
import sys
import time

import helpers  # noqa: F401  (first: quietens TensorFlow's start-up log lines)
import keras
import numpy as np

from helpers.models import build_mlp, copy_model, freeze_first
from helpers.problems import make_problem
from helpers.replicas import evaluate_replicas, fit_replicas

REPEATS, CONDITIONS = 30, ("standalone", "fixed=0", "fixed=1", "fixed=2")
EPOCHS, BATCH_SIZE, LR = 100, 32, 0.01


def target_models(source: keras.Model) -> list[keras.Sequential]:
    """The comparison's 120 target models: 30 standalone, 30 each transferred with 0, 1, 2 frozen."""
    models = []
    for condition in CONDITIONS:
        for _ in range(REPEATS):
            if condition == "standalone":
                models.append(build_mlp())
            else:
                models.append(freeze_first(copy_model(source), int(condition[-1])))
    return models


def end_to_end(problem1, problem2) -> dict[str, float]:
    """The comparison from scratch, each stage timed."""
    times = {}
    start = time.perf_counter()
    source = build_mlp()
    fit_replicas([source], problem1.X_train, problem1.y_train, epochs=EPOCHS, seed=0)
    times["train the source"] = time.perf_counter() - start

    mark = time.perf_counter()
    models = target_models(source)
    times["build 120 targets"] = time.perf_counter() - mark

    mark = time.perf_counter()
    fit_replicas(models, problem2.X_train, problem2.y_train, epochs=EPOCHS, seed=1)
    times["train 120 targets"] = time.perf_counter() - mark

    mark = time.perf_counter()
    scores = evaluate_replicas(models, problem2.X_test, problem2.y_test)
    times["evaluate 120 targets"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    means = scores["accuracy"].to_numpy().reshape(len(CONDITIONS), REPEATS).mean(axis=1)
    print(
        "  mean test accuracy: " + ", ".join(f"{c} {m:.3f}" for c, m in zip(CONDITIONS, means, strict=True))
    )
    return times


def sequential_fit_seconds(problem2, source, sample: int) -> float:
    """Mean seconds of one Keras ``fit`` over a sample of the target models, conditions in turn."""
    seconds = []
    for i in range(sample):
        condition = CONDITIONS[i % len(CONDITIONS)]
        model = (
            build_mlp() if condition == "standalone" else freeze_first(copy_model(source), int(condition[-1]))
        )
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=LR),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        model.fit(problem2.X_train, problem2.y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
        seconds.append(time.perf_counter() - start)
        print(f"  model.fit #{i + 1} ({condition}): {seconds[-1]:.2f} s", flush=True)
    return float(np.mean(seconds))


MEMORY_PROBE = """
import resource, time, json
import helpers, keras
from helpers.models import build_mlp
from helpers.problems import make_problem
from helpers.replicas import fit_replicas
problem = make_problem(2)
keras.utils.set_random_seed(0)
models = [build_mlp() for _ in range(1000)]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
fit_replicas(models, problem.X_train, problem.y_train, epochs=100, seed=0,
             validation_data=(problem.X_test, problem.y_test))
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_mib": before / 1024, "peak_mib": after / 1024, "seconds": seconds}))
"""


def memory_for_1000() -> dict[str, float]:
    """Peak resident memory of a fresh process that trains 1000 replicas (with validation)."""
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=4, help="sequential fits to time (default 4)")
    parser.add_argument("--check", action="store_true", help="exit with status 1 if a target is missed")
    args = parser.parse_args()

    problem1, problem2 = make_problem(1), make_problem(2)
    keras.utils.set_random_seed(0)
    print("(b) the whole comparison, end to end, nothing compiled yet")
    times = end_to_end(problem1, problem2)
    for stage, seconds in times.items():
        print(f"  {stage:<22} {seconds:6.2f} s")

    print("(a) training time per model")
    source = build_mlp()
    fit_replicas([source], problem1.X_train, problem1.y_train, epochs=EPOCHS, seed=0)
    models = target_models(source)
    start = time.perf_counter()
    fit_replicas(models, problem2.X_train, problem2.y_train, epochs=EPOCHS, seed=2)
    warm = (time.perf_counter() - start) / len(models)
    cold = times["train 120 targets"] / len(models)
    keras_fit = sequential_fit_seconds(problem2, source, args.sample)
    print(f"  fit_replicas, first call (with compilation): {1000 * cold:7.1f} ms per model")
    print(f"  fit_replicas, compiled:                      {1000 * warm:7.1f} ms per model")
    print(f"  sequential model.fit:                        {1000 * keras_fit:7.1f} ms per model")
    print(f"  ratio, first call: {keras_fit / cold:6.0f}x   ratio, compiled: {keras_fit / warm:6.0f}x")

    print("(c) memory, R = 1000 replicas, 100 epochs, with validation, fresh process")
    memory = memory_for_1000()
    peak, before, seconds = memory["peak_mib"], memory["before_mib"], memory["seconds"]
    print(f"  peak resident memory {peak:.0f} MiB ({before:.0f} MiB before training); {seconds:.1f} s")

    targets = {
        "(a) >= 200x per model, first call": keras_fit / cold >= 200,
        "(b) end to end < 5 s": times["total"] < 5,
        "(c) peak memory < 2 GB": memory["peak_mib"] < 2 * 1024**3 / 2**20,
    }
    print("targets:")
    for name, met in targets.items():
        print(f"  {'met   ' if met else 'MISSED'} {name}")
    return 0 if all(targets.values()) or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
