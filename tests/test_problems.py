import numpy as np
import pytest
from sklearn.datasets import make_blobs

from helpers.problems import Problem, make_problem, nearest_centre_accuracy


def test_matches_the_tutorial_data(problem1):
    X, labels = make_blobs(n_samples=1000, centers=3, n_features=2, cluster_std=2, random_state=1)
    np.testing.assert_allclose(problem1.X_train, X[:500], rtol=1e-6)
    np.testing.assert_allclose(problem1.X_test, X[500:], rtol=1e-6)
    np.testing.assert_array_equal(problem1.labels_train, labels[:500])
    np.testing.assert_array_equal(problem1.labels_test, labels[500:])


def test_targets_are_one_hot(problem1):
    for y in (problem1.y_train, problem1.y_test):
        assert y.shape[1] == 3
        assert set(np.unique(y)) == {0.0, 1.0}
        np.testing.assert_array_equal(y.sum(axis=1), 1.0)


def test_shapes_and_properties(problem2):
    assert isinstance(problem2, Problem)
    assert problem2.seed == 2
    assert problem2.X_train.shape == (500, 2) and problem2.X_test.shape == (500, 2)
    assert problem2.n_features == 2 and problem2.n_classes == 3
    assert problem2.centers.shape == (3, 2)
    assert "seed=2" in repr(problem2) and "n_train=500" in repr(problem2)


def test_same_seed_same_data_and_different_seeds_differ():
    a, b, c = make_problem(5), make_problem(5), make_problem(6)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.allclose(a.X_train, c.X_train)


def test_custom_sizes():
    p = make_problem(0, n_samples=30, n_train=1, n_classes=4, n_features=3, cluster_std=0.5)
    assert p.X_train.shape == (1, 3) and p.X_test.shape == (29, 3)
    assert p.y_test.shape == (29, 4)


def test_numpy_integer_seed_is_accepted():
    assert make_problem(np.int64(2)).seed == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"seed": 1.5}, TypeError, "seed must be an integer, got 1.5"),
        ({"seed": "1"}, TypeError, "seed must be an integer"),
        ({"seed": True}, TypeError, "seed must be an integer"),
        ({"seed": -1}, ValueError, "seed must be in 0..4294967295, got -1"),
        ({"seed": 2**32}, ValueError, "seed must be in 0..4294967295"),
        ({"seed": 1, "n_train": 0}, ValueError, "n_train must be in 1..999, got 0"),
        ({"seed": 1, "n_train": 1000}, ValueError, "n_train must be in 1..999, got 1000"),
        ({"seed": 1, "n_samples": 1}, ValueError, "n_samples must be in 2.., got 1"),
        ({"seed": 1, "n_classes": 1}, ValueError, "n_classes must be in 2.., got 1"),
        ({"seed": 1, "n_features": 0}, ValueError, "n_features must be in 1.., got 0"),
        ({"seed": 1, "cluster_std": 0}, ValueError, "cluster_std must be a finite number above 0"),
        ({"seed": 1, "cluster_std": float("nan")}, ValueError, "cluster_std must be a finite"),
        ({"seed": 1, "cluster_std": "2"}, TypeError, "cluster_std must be a real number"),
    ],
)
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(".", r"\.")):
        make_problem(**kwargs)


def test_nearest_centre_accuracy_on_well_separated_blobs():
    p = make_problem(0, cluster_std=0.01)
    assert nearest_centre_accuracy(p) == 1.0
    assert nearest_centre_accuracy(p, "train") == 1.0


def test_nearest_centre_accuracy_matches_a_direct_count(problem2):
    d = ((problem2.X_test[:, None, :] - problem2.centers[None]) ** 2).sum(axis=2)
    expected = np.mean(d.argmin(axis=1) == problem2.labels_test)
    assert nearest_centre_accuracy(problem2) == expected
    assert 0.5 < expected < 1.0


def test_nearest_centre_accuracy_bad_input(problem1):
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'all'"):
        nearest_centre_accuracy(problem1, "all")
    with pytest.raises(TypeError, match="problem must be a Problem"):
        nearest_centre_accuracy("problem")
