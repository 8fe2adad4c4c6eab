"""Sweeps beyond the tutorial: layer by layer, training-set size, and problem similarity.

Each sweep is a set of independent cells (one per n, size or target problem), each computed
from the sweep's seed and its own key alone, so that any cell can be run on its own.
"""

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers._checks import check_int, check_positive_int
from helpers.experiments import MAX_SEED, Comparison, run_comparison, train_sources
from helpers.problems import Problem
from helpers.replicas import Stack, predict_stack

#: Yosinski et al.'s four variants: layers from A or B (the target itself), frozen or fine-tuned (+).
VARIANTS = ("AnB", "AnB+", "BnB", "BnB+")

#: The tutorial's training budget: 100 epochs of 16 batches (500 rows, batches of 32).
TUTORIAL_UPDATES = 1600


def cell_seed(seed: int, *keys: int) -> int:
    """A seed for one cell of a sweep, from the sweep's seed and the cell's keys (stable, independent)."""
    seed = check_int("seed", seed, 0, MAX_SEED)
    keys = [check_int("key", key, 0) for key in keys]
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0] % (MAX_SEED + 1))


def layer_conditions(n_hidden: int) -> dict[str, tuple[str, int]]:
    """For n = 1..n_hidden, the run_comparison conditions of the variants: name -> (variant, n)."""
    n_hidden = check_positive_int("n_hidden", n_hidden)
    conditions = {}
    for n in range(1, n_hidden + 1):
        conditions[f"fixed={n}+keep={n}"] = ("nB", n)  # first n layers kept and frozen, the rest drawn anew
        conditions[f"fixed=0+keep={n}"] = ("nB+", n)  # the same, everything fine-tuned
    return conditions


def _tidy(comparison: Comparison, **columns: object) -> pd.DataFrame:
    """A comparison's scores with extra constant columns in front."""
    scores = comparison.scores.drop(columns=["test_loss"])
    for k, (name, value) in enumerate(columns.items()):
        scores.insert(k, name, value)
    return scores


def run_layer_sweep(
    problem_a: Problem,
    problem_b: Problem,
    *,
    hidden_sizes: Sequence[int] = (5, 5),
    repeats: int = 30,
    num_epochs: int = 100,
    seed: int = 0,
    sources_from: Sequence[str] = ("A", "B"),
) -> pd.DataFrame:
    """Yosinski et al.'s experiment: target networks on B whose first n hidden layers come from a
    network trained on A (AnB) or on B itself (BnB), frozen or fine-tuned (AnB+, BnB+).

    Every repeat has its own source networks. n = 0 is the network trained on B from scratch,
    'baseB'. One row per target network: variant, n_copied (= n), replica, scores.
    ``sources_from`` runs only the variants from "A" (with baseB) or from "B": the two cells.
    """
    repeats = check_positive_int("repeats", repeats)
    if isinstance(sources_from, str) or not sources_from or not set(sources_from) <= {"A", "B"}:
        raise ValueError(f"sources_from must list 'A', 'B' or both, got {sources_from!r}")
    conditions = layer_conditions(len(hidden_sizes))
    frames = []
    for key, (letter, source) in enumerate((("A", problem_a), ("B", problem_b))):
        if letter not in sources_from:
            continue
        sources = train_sources(
            source, repeats, hidden_sizes=hidden_sizes, num_epochs=num_epochs, seed=cell_seed(seed, key, 0)
        )
        names = (["standalone"] if letter == "A" else []) + list(conditions)
        comparison = run_comparison(
            source, problem_b, repeats=repeats, conditions=names, hidden_sizes=hidden_sizes,
            num_epochs=num_epochs, seed=cell_seed(seed, key, 1), sources=sources, validate=False,
        )  # fmt: skip
        scores = comparison.scores
        variant = {name: letter + kind for name, (kind, _) in conditions.items()} | {"standalone": "baseB"}
        depth = {name: n for name, (_, n) in conditions.items()} | {"standalone": 0}
        frames.append(
            scores.assign(variant=scores["condition"].map(variant), n_copied=scores["condition"].map(depth))
        )
    frame = pd.concat(frames, ignore_index=True)
    return frame[
        ["variant", "n_copied", "replica", "condition", "source_replica", "test_accuracy", "train_accuracy"]
    ]


def updates_to_epochs(n_train: int, batch_size: int = 32, num_updates: int = TUTORIAL_UPDATES) -> int:
    """The number of epochs that gives about ``num_updates`` SGD steps on ``n_train`` rows."""
    n_train = check_positive_int("n_train", n_train)
    batch_size = check_positive_int("batch_size", batch_size)
    num_updates = check_positive_int("num_updates", num_updates)
    return math.ceil(num_updates / math.ceil(n_train / batch_size))


