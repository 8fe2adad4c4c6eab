import logging

import keras
import numpy as np
import pandas as pd
import pytest

from helpers.models import build_mlp, freeze_first
from helpers.problems import make_problem
from helpers.replicas import (
    Stack,
    draw_shuffles,
    evaluate_replicas,
    evaluate_stack,
    fit_replicas,
    predict_stack,
    train_stack,
)

METRICS = ["loss", "accuracy", "val_loss", "val_accuracy"]


@pytest.fixture(scope="module")
def data():
    p = make_problem(2, n_samples=300, n_train=100)  # 100 rows: three full batches of 32 and one of 4
    return p.X_train, p.y_train, p.X_test, p.y_test


def models_with_frozen(counts, hidden_sizes=(5, 5), seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return [freeze_first(build_mlp(hidden_sizes, **kwargs), n) for n in counts]


def weights(models):
    return [model.get_weights() for model in models]


def assert_untouched(before, models):
    """The models' weights are bit for bit what they were."""
    for saved, model in zip(before, models, strict=True):
        for a, b in zip(saved, model.get_weights(), strict=True):
            assert np.array_equal(a, b)


def keras_reference(model, x, y, shuffles, batch_size, lr, validation_data):
    """The same model trained by Keras fit, one epoch at a time on pre-shuffled data."""
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=lr),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    rows = []
    for order in shuffles:
        history = model.fit(
            x[order],
            y[order],
            epochs=1,
            batch_size=batch_size,
            shuffle=False,
            validation_data=validation_data,
            verbose=0,
        )
        rows.append([history.history[m][0] for m in METRICS])
    return np.array(rows)


@pytest.mark.parametrize(
    ("hidden_sizes", "frozen", "batch_size"),
    [((5, 5), [0, 1, 2, 0, 1], 32), ((20, 16, 3), [3, 0, 2], 24), ((4,), [1, 0], 128)],
)
def test_equals_keras_fit(data, hidden_sizes, frozen, batch_size):
    x, y, x_val, y_val = data
    epochs, lr = 4, 0.05
    models = models_with_frozen(frozen, hidden_sizes)
    initial = weights(models)
    shuffles = draw_shuffles(epochs, len(models), len(x), seed=7)
    history = fit_replicas(
        models,
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=lr,
        validation_data=(x_val, y_val),
        shuffles=shuffles,
    )

    for r, n_frozen in enumerate(frozen):
        reference = freeze_first(build_mlp(hidden_sizes), n_frozen)
        reference.set_weights(initial[r])
        expected = keras_reference(reference, x, y, shuffles[:, r], batch_size, lr, (x_val, y_val))
        got = history.loc[history["replica"] == r, METRICS].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
        for trained, keras_trained in zip(models[r].get_weights(), reference.get_weights(), strict=True):
            np.testing.assert_allclose(trained, keras_trained, rtol=0, atol=1e-4)
        for layer in range(n_frozen):
            for k in (2 * layer, 2 * layer + 1):
                assert np.array_equal(models[r].get_weights()[k], initial[r][k]), "frozen weights moved"
        assert not np.array_equal(models[r].get_weights()[-1], initial[r][-1]), "output layer did not train"


def test_other_activations_equal_keras_fit(data):
    x, y, x_val, y_val = data
    keras.utils.set_random_seed(3)
    layers = [
        keras.Input((2,)),
        keras.layers.Dense(6, activation="tanh"),
        keras.layers.Dense(4, activation="sigmoid"),
        keras.layers.Dense(5, activation="linear"),
        keras.layers.Dense(3, activation="softmax"),
    ]
    model = keras.Sequential(layers)
    initial = model.get_weights()
    shuffles = draw_shuffles(3, 1, len(x), seed=1)
    history = fit_replicas(
        [model], x, y, epochs=3, learning_rate=0.1, validation_data=(x_val, y_val), shuffles=shuffles
    )
    reference = keras.models.clone_model(model)
    reference.set_weights(initial)
    expected = keras_reference(reference, x, y, shuffles[:, 0], 32, 0.1, (x_val, y_val))
    np.testing.assert_allclose(history[METRICS].to_numpy(), expected, rtol=0, atol=1e-4)
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)


