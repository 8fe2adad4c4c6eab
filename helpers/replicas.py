"""Train many independent Keras MLPs at once, in one compiled TensorFlow program.

R models of the same structure become one set of stacked weights: layer l's kernels
form a tensor of shape (R, inputs, units). One training step runs every replica on its
own batch (batched matmuls), takes each replica's mean batch loss and sums them, so the
gradient with respect to replica r's weights is exactly that replica's own gradient. The
whole run, every epoch and every batch, is one XLA-compiled loop with static shapes: the
last, partial batch of an epoch is padded to full size and masked out of the loss.
"""

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from helpers._checks import check_indices, check_int, check_positive_float, check_positive_int
from helpers.models import build_mlp, fresh_initializer, seed_generator

# Each hidden activation with its derivative, written in terms of its input z and output a.
_HIDDEN_ACTIVATIONS = {
    "relu": (tf.nn.relu, lambda z, a: tf.cast(z > 0, z.dtype)),
    "linear": (tf.identity, lambda z, a: tf.ones_like(z)),
    "tanh": (tf.math.tanh, lambda z, a: 1 - a * a),
    "sigmoid": (tf.math.sigmoid, lambda z, a: a * (1 - a)),
}


class _ExpectedRetracing(logging.Filter):
    """Drops TensorFlow's warning about retracing: the engine compiles one program per shape on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_ExpectedRetracing())

_SMALL = 256  # layers with at most this many kernel entries use broadcast products
_DENSE_DEFAULTS = {
    "use_bias": True,
    "kernel_regularizer": None,
    "bias_regularizer": None,
    "activity_regularizer": None,
    "kernel_constraint": None,
    "bias_constraint": None,
}


@dataclass(frozen=True)
class _Structure:
    """What the replicas share: input width, layer widths and activations."""

    n_inputs: int
    units: tuple[int, ...]
    activations: tuple[str, ...]

    def __str__(self) -> str:
        widths = "-".join(map(str, self.units))
        return f"{self.n_inputs} inputs -> {widths} ({', '.join(self.activations)})"


def _structure(model: object, index: int) -> _Structure:
    """The structure of one model, or a ValueError saying why it cannot be a replica."""
    where = f"models[{index}]"
    if not isinstance(model, keras.Sequential):
        raise ValueError(f"{where} must be a keras.Sequential model, got {type(model).__name__}")
    if not model.built or not model.layers:
        raise ValueError(f"{where} must be built, with its input shape known (use keras.Input)")
    units, activations = [], []
    for layer in model.layers:
        if type(layer) is not keras.layers.Dense:
            raise ValueError(f"{where} has layer {layer.name!r} of type {type(layer).__name__}; only Dense")
        config = layer.get_config()
        for key, default in _DENSE_DEFAULTS.items():
            if config.get(key) != default:
                raise ValueError(f"{where}, layer {layer.name!r}: {key}={config.get(key)!r} is not supported")
        if layer.dtype_policy.name != "float32":
            raise ValueError(f"{where}, layer {layer.name!r}: dtype policy must be float32")
        units.append(int(layer.units))
        activations.append(config["activation"])
    for layer, activation in zip(model.layers[:-1], activations[:-1], strict=True):
        if activation not in _HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"{where}, layer {layer.name!r}: hidden activation {activation!r} is not one of "
                f"{sorted(_HIDDEN_ACTIVATIONS)}"
            )
    if activations[-1] != "softmax":
        raise ValueError(f"{where}: the output layer must use softmax, got {activations[-1]!r}")
    return _Structure(int(model.input_shape[-1]), tuple(units), tuple(activations))


def _shared_structure(models: object) -> _Structure:
    """The structure every model shares, or a ValueError naming the first that differs."""
    if isinstance(models, keras.Model) or not isinstance(models, Sequence) or len(models) == 0:
        raise ValueError("models must be a non-empty list of keras.Sequential models")
    structures = [_structure(model, i) for i, model in enumerate(models)]
    for i, structure in enumerate(structures[1:], start=1):
        if structure != structures[0]:
            raise ValueError(
                f"models[{i}] differs in structure from models[0]: {structure} against {structures[0]}"
            )
    return structures[0]


def _check_compiled(model: keras.Model, index: int, learning_rate: float) -> None:
    """A compiled model must be compiled for what fit_replicas does: plain SGD, categorical CE."""
    if not model.compiled:
        return
    where = f"models[{index}]"
    optimizer = model.optimizer
    if type(optimizer) is not keras.optimizers.SGD:
        raise ValueError(f"{where} is compiled with {type(optimizer).__name__}; only plain SGD is supported")
    config = optimizer.get_config()
    extras = {
        key: config.get(key)
        for key in ("momentum", "nesterov", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm")
        if config.get(key) not in (None, 0.0, False)
    }
    if extras or config.get("use_ema") or config.get("gradient_accumulation_steps"):
        raise ValueError(f"{where} is compiled with SGD options {extras}; only plain SGD is supported")
    if not isinstance(config["learning_rate"], float):
        raise ValueError(f"{where} is compiled with a learning-rate schedule; only a constant rate")
    if not np.isclose(config["learning_rate"], learning_rate, rtol=1e-6, atol=0):
        raise ValueError(
            f"{where} is compiled with learning rate {config['learning_rate']:.6g} "
            f"but learning_rate={learning_rate:.6g}"
        )
    loss = model.loss
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", None)
    if isinstance(loss, keras.losses.CategoricalCrossentropy):
        config = loss.get_config()
        if config.get("from_logits") or config.get("label_smoothing"):
            raise ValueError(f"{where}: the loss must be categorical cross-entropy on probabilities")
    elif name != "categorical_crossentropy":
        raise ValueError(f"{where} is compiled with loss {loss!r}; only categorical cross-entropy")


def _check_data(x: object, y: object, n_inputs: int, n_classes: int, name: str) -> tuple[np.ndarray, ...]:
    """Features and one-hot targets as float32 arrays, or a ValueError naming the problem."""
    x_name, y_name = ("x", "y") if name == "" else (f"{name}[0]", f"{name}[1]")
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y, dtype="float32")
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise ValueError(f"{x_name} must have shape (n, {n_inputs}), got {x.shape}")
    if y.ndim != 2 or y.shape[1] != n_classes:
        raise ValueError(f"{y_name} must be one-hot of shape (n, {n_classes}), got {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{x_name} and {y_name} differ in length: {len(x)} and {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{x_name} holds no rows")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{x_name} holds values that are not finite")
    if not (np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1)):
        raise ValueError(f"{y_name} must be one-hot: zeros and a single 1 per row")
    return x, y


def _index_dtype(n_padded: int) -> type:
    """The narrowest integer type for row indices: shuffles for 1000 replicas are large."""
    return np.int16 if n_padded <= np.iinfo(np.int16).max else np.int32


def _padded_shuffles(epochs: int, n_replicas: int, n: int, n_padded: int, seed: int | None) -> np.ndarray:
    """Random permutations of 0..n-1 per (epoch, replica), drawn in place, padded with zeros."""
    out = np.zeros((epochs, n_replicas, n_padded), dtype=_index_dtype(n_padded))
    rows = out[..., :n]
    rows[...] = np.arange(n)
    np.random.default_rng(seed).permuted(rows, axis=-1, out=rows)
    return out


def draw_shuffles(epochs: int, n_replicas: int, n: int, seed: int | None = None) -> np.ndarray:
    """Independent random permutations of ``0..n-1``, one per (epoch, replica): shape (epochs, R, n).

    ``fit_replicas(..., seed=s)`` trains on exactly ``draw_shuffles(epochs, R, n, seed=s)``.
    """
    epochs = check_positive_int("epochs", epochs)
    n_replicas = check_positive_int("n_replicas", n_replicas)
    n = check_positive_int("n", n)
    return _padded_shuffles(epochs, n_replicas, n, n, seed).astype(np.intp)


def _check_shuffles(shuffles: object, epochs: int, n_replicas: int, n: int, n_padded: int) -> np.ndarray:
    """The given shuffles, checked to be permutations, padded as the training loop wants them."""
    shuffles = np.asarray(shuffles)
    expected = (epochs, n_replicas, n)
    if shuffles.shape != expected:
        raise ValueError(f"shuffles must have shape (epochs, R, n) = {expected}, got {shuffles.shape}")
    if not np.issubdtype(shuffles.dtype, np.integer):
        raise ValueError(f"shuffles must hold integers, got dtype {shuffles.dtype}")
    if not np.array_equal(np.sort(shuffles, axis=-1), np.broadcast_to(np.arange(n), expected)):
        raise ValueError(f"every shuffles[epoch, replica] must be a permutation of 0..{n - 1}")
    out = np.zeros((epochs, n_replicas, n_padded), dtype=_index_dtype(n_padded))
    out[..., :n] = shuffles
    return out


def _check_subsets(subsets: object, n_replicas: int, n_rows: int) -> np.ndarray:
    """The given subsets, checked: one row per replica, each listing distinct rows of x."""
    subsets = np.asarray(subsets)
    if subsets.ndim != 2 or subsets.shape[0] != n_replicas or subsets.shape[1] == 0:
        raise ValueError(f"subsets must have shape (R, m) = ({n_replicas}, m), m >= 1, got {subsets.shape}")
    if not np.issubdtype(subsets.dtype, np.integer):
        raise ValueError(f"subsets must hold integers, got dtype {subsets.dtype}")
    if subsets.min() < 0 or subsets.max() >= n_rows:
        raise ValueError(f"subsets must index rows of x, in 0..{n_rows - 1}")
    if np.any(np.diff(np.sort(subsets, axis=1), axis=1) == 0):
        raise ValueError("each replica's subset must list distinct rows")
    return subsets


def _through_subsets(shuffles: np.ndarray, subsets: np.ndarray, n_rows: int) -> np.ndarray:
    """Shuffled positions within each replica's subset, turned into rows of x (padding stays 0)."""
    m = subsets.shape[1]
    out = np.zeros(shuffles.shape, dtype=_index_dtype(max(shuffles.shape[-1], n_rows)))
    for epoch in range(len(shuffles)):  # one epoch at a time keeps the temporary arrays small
        out[epoch, :, :m] = np.take_along_axis(subsets, shuffles[epoch, :, :m].astype(np.intp), axis=-1)
    return out


