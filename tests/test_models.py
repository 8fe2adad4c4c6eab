import zipfile

import keras
import numpy as np
import pytest

from helpers.models import (
    build_mlp,
    copy_model,
    freeze_first,
    hidden_layers,
    insert_layer,
    load_model,
    reinitialise,
    save_model,
)


def compiled(model):
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy")
    return model


def test_build_mlp_is_the_tutorial_model():
    model = build_mlp()
    assert [layer.name for layer in model.layers] == ["hidden_1", "hidden_2", "output"]
    assert [layer.units for layer in model.layers] == [5, 5, 3]
    assert [layer.get_config()["activation"] for layer in model.layers] == ["relu", "relu", "softmax"]
    inits = [layer.get_config()["kernel_initializer"]["class_name"] for layer in model.layers]
    assert inits == ["HeUniform", "HeUniform", "GlorotUniform"]
    assert model.input_shape == (None, 2)
    assert model.count_params() == (2 * 5 + 5) + (5 * 5 + 5) + (5 * 3 + 3)


def test_build_mlp_configurable():
    model = build_mlp((8, 4, 2), n_features=3, n_classes=4)
    assert [layer.units for layer in model.layers] == [8, 4, 2, 4]
    assert model.input_shape == (None, 3)
    assert len(hidden_layers(model)) == 3


@pytest.mark.parametrize(
    ("sizes", "error", "words"),
    [
        (5, TypeError, "hidden_sizes must be a sequence"),
        ("55", TypeError, "hidden_sizes must be a sequence"),
        ((), ValueError, "at least one layer"),
        ((5, 0), ValueError, r"hidden_sizes\[1\] must be in 1\.\., got 0"),
        ((5, 2.5), TypeError, r"hidden_sizes\[1\] must be an integer"),
    ],
)
def test_build_mlp_bad_sizes(sizes, error, words):
    with pytest.raises(error, match=words):
        build_mlp(sizes)


def test_build_mlp_bad_widths():
    with pytest.raises(ValueError, match=r"n_features must be in 1.., got 0"):
        build_mlp(n_features=0)
    with pytest.raises(ValueError, match=r"n_classes must be in 2.., got 1"):
        build_mlp(n_classes=1)


@pytest.mark.parametrize("n_frozen", [0, 1, 2])
def test_freeze_first(n_frozen):
    model = freeze_first(build_mlp(), n_frozen)
    assert [layer.trainable for layer in model.layers] == [i >= n_frozen for i in range(3)]
    assert len(model.trainable_weights) == 2 * (3 - n_frozen)


def test_freeze_first_unfreezes_the_rest():
    model = freeze_first(build_mlp(), 2)
    freeze_first(model, 0)
    assert all(layer.trainable for layer in model.layers)


@pytest.mark.parametrize(("n", "error"), [(-1, ValueError), (3, ValueError), (1.0, TypeError)])
def test_freeze_first_bad_count(n, error):
    with pytest.raises(error, match="n_frozen"):
        freeze_first(build_mlp(), n)


def test_model_arguments_are_checked():
    for function in (hidden_layers, copy_model, lambda m: freeze_first(m, 0)):
        with pytest.raises(TypeError, match="model must be a Keras model"):
            function("not a model")
    with pytest.raises(TypeError, match="model must be a Keras model"):
        save_model(object(), "x.keras")