def test_a_frozen_model_does_not_move(data):
    x, y, *_ = data
    models = models_with_frozen([0, 0])
    models[1].trainable = False
    before = weights(models)
    fit_replicas(models, x, y, epochs=2, seed=0)
    for a, b in zip(before[1], models[1].get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(before[0][0], models[0].get_weights()[0])


def test_a_replica_does_not_depend_on_its_neighbours(data):
    x, y, x_val, y_val = data
    alone, crowd = models_with_frozen([1], seed=5), models_with_frozen([0, 1, 2, 0, 1, 0, 2], seed=9)
    crowd[3].set_weights(alone[0].get_weights())
    freeze_first(crowd[3], 1)
    shuffles = draw_shuffles(5, 7, len(x), seed=2)
    history_crowd = fit_replicas(crowd, x, y, epochs=5, validation_data=(x_val, y_val), shuffles=shuffles)
    history_alone = fit_replicas(
        alone, x, y, epochs=5, validation_data=(x_val, y_val), shuffles=shuffles[:, 3:4]
    )
    got = history_crowd.loc[history_crowd["replica"] == 3, METRICS].to_numpy()
    np.testing.assert_allclose(got, history_alone[METRICS].to_numpy(), rtol=0, atol=1e-6)
    for a, b in zip(crowd[3].get_weights(), alone[0].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_history_frame(data):
    x, y, x_val, y_val = data
    history = fit_replicas(models_with_frozen([0, 0, 0]), x, y, epochs=3, seed=1)
    assert list(history.columns) == ["replica", "epoch", "loss", "accuracy"]
    assert history["replica"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert history["epoch"].tolist() == [1, 2, 3] * 3
    assert history["accuracy"].between(0, 1).all() and (history["loss"] > 0).all()
    with_val = fit_replicas(models_with_frozen([0]), x, y, epochs=2, seed=1, validation_data=(x_val, y_val))
    assert list(with_val.columns) == ["replica", "epoch", *METRICS]


def test_seed_reproduces_and_differs(data):
    x, y, *_ = data
    runs = []
    for seed in (4, 4, 5):
        models = models_with_frozen([0, 1])
        runs.append(fit_replicas(models, x, y, epochs=2, seed=seed))
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert not runs[0].equals(runs[2])


def test_seed_means_draw_shuffles(data):
    x, y, *_ = data
    a, b = models_with_frozen([0, 0]), models_with_frozen([0, 0])
    fit_replicas(a, x, y, epochs=2, seed=11)
    fit_replicas(b, x, y, epochs=2, shuffles=draw_shuffles(2, 2, len(x), seed=11))
    for wa, wb in zip(weights(a), weights(b), strict=True):
        for u, v in zip(wa, wb, strict=True):
            assert np.array_equal(u, v)


def test_without_seed_the_global_numpy_generator_decides(data):
    x, y, *_ = data
    results = []
    for _ in range(2):
        keras.utils.set_random_seed(21)
        models = models_with_frozen([0], seed=21)
        keras.utils.set_random_seed(21)
        results.append(fit_replicas(models, x, y, epochs=2))
    pd.testing.assert_frame_equal(*results)


def test_draw_shuffles_are_independent_permutations():
    shuffles = draw_shuffles(3, 4, 10, seed=0)
    assert shuffles.shape == (3, 4, 10)
    assert (np.sort(shuffles, axis=-1) == np.arange(10)).all()
    assert len({tuple(row) for row in shuffles.reshape(12, 10)}) == 12
    with pytest.raises(ValueError, match=r"epochs must be in 1\.\., got 0"):
        draw_shuffles(0, 1, 10)


def test_compiled_models_are_accepted(data):
    x, y, *_ = data
    models = models_with_frozen([0])
    models[0].compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.01), loss=keras.losses.CategoricalCrossentropy()
    )
    fit_replicas(models, x, y, epochs=1, seed=0)


def test_evaluate_replicas_bad_input(data):
    x, y, *_ = data
    with pytest.raises(ValueError, match=r"models\[1\] differs in structure"):
        evaluate_replicas([build_mlp(), build_mlp((4,))], x, y)
    with pytest.raises(ValueError, match="x and y differ in length"):
        evaluate_replicas([build_mlp()], x[:3], y)


def test_evaluate_replicas_equals_keras_evaluate(data):
    x, y, x_val, y_val = data
    models = models_with_frozen([0, 0, 0], seed=2)
    fit_replicas(models, x, y, epochs=3, seed=0)
    frame = evaluate_replicas(models, x_val, y_val)
    assert list(frame.columns) == ["replica", "loss", "accuracy"]
    for r, model in enumerate(models):
        model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
        loss, accuracy = model.evaluate(x_val, y_val, verbose=0)
        assert frame.loc[r, "loss"] == pytest.approx(loss, abs=1e-5)
        assert frame.loc[r, "accuracy"] == pytest.approx(accuracy, abs=1e-6)


def sgd(lr=0.01, **kwargs):
    return keras.optimizers.SGD(learning_rate=lr, **kwargs)


def compiled(optimizer=None, loss="categorical_crossentropy"):
    model = build_mlp()
    model.compile(optimizer=optimizer or sgd(), loss=loss)
    return model


BAD_MODELS = {
    "different structures": (
        lambda: [build_mlp(), build_mlp((5, 4))],
        r"models\[1\] differs in structure from models\[0\]: "
        r"2 inputs -> 5-4-3 \(relu, relu, softmax\) against 2 inputs -> 5-5-3",
    ),
    "a layer that is not Dense": (
        lambda: [
            build_mlp(),
            keras.Sequential(
                [
                    keras.Input((2,)),
                    keras.layers.Dense(5),
                    keras.layers.Dropout(0.1),
                    keras.layers.Dense(3, activation="softmax"),
                ]
            ),
        ],
        r"models\[1\] has layer .* of type Dropout; only Dense",
    ),
    "a functional model": (
        lambda: [
            keras.Model(*(lambda i: (i, keras.layers.Dense(3, activation="softmax")(i)))(keras.Input((2,))))
        ],
        r"models\[0\] must be a keras.Sequential model, got Functional",
    ),
    "not a model": (lambda: [build_mlp(), "model"], r"models\[1\] must be a keras.Sequential"),
    "an unbuilt model": (
        lambda: [keras.Sequential([keras.layers.Dense(3, activation="softmax")])],
        "must be built",
    ),
    "no softmax output": (
        lambda: [keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="sigmoid")])],
        "output layer must use softmax",
    ),
    "an unsupported hidden activation": (
        lambda: [
            keras.Sequential(
                [
                    keras.Input((2,)),
                    keras.layers.Dense(4, activation="gelu"),
                    keras.layers.Dense(3, activation="softmax"),
                ]
            )
        ],
        "hidden activation 'gelu' is not one of",
    ),
    "a regularised layer": (
        lambda: [
            keras.Sequential(
                [keras.Input((2,)), keras.layers.Dense(3, activation="softmax", kernel_regularizer="l2")]
            )
        ],
        "kernel_regularizer",
    ),
    "Adam": (lambda: [compiled(keras.optimizers.Adam())], "compiled with Adam; only plain SGD"),
    "SGD with momentum": (
        lambda: [compiled(sgd(momentum=0.9))],
        "SGD options {'momentum': 0.9}; only plain SGD",
    ),
    "another learning rate": (lambda: [compiled(sgd(0.1))], "learning rate 0.1 but learning_rate=0.01"),
    "a learning-rate schedule": (
        lambda: [compiled(sgd(keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)))],
        "learning-rate schedule",
    ),
    "a float16 layer": (
        lambda: [
            keras.Sequential(
                [keras.Input((2,)), keras.layers.Dense(3, activation="softmax", dtype="float16")]
            )
        ],
        "dtype policy must be float32",
    ),
    "mean squared error": (lambda: [compiled(loss="mse")], "loss 'mse'; only categorical cross-entropy"),
    "cross-entropy on logits": (
        lambda: [compiled(loss=keras.losses.CategoricalCrossentropy(from_logits=True))],
        "categorical cross-entropy on probabilities",
    ),
}


