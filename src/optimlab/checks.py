"""Validation helpers shared by every layer: the bottom of the import graph.

Each check raises ``ValueError`` with one line that names the value, what was given and what is allowed, e.g.
``lr must be > 0, got -1.0``. Values may be scalars or 1-D arrays (one entry per configuration); for an array the
message names the offending entry, ``lr[2] must be > 0, got -1.0``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

# Allowed ranges, written the way the error message states them.
RANGES = {
    "positive": "> 0",
    "nonnegative": ">= 0",
    "unit": "in [0, 1)",
}


def _in_range(x: float, kind: str) -> bool:
    if kind == "positive":
        return x > 0
    if kind == "nonnegative":
        return x >= 0
    if kind == "unit":
        return 0 <= x < 1
    raise AssertionError(f"unknown range kind {kind!r}")


def as_values(name: str, value) -> float | np.ndarray:
    """Turn ``value`` into a float or a 1-D float64 array, rejecting anything else (strings, NaN, inf, 2-D, empty)."""
    if isinstance(value, bool) or isinstance(value, str):
        raise ValueError(f"{name} must be a number or a list of numbers, got {value!r}")
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            raise ValueError(f"{name} must be a finite number, got {x}")
        return x
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a list of numbers, got {value!r}") from None
    if arr.ndim == 0:
        return as_values(name, float(arr))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D list (one value per configuration), "
                         f"got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] must be a finite number, got {arr[bad[0]]}")
    return arr


def check_range(name: str, value, kind: str) -> float | np.ndarray:
    """Validate a hyperparameter against one of :data:`RANGES`; returns it as a float or a 1-D array."""
    x = as_values(name, value)
    if isinstance(x, float):
        if not _in_range(x, kind):
            raise ValueError(f"{name} must be {RANGES[kind]}, got {x!r}")
        return x
    for i, xi in enumerate(x):
        if not _in_range(float(xi), kind):
            raise ValueError(f"{name}[{i}] must be {RANGES[kind]}, got {float(xi)!r}")
    return x


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """An integer in [minimum, maximum]; floats with an integer value are accepted, booleans are not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not (isinstance(value, numbers.Integral) or float(value).is_integer()):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if v < minimum or (maximum is not None and v > maximum):
        allowed = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {allowed}, got {v}")
    return v


def num_configs(values: dict) -> int | None:
    """The common length K of the list-valued entries of ``values`` (None when all are scalars).

    Lists of different lengths are an error: configurations are paired entry by entry, never crossed silently.
    """
    lengths = {name: len(v) for name, v in values.items() if isinstance(v, np.ndarray)}
    if not lengths:
        return None
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{n} has {k}" for n, k in lengths.items())
        raise ValueError(f"list-valued settings must all have the same length (one entry per configuration): {desc}")
    return next(iter(lengths.values()))
