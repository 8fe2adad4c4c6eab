"""The blobs classification problems: data, train/test split, one-hot targets."""

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import make_blobs

from helpers._checks import check_int, check_positive_float, check_positive_int

MAX_SEED = 2**32 - 1


@dataclass(frozen=True, eq=False)
class Problem:
    """A blobs problem: features ``X`` and one-hot targets ``y``, split in train and test."""

    seed: int
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    centers: np.ndarray

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        """Number of classes (width of the one-hot targets)."""
        return self.y_train.shape[1]

    @property
    def labels_train(self) -> np.ndarray:
        """Integer class labels of the training rows."""
        return self.y_train.argmax(axis=1)

    @property
    def labels_test(self) -> np.ndarray:
        """Integer class labels of the test rows."""
        return self.y_test.argmax(axis=1)

    def __repr__(self) -> str:
        return (
            f"Problem(seed={self.seed}, n_train={len(self.X_train)}, n_test={len(self.X_test)}, "
            f"n_features={self.n_features}, n_classes={self.n_classes})"
        )


def make_problem(
    seed: int,
    *,
    n_samples: int = 1000,
    n_train: int = 500,
    n_classes: int = 3,
    n_features: int = 2,
    cluster_std: float = 2.0,
) -> Problem:
    """Make the blobs problem of ``seed``: the first ``n_train`` rows train, the rest test."""
    seed = check_int("seed", seed, 0, MAX_SEED)
    n_samples = check_int("n_samples", n_samples, low=2)
    n_train = check_int("n_train", n_train, 1, n_samples - 1)
    n_classes = check_int("n_classes", n_classes, low=2)
    n_features = check_positive_int("n_features", n_features)
    cluster_std = check_positive_float("cluster_std", cluster_std)

    X, labels, centers = make_blobs(
        n_samples=n_samples,
        centers=n_classes,
        n_features=n_features,
        cluster_std=cluster_std,
        random_state=seed,
        return_centers=True,
    )
    y = np.eye(n_classes, dtype="float32")[labels]
    X = X.astype("float32")
    return Problem(
        seed=seed,
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        centers=centers,
    )


def nearest_centre_accuracy(problem: Problem, split: str = "test") -> float:
    """Accuracy of assigning each point to its nearest true class centre.

    The blobs are isotropic Gaussians of equal spread and (near) equal size, so this
    is the Bayes-optimal rule: no model can expect to do better on new data.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a Problem, got {type(problem).__name__}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    X = problem.X_train if split == "train" else problem.X_test
    labels = problem.labels_train if split == "train" else problem.labels_test
    distances = np.linalg.norm(X[:, None, :] - problem.centers[None, :, :], axis=2)
    return float(np.mean(distances.argmin(axis=1) == labels))