@pytest.mark.parametrize("case", BAD_MODELS)
def test_bad_models(data, case):
    make, message = BAD_MODELS[case]
    x, y, *_ = data
    models = make()
    usable = [m for m in models if isinstance(m, keras.Model) and m.built]
    before = weights(usable)
    with pytest.raises(ValueError, match=message):
        fit_replicas(models, x, y, epochs=1, seed=0)
    assert_untouched(before, usable)


def test_empty_or_single_model_is_refused(data):
    x, y, *_ = data
    for models in ([], build_mlp(), None):
        with pytest.raises(ValueError, match=r"non-empty list of keras\.Sequential"):
            fit_replicas(models, x, y)
        with pytest.raises(ValueError, match=r"non-empty list of keras\.Sequential"):
            evaluate_replicas(models, x, y)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda x, y: (x[:-1], y), "x and y differ in length: 99 and 100"),
        (lambda x, y: (x[:, :1], y), r"x must have shape \(n, 2\)"),
        (lambda x, y: (x, y[:, :2]), r"y must be one-hot of shape \(n, 3\)"),
        (lambda x, y: (x, y * 2), "y must be one-hot: zeros and a single 1 per row"),
        (lambda x, y: (x, np.full_like(y, 1 / 3)), "y must be one-hot"),
        (lambda x, y: (x, y.argmax(axis=1)), r"y must be one-hot of shape \(n, 3\), got \(100,\)"),
        (lambda x, y: (np.where(np.arange(len(x))[:, None] == 0, np.nan, x), y), "not finite"),
        (lambda x, y: (x[:0], y[:0]), "x holds no rows"),
    ],
)
def test_bad_data(data, change, message):
    x, y, *_ = data
    models = models_with_frozen([0])
    before = weights(models)
    with pytest.raises(ValueError, match=message):
        fit_replicas(models, *change(x, y), epochs=1, seed=0)
    assert_untouched(before, models)


