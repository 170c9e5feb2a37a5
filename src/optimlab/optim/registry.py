"""The one registry of optimizers: names, hyperparameters, defaults, ranges and update rules.

Defaults are read from each optimizer's signature and ranges from :data:`~optimlab.optim.base.HYPERPARAMETERS`, so
neither is written twice; the CLI flags and ``optimlab optimizers`` are generated from here. An optimizer's
positional parameters are the lecture's hyperparameters; its keyword-only parameters are convention options
(:data:`~optimlab.optim.base.FLAGS` and numeric ones such as Adagrad's initial accumulator), whose defaults leave
the lecture's formula unchanged and which a named convention (:mod:`~optimlab.optim.conventions`) sets at once.
"""

from __future__ import annotations

import inspect
import itertools
import textwrap

import numpy as np

from optimlab import checks
from optimlab.optim.adam import adam, adamw
from optimlab.optim.adaptive import adadelta, adagrad, rmsprop
from optimlab.optim.base import FLAGS, HYPERPARAMETERS, Optimizer, namespace
from optimlab.optim.conventions import CONVENTIONS, DEFAULT_CONVENTION, preset
from optimlab.optim.sgd import momentum, nesterov, sgd
from optimlab.optim.validate import checked

# In the lecture's order; the last two go beyond it.
OPTIMIZERS = {f.__name__: f for f in (sgd, momentum, adagrad, rmsprop, adam, adadelta, nesterov, adamw)}
DEFAULT_OPTIMIZER = "sgd"


def _factory(name: str):
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def _signature(name: str, kind) -> dict:
    return {p.name: p.default for p in inspect.signature(_factory(name)).parameters.values() if p.kind == kind}


