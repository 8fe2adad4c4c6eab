"""The book's experiments as functions returning tidy DataFrames, one row per trained model."""

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from helpers._checks import check_int, check_positive_float, check_positive_int
from helpers.problems import Problem
from helpers.replicas import Stack, evaluate_stack, train_stack

#: The tutorial's four conditions: no transfer, and transfer with 0, 1 or 2 frozen hidden layers.
CONDITIONS = ("standalone", "fixed=0", "fixed=1", "fixed=2")


@dataclass(frozen=True)
class Condition:
    """A condition parsed from its name: 'standalone', or 'fixed=N' with optional modifiers.

    'fixed=N' starts from the source model with its first N hidden layers frozen;
    '+keep=K' keeps only the source's first K layers and draws the others anew;
    '+new' inserts a new, randomly initialised relu layer before the output.
    """

    name: str
    n_frozen: int | None
    keep: int | None = None
    new_layer: bool = False


def parse_condition(name: str) -> Condition:
    """The condition a name describes, e.g. 'standalone', 'fixed=1', 'fixed=0+keep=1', 'fixed=2+new'."""
    usage = "use 'standalone' or 'fixed=N', optionally with '+keep=K' and '+new'"
    if name == "standalone":
        return Condition(name, None)
    parts = name.split("+") if isinstance(name, str) else []
    if not parts or not parts[0].startswith("fixed=") or not parts[0][6:].isdigit():
        raise ValueError(f"unknown condition {name!r}: {usage}")
    keep, new_layer = None, False
    for part in parts[1:]:
        if part == "new" and not new_layer:
            new_layer = True
        elif part.startswith("keep=") and part[5:].isdigit() and keep is None:
            keep = int(part[5:])
        else:
            raise ValueError(f"unknown condition {name!r}: {usage}")
    return Condition(name, int(parts[0][6:]), keep, new_layer)


@dataclass(frozen=True)
class Comparison:
    """A comparison's results: ``scores`` one row per target model, ``history`` one per model and epoch."""

    scores: pd.DataFrame
    history: pd.DataFrame
    sources: pd.DataFrame


def run_comparison(
    source: Problem,
    target: Problem,
    *,
    repeats: int = 30,
    conditions: Sequence[str] = CONDITIONS,
    fresh_sources: bool = False,
    hidden_sizes: Sequence[int] = (5, 5),
    num_epochs: int = 100,
    batch_size: int = 32,
    lr: float = 0.01,
    seed: int = 0,
) -> Comparison:
    """The tutorial's comparison: ``repeats`` target models per condition, trained on ``target``.

    Transferred models start from a source model trained on ``source``: one source for every
    repeat (the tutorial's design) or, with ``fresh_sources``, a new source per repeat.
    """
    for name, problem in (("source", source), ("target", target)):
        if not isinstance(problem, Problem):
            raise TypeError(f"{name} must be a Problem, got {type(problem).__name__}")
    if (source.n_features, source.n_classes) != (target.n_features, target.n_classes):
        raise ValueError("source and target must have the same numbers of features and classes")
    repeats = check_positive_int("repeats", repeats)
    num_epochs = check_positive_int("num_epochs", num_epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    lr = check_positive_float("lr", lr)
    seed = check_int("seed", seed, 0, 2**31 - 2)
    if isinstance(conditions, str) or len(conditions) == 0:
        raise ValueError("conditions must be a non-empty sequence of condition names")
    parsed = [parse_condition(condition) for condition in conditions]
    n_hidden = len(hidden_sizes)
    for condition in parsed:
        if condition.n_frozen is not None and condition.n_frozen > n_hidden:
            raise ValueError(
                f"condition {condition.name!r} freezes more layers than the {n_hidden} hidden ones"
            )
        if condition.keep is not None and not condition.n_frozen <= condition.keep <= n_hidden:
            raise ValueError(
                f"condition {condition.name!r} must keep between the frozen layers and all {n_hidden} hidden"
            )
    training = {"epochs": num_epochs, "batch_size": batch_size, "learning_rate": lr}
    shape = {"n_features": source.n_features, "n_classes": source.n_classes}

    keras.utils.set_random_seed(seed)
    n_sources = repeats if fresh_sources else 1
    sources, _ = train_stack(
        Stack.initialise(n_sources, hidden_sizes, **shape),
        source.X_train,
        source.y_train,
        seed=seed,
        **training,
    )
    source_scores = evaluate_stack(sources, source.X_test, source.y_test)

    groups: dict = {}  # stacks of one structure train together
    rows = []
    for condition in parsed:
        if condition.n_frozen is None:
            stack, source_replicas = Stack.initialise(repeats, hidden_sizes, **shape), [None] * repeats
        else:
            source_replicas = list(range(repeats)) if fresh_sources else [0] * repeats
            stack = sources.take(source_replicas)
            if condition.keep is not None and condition.keep <= n_hidden:
                stack = stack.reinitialise(list(range(condition.keep, n_hidden + 1)))
            stack = stack.freeze_first(condition.n_frozen)
            if condition.new_layer:
                stack = stack.insert_layer(n_hidden, hidden_sizes[-1])
        groups.setdefault(stack.structure, []).append((len(rows), stack))
        rows += [
            {"condition": condition.name, "replica": repeat, "source_replica": source_replica}
            for repeat, source_replica in enumerate(source_replicas)
        ]
    histories, tests, trains = [], [], []
    for g, members in enumerate(groups.values()):
        trained, history = train_stack(
            Stack.concat([stack for _, stack in members]),
            target.X_train,
            target.y_train,
            validation_data=(target.X_test, target.y_test),
            seed=seed + 1 + g,
            **training,
        )
        # Positions of this group's replicas among all the models, in the order of `rows`.
        model_ids = np.concatenate([np.arange(start, start + stack.n_replicas) for start, stack in members])
        history["replica"] = model_ids[history["replica"].to_numpy()]
        histories.append(history)
        tests.append(evaluate_stack(trained, target.X_test, target.y_test).assign(replica=model_ids))
        trains.append(evaluate_stack(trained, target.X_train, target.y_train).assign(replica=model_ids))
    history = pd.concat(histories).sort_values(["replica", "epoch"], kind="stable").reset_index(drop=True)
    test = pd.concat(tests).sort_values("replica").reset_index(drop=True)
    train = pd.concat(trains).sort_values("replica").reset_index(drop=True)

    scores = pd.DataFrame(rows).astype({"source_replica": "Int64"})
    scores["test_accuracy"], scores["test_loss"] = test["accuracy"], test["loss"]
    scores["train_accuracy"] = train["accuracy"]
    labels = scores[["condition", "replica"]].rename_axis("model").reset_index()
    history = history.rename(columns={"replica": "model"}).merge(labels, on="model").drop(columns="model")
    history = history[["condition", "replica", *history.columns.drop(["condition", "replica"])]]
    sources_frame = source_scores.rename(columns={"accuracy": "test_accuracy", "loss": "test_loss"})
    return Comparison(scores=scores, history=history, sources=sources_frame)
