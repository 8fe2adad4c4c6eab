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

#: The largest seed accepted: seeds derived from it by adding a few stay valid NumPy seeds.
MAX_SEED = 2**31 - 2


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


def _check_training(num_epochs: int, batch_size: int, lr: float, seed: int) -> dict:
    """The training settings, checked, as train_stack's keyword arguments (without the seed)."""
    check_int("seed", seed, 0, MAX_SEED)  # seed + a few must still be a valid NumPy seed
    return {
        "epochs": check_positive_int("num_epochs", num_epochs),
        "batch_size": check_positive_int("batch_size", batch_size),
        "learning_rate": check_positive_float("lr", lr),
    }


def train_sources(
    source: Problem,
    n_sources: int,
    *,
    hidden_sizes: Sequence[int] = (5, 5),
    num_epochs: int = 100,
    batch_size: int = 32,
    lr: float = 0.01,
    seed: int = 0,
) -> Stack:
    """``n_sources`` source models trained on ``source``, each from its own random start, as a Stack."""
    if not isinstance(source, Problem):
        raise TypeError(f"source must be a Problem, got {type(source).__name__}")
    n_sources = check_positive_int("n_sources", n_sources)
    return _train_sources(
        source, n_sources, hidden_sizes, _check_training(num_epochs, batch_size, lr, seed), seed
    )


def _train_sources(
    source: Problem, n_sources: int, hidden_sizes: Sequence[int], training: dict, seed: int
) -> Stack:
    keras.utils.set_random_seed(seed)
    shape = {"n_features": source.n_features, "n_classes": source.n_classes}
    trained, _ = train_stack(
        Stack.initialise(n_sources, hidden_sizes, **shape),
        source.X_train,
        source.y_train,
        seed=seed,
        **training,
    )
    return trained


def _check_conditions(conditions: Sequence[str], n_hidden: int) -> list[Condition]:
    """The parsed conditions, checked against the number of hidden layers."""
    if isinstance(conditions, str) or len(conditions) == 0:
        raise ValueError("conditions must be a non-empty sequence of condition names")
    parsed = [parse_condition(condition) for condition in conditions]
    for condition in parsed:
        if condition.n_frozen is not None and condition.n_frozen > n_hidden:
            raise ValueError(
                f"condition {condition.name!r} freezes more layers than the {n_hidden} hidden ones"
            )
        if condition.keep is not None and not condition.n_frozen <= condition.keep <= n_hidden:
            raise ValueError(
                f"condition {condition.name!r} must keep between the frozen layers and all {n_hidden} hidden"
            )
    return parsed


def _check_sources(sources: object, repeats: int, hidden_sizes: Sequence[int], target: Problem) -> Stack:
    """Given source models, checked to fit the comparison: one per repeat, or one for all."""
    if not isinstance(sources, Stack):
        raise TypeError(f"sources must be a Stack, got {type(sources).__name__}")
    expected = (target.n_features, (*hidden_sizes, target.n_classes))
    if (sources.structure.n_inputs, sources.structure.units) != expected:
        raise ValueError(f"sources must have {expected[0]} inputs and layer widths {expected[1]}")
    if sources.n_replicas not in (1, repeats):
        raise ValueError(f"sources must hold 1 or repeats = {repeats} models, got {sources.n_replicas}")
    return sources


def _draw_subsets(n_rows: int, repeats: int, n_train: int, seed: int) -> np.ndarray:
    """One random sample of ``n_train`` of the ``n_rows`` training rows per repeat."""
    rng = np.random.default_rng([seed, n_train])
    return np.stack([rng.choice(n_rows, size=n_train, replace=False) for _ in range(repeats)])


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
    sources: Stack | None = None,
    n_train: int | None = None,
    validate: bool = True,
) -> Comparison:
    """The tutorial's comparison: ``repeats`` target models per condition, trained on ``target``.

    Transferred models start from a source model trained on ``source``: one source for every
    repeat (the tutorial's design) or, with ``fresh_sources``, a new source per repeat. Source
    models trained beforehand (:func:`train_sources`) can be passed as ``sources`` instead.
    With ``n_train``, the models of repeat r train on their own random sample of ``n_train``
    target training rows, the same sample in every condition. ``validate`` records the test
    scores after every epoch in the history (only the training scores without it).
    """
    for name, problem in (("source", source), ("target", target)):
        if not isinstance(problem, Problem):
            raise TypeError(f"{name} must be a Problem, got {type(problem).__name__}")
    if (source.n_features, source.n_classes) != (target.n_features, target.n_classes):
        raise ValueError("source and target must have the same numbers of features and classes")
    repeats = check_positive_int("repeats", repeats)
    training = _check_training(num_epochs, batch_size, lr, seed)
    if n_train is not None:
        n_train = check_int("n_train", n_train, 1, len(target.X_train))
    n_hidden = len(hidden_sizes)
    parsed = _check_conditions(conditions, n_hidden)
    shape = {"n_features": source.n_features, "n_classes": source.n_classes}

    if sources is None:
        n_sources = repeats if fresh_sources else 1
        sources = _train_sources(source, n_sources, hidden_sizes, training, seed)
    else:  # the target models' random starts then come from the seed alone
        sources = _check_sources(sources, repeats, hidden_sizes, target)
        keras.utils.set_random_seed(seed)
    source_scores = evaluate_stack(sources, source.X_test, source.y_test)

    groups: dict = {}  # stacks of one structure train together
    rows = []
    for condition in parsed:
        if condition.n_frozen is None:
            stack, source_replicas = Stack.initialise(repeats, hidden_sizes, **shape), [None] * repeats
        else:
            source_replicas = list(range(repeats)) if sources.n_replicas > 1 else [0] * repeats
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
    subsets = None if n_train is None else _draw_subsets(len(target.X_train), repeats, n_train, seed)
    histories, tests, trains = [], [], []
    for g, members in enumerate(groups.values()):
        # Positions of this group's replicas among all the models, in the order of `rows`.
        model_ids = np.concatenate([np.arange(start, start + stack.n_replicas) for start, stack in members])
        repeat_of = np.asarray([rows[i]["replica"] for i in model_ids])
        group_subsets = None if subsets is None else subsets[repeat_of]
        trained, history = train_stack(
            Stack.concat([stack for _, stack in members]),
            target.X_train,
            target.y_train,
            validation_data=(target.X_test, target.y_test) if validate else None,
            seed=seed + 1 + g,
            subsets=group_subsets,
            **training,
        )
        history["replica"] = model_ids[history["replica"].to_numpy()]
        histories.append(history)
        tests.append(evaluate_stack(trained, target.X_test, target.y_test).assign(replica=model_ids))
        train = evaluate_stack(trained, target.X_train, target.y_train, subsets=group_subsets)
        trains.append(train.assign(replica=model_ids))
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
