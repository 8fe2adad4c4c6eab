"""Argument checks shared by the helpers; each raises with a clear message."""

import numbers
from collections.abc import Sequence


def check_int(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer within ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        allowed = f"{'' if low is None else low}..{'' if high is None else high}"
        raise ValueError(f"{name} must be in {allowed}, got {value}")
    return value


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as an int if it is an integer of at least 1."""
    return check_int(name, value, low=1)


def check_positive_float(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number above 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a finite number above 0, got {value}")
    return value


def check_indices(name: str, values: object, size: int) -> list[int]:
    """Return ``values`` as a list of distinct indices into a sequence of ``size`` items."""
    if isinstance(values, int | str) or not isinstance(values, Sequence) or len(values) == 0:
        raise TypeError(f"{name} must be a non-empty sequence of indices, got {values!r}")
    indices = [check_int(f"{name}[{k}]", value, 0, size - 1) for k, value in enumerate(values)]
    if len(set(indices)) != len(indices):
        raise ValueError(f"{name} must not repeat an index, got {list(values)}")
    return indices