def run_size_sweep(
    source: Problem,
    target: Problem,
    sizes: Sequence[int],
    *,
    repeats: int = 30,
    conditions: Sequence[str] = ("standalone", "fixed=0", "fixed=1"),
    num_updates: int = TUTORIAL_UPDATES,
    seed: int = 0,
) -> pd.DataFrame:
    """Standalone and transfer when the target has only ``n_train`` training rows, for each size.

    Each repeat has its own source network (trained on all of ``source``) and its own random
    sample of target rows, shared by its conditions. Every model gets about ``num_updates``
    SGD steps whatever the size, so that small sets are not also short of training.
    """
    repeats = check_positive_int("repeats", repeats)
    if isinstance(sizes, int | str) or len(sizes) == 0:
        raise ValueError("sizes must be a non-empty sequence of training-set sizes")
    sizes = [check_int("sizes", size, 1, len(target.X_train)) for size in sizes]
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"sizes must not repeat a size, got {sizes}")
    sources = train_sources(source, repeats, seed=cell_seed(seed, 0))
    frames = []
    for size in sizes:
        epochs = updates_to_epochs(size, num_updates=num_updates)
        comparison = run_comparison(
            source, target, repeats=repeats, conditions=conditions, num_epochs=epochs,
            seed=cell_seed(seed, 1, size), sources=sources, n_train=size, validate=False,
        )  # fmt: skip
        frames.append(_tidy(comparison, n_train=size, num_epochs=epochs))
    return pd.concat(frames, ignore_index=True)


def centre_distance(source: Problem, target: Problem) -> float:
    """The mean distance between the class centres of two problems, classes matched to minimise it."""
    from scipy.optimize import linear_sum_assignment

    for name, problem in (("source", source), ("target", target)):
        if not isinstance(problem, Problem):
            raise TypeError(f"{name} must be a Problem, got {type(problem).__name__}")
    if source.centers.shape != target.centers.shape:
        raise ValueError("source and target must have the same numbers of classes and features")
    distances = np.linalg.norm(source.centers[:, None, :] - target.centers[None, :, :], axis=-1)
    rows, columns = linear_sum_assignment(distances)
    return float(distances[rows, columns].mean())


def relabelled_accuracy(models: Stack, problem: Problem) -> np.ndarray:
    """Each model's test accuracy on ``problem`` before any training on it, under the best
    one-to-one relabelling of its classes (the labels of two blobs problems mean nothing alike)."""
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a Problem, got {type(problem).__name__}")
    predicted = predict_stack(models, problem.X_test).argmax(-1)
    labels = problem.labels_test
    best = np.zeros(models.n_replicas)
    for permutation in itertools.permutations(range(problem.n_classes)):
        best = np.maximum(best, (np.asarray(permutation)[predicted] == labels).mean(axis=1))
    return best


def run_similarity_sweep(
    source: Problem,
    targets: Sequence[Problem],
    *,
    repeats: int = 30,
    conditions: Sequence[str] = ("standalone", "fixed=0", "fixed=1"),
    num_epochs: int = 100,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One source problem, many targets: the scores on each target, and each target's similarity.

    Every repeat has its own source network, the same one for every target. Returns the scores
    (one row per target model, with ``target_seed``) and one row per target with the centre
    distance and the source networks' mean relabelled accuracy on it before training.
    """
    repeats = check_positive_int("repeats", repeats)
    if isinstance(targets, Problem) or len(targets) == 0:
        raise ValueError("targets must be a non-empty sequence of Problems")
    seeds = [getattr(target, "seed", None) for target in targets]
    if len(set(seeds)) != len(seeds):
        raise ValueError("targets must be different problems (distinct seeds)")
    sources = train_sources(source, repeats, num_epochs=num_epochs, seed=cell_seed(seed, 0))
    frames, similarity = [], []
    for target in targets:
        comparison = run_comparison(
            source, target, repeats=repeats, conditions=conditions, num_epochs=num_epochs,
            seed=cell_seed(seed, 1, target.seed), sources=sources, validate=False,
        )  # fmt: skip
        frames.append(_tidy(comparison, target_seed=target.seed))
        similarity.append(
            {
                "target_seed": target.seed,
                "centre_distance": centre_distance(source, target),
                "source_accuracy": float(relabelled_accuracy(sources, target).mean()),
            }
        )
    return pd.concat(frames, ignore_index=True), pd.DataFrame(similarity)