def test_bad_validation_data(data):
    x, y, x_val, y_val = data
    models = models_with_frozen([0])
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        fit_replicas(models, x, y, validation_data=x_val)
    with pytest.raises(ValueError, match=r"validation_data\[0\] and validation_data\[1\] differ in length"):
        fit_replicas(models, x, y, validation_data=(x_val, y_val[:5]))


@pytest.mark.parametrize(
    ("shuffles", "message"),
    [
        (
            lambda: draw_shuffles(2, 2, 100, seed=0),
            r"shape \(epochs, R, n\) = \(3, 2, 100\), got \(2, 2, 100\)",
        ),
        (lambda: draw_shuffles(3, 1, 100, seed=0), r"got \(3, 1, 100\)"),
        (lambda: draw_shuffles(3, 2, 100, seed=0).astype(float), "must hold integers"),
        (lambda: np.zeros((3, 2, 100), dtype=int), "must be a permutation of 0..99"),
        (lambda: draw_shuffles(3, 2, 100, seed=0) + 1, "must be a permutation"),
    ],
)
def test_bad_shuffles(data, shuffles, message):
    x, y, *_ = data
    models = models_with_frozen([0, 1])
    before = weights(models)
    with pytest.raises(ValueError, match=message):
        fit_replicas(models, x, y, epochs=3, shuffles=shuffles())
    assert_untouched(before, models)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"epochs": 0}, ValueError, r"epochs must be in 1\.\., got 0"),
        ({"batch_size": 0}, ValueError, r"batch_size must be in 1\.\., got 0"),
        ({"epochs": 2.5}, TypeError, "epochs must be an integer"),
        ({"learning_rate": 0}, ValueError, "learning_rate must be a finite number above 0"),
        ({"seed": -1}, ValueError, r"seed must be in 0\.\., got -1"),
    ],
)
def test_bad_settings(data, kwargs, error, message):
    x, y, *_ = data
    with pytest.raises(error, match=message):
        fit_replicas(models_with_frozen([0]), x, y, **kwargs)


