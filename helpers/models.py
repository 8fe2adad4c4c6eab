"""The book's MLP: build it, freeze its first layers, save and load it."""

import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from helpers._checks import check_indices, check_int, check_positive_int


def build_mlp(
    hidden_sizes: Sequence[int] = (5, 5), *, n_features: int = 2, n_classes: int = 3
) -> keras.Sequential:
    """Build the tutorial's MLP: relu/He-uniform hidden layers, a softmax output (uncompiled)."""
    if isinstance(hidden_sizes, int | str) or not isinstance(hidden_sizes, Sequence):
        raise TypeError(f"hidden_sizes must be a sequence of integers, got {hidden_sizes!r}")
    if len(hidden_sizes) == 0:
        raise ValueError("hidden_sizes must hold at least one layer width, got an empty sequence")
    sizes = [check_positive_int(f"hidden_sizes[{i}]", s) for i, s in enumerate(hidden_sizes)]
    n_features = check_positive_int("n_features", n_features)
    n_classes = check_int("n_classes", n_classes, low=2)

    layers = [keras.Input(shape=(n_features,))]
    for i, width in enumerate(sizes, start=1):
        layers.append(
            keras.layers.Dense(width, activation="relu", kernel_initializer="he_uniform", name=f"hidden_{i}")
        )
    layers.append(keras.layers.Dense(n_classes, activation="softmax", name="output"))
    return keras.Sequential(layers, name="mlp")


def hidden_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's hidden layers: every layer but the output layer."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}")
    return list(model.layers[:-1])


def freeze_first(model: keras.Model, n_frozen: int) -> keras.Model:
    """Freeze the first ``n_frozen`` hidden layers and unfreeze the rest; re-compile after."""
    hidden = hidden_layers(model)
    n_frozen = check_int("n_frozen", n_frozen, 0, len(hidden))
    for i, layer in enumerate(model.layers):
        layer.trainable = i >= n_frozen
    return model


def fresh_initializer(initializer: keras.initializers.Initializer, seed: keras.random.SeedGenerator):
    """A copy of a Keras initialiser that draws anew at every call from ``seed``.

    An unseeded Keras initialiser repeats its values call after call; one driven by a
    seed generator does not.
    """
    config = initializer.get_config()
    return type(initializer).from_config({**config, "seed": seed}) if "seed" in config else initializer


def seed_generator() -> keras.random.SeedGenerator:
    """A seed generator seeded from NumPy's global state (which keras.utils.set_random_seed sets)."""
    return keras.random.SeedGenerator(int(np.random.randint(0, 2**31 - 1)))


def reinitialise(model: keras.Model, layers: Sequence[int]) -> keras.Model:
    """Draw new weights for the layers at ``layers`` (indices) with their own initialisers."""
    n_layers = len(hidden_layers(model)) + 1
    indices = check_indices("layers", layers, n_layers)
    seed = seed_generator()
    for i in indices:
        layer = model.layers[i]
        layer.kernel.assign(fresh_initializer(layer.kernel_initializer, seed)(tuple(layer.kernel.shape)))
        layer.bias.assign(fresh_initializer(layer.bias_initializer, seed)(tuple(layer.bias.shape)))
    return model


def insert_layer(
    model: keras.Sequential,
    index: int,
    units: int,
    *,
    activation: str = "relu",
    kernel_initializer: str = "he_uniform",
) -> keras.Sequential:
    """A new model with a randomly initialised Dense layer before layer ``index``, weights copied.

    Every other layer keeps its weights and ``trainable`` flag; the new layer is trainable.
    If ``units`` differs from the width that the next layer expects, that layer is drawn
    anew with its own initialisers. The new model is not compiled.
    """
    n_layers = len(hidden_layers(model)) + 1
    index = check_int("index", index, 0, n_layers - 1)
    units = check_positive_int("units", units)
    new = keras.layers.Dense(
        units, activation=activation, kernel_initializer=kernel_initializer, name="inserted"
    )
    copies = [type(layer).from_config(layer.get_config()) for layer in model.layers]
    inserted = keras.Sequential(
        [keras.Input(shape=model.input_shape[1:]), *copies[:index], new, *copies[index:]], name=model.name
    )
    seed = seed_generator()
    new.kernel.assign(fresh_initializer(new.kernel_initializer, seed)(tuple(new.kernel.shape)))
    for old, copy in zip(model.layers, copies, strict=True):
        copy.trainable = old.trainable
        if copy.kernel.shape == old.kernel.shape:
            copy.set_weights(old.get_weights())
        else:
            copy.kernel.assign(fresh_initializer(copy.kernel_initializer, seed)(tuple(copy.kernel.shape)))
    return inserted


def copy_model(model: keras.Model) -> keras.Model:
    """A new, uncompiled model with the same architecture and a copy of the weights."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}")
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def _keras_path(path: str | os.PathLike) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__}")
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must end in '.keras' (Keras's native format), got {str(path)!r}")
    return path


def save_model(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save ``model`` to a ``.keras`` file atomically: an interrupted save keeps the old file."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}")
    path = _keras_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a model saved by :func:`save_model`, with its optimizer state if compiled."""
    path = _keras_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {str(path)!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{str(path)!r} is not a valid .keras file (not a zip archive)")
    try:
        return keras.models.load_model(path)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise ValueError(f"{str(path)!r} is not a valid .keras file: {error}") from error
