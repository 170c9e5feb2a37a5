"""Objectives with loss, gradient and curvature: the lecture's linear regression, quadratics, x⁴, Rosenbrock.

    problem = optimlab.problems.make("linear-regression", seed=1)
    problem = optimlab.problems.from_arrays(X, y)
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from optimlab.problems import datafile
from optimlab.problems.base import Problem
from optimlab.problems.functions import FunctionProblem, Quadratic, Quartic, Rosenbrock
from optimlab.problems.linear_regression import LECTURE_DATA, LinearRegression, from_arrays, lecture_data, load_arrays
from optimlab.problems.logistic import LogisticRegression
from optimlab.problems.mlp import MLP
from optimlab.problems.softmax import SoftmaxRegression

DEFAULT_PROBLEM = "linear-regression"

PROBLEMS = {
    "linear-regression": lecture_data,
    "quadratic-1d": lambda: Quadratic([[2.0]], name="quadratic-1d"),
    "quadratic-2d": lambda: Quadratic(np.diag([0.2, 4.0]), name="quadratic-2d"),
    "quartic": Quartic,
    "rosenbrock": Rosenbrock,
    "logistic-regression": LogisticRegression,
    "softmax-regression": SoftmaxRegression,
    "mlp": MLP,
}
# problems on a data set (scikit-learn's bundled ones or the user's file); make() passes them the data options
DATA_PROBLEMS = ("logistic-regression", "softmax-regression", "mlp")

DESCRIPTIONS = {
    "linear-regression": "the lecture's data: 1000 examples, w = [2, −3.4], b = 4.2, noise 0.01 (seeded)",
    "quadratic-1d": "f(x) = x², curvature 2 (§3–4)",
    "quadratic-2d": "f(x) = 0.1·x₁² + 2·x₂², flat and steep axes (§7)",
    "quartic": "f(x) = x⁴, curvature 12x² grows with |x| (§3: the start matters)",
    "rosenbrock": "f(x, y) = (1 − x)² + 100(y − x²)², a curved valley",
    "logistic-regression": "binary logistic regression, mean log-loss (dataset= iris, wine, breast_cancer, digits, "
                           "diabetes or a file; default iris, virginica vs the rest)",
    "softmax-regression": "multiclass softmax regression, mean cross-entropy (default dataset iris)",
    "mlp": "a one- or two-hidden-layer perceptron, tanh or relu, cross-entropy or squared loss (default digits, "
           "32 tanh units)",
}


def make(name: str, seed: int | None = None, **options) -> Problem:
    """Build a registered problem. ``seed`` draws the data of a problem that has data (the lecture's linear
    regression) and is ignored by deterministic objectives; other ``options`` go to the constructor."""
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; choose one of: {', '.join(PROBLEMS)}")
    factory = PROBLEMS[name]
    accepted = inspect.signature(factory).parameters
    if seed is not None and "seed" in accepted:
        options["seed"] = seed
    unknown = [k for k in options if k not in accepted]
    if unknown:
        takes = ", ".join(accepted) or "no options"
        raise ValueError(f"problem {name} takes no option {unknown[0]!r}; it takes: {takes}")
    return factory(**options)


def _saved_data(d: dict) -> Problem:
    """The user's data file a run was trained on, refused when it has moved or changed since (its SHA-256 differs
    from the one recorded)."""
    path, recorded = Path(d["data"]), d.get("sha256")
    if not path.is_file():
        raise ValueError(f"the saved run's data file {str(path)!r} no longer exists (moved or deleted); "
                         f"train again on the data where it is now")
    if recorded is not None and datafile.sha256(path) != recorded:
        raise ValueError(f"the saved run's data file {str(path)!r} has changed since the run (SHA-256 differs); "
                         f"train again on the current data")
    return load_arrays(path)


def from_description(description: dict) -> Problem:
    """Rebuild a problem from the ``describe()`` a run recorded in its provenance."""
    d = dict(description)
    name = d.get("name")
    if d.get("data") == "lecture synthetic":
        return lecture_data(seed=d["seed"], n=d["n"], w=d["w"], b=d["b"], noise=d["noise"])
    if name == "linear-regression" and isinstance(d.get("data"), str) and d["data"] not in ("user arrays",):
        return _saved_data(d)
    if name in ("quadratic-1d", "quadratic-2d", "quartic"):
        return make(name)
    if name == "rosenbrock":
        return Rosenbrock(a=d.get("a", 1.0), b=d.get("b", 100.0))
    if name in DATA_PROBLEMS:
        return _rebuild_data_problem(d)
    raise ValueError(f"the saved run's problem ({d.get('data') or name}) cannot be rebuilt from the file; "
                     f"explain it from the Python API with optimlab.explain(run)")


def _rebuild_data_problem(d: dict) -> Problem:
    """Rebuild a data problem from its recorded options, refusing if the data's checksum no longer matches."""
    accepted = inspect.signature(PROBLEMS[d["name"]]).parameters
    options = {k: (tuple(v) if k == "hidden" else v) for k, v in d.items() if k in accepted}
    problem = make(d["name"], **options)
    recorded, now = d.get("checksum"), problem.describe()["checksum"]
    if recorded is not None and recorded != now:
        raise ValueError(f"the data of dataset {d.get('dataset')!r} changed since the run was saved "
                         f"(checksum {now[:12]}…, recorded {recorded[:12]}…)")
    return problem


__all__ = ["from_description", "DATA_PROBLEMS", "DEFAULT_PROBLEM", "LogisticRegression", "MLP",
           "SoftmaxRegression", "DESCRIPTIONS", "FunctionProblem", "LECTURE_DATA",
           "LinearRegression", "PROBLEMS", "Problem", "Quadratic",
           "Quartic", "Rosenbrock", "from_arrays", "lecture_data", "load_arrays", "make"]
