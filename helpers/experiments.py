"""The book's experiments as functions returning tidy DataFrames, one row per trained model."""

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import pandas as pd

from helpers._checks import check_int, check_positive_float, check_positive_int
from helpers.problems import Problem
from helpers.replicas import Stack, evaluate_stack, train_stack

#: The tutorial's four conditions: no transfer, and transfer with 0, 1 or 2 frozen hidden layers.
CONDITIONS = ("standalone", "fixed=0", "fixed=1", "fixed=2")


def frozen_layers(condition: str) -> int | None:
    """The number of frozen hidden layers a condition names; None for 'standalone'."""
    if condition == "standalone":
        return None
    if isinstance(condition, str) and condition.startswith("fixed=") and condition[6:].isdigit():
        return int(condition[6:])
    raise ValueError(
        f"unknown condition {condition!r}: use 'standalone' or 'fixed=N' (N frozen hidden layers)"
    )


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
    frozen = {condition: frozen_layers(condition) for condition in conditions}
    for condition, n_frozen in frozen.items():
        if n_frozen is not None and n_frozen > len(hidden_sizes):
            raise ValueError(
                f"condition {condition!r} freezes more layers than the {len(hidden_sizes)} hidden ones"
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

    stacks, rows = [], []
    for condition, n_frozen in frozen.items():
        if n_frozen is None:
            stacks.append(Stack.initialise(repeats, hidden_sizes, **shape))
            source_replicas = [None] * repeats
        else:
            source_replicas = list(range(repeats)) if fresh_sources else [0] * repeats
            stacks.append(sources.take(source_replicas).freeze_first(n_frozen))
        rows += [
            {"condition": condition, "replica": repeat, "source_replica": source_replica}
            for repeat, source_replica in enumerate(source_replicas)
        ]
    targets, history = train_stack(
        Stack.concat(stacks),
        target.X_train,
        target.y_train,
        validation_data=(target.X_test, target.y_test),
        seed=seed + 1,
        **training,
    )
    test = evaluate_stack(targets, target.X_test, target.y_test)
    train = evaluate_stack(targets, target.X_train, target.y_train)

    scores = pd.DataFrame(rows).astype({"source_replica": "Int64"})
    scores["test_accuracy"], scores["test_loss"] = test["accuracy"], test["loss"]
    scores["train_accuracy"] = train["accuracy"]
    labels = scores[["condition", "replica"]].rename_axis("model").reset_index()
    history = history.rename(columns={"replica": "model"}).merge(labels, on="model").drop(columns="model")
    history = history[["condition", "replica", *history.columns.drop(["condition", "replica"])]]
    sources_frame = source_scores.rename(columns={"accuracy": "test_accuracy", "loss": "test_loss"})
    return Comparison(scores=scores, history=history, sources=sources_frame)
