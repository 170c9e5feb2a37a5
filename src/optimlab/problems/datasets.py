"""Data for the real problems: scikit-learn's bundled data sets (offline) or the user's file, standardized.

    data = load("digits")                  # 1797 × 64, ten classes
    data = load("diabetes")                # 442 × 10, a regression target
    data = load("my.csv")                  # the user's file (last column is y), through the one file loader

scikit-learn is an optional extra (``pip install optimlab[data]``), imported only inside :func:`_bundled`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BUNDLED = ("iris", "wine", "breast_cancer", "digits", "diabetes")
REGRESSION = ("diabetes",)
MAX_CLASSES = 50  # a file's y with at most this many distinct integer values is read as class labels


@dataclass(frozen=True)
class Dataset:
    """Features ``X`` (n, d), targets ``y`` (n,), and where they came from.

    ``task`` is "classification" (``y`` holds class indices 0..C−1, ``classes`` their original values) or
    "regression" (``y`` real). ``checksum`` is the SHA-256 of the raw data (before standardization), recorded so
    that a saved run is rebuilt from the same numbers.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    classes: tuple
    standardized: bool
    checksum: str

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def features(self) -> int:
        return self.X.shape[1]

    def describe(self) -> dict:
        return {"dataset": self.name, "standardize": self.standardized, "n": self.n, "features": self.features,
                "task": self.task, "checksum": self.checksum}


def checksum(X: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 over the float64 bytes of X (C order) and y, with their shapes."""
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64)):
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def standardize(X: np.ndarray) -> np.ndarray:
    """Each feature to mean 0, standard deviation 1. A constant feature (digits' border pixels are always 0) is
    only centred: dividing by its zero spread would make NaN, and a zero column adds nothing to any gradient."""
    mean, std = X.mean(axis=0), X.std(axis=0)
    return (X - mean) / np.where(std > 0, std, 1.0)


def _bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn import datasets
    except ImportError:  # pragma: no cover - the extra is installed wherever the tests run
        raise ValueError(f"the {name} data set comes with scikit-learn: pip install 'optimlab[data]'") from None
    bunch = getattr(datasets, f"load_{name}")()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target)


def read_file(path) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) from the user's file: the single place the real problems read files, so that switching to the
    shared loader is a one-line change. Today it is :func:`optimlab.problems.load_arrays` (.npz with X and y, or
    .csv whose last column is y)."""
    from optimlab.problems.linear_regression import load_arrays

    table = load_arrays(path)
    return table.X, table.y


def load(name: str, standardize_features: bool = True) -> Dataset:
    """A bundled data set by name (:data:`BUNDLED`), or a path to the user's .npz/.csv file.

    Features are standardized unless ``standardize_features`` is False; a regression target is standardized with
    them (so that a squared loss starts near 1 whatever the units), class labels never are. A file's y is read as
    class labels when it holds at most :data:`MAX_CLASSES` distinct integer values, else as a regression target.
    """
    if not isinstance(name, (str, Path)):
        raise ValueError(f"dataset must be one of {', '.join(BUNDLED)} or a path to a .npz/.csv file, got {name!r}")
    name = str(name)
    if name in BUNDLED:
        X, y = _bundled(name)
        task = "regression" if name in REGRESSION else "classification"
    elif name.endswith((".npz", ".csv")):
        X, y = read_file(name)
        integer = np.all(np.equal(np.mod(y, 1), 0))
        task = "classification" if integer and np.unique(y).size <= MAX_CLASSES else "regression"
    else:
        raise ValueError(f"dataset must be one of {', '.join(BUNDLED)} or a path to a .npz/.csv file, got {name!r}")
    digest = checksum(X, y)
    classes: tuple = ()
    if task == "classification":
        values, y = np.unique(y, return_inverse=True)
        classes = tuple(v.item() for v in values)
        if len(classes) < 2:
            raise ValueError(f"dataset {name} has a single class ({classes[0]}); a classifier needs at least two")
    elif standardize_features:
        y = (y - y.mean()) / (y.std() or 1.0)
    if standardize_features:
        X = standardize(X)
    return Dataset(name, X, y.astype(np.int64 if task == "classification" else np.float64), task, classes,
                   bool(standardize_features), digest)


def binary_labels(data: Dataset) -> tuple[np.ndarray, str]:
    """0/1 labels for a binary classifier and the rule that made them: the data set's own when it has two classes,
    else y > median(y) (on the class index for more than two classes, on the target for regression)."""
    if data.task == "classification" and len(data.classes) == 2:
        return data.y.astype(np.float64), f"class {data.classes[1]!r} vs {data.classes[0]!r}"
    median = float(np.median(data.y))
    labels = (data.y > median).astype(np.float64)
    if labels.min() == labels.max():
        raise ValueError(f"dataset {data.name}: y > median({median:g}) puts every example in one class")
    return labels, f"y > median(y) = {median:g}"


def eval_subset(n: int, eval_examples: int | None, seed: int = 0) -> np.ndarray | None:
    """The fixed evaluation subset of ``eval_examples`` indices (sorted, drawn without replacement from ``seed``),
    or None for all examples (also when ``eval_examples`` >= n)."""
    if eval_examples is None or eval_examples >= n:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=eval_examples, replace=False))
