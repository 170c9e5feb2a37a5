"""The one registry of optimizers: names, hyperparameters, defaults, ranges and update rules.

Defaults are read from each optimizer's signature and ranges from :data:`~optimlab.optim.base.HYPERPARAMETERS`, so
neither is written twice; the CLI flags and ``optimlab optimizers`` are generated from here.
"""

from __future__ import annotations

import inspect
import itertools
import textwrap

import numpy as np

from optimlab import checks
from optimlab.optim.adam import adam, adamw
from optimlab.optim.adaptive import adadelta, adagrad, rmsprop
from optimlab.optim.base import HYPERPARAMETERS, Optimizer
from optimlab.optim.sgd import momentum, nesterov, sgd

# In the lecture's order; the last two go beyond it.
OPTIMIZERS = {f.__name__: f for f in (sgd, momentum, adagrad, rmsprop, adam, adadelta, nesterov, adamw)}
DEFAULT_OPTIMIZER = "sgd"


def _factory(name: str):
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def defaults(name: str) -> dict[str, float]:
    """The hyperparameters ``name`` takes, with their defaults (from the optimizer's signature)."""
    return {p.name: p.default for p in inspect.signature(_factory(name)).parameters.values()}


def update_rule(name: str) -> str:
    """The update rule as written in the optimizer's docstring (the indented block after ``Update::``)."""
    doc = inspect.getdoc(_factory(name))
    block = doc.split("Update::", 1)[1].lstrip("\n")
    lines = list(itertools.takewhile(lambda line: not line or line.startswith(" "), block.splitlines()))
    return textwrap.dedent("\n".join(lines)).strip()


def summary(name: str) -> str:
    """The first line of the optimizer's docstring."""
    return inspect.getdoc(_factory(name)).splitlines()[0]


def make(name: str, **hyperparams) -> Optimizer:
    """Validate hyperparameters and build the optimizer ``name``.

    Each hyperparameter is a float or a list of K floats; lists make one configuration per entry and must all have
    the same length. Omitted (or None) hyperparameters take the optimizer's defaults. Raises ``ValueError`` naming
    the value and its allowed range before anything runs.

    >>> opt = make("adam", lr=[0.01, 0.1, 1.0])
    >>> state = opt.init(np.zeros((3, 3)))
    """
    allowed = defaults(name)
    for key in hyperparams:
        if key not in allowed:
            takes = ", ".join(allowed) if allowed else "nothing"
            raise ValueError(f"{name} takes no hyperparameter {key!r}; it takes: {takes}")
    values = {}
    for key, default in allowed.items():
        given = hyperparams.get(key)
        values[key] = checks.check_range(key, default if given is None else given, HYPERPARAMETERS[key].range)
    k = checks.num_configs(values)
    # A list becomes a (K, 1) column so that it broadcasts over parameters of shape (K, P).
    shaped = {key: v.reshape(-1, 1) if isinstance(v, np.ndarray) else v for key, v in values.items()}
    init, update, step_size = _factory(name)(**shaped)

    def checked_init(params):
        params = np.asarray(params)
        if not np.issubdtype(params.dtype, np.floating) or params.ndim not in (1, 2):
            raise ValueError(f"params must be a float array of shape (P,) or (K, P), got {params.dtype} {params.shape}")
        if k is not None and (params.ndim != 2 or params.shape[0] != k):
            raise ValueError(f"{name} has {k} configurations, so params must have shape ({k}, P), got {params.shape}")
        return init(params)

    return Optimizer(name, values, k, checked_init, update, step_size)


def grid(**lists) -> dict[str, np.ndarray]:
    """Cross lists of hyperparameter values: ``grid(lr=[.1, .2], momentum=[0, .9])`` gives 4 paired configurations."""
    names = list(lists)
    rows = list(itertools.product(*(np.atleast_1d(np.asarray(lists[n], dtype=float)) for n in names)))
    return {n: np.array([row[i] for row in rows]) for i, n in enumerate(names)}


def describe(name: str) -> dict:
    """Everything the registry knows of ``name``: summary, update rule, and each hyperparameter's symbol,
    default and allowed range."""
    return {
        "name": name,
        "summary": summary(name),
        "rule": update_rule(name),
        "hyperparameters": {
            key: {
                "symbol": HYPERPARAMETERS[key].symbol,
                "default": default,
                "range": checks.RANGES[HYPERPARAMETERS[key].range],
                "meaning": HYPERPARAMETERS[key].meaning,
            }
            for key, default in defaults(name).items()
        },
    }