def test_many_shapes_log_no_retracing_warning(data, caplog):
    x, y, *_ = data
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for n_models in range(1, 8):
            fit_replicas(models_with_frozen([0] * n_models), x, y, epochs=1, seed=0)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_stack_round_trip_with_models():
    models = models_with_frozen([0, 2, 1])
    stack = Stack.from_models(models)
    assert stack.n_replicas == 3 and [k.shape for k in stack.kernels] == [(3, 2, 5), (3, 5, 5), (3, 5, 3)]
    assert stack.trainable.tolist() == [[True] * 3, [False, False, True], [False, True, True]]
    assert str(stack.structure) == "2 inputs -> 5-5-3 (relu, relu, softmax)"
    fresh = models_with_frozen([0, 0, 0], seed=8)
    stack.write_to(fresh)
    for a, b in zip(weights(models), weights(fresh), strict=True):
        for u, v in zip(a, b, strict=True):
            assert np.array_equal(u, v)


def test_train_stack_equals_fit_replicas(data):
    x, y, x_val, y_val = data
    models = models_with_frozen([0, 1, 2])
    stack = Stack.from_models(models)
    trained, history = train_stack(stack, x, y, epochs=3, seed=5, validation_data=(x_val, y_val))
    expected = fit_replicas(models, x, y, epochs=3, seed=5, validation_data=(x_val, y_val))
    pd.testing.assert_frame_equal(history, expected)
    assert_untouched(weights(models), [_as_models(trained)[r] for r in range(3)])
    assert np.array_equal(trained.kernels[0][2], stack.kernels[0][2]), "frozen layer moved"
    scores = evaluate_stack(trained, x_val, y_val)
    pd.testing.assert_frame_equal(scores, evaluate_replicas(models, x_val, y_val))


def _as_models(stack):
    models = models_with_frozen([0] * stack.n_replicas, seed=99)
    stack.write_to(models)
    return models


def test_initialise_uses_the_layers_initialisers():
    keras.utils.set_random_seed(0)
    stack = Stack.initialise(400)
    assert stack.trainable.all() and stack.activations == ("relu", "relu", "softmax")
    he_limit, glorot_limit = np.sqrt(6 / 2), np.sqrt(6 / (5 + 3))
    assert np.abs(stack.kernels[0]).max() <= he_limit and np.abs(stack.kernels[0]).max() > 0.95 * he_limit
    assert (
        np.abs(stack.kernels[2]).max() <= glorot_limit
        and np.abs(stack.kernels[2]).max() > 0.95 * glorot_limit
    )
    assert all((b == 0).all() for b in stack.biases)
    assert not np.array_equal(stack.kernels[0][0], stack.kernels[0][1])
    keras.utils.set_random_seed(0)
    assert np.array_equal(Stack.initialise(400).kernels[1], stack.kernels[1])


def test_take_freeze_and_concat():
    keras.utils.set_random_seed(1)
    a, b = Stack.initialise(2), Stack.initialise(3)
    taken = a.take([1, 1, 0])
    assert taken.n_replicas == 3 and np.array_equal(taken.kernels[0][0], a.kernels[0][1])
    frozen = taken.freeze_first(1)
    assert frozen.trainable.tolist() == [[False, True, True]] * 3
    assert taken.trainable.all(), "freeze_first returns a copy"
    both = Stack.concat([frozen, b])
    assert both.n_replicas == 6 and both.trainable[:3, 0].sum() == 0 and both.trainable[3:].all()
    with pytest.raises(ValueError, match=r"indices must be a non-empty list of replicas in 0\.\.1"):
        a.take([2])
    with pytest.raises(ValueError, match=r"n_frozen must be in 0\.\.2, got 3"):
        a.freeze_first(3)
    with pytest.raises(ValueError, match="one structure"):
        Stack.concat([a, Stack.initialise(1, (4,))])


