"""The lecture's problem: least-squares linear regression ŷ = X w + b, loss (ŷ − y)²/2 averaged over examples."""

from __future__ import annotations

import math

import numpy as np

from optimlab import checks
from optimlab.problems import datafile
from optimlab.problems.base import Problem

# The lecture's data (§6.1): 1000 examples, two N(0, 1) features, w = [2, −3.4], b = 4.2, noise 0.01·N(0, 1).
LECTURE_DATA = {"n": 1000, "w": (2.0, -3.4), "b": 4.2, "noise": 0.01}


class LinearRegression(Problem):
    """f(θ) = (1/n) Σ_i (a_iᵀθ − y_i)²/2 with θ = [w, b] and a_i = [x_i, 1] (bias last).

    The exact least-squares optimum θ* and its loss f* are computed once (``numpy.linalg.lstsq``). The full-data loss
    is evaluated as f* + ½ (θ − θ*)ᵀ H (θ − θ*) with H = AᵀA/n, exact for a quadratic and free of the cancellation a
    direct mean suffers near the optimum; the full-data gradient likewise as H (θ − θ*). Minibatch values are direct.
    """

    exact_hessian = True

    def __init__(self, X, y, name: str = "linear-regression", source: dict | None = None):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"X must be a 2-D array (examples × features), got shape {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have one value per example, shape ({X.shape[0]},), got {y.shape}")
        if not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise ValueError("X and y must be finite numbers (found NaN or inf)")
        self.name = name
        self.X, self.y = X, y
        self.A = np.hstack([X, np.ones((X.shape[0], 1))])
        self.n_examples = X.shape[0]
        d = X.shape[1]
        self.param_names = tuple(f"w{i + 1}" for i in range(d)) + ("b",)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, as one line
            self.H = self.A.T @ self.A / self.n_examples
            self.optimum = np.linalg.lstsq(self.A, y, rcond=None)[0]
            self.optimal_loss = float(np.mean((self.A @ self.optimum - y) ** 2) / 2)
        if not (np.isfinite(self.H).all() and math.isfinite(self.optimal_loss)):
            raise ValueError(f"X and y are too large (largest |value| {max(np.abs(X).max(), np.abs(y).max()):.3g}): "
                             f"the loss overflows float64; rescale the data")
        # where the data came from, recorded in every run's provenance (``source`` adds to or overrides it)
        self._source = {"data": "user arrays", "n": self.n_examples, "features": d, **(source or {})}

    def loss(self, params, idx=None):
        params = np.asarray(params)
        if idx is None:
            d = params - self.optimum
            return self.optimal_loss + 0.5 * (d @ self.H * d).sum(axis=-1)
        A, y = self.A[idx], self.y[idx]
        r = params @ A.T - y
        return np.mean(r * r, axis=-1) / 2

    def grad(self, params, idx=None):
        if idx is None:
            return (np.asarray(params) - self.optimum) @ self.H
        A = self.A[idx]
        return (params @ A.T - self.y[idx]) @ A / A.shape[0]

    def hvp(self, params, v, idx=None):
        return np.asarray(v) @ self.hessian(params, idx)

    def hessian(self, params=None, idx=None):
        if idx is None:
            return self.H
        A = self.A[idx]
        return A.T @ A / A.shape[0]

    def init_params(self, rng, scale=1.0):
        """As the lecture: w ~ N(0, scale²), b = 0."""
        return np.append(scale * rng.normal(size=self.dim - 1), 0.0)

    def split(self, params):
        params = np.asarray(params)
        return {"w": params[..., :-1], "b": params[..., -1]}

    def describe(self):
        return {"name": self.name, **self._source}


def lecture_data(seed: int = 1, n: int = 1000, w=LECTURE_DATA["w"], b: float = LECTURE_DATA["b"],
                 noise: float = LECTURE_DATA["noise"]) -> LinearRegression:
    """The lecture's synthetic data: features ~ N(0, 1), y = X w + b + noise·N(0, 1), drawn from ``seed``."""
    seed = checks.check_int("seed", seed, minimum=0)
    n = checks.check_int("n", n, minimum=1)
    noise = checks.check_range("noise", noise, "nonnegative")
    w = np.asarray(w, dtype=float)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, w.size))
    y = X @ w + b + noise * rng.normal(size=n)
    source = {"data": "lecture synthetic", "seed": seed, "n": n, "w": w.tolist(), "b": float(b), "noise": noise}
    return LinearRegression(X, y, source=source)


def from_arrays(X, y, name: str = "linear-regression", source: dict | None = None) -> LinearRegression:
    """The same problem on a user's arrays: X (n, d) features, y (n,) targets; ``source`` says where they came
    from (recorded in provenance)."""
    return LinearRegression(X, y, name=name, source=source)


def load_arrays(path) -> LinearRegression:
    """Read a user's data set through the one loader, :func:`optimlab.problems.datafile.read`: ``.npz`` with arrays
    ``X`` and ``y``, or a ``.csv`` whose last column is y (a header row of names is skipped). The run's provenance
    records the file's absolute path and SHA-256."""
    data = datafile.read(path)
    return LinearRegression(data.X, data.y, source=data.source())