def test_copy_model_copies_weights_not_references():
    model = build_mlp()
    clone = copy_model(model)
    for a, b in zip(model.get_weights(), clone.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    clone.layers[0].kernel.assign(np.zeros((2, 5)))
    assert np.any(model.layers[0].kernel.numpy() != 0)


def test_save_and_load_round_trip(tmp_path):
    model = compiled(build_mlp())
    path = save_model(model, tmp_path / "sub" / "model.keras")
    assert path.is_file()
    loaded = load_model(path)
    x = np.random.default_rng(0).normal(size=(7, 2)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.compiled
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]


def test_save_replaces_an_earlier_file(tmp_path):
    path = tmp_path / "model.keras"
    save_model(build_mlp((5,)), path)
    save_model(build_mlp((7, 7)), path)
    assert [layer.units for layer in load_model(path).layers] == [7, 7, 3]


def test_interrupted_save_keeps_the_earlier_file(tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    save_model(build_mlp((4,)), path)
    before = path.read_bytes()

    def crash_midway(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        save_model(build_mlp((9,)), path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]
    monkeypatch.undo()
    assert [layer.units for layer in load_model(path).layers] == [4, 3]


def test_path_must_end_in_keras(tmp_path):
    with pytest.raises(ValueError, match=r"must end in '\.keras'.*model\.h5"):
        save_model(build_mlp(), tmp_path / "model.h5")
    with pytest.raises(ValueError, match=r"must end in '\.keras'"):
        load_model(tmp_path / "model.h5")
    with pytest.raises(TypeError, match="path must be a str or path-like"):
        load_model(42)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no model file at .*missing.keras"):
        load_model(tmp_path / "missing.keras")


def test_load_corrupt_files(tmp_path):
    not_zip = tmp_path / "garbage.keras"
    not_zip.write_bytes(b"this is not a model")
    with pytest.raises(ValueError, match=r"garbage.keras.* not a valid .keras file"):
        load_model(not_zip)

    wrong_zip = tmp_path / "wrong.keras"
    with zipfile.ZipFile(wrong_zip, "w") as archive:
        archive.writestr("hello.txt", "no model in here")
    with pytest.raises(ValueError, match=r"wrong.keras.* not a valid .keras file"):
        load_model(wrong_zip)

    truncated = tmp_path / "truncated.keras"
    save_model(build_mlp(), truncated)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"not a valid .keras file"):
        load_model(truncated)


def test_reinitialise_draws_new_weights_for_chosen_layers_only():
    keras.utils.set_random_seed(0)
    model = build_mlp()
    before = model.get_weights()
    reinitialise(model, [1, 2])
    after = model.get_weights()
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert not np.array_equal(before[2], after[2]) and not np.array_equal(before[4], after[4])
    assert np.abs(after[2]).max() <= np.sqrt(6 / 5)  # he_uniform, fan_in 5
    assert all((b == 0).all() for b in (after[3], after[5]))


def test_reinitialise_draws_differ_between_calls():
    keras.utils.set_random_seed(0)
    a, b = build_mlp(), build_mlp()
    b.set_weights(a.get_weights())
    reinitialise(a, [0])
    reinitialise(b, [0])
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])


def test_insert_layer_keeps_weights_and_flags():
    keras.utils.set_random_seed(1)
    source = freeze_first(build_mlp(), 2)
    model = insert_layer(source, 2, 5)
    assert [layer.units for layer in model.layers] == [5, 5, 5, 3]
    assert [layer.trainable for layer in model.layers] == [False, False, True, True]
    assert model.layers[2].name == "inserted" and model.layers[2].get_config()["activation"] == "relu"
    for old, new in ((0, 0), (1, 1), (2, 3)):
        for a, b in zip(source.layers[old].get_weights(), model.layers[new].get_weights(), strict=True):
            assert np.array_equal(a, b)
    assert not model.compiled
    x = np.zeros((4, 2), "float32")
    assert model.predict(x, verbose=0).shape == (4, 3)


def test_insert_layer_of_another_width_redraws_the_next_layer():
    keras.utils.set_random_seed(1)
    model = insert_layer(build_mlp(), 0, 7)
    assert [tuple(layer.kernel.shape) for layer in model.layers] == [(2, 7), (7, 5), (5, 5), (5, 3)]


def test_inserted_model_trains_with_the_replica_engine(problem2):
    from helpers.replicas import fit_replicas

    keras.utils.set_random_seed(2)
    models = [insert_layer(freeze_first(build_mlp(), 2), 2, 5) for _ in range(2)]
    frozen = models[0].layers[0].get_weights()
    fit_replicas(models, problem2.X_train[:64], problem2.y_train[:64], epochs=2, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(frozen, models[0].layers[0].get_weights(), strict=True))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m: insert_layer(m, 3, 5), ValueError, r"index must be in 0\.\.2, got 3"),
        (lambda m: insert_layer(m, -1, 5), ValueError, r"index must be in 0\.\.2"),
        (lambda m: insert_layer(m, 1, 0), ValueError, r"units must be in 1\.\., got 0"),
        (lambda m: reinitialise(m, [3]), ValueError, r"layers\[0\] must be in 0\.\.2, got 3"),
        (lambda m: reinitialise(m, []), TypeError, "non-empty sequence of indices"),
        (lambda m: reinitialise(m, 1), TypeError, "non-empty sequence of indices"),
        (lambda m: reinitialise(m, [1, 1]), ValueError, "must not repeat an index"),
    ],
)
def test_insert_and_reinitialise_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call(build_mlp())