def test_bad_stacks():
    keras.utils.set_random_seed(1)
    good = Stack.initialise(2)
    with pytest.raises(ValueError, match="one kernel, one bias and one activation per layer"):
        Stack(good.kernels[:2], good.biases, good.trainable, good.activations)
    with pytest.raises(ValueError, match="layer 1: kernel"):
        Stack(
            [good.kernels[0], good.kernels[0], good.kernels[2]], good.biases, good.trainable, good.activations
        )
    with pytest.raises(ValueError, match=r"trainable must have shape \(R, layers\) = \(2, 3\)"):
        Stack(good.kernels, good.biases, good.trainable[:, :2], good.activations)
    with pytest.raises(ValueError, match="output layer must use softmax"):
        Stack(good.kernels, good.biases, good.trainable, ("relu", "relu", "relu"))
    with pytest.raises(ValueError, match="hidden activation 'elu'"):
        Stack(good.kernels, good.biases, good.trainable, ("elu", "relu", "softmax"))
    with pytest.raises(ValueError, match="models must match the stack"):
        good.write_to(models_with_frozen([0]))
    with pytest.raises(TypeError, match="stack must be a Stack"):
        train_stack("stack", np.zeros((2, 2)), np.eye(3)[:2])
    with pytest.raises(TypeError, match="stack must be a Stack"):
        evaluate_stack([], np.zeros((2, 2)), np.eye(3)[:2])


def test_stack_reinitialise_and_insert_layer(data):
    x, y, *_ = data
    keras.utils.set_random_seed(3)
    stack = Stack.initialise(4).freeze_first(2)
    redrawn = stack.reinitialise([1, 2])
    assert np.array_equal(redrawn.kernels[0], stack.kernels[0])
    assert not np.array_equal(redrawn.kernels[1], stack.kernels[1])
    assert not np.array_equal(redrawn.kernels[1][0], redrawn.kernels[1][1]), "replicas must differ"
    assert (redrawn.trainable == stack.trainable).all()

    grown = stack.insert_layer(2, 5)
    assert [k.shape for k in grown.kernels] == [(4, 2, 5), (4, 5, 5), (4, 5, 5), (4, 5, 3)]
    assert grown.activations == ("relu", "relu", "relu", "softmax")
    assert grown.trainable.tolist() == [[False, False, True, True]] * 4
    assert np.array_equal(grown.kernels[3], stack.kernels[2])
    trained, _ = train_stack(grown, x, y, epochs=2, seed=0)
    assert np.array_equal(trained.kernels[0], grown.kernels[0]) and not np.array_equal(
        trained.kernels[2], grown.kernels[2]
    )

    wider = stack.insert_layer(0, 7, activation="tanh")
    assert [k.shape for k in wider.kernels][:2] == [(4, 2, 7), (4, 7, 5)]
    assert np.abs(wider.kernels[1]).max() <= np.sqrt(
        6 / 7
    )  # the next layer redrawn for 7 inputs (he_uniform)


def test_stack_insert_and_reinitialise_bad_input():
    keras.utils.set_random_seed(3)
    stack = Stack.initialise(2)
    with pytest.raises(ValueError, match=r"index must be in 0\.\.2, got 5"):
        stack.insert_layer(5, 5)
    with pytest.raises(ValueError, match=r"units must be in 1\.\., got 0"):
        stack.insert_layer(1, 0)
    with pytest.raises(ValueError, match="activation must be one of"):
        stack.insert_layer(1, 5, activation="softmax")
    with pytest.raises(ValueError, match=r"layers\[0\] must be in 0\.\.2, got 3"):
        stack.reinitialise([3])
    with pytest.raises(ValueError, match="one initialiser per layer"):
        Stack(stack.kernels, stack.biases, stack.trainable, stack.activations, ("he_uniform",))