def _dense(h: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """Batched ``h @ kernel`` for h (R, rows, in) and kernel (R, in, out).

    For the narrow layers of this book a broadcast product summed over ``in`` fuses into
    one vectorised loop, several times faster on a CPU than R tiny matrix products.
    """
    if kernel.shape[1] * kernel.shape[2] > _SMALL:
        return tf.matmul(h, kernel)
    return tf.reduce_sum(h[:, :, :, None] * kernel[:, None, :, :], axis=2)


def _dense_input_grad(dz: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """Batched ``dz @ kernel.T``: the gradient reaching a Dense layer's input."""
    if kernel.shape[1] * kernel.shape[2] > _SMALL:
        return tf.matmul(dz, kernel, transpose_b=True)
    return tf.reduce_sum(dz[:, :, None, :] * kernel[:, None, :, :], axis=3)


def _dense_kernel_grad(h: tf.Tensor, dz: tf.Tensor) -> tf.Tensor:
    """Batched ``h.T @ dz``: the gradient of a Dense layer's kernel."""
    if h.shape[2] * dz.shape[2] > _SMALL:
        return tf.matmul(h, dz, transpose_a=True)
    return tf.reduce_sum(h[:, :, :, None] * dz[:, :, None, :], axis=1)


def _forward(params: list[tf.Tensor], h: tf.Tensor, activations: tuple[str, ...]):
    """All replicas' forward pass on h (R, rows, inputs): the logits, with every layer's
    pre-activation z and input a kept for the backward pass."""
    inputs, pre_activations = [], []
    for i in range(len(activations)):
        inputs.append(h)
        z = _dense(h, params[2 * i]) + params[2 * i + 1][:, None, :]
        pre_activations.append(z)
        if i < len(activations) - 1:
            h = _HIDDEN_ACTIVATIONS[activations[i]][0](z)
    return z, inputs, pre_activations


def _logits(params: list[tf.Tensor], h: tf.Tensor, activations: tuple[str, ...]) -> tf.Tensor:
    """All replicas' logits for h (R, rows, inputs): shape (R, rows, classes)."""
    return _forward(params, h, activations)[0]


def _gradients(params, inputs, pre_activations, dz, activations) -> list[tf.Tensor]:
    """Backpropagation through the Dense layers, from dz = d loss / d logits."""
    grads = [None] * len(params)
    for i in reversed(range(len(activations))):
        grads[2 * i] = _dense_kernel_grad(inputs[i], dz)
        grads[2 * i + 1] = tf.reduce_sum(dz, axis=1)
        if i > 0:
            derivative = _HIDDEN_ACTIVATIONS[activations[i - 1]][1]
            dz = _dense_input_grad(dz, params[2 * i]) * derivative(pre_activations[i - 1], inputs[i])
    return grads


def _scores(logits: tf.Tensor, y: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per replica: summed cross-entropy and number correct over the rows where mask is 1."""
    cross_entropy = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits)
    correct = tf.cast(tf.equal(tf.argmax(logits, -1), tf.argmax(y, -1)), tf.float32)
    return tf.reduce_sum(cross_entropy * mask, -1), tf.reduce_sum(correct * mask, -1)


@functools.cache
def _trainer(activations: tuple[str, ...], epochs: int, n_batches: int, batch_size: int, validate: bool):
    """The compiled training loop for one structure and schedule (cached; one XLA program per shape)."""

    def train(params, frozen, x, y, shuffles, n, lr, x_val, y_val):
        n_replicas = shuffles.shape[1]  # static: XLA compiles one program per shape
        mask_all = tf.cast(tf.range(n_batches * batch_size) < n, tf.float32)
        val_rows = tf.broadcast_to(x_val[None], [n_replicas, *x_val.shape])
        val_y = tf.broadcast_to(y_val[None], [n_replicas, *y_val.shape])
        val_mask = tf.ones([n_replicas, y_val.shape[0]])
        n_float = tf.cast(n, tf.float32)

        def step(batch, order, params, loss_sum, correct):
            """One SGD step of every replica on its own batch."""
            start = batch * batch_size
            # Offsets vary, sizes stay static: dynamic sizes would make XLA very slow.
            rows = tf.slice(order, [0, start], [n_replicas, batch_size])
            xb, yb = tf.gather(x, rows), tf.gather(y, rows)
            mask = tf.slice(mask_all, [start], [batch_size])
            count = tf.reduce_sum(mask)
            logits, inputs, pre_activations = _forward(params, xb, activations)
            batch_loss, batch_correct = _scores(logits, yb, mask)
            # Gradient of each replica's mean batch loss with respect to its logits; padded
            # rows (mask 0) contribute nothing, and no replica's loss touches another's weights.
            dz = (tf.nn.softmax(logits) - yb) * (mask / count)[None, :, None]
            grads = _gradients(params, inputs, pre_activations, dz, activations)
            params = [tf.where(keep, p, p - g * lr) for p, g, keep in zip(params, grads, frozen, strict=True)]
            return batch + 1, order, params, loss_sum + batch_loss, correct + batch_correct

        def epoch_body(epoch, params, history):
            """One epoch: every batch in the epoch's shuffled order, then the epoch's metrics."""
            zeros = tf.zeros([n_replicas])
            order = tf.cast(shuffles[epoch], tf.int32)
            _, _, params, loss_sum, correct = tf.while_loop(
                lambda batch, *_: batch < n_batches, step, (tf.constant(0), order, params, zeros, zeros)
            )
            row = [loss_sum / n_float, correct / n_float]
            if validate:
                val_loss, val_correct = _scores(_logits(params, val_rows, activations), val_y, val_mask)
                row += [val_loss / y_val.shape[0], val_correct / y_val.shape[0]]
            else:
                row += [zeros, zeros]
            return epoch + 1, params, history.write(epoch, tf.stack(row))

        history = tf.TensorArray(tf.float32, size=epochs, element_shape=[4, n_replicas])
        _, params, history = tf.while_loop(
            lambda epoch, *_: epoch < epochs, epoch_body, (tf.constant(0), list(params), history)
        )
        return params, history.stack()

    return tf.function(train, jit_compile=True, autograph=False)


def _draw(
    initializer, shape: tuple[int, ...], n_replicas: int, seed: keras.random.SeedGenerator
) -> np.ndarray:
    """``n_replicas`` independent draws of a Keras initialiser, stacked: shape (R, *shape)."""
    fresh = fresh_initializer(keras.initializers.get(initializer), seed)
    return np.stack([np.asarray(fresh(tuple(shape))) for _ in range(n_replicas)]).astype("float32")


@dataclass
class Stack:
    """R MLPs of one structure as stacked arrays: what the engine trains.

    ``kernels[l]`` has shape (R, inputs, units) and ``biases[l]`` (R, units) for layer l;
    ``trainable[r, l]`` says whether replica r may change layer l; ``activations`` names each
    layer's activation (the last must be softmax).
    """

    kernels: list[np.ndarray]
    biases: list[np.ndarray]
    trainable: np.ndarray
    activations: tuple[str, ...]
    #: Each layer's kernel initialiser (Keras name or object); by default build_mlp's.
    initializers: tuple = ()

    def __post_init__(self) -> None:
        self.kernels = [np.asarray(k, dtype="float32") for k in self.kernels]
        self.biases = [np.asarray(b, dtype="float32") for b in self.biases]
        self.trainable = np.asarray(self.trainable, dtype=bool)
        self.activations = tuple(self.activations)
        n_layers = len(self.activations)
        if not (len(self.kernels) == len(self.biases) == n_layers >= 1):
            raise ValueError("a Stack needs one kernel, one bias and one activation per layer")
        n_replicas = self.kernels[0].shape[0]
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            width = self.kernels[i - 1].shape[2] if i else kernel.shape[1]
            if (
                kernel.ndim != 3
                or kernel.shape[:2] != (n_replicas, width)
                or bias.shape != (n_replicas, kernel.shape[2])
            ):
                raise ValueError(
                    f"layer {i}: kernel {kernel.shape} and bias {bias.shape} do not fit the stack"
                )
        if self.trainable.shape != (n_replicas, n_layers):
            raise ValueError(f"trainable must have shape (R, layers) = {(n_replicas, n_layers)}")
        for activation in self.activations[:-1]:
            if activation not in _HIDDEN_ACTIVATIONS:
                raise ValueError(
                    f"hidden activation {activation!r} is not one of {sorted(_HIDDEN_ACTIVATIONS)}"
                )
        if self.activations[-1] != "softmax":
            raise ValueError(f"the output layer must use softmax, got {self.activations[-1]!r}")
        if not self.initializers:
            self.initializers = ("he_uniform",) * (n_layers - 1) + ("glorot_uniform",)
        self.initializers = tuple(keras.initializers.get(i) for i in self.initializers)
        if len(self.initializers) != n_layers:
            raise ValueError(f"initializers must name one initialiser per layer ({n_layers})")

    @property
    def n_replicas(self) -> int:
        """How many models the stack holds."""
        return self.kernels[0].shape[0]

    @property
    def structure(self) -> _Structure:
        """Input width, layer widths and activations, shared by every replica."""
        return _Structure(self.kernels[0].shape[1], tuple(k.shape[2] for k in self.kernels), self.activations)

    @classmethod
    def from_models(cls, models: Sequence[keras.Sequential]) -> "Stack":
        """Stack the weights and trainable flags of Keras models of one structure."""
        structure = _shared_structure(models)
        layers = list(zip(*(model.layers for model in models), strict=True))
        return cls(
            kernels=[np.stack([layer.kernel.numpy() for layer in layer_i]) for layer_i in layers],
            biases=[np.stack([layer.bias.numpy() for layer in layer_i]) for layer_i in layers],
            trainable=[[model.trainable and layer.trainable for layer in model.layers] for model in models],
            activations=structure.activations,
            initializers=tuple(layer.kernel_initializer for layer in models[0].layers),
        )

    @classmethod
    def initialise(
        cls, n_replicas: int, hidden_sizes: Sequence[int] = (5, 5), *, n_features: int = 2, n_classes: int = 3
    ) -> "Stack":
        """New replicas of ``build_mlp(hidden_sizes)``, drawn with its layers' own initialisers."""
        n_replicas = check_positive_int("n_replicas", n_replicas)
        template = build_mlp(hidden_sizes, n_features=n_features, n_classes=n_classes)
        seed = seed_generator()
        kernels = [
            _draw(layer.kernel_initializer, tuple(layer.kernel.shape), n_replicas, seed)
            for layer in template.layers
        ]
        biases = [np.zeros((n_replicas, layer.units), "float32") for layer in template.layers]
        activations = tuple(layer.get_config()["activation"] for layer in template.layers)
        initializers = tuple(layer.kernel_initializer for layer in template.layers)
        return cls(kernels, biases, np.ones((n_replicas, len(kernels)), bool), activations, initializers)

    def reinitialise(self, layers: Sequence[int]) -> "Stack":
        """A copy whose layers at ``layers`` are drawn anew in every replica, with their own initialisers."""
        indices = check_indices("layers", layers, len(self.kernels))
        seed = seed_generator()
        kernels = [k.copy() for k in self.kernels]
        biases = [b.copy() for b in self.biases]
        for i in indices:
            kernels[i] = _draw(self.initializers[i], kernels[i].shape[1:], self.n_replicas, seed)
            biases[i] = np.zeros_like(biases[i])
        return Stack(kernels, biases, self.trainable.copy(), self.activations, self.initializers)

    def insert_layer(
        self, index: int, units: int, *, activation: str = "relu", initializer: str = "he_uniform"
    ) -> "Stack":
        """A copy with a new, randomly initialised layer before layer ``index``, trainable in every replica.

        If ``units`` differs from the width the next layer expects, that layer is drawn anew.
        """
        index = check_int("index", index, 0, len(self.kernels) - 1)
        units = check_positive_int("units", units)
        if activation not in _HIDDEN_ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_HIDDEN_ACTIVATIONS)}, got {activation!r}")
        seed = seed_generator()
        width = self.kernels[index].shape[1]
        kernels = [k.copy() for k in self.kernels]
        biases = [b.copy() for b in self.biases]
        initializers = list(self.initializers)
        if units != width:
            kernels[index] = _draw(
                initializers[index], (units, kernels[index].shape[2]), self.n_replicas, seed
            )
            biases[index] = np.zeros_like(biases[index])
        kernels.insert(index, _draw(initializer, (width, units), self.n_replicas, seed))
        biases.insert(index, np.zeros((self.n_replicas, units), "float32"))
        initializers.insert(index, initializer)
        trainable = np.insert(self.trainable, index, True, axis=1)
        activations = (*self.activations[:index], activation, *self.activations[index:])
        return Stack(kernels, biases, trainable, activations, tuple(initializers))

    def take(self, indices: Sequence[int]) -> "Stack":
        """A new stack of the replicas at ``indices`` (repeats allowed), weights copied."""
        indices = np.asarray(indices, dtype=int)
        if indices.ndim != 1 or len(indices) == 0 or indices.min() < 0 or indices.max() >= self.n_replicas:
            raise ValueError(f"indices must be a non-empty list of replicas in 0..{self.n_replicas - 1}")
        return Stack(
            [k[indices] for k in self.kernels],
            [b[indices] for b in self.biases],
            self.trainable[indices],
            self.activations,
            self.initializers,
        )

    def freeze_first(self, n_frozen: int) -> "Stack":
        """A copy with the first ``n_frozen`` hidden layers frozen in every replica, the rest trainable."""
        n_frozen = check_int("n_frozen", n_frozen, 0, len(self.kernels) - 1)
        trainable = np.ones_like(self.trainable)
        trainable[:, :n_frozen] = False
        return Stack(
            [k.copy() for k in self.kernels],
            [b.copy() for b in self.biases],
            trainable,
            self.activations,
            self.initializers,
        )

    @staticmethod
    def concat(stacks: Sequence["Stack"]) -> "Stack":
        """One stack holding the replicas of several stacks of one structure, in order."""
        if not stacks or any(s.structure != stacks[0].structure for s in stacks):
            raise ValueError("stacks must be a non-empty sequence of stacks of one structure")
        return Stack(
            [np.concatenate([s.kernels[i] for s in stacks]) for i in range(len(stacks[0].kernels))],
            [np.concatenate([s.biases[i] for s in stacks]) for i in range(len(stacks[0].biases))],
            np.concatenate([s.trainable for s in stacks]),
            stacks[0].activations,
            stacks[0].initializers,
        )

    def write_to(self, models: Sequence[keras.Sequential]) -> None:
        """Write the weights into the models' trainable layers (the stack's replica r into model r)."""
        if len(models) != self.n_replicas or _shared_structure(models) != self.structure:
            raise ValueError("models must match the stack: one model of the same structure per replica")
        for r, model in enumerate(models):
            for i, layer in enumerate(model.layers):
                if model.trainable and layer.trainable:
                    layer.kernel.assign(self.kernels[i][r])
                    layer.bias.assign(self.biases[i][r])

    def _tensors(self) -> tuple[list[tf.Tensor], list[tf.Tensor]]:
        """Interleaved kernels and biases, and for each a mask of the replicas where it is frozen."""
        params, frozen = [], []
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            keep = ~self.trainable[:, i]
            params += [tf.constant(kernel), tf.constant(bias)]
            frozen += [tf.constant(keep[:, None, None]), tf.constant(keep[:, None])]
        return params, frozen


def train_stack(
    stack: Stack,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 100,
    batch_size: int = 32,
    learning_rate: float = 0.01,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int | None = None,
    shuffles: np.ndarray | None = None,
    subsets: np.ndarray | None = None,
) -> tuple[Stack, pd.DataFrame]:
    """Train every replica of ``stack`` (see :func:`fit_replicas`); the trained stack and the history."""
    if not isinstance(stack, Stack):
        raise TypeError(f"stack must be a Stack, got {type(stack).__name__}")
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    learning_rate = check_positive_float("learning_rate", learning_rate)
    structure = stack.structure
    x, y = _check_data(x, y, structure.n_inputs, structure.units[-1], "")
    validate = validation_data is not None
    if validate:
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        x_val, y_val = _check_data(
            *validation_data, structure.n_inputs, structure.units[-1], "validation_data"
        )
    else:
        x_val, y_val = x[:1], y[:1]
    n_replicas = stack.n_replicas
    if subsets is not None:
        subsets = _check_subsets(subsets, n_replicas, len(x))
    n = len(x) if subsets is None else subsets.shape[1]
    n_batches = -(-n // batch_size)
    if shuffles is None:
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        seed = check_int("seed", seed, 0)
        shuffles = _padded_shuffles(epochs, n_replicas, n, n_batches * batch_size, seed)
    else:
        shuffles = _check_shuffles(shuffles, epochs, n_replicas, n, n_batches * batch_size)
    if subsets is not None:
        shuffles = _through_subsets(shuffles, subsets, len(x))

    params, frozen = stack._tensors()
    train = _trainer(structure.activations, epochs, n_batches, batch_size, validate)
    trained, history = train(
        params,
        frozen,
        tf.constant(x),
        tf.constant(y),
        tf.constant(shuffles),
        tf.constant(n, tf.int32),
        tf.constant(learning_rate, tf.float32),
        tf.constant(x_val),
        tf.constant(y_val),
    )
    arrays = [p.numpy() for p in trained]
    result = Stack(arrays[0::2], arrays[1::2], stack.trainable.copy(), stack.activations, stack.initializers)
    return result, _history_frame(history.numpy(), validate)


def fit_replicas(
    models: Sequence[keras.Sequential],
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 100,
    batch_size: int = 32,
    learning_rate: float = 0.01,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int | None = None,
    shuffles: np.ndarray | None = None,
    subsets: np.ndarray | None = None,
) -> pd.DataFrame:
    """Train each model as ``model.fit(x, y, epochs, batch_size, shuffle=True)`` would, all at once.

    Plain SGD at ``learning_rate`` on the categorical cross-entropy; every model has its own
    shuffle order (``shuffles[epoch, replica]``, or drawn from ``seed``; with neither, from
    NumPy's global generator, which ``keras.utils.set_random_seed`` seeds). With ``subsets``
    (shape (R, m)), model r trains on the m rows ``x[subsets[r]]`` only, and ``shuffles`` are
    then permutations of 0..m-1, positions within that subset. Frozen layers
    (``trainable=False``) keep their weights. The trained weights are written back into the
    models. Returns the history: one row per (replica, epoch) with ``loss`` and ``accuracy``,
    and ``val_loss`` and ``val_accuracy`` when ``validation_data`` is given.
    """
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    learning_rate = check_positive_float("learning_rate", learning_rate)
    stack = Stack.from_models(models)
    for i, model in enumerate(models):
        _check_compiled(model, i, learning_rate)
    trained, history = train_stack(
        stack, x, y, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        validation_data=validation_data, seed=seed, shuffles=shuffles, subsets=subsets,
    )  # fmt: skip
    trained.write_to(models)
    return history


def _history_frame(history: np.ndarray, validate: bool) -> pd.DataFrame:
    """The (epochs, 4, R) history as a tidy frame: one row per replica and epoch."""
    epochs, _, n_replicas = history.shape
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"][: 4 if validate else 2]
    frame = pd.DataFrame(
        {
            "replica": np.repeat(np.arange(n_replicas), epochs),
            "epoch": np.tile(np.arange(1, epochs + 1), n_replicas),
        }
    )
    for k, column in enumerate(columns):
        frame[column] = history[:, k, :].T.reshape(-1).astype(float)
    return frame


def evaluate_stack(
    stack: Stack, x: np.ndarray, y: np.ndarray, subsets: np.ndarray | None = None
) -> pd.DataFrame:
    """Loss and accuracy of each replica on ``(x, y)``, as ``model.evaluate`` gives them; one row each.

    With ``subsets`` (shape (R, m)), replica r is scored on the rows ``x[subsets[r]]`` only.
    """
    if not isinstance(stack, Stack):
        raise TypeError(f"stack must be a Stack, got {type(stack).__name__}")
    structure = stack.structure
    x, y = _check_data(x, y, structure.n_inputs, structure.units[-1], "")
    if subsets is not None:
        subsets = tf.constant(_check_subsets(subsets, stack.n_replicas, len(x)).astype(np.int32))
    params, _ = stack._tensors()
    loss_sum, correct = _evaluate(params, tf.constant(x), tf.constant(y), subsets, structure.activations)
    n = len(x) if subsets is None else subsets.shape[1]
    return pd.DataFrame(
        {
            "replica": np.arange(stack.n_replicas),
            "loss": loss_sum.numpy().astype(float) / n,
            "accuracy": correct.numpy().astype(float) / n,  # whole counts: the exact fraction
        }
    )


def predict_stack(stack: Stack, x: np.ndarray) -> np.ndarray:
    """Each replica's class probabilities for the rows of ``x``: shape (R, n, classes)."""
    if not isinstance(stack, Stack):
        raise TypeError(f"stack must be a Stack, got {type(stack).__name__}")
    structure = stack.structure
    x = np.asarray(x, dtype="float32")
    if x.ndim != 2 or x.shape[1] != structure.n_inputs or len(x) == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"x must be finite, of shape (n, {structure.n_inputs}) with n >= 1, got {x.shape}")
    params, _ = stack._tensors()
    rows = tf.broadcast_to(tf.constant(x)[None], [stack.n_replicas, *x.shape])
    return tf.nn.softmax(_logits(params, rows, structure.activations)).numpy()


def evaluate_replicas(models: Sequence[keras.Sequential], x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Loss and accuracy of each model on ``(x, y)``, as ``model.evaluate`` gives them; one row each."""
    return evaluate_stack(Stack.from_models(models), x, y)


# A single forward pass, run eagerly: tracing or compiling it would cost more than it saves, and
# a trace generalised over shapes would lose the static widths that _dense chooses its product by.
def _evaluate(params, x, y, subsets, activations):
    """Per replica: the summed cross-entropy and the number of rows classified correctly."""
    if subsets is None:
        n_replicas = params[0].shape[0]
        rows, ys = (
            tf.broadcast_to(x[None], [n_replicas, *x.shape]),
            tf.broadcast_to(y[None], [n_replicas, *y.shape]),
        )
    else:
        rows, ys = tf.gather(x, subsets), tf.gather(y, subsets)
    return _scores(_logits(params, rows, activations), ys, tf.ones(ys.shape[:2]))