def defaults(name: str) -> dict[str, float]:
    """The hyperparameters ``name`` takes in the lecture's formula, with their defaults (from its signature)."""
    return _signature(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def options(name: str, convention: str = DEFAULT_CONVENTION) -> dict:
    """The convention options ``name`` takes (switches of ``FLAGS``, numeric ones of ``HYPERPARAMETERS``), with
    their values under ``convention``; under the lecture's they leave its formula unchanged."""
    values = _signature(name, inspect.Parameter.KEYWORD_ONLY)
    return {**values, **preset(convention, name, values)}


def update_rule(name: str) -> str:
    """The update rule as written in the optimizer's docstring (the indented block after ``Update::``)."""
    doc = inspect.getdoc(_factory(name))
    block = doc.split("Update::", 1)[1].lstrip("\n")
    lines = list(itertools.takewhile(lambda line: not line or line.startswith(" "), block.splitlines()))
    return textwrap.dedent("\n".join(lines)).strip()


def summary(name: str) -> str:
    """The first line of the optimizer's docstring."""
    return inspect.getdoc(_factory(name)).splitlines()[0]


def _check_flag(key: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{key} must be True or False, got {value!r}")
    return bool(value)


def _takes(name: str, allowed: dict, opts: dict) -> str:
    takes = ", ".join(allowed) if allowed else "nothing"
    return f"{name} takes no hyperparameter {{key!r}}; it takes: {takes}" + \
        (f" (options: {', '.join(opts)})" if opts else "")


def make(name: str, convention: str = DEFAULT_CONVENTION, **hyperparams) -> Optimizer:
    """Validate hyperparameters and options and build the optimizer ``name``.

    Each numeric hyperparameter (or numeric option) is a float or a list of K floats; lists make one configuration
    per entry and must all have the same length. Omitted (or None) values take the optimizer's defaults;
    ``convention`` ("lecture", "torch", "optax", "keras", "gluon") sets the convention options, and options given
    explicitly override it. Raises ``ValueError`` naming the value and its allowed range before anything runs.

    >>> opt = make("adam", lr=[0.01, 0.1, 1.0])
    >>> state = opt.init(np.zeros((3, 3)))
    >>> torch_like = make("rmsprop", convention="torch", lr=0.01, gamma=0.99, momentum=0.9, centered=True)
    """
    allowed = defaults(name)
    opts = options(name, convention)
    given = {key: value for key, value in hyperparams.items() if value is not None}
    for key in hyperparams:
        if key not in allowed and key not in opts:
            raise ValueError(_takes(name, allowed, opts).format(key=key))
    flags = {key: _check_flag(key, given.get(key, default)) for key, default in opts.items() if key in FLAGS}
    if "lr" in opts and not flags.get("lr_multiplier", True):
        if "lr" in given:  # Adadelta has no η unless a convention (or lr_multiplier=True) gives it one
            raise ValueError(_takes(name, allowed, {}).format(key="lr") +
                             " (Adadelta takes an η multiplier with lr_multiplier=True or convention='torch')")
        opts = {key: value for key, value in opts.items() if key != "lr"}
    numeric = {key: given.get(key, default) for key, default in {**allowed, **opts}.items() if key not in FLAGS}
    values = {key: checks.check_range(key, value, HYPERPARAMETERS[key].range) for key, value in numeric.items()}
    k = checks.num_configs(values)
    # A list becomes a (K, 1) column so that it broadcasts over parameters of shape (K, P).
    shaped = {key: v.reshape(-1, 1) if isinstance(v, np.ndarray) else v for key, v in values.items()}
    init, update, step_size = _factory(name)(**shaped, **flags)
    # the record: the lecture's hyperparameters, and each numeric option that was set (a convention's s₀, a given λ)
    touched = set(given) | set(preset(convention, name, opts))
    if "lr" in opts:
        touched.add("lr")
    hyper = {key: v for key, v in values.items() if key in allowed or key in touched}
    resolved = {**flags, **{key: v for key, v in values.items() if key in opts}}

    def checked_init(params):
        if not hasattr(params, "shape"):
            params = np.asarray(params)
        if not _is_float(params) or params.ndim not in (1, 2):
            raise ValueError(f"params must be a float array of shape (P,) or (K, P), got {params.dtype} "
                             f"{tuple(params.shape)}")
        if k is not None and (params.ndim != 2 or params.shape[0] != k):
            raise ValueError(f"{name} has {k} configurations, so params must have shape ({k}, P), got "
                             f"{tuple(params.shape)}")
        return init(params)

    return Optimizer(name, hyper, k, checked_init, checked(name, update, init(np.zeros(1)), "lr" in hyper), step_size,
                     resolved, convention, update)


def _is_float(params) -> bool:
    xp = namespace(params)
    return xp.isdtype(params.dtype, "real floating")


def grid(**lists) -> dict[str, np.ndarray]:
    """Cross lists of hyperparameter values: ``grid(lr=[.1, .2], momentum=[0, .9])`` gives 4 paired configurations,
    in the order of ``itertools.product`` (the last name varies fastest). Each value is a number or a non-empty 1-D
    list of finite numbers; anything else raises ``ValueError`` naming it (ranges are checked by :func:`make`)."""
    for name, value in lists.items():
        if value is None:  # numpy would read it as NaN
            raise ValueError(f"{name} must be a number or a list of numbers, got None")
    values = {n: np.atleast_1d(checks.as_values(n, v)) for n, v in lists.items()}
    if not values:
        return {}
    return {n: axis.ravel() for n, axis in zip(values, np.meshgrid(*values.values(), indexing="ij"))}


def describe(name: str) -> dict:
    """Everything the registry knows of ``name``: summary, update rule, each hyperparameter's symbol, default and
    allowed range, and each convention option with its meaning and its value under every named convention."""
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
        "options": {key: _describe_option(name, key, default) for key, default in options(name).items()},
    }


def _describe_option(name: str, key: str, default) -> dict:
    """An option's lecture default, its value under each named convention, and its meaning."""
    by_convention = {c: options(name, c)[key] for c in CONVENTIONS}
    if key in FLAGS:
        return {"default": default, "conventions": by_convention, "range": "True or False",
                "meaning": f"True: {FLAGS[key].true}; False: {FLAGS[key].false}"}
    h = HYPERPARAMETERS[key]
    return {"default": default, "conventions": by_convention, "symbol": h.symbol,
            "range": checks.RANGES[h.range], "meaning": h.meaning}