def test_subsets_train_each_replica_on_its_own_rows(data):
    x, y, x_val, y_val = data
    stack = Stack.initialise(3, (5, 5)).freeze_first(1)
    rng = np.random.default_rng(0)
    subsets = np.stack([rng.choice(len(x), size=40, replace=False) for _ in range(3)])
    shuffles = draw_shuffles(4, 3, 40, seed=1)
    trained, history = train_stack(
        stack, x, y, epochs=4, shuffles=shuffles, subsets=subsets, validation_data=(x_val, y_val)
    )
    for r in range(3):
        alone, alone_history = train_stack(
            stack.take([r]), x[subsets[r]], y[subsets[r]], epochs=4, shuffles=shuffles[:, [r]],
            validation_data=(x_val, y_val),
        )  # fmt: skip
        for a, b in zip(trained.kernels + trained.biases, alone.kernels + alone.biases, strict=True):
            np.testing.assert_allclose(a[r], b[0], atol=1e-6)
        mine = history[history["replica"] == r].drop(columns="replica").reset_index(drop=True)
        np.testing.assert_allclose(
            mine.to_numpy(), alone_history.drop(columns="replica").to_numpy(), atol=1e-6
        )
    scores = evaluate_stack(trained, x, y, subsets=subsets)
    for r in range(3):
        alone = evaluate_stack(trained.take([r]), x[subsets[r]], y[subsets[r]])
        assert scores.loc[r, "accuracy"] == alone.loc[0, "accuracy"]
        assert scores.loc[r, "loss"] == pytest.approx(alone.loc[0, "loss"], rel=1e-6)


def test_fit_replicas_with_subsets_equals_train_stack(data):
    x, y, _, _ = data
    models = models_with_frozen([0, 1])
    stack = Stack.from_models(models)
    subsets = np.array([np.arange(10), np.arange(50, 70)[::2]])
    fit_replicas(models, x, y, epochs=3, seed=5, subsets=subsets)
    trained, _ = train_stack(stack, x, y, epochs=3, seed=5, subsets=subsets)
    for model, r in zip(models, range(2), strict=True):
        np.testing.assert_allclose(model.layers[0].kernel.numpy(), trained.kernels[0][r], atol=1e-6)


@pytest.mark.parametrize(
    ("subsets", "message"),
    [
        (np.arange(10), "shape"),
        (np.zeros((3, 0), int), "shape"),
        (np.zeros((2, 5), int), "shape"),
        (np.ones((3, 5)) * 0.5, "integers"),
        (np.full((3, 5), 100), "rows of x"),
        (np.full((3, 5), -1), "rows of x"),
        (np.zeros((3, 5), int), "distinct"),
    ],
)
def test_bad_subsets(data, subsets, message):
    x, y, _, _ = data
    stack = Stack.initialise(3)
    with pytest.raises(ValueError, match=message):
        train_stack(stack, x, y, epochs=1, subsets=subsets)
    with pytest.raises(ValueError, match=message):
        evaluate_stack(stack, x, y, subsets=subsets)


def test_predict_stack_gives_each_replicas_probabilities(data):
    x, y, _, _ = data
    models = models_with_frozen([0, 0])
    probabilities = predict_stack(Stack.from_models(models), x)
    assert probabilities.shape == (2, len(x), 3)
    for model, p in zip(models, probabilities, strict=True):
        np.testing.assert_allclose(p, model.predict(x, verbose=0), atol=1e-6)
    accuracy = (probabilities.argmax(-1) == y.argmax(1)).mean(1)
    np.testing.assert_allclose(accuracy, evaluate_replicas(models, x, y)["accuracy"], atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        predict_stack(Stack.from_models(models), x[:, :1])
    with pytest.raises(TypeError, match="Stack"):
        predict_stack(models, x)
