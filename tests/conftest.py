"""Shared fixtures for the unit tests."""

import matplotlib
import pytest

import helpers  # noqa: F401  (quietens TensorFlow before any test imports it)
from helpers.problems import make_problem

matplotlib.use("Agg")  # no display in tests


@pytest.fixture(scope="session")
def problem1():
    return make_problem(1)


@pytest.fixture(scope="session")
def problem2():
    return make_problem(2)


@pytest.fixture(scope="session")
def small_problem():
    return make_problem(3, n_samples=60, n_train=40)


@pytest.fixture(autouse=True)
def close_figures():
    """Close the figures a test made: pyplot keeps every open figure alive."""
    yield
    import matplotlib.pyplot as plt  # after matplotlib.use above

    plt.close("all")
