"""Training: Keras histories as DataFrames, and a cached source model."""

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from helpers._checks import check_int, check_positive_float, check_positive_int
from helpers.models import build_mlp, load_model, save_model
from helpers.problems import Problem

log = logging.getLogger(__name__)

NUM_EPOCHS = 100
BATCH_SIZE = 32
LEARNING_RATE = 0.01


def history_frame(history: keras.callbacks.History | Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """A Keras history as a DataFrame: one row per epoch (counted from 1), one column per metric."""
    if isinstance(history, keras.callbacks.History):
        history = history.history
    if not isinstance(history, Mapping):
        raise TypeError(f"history must be a Keras History or a mapping, got {type(history).__name__}")
    if not history:
        raise ValueError("history holds no metrics")
    lengths = {name: len(values) for name, values in history.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"history metrics have different lengths: {lengths}")
    frame = pd.DataFrame({name: np.asarray(values, dtype=float) for name, values in history.items()})
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame


def fit(
    model: keras.Model,
    problem: Problem,
    *,
    num_epochs: int = NUM_EPOCHS,
    batch_size: int = BATCH_SIZE,
    validate: bool = True,
) -> pd.DataFrame:
    """Fit a compiled model on the problem's training rows; the history, tested each epoch if ``validate``."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}")
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a Problem, got {type(problem).__name__}")
    if not model.compiled:
        raise ValueError("model must be compiled before fitting (call model.compile first)")
    num_epochs = check_positive_int("num_epochs", num_epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    history = model.fit(
        problem.X_train,
        problem.y_train,
        validation_data=(problem.X_test, problem.y_test) if validate else None,
        epochs=num_epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
    )
    return history_frame(history)


def fit_in_order(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    orders: np.ndarray,
    *,
    batch_size: int = BATCH_SIZE,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Keras ``fit`` of a compiled model for ``len(orders)`` epochs, epoch e visiting rows ``orders[e]``."""
    if not isinstance(model, keras.Model) or not model.compiled:
        raise ValueError("model must be a compiled Keras model")
    batch_size = check_positive_int("batch_size", batch_size)
    orders = np.asarray(orders)
    if orders.ndim != 2 or orders.shape[1] != len(x) or len(x) != len(y):
        raise ValueError(f"orders must have shape (epochs, {len(x)}) for x and y of {len(x)} rows")
    epochs = [tf.data.Dataset.from_tensor_slices((x[order], y[order])).batch(batch_size) for order in orders]
    dataset = epochs[0]
    for epoch in epochs[1:]:
        dataset = dataset.concatenate(epoch)
    # With steps_per_epoch, Keras keeps reading one iterator across epochs: epoch e gets orders[e].
    history = model.fit(
        dataset,
        epochs=len(orders),
        steps_per_epoch=-(-len(x) // batch_size),
        validation_data=validation_data,
        shuffle=False,
        verbose=0,
    )
    return history_frame(history)


def default_cache_dir() -> Path:
    """Where trained source models are cached: ``$BLOBS_TRANSFER_CACHE`` or the user cache."""
    if "BLOBS_TRANSFER_CACHE" in os.environ:
        return Path(os.environ["BLOBS_TRANSFER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "blobs-transfer"


def _cache_key(problem: Problem, **settings: object) -> str:
    digest = hashlib.sha256()
    for array in (problem.X_train, problem.y_train):
        digest.update(np.ascontiguousarray(array).tobytes())
    versions = {"keras": keras.__version__, "tensorflow": tf.__version__}
    digest.update(repr(sorted({**settings, **versions}.items())).encode())
    return digest.hexdigest()[:20]


def train_source_model(
    problem: Problem,
    *,
    seed: int,
    hidden_sizes: Sequence[int] = (5, 5),
    num_epochs: int = NUM_EPOCHS,
    batch_size: int = BATCH_SIZE,
    lr: float = LEARNING_RATE,
    cache_dir: str | os.PathLike | None = None,
) -> keras.Model:
    """The tutorial's model trained on ``problem`` from ``seed``; loaded from the cache when there.

    The model is compiled (SGD at ``lr``, categorical cross-entropy, accuracy). Keras's
    global random generators are re-seeded: seed them again afterwards for a known state.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a Problem, got {type(problem).__name__}")
    seed = check_int("seed", seed, 0, 2**32 - 1)
    num_epochs = check_positive_int("num_epochs", num_epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    lr = check_positive_float("lr", lr)
    key = _cache_key(
        problem,
        seed=seed,
        hidden_sizes=tuple(hidden_sizes),
        num_epochs=num_epochs,
        batch_size=batch_size,
        lr=lr,
    )
    path = Path(default_cache_dir() if cache_dir is None else cache_dir) / f"source-{key}.keras"
    keras.utils.set_random_seed(seed)
    if path.is_file():
        try:
            return load_model(path)
        except ValueError:
            log.warning("cached model %s is damaged; training it again", path)

    model = build_mlp(hidden_sizes, n_features=problem.n_features, n_classes=problem.n_classes)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=lr),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    fit(model, problem, num_epochs=num_epochs, batch_size=batch_size, validate=False)
    try:
        save_model(model, path)
    except OSError as error:  # a read-only cache must not stop the reader
        log.warning("could not cache the source model at %s: %s", path, error)
    return model
