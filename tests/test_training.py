import keras
import numpy as np
import pandas as pd
import pytest

from helpers import training
from helpers.models import build_mlp, save_model
from helpers.training import default_cache_dir, fit, fit_in_order, history_frame, train_source_model


def compiled_mlp(seed=0):
    keras.utils.set_random_seed(seed)
    model = build_mlp()
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.01),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_history_frame_from_mapping():
    frame = history_frame({"loss": [0.9, 0.5], "accuracy": [0.4, 0.8]})
    expected = pd.DataFrame({"epoch": [1, 2], "loss": [0.9, 0.5], "accuracy": [0.4, 0.8]})
    pd.testing.assert_frame_equal(frame, expected)


def test_history_frame_bad_input():
    with pytest.raises(TypeError, match="history must be a Keras History or a mapping"):
        history_frame([1, 2])
    with pytest.raises(ValueError, match="history holds no metrics"):
        history_frame({})
    with pytest.raises(ValueError, match="different lengths"):
        history_frame({"loss": [1.0, 2.0], "accuracy": [1.0]})


def test_fit_returns_the_keras_history(small_problem):
    model = compiled_mlp()
    frame = fit(model, small_problem, num_epochs=3, batch_size=8)
    assert list(frame.columns) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert frame["epoch"].tolist() == [1, 2, 3]
    loss, accuracy = model.evaluate(small_problem.X_test, small_problem.y_test, verbose=0)
    assert frame["val_loss"].iloc[-1] == pytest.approx(loss, rel=1e-5)
    assert frame["val_accuracy"].iloc[-1] == pytest.approx(accuracy)


def test_fit_without_validation(small_problem):
    frame = fit(compiled_mlp(), small_problem, num_epochs=2, validate=False)
    assert list(frame.columns) == ["epoch", "accuracy", "loss"]


def test_fit_bad_arguments(small_problem):
    with pytest.raises(ValueError, match="model must be compiled"):
        fit(build_mlp(), small_problem)
    with pytest.raises(TypeError, match="model must be a Keras model"):
        fit("model", small_problem)
    with pytest.raises(TypeError, match="problem must be a Problem"):
        fit(compiled_mlp(), (small_problem.X_train, small_problem.y_train))
    with pytest.raises(ValueError, match=r"num_epochs must be in 1.., got 0"):
        fit(compiled_mlp(), small_problem, num_epochs=0)
    with pytest.raises(ValueError, match=r"batch_size must be in 1.., got -4"):
        fit(compiled_mlp(), small_problem, batch_size=-4)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("BLOBS_TRANSFER_CACHE", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("BLOBS_TRANSFER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "blobs-transfer"


def weights_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


def test_train_source_model_caches_and_reloads(small_problem, tmp_path, monkeypatch):
    first = train_source_model(small_problem, seed=4, num_epochs=2, cache_dir=tmp_path)
    cached = list(tmp_path.glob("source-*.keras"))
    assert len(cached) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("a cached model must not be trained again")

    monkeypatch.setattr(training, "fit", no_training)
    again = train_source_model(small_problem, seed=4, num_epochs=2, cache_dir=tmp_path)
    assert weights_equal(first, again)
    assert again.compiled


def test_train_source_model_is_deterministic_and_keyed(small_problem, tmp_path):
    a = train_source_model(small_problem, seed=4, num_epochs=2, cache_dir=tmp_path / "a")
    b = train_source_model(small_problem, seed=4, num_epochs=2, cache_dir=tmp_path / "b")
    assert weights_equal(a, b)
    c = train_source_model(small_problem, seed=5, num_epochs=2, cache_dir=tmp_path / "a")
    assert not weights_equal(a, c)
    assert len(list((tmp_path / "a").glob("source-*.keras"))) == 2


def test_train_source_model_replaces_a_damaged_cache(small_problem, tmp_path):
    good = train_source_model(small_problem, seed=4, num_epochs=2, cache_dir=tmp_path)
    (path,) = tmp_path.glob("source-*.keras")
    path.write_bytes(b"damaged")
    again = train_source_model(small_problem, seed=4, num_epochs=2, cache_dir=tmp_path)
    assert weights_equal(good, again)
    assert path.read_bytes() != b"damaged"


def test_train_source_model_with_unwritable_cache(small_problem, tmp_path, monkeypatch):
    def refuse(model, path):
        raise PermissionError("read-only")

    monkeypatch.setattr(training, "save_model", refuse)
    model = train_source_model(small_problem, seed=4, num_epochs=1, cache_dir=tmp_path)
    assert model.compiled and not list(tmp_path.iterdir())


def test_train_source_model_uses_the_cache_dir_setting(small_problem, tmp_path, monkeypatch):
    monkeypatch.setenv("BLOBS_TRANSFER_CACHE", str(tmp_path))
    train_source_model(small_problem, seed=4, num_epochs=1)
    assert len(list(tmp_path.glob("source-*.keras"))) == 1


def test_train_source_model_bad_arguments(small_problem, tmp_path):
    with pytest.raises(TypeError, match="problem must be a Problem"):
        train_source_model("p1", seed=1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        train_source_model(small_problem, seed="1")
    with pytest.raises(ValueError, match=r"num_epochs must be in 1.., got 0"):
        train_source_model(small_problem, seed=1, num_epochs=0)
    with pytest.raises(ValueError, match=r"lr must be a finite number above 0, got -0.1"):
        train_source_model(small_problem, seed=1, lr=-0.1)
    with pytest.raises(ValueError, match=r"hidden_sizes\[0\] must be in 1\.\., got 0"):
        train_source_model(small_problem, seed=1, hidden_sizes=(0,), cache_dir=tmp_path)


def test_save_model_is_what_the_cache_uses(small_problem, tmp_path):
    model = train_source_model(small_problem, seed=4, num_epochs=1, cache_dir=tmp_path)
    (path,) = tmp_path.glob("source-*.keras")
    save_model(model, path)  # overwriting the cache entry keeps it loadable
    assert weights_equal(model, train_source_model(small_problem, seed=4, num_epochs=1, cache_dir=tmp_path))


def test_fit_in_order_equals_one_fit_per_epoch(small_problem):
    x, y = small_problem.X_train, small_problem.y_train
    orders = np.stack([np.random.default_rng(e).permutation(len(x)) for e in range(3)])
    a, b = compiled_mlp(1), compiled_mlp(1)
    frame = fit_in_order(
        a, x, y, orders, batch_size=16, validation_data=(small_problem.X_test, small_problem.y_test)
    )
    losses = []
    for order in orders:
        history = b.fit(x[order], y[order], epochs=1, batch_size=16, shuffle=False, verbose=0)
        losses.append(history.history["loss"][0])
    np.testing.assert_allclose(frame["loss"], losses, rtol=1e-6)
    assert weights_equal(a, b)
    assert list(frame.columns) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]


def test_fit_in_order_bad_input(small_problem):
    x, y = small_problem.X_train, small_problem.y_train
    with pytest.raises(ValueError, match="model must be a compiled Keras model"):
        fit_in_order(build_mlp(), x, y, np.zeros((1, len(x)), int))
    with pytest.raises(ValueError, match=r"orders must have shape \(epochs, 40\)"):
        fit_in_order(compiled_mlp(), x, y, np.zeros((2, 5), int))
