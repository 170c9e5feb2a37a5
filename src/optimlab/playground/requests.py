"""Turning a JSON request into library calls: the problem, the optimizer, the schedule and train()'s keywords.

Nothing is validated here that the library validates itself: names, ranges and shapes go straight to
``optimlab.problems``, ``optimlab.optim.make``, ``optimlab.schedules.make`` and ``optimlab.train``, whose
``ValueError`` text is what the API answers with (the same line the CLI prints). What this module adds are the
playground's own limits on the size of one request, so that a shared page cannot be asked for an hour of work.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from optimlab import checks, optim, problems, schedules
from optimlab.loop import default_batch_size
from optimlab.train import train

# train()'s keyword defaults, read from its signature: a request that omits a setting gets exactly what the CLI gets
TRAIN_DEFAULTS = {p.name: p.default for p in inspect.signature(train).parameters.values()
                  if p.default is not inspect.Parameter.empty}

# One request may ask for at most this much work. 1000 configurations is the size the playground is timed at
# (benchmarks/bench_playground.py); 20 000 updates is 20 epochs at batch size 1 on the lecture's 1000 examples.
MAX_CONFIGS = 1000
MAX_UPDATES = 20_000
MAX_LINES = 8  # optimizers side by side
MAX_GRID = 64  # values along one axis of a stability map

# The playground's problems: the registry's, plus a quadratic of the user's condition number.
QUADRATIC = "quadratic"
PROBLEMS = {
    "quadratic-2d": "the lecture's steep-and-flat valley 0.1·x₁² + 2·x₂² (κ = 20)",
    QUADRATIC: "½(λ_max/κ·x₁² + λ_max·x₂²), λ_max = 4: the valley with the condition number κ of your choice",
    "rosenbrock": problems.DESCRIPTIONS["rosenbrock"],
    "linear-regression": problems.DESCRIPTIONS["linear-regression"] + "; minibatch noise, batch size",
}
# Where a 2-D run starts by default: the lecture's ravine start (lecture/theory.py), Rosenbrock's classic (−1.5, 2).
STARTS = {"quadratic-2d": [-5.0, -2.0], QUADRATIC: [-5.0, -2.0], "rosenbrock": [-1.5, 2.0]}
STEEP = 4.0  # λ_max of the κ-quadratic: the valley's steep axis, so κ = 20 is the lecture's valley exactly


def fields(body, allowed, what: str = "the request") -> dict:
    """``body`` as a dict holding only the ``allowed`` keys (an unknown key is an error, never ignored)."""
    if not isinstance(body, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(body).__name__}")
    unknown = [k for k in body if k not in allowed]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; {what} takes: {', '.join(allowed) or 'no fields'}")
    return body


def hyperparameters(value) -> dict:
    """The request's ``hyperparameters`` object ({} when omitted); its names are checked by optim.make."""
    return dict(fields({} if value is None else value, list(optim.HYPERPARAMETERS), "hyperparameters"))


@functools.lru_cache(maxsize=32)
def _problem(name: str, seed: int | None, condition: float | None):
    if name == QUADRATIC:
        return problems.Quadratic(np.diag([STEEP / condition, STEEP]), name=QUADRATIC)
    return problems.make(name, seed=seed)


def problem(name, seed=None, condition=None):
    """A playground problem. Built once per (name, seed, κ) and kept: the lecture's data and the curvature moments
    that analysis caches on a problem are then computed once per server, not once per slider move."""
    if not isinstance(name, str):
        raise ValueError(f"problem must be a name, got {name!r}")
    if name not in PROBLEMS and name not in problems.PROBLEMS:
        known = [*PROBLEMS, *(n for n in problems.PROBLEMS if n not in PROBLEMS)]
        raise ValueError(f"unknown problem {name!r}; choose one of: {', '.join(known)}")
    if seed is not None:
        seed = checks.check_int("seed", seed, minimum=0)
    if name == QUADRATIC:
        condition = 20.0 if condition is None else checks.check_range("condition", condition, "positive")
        if isinstance(condition, np.ndarray) or condition < 1:
            raise ValueError(f"condition must be a number >= 1, got {condition!r}")
        return _problem(name, None, float(condition))
    if condition is not None:
        raise ValueError(f"condition applies to the {QUADRATIC} problem only, not to {name}")
    # only a problem with data uses the seed; keying the others on it would build them again for nothing
    return _problem(name, seed if name == "linear-regression" else None, None)


def optimizer(name, hyper):
    """``optimlab.optim.make(name, **hyperparameters)`` with the playground's limit on configurations."""
    if not isinstance(name, str):
        raise ValueError(f"optimizer must be a name, got {name!r}")
    opt = optim.make(name, **hyperparameters(hyper))
    if (opt.num_configs or 1) > MAX_CONFIGS:
        raise ValueError(f"{opt.num_configs} configurations asked; the playground runs at most {MAX_CONFIGS} "
                         f"per request")
    return opt


def schedule(spec):
    """``{"name": "lecture", "after": 2, "factor": 0.1}`` (or None: constant) -> ``optimlab.schedules.make``."""
    if spec is None:
        return schedules.make("constant")
    spec = dict(fields(spec, ["name", *schedules.SETTINGS], "schedule"))
    for key, value in spec.items():
        # integer settings (epochs before the decay, steps of a cosine) beyond what a request may run are refused
        # here: the schedule would only see them as a huge exponent (an OverflowError in numpy, not a message)
        if key in schedules.SETTINGS and schedules.SETTINGS[key].kind in ("int0", "int1") and value is not None:
            checks.check_int(key, value, minimum=int(schedules.SETTINGS[key].kind[-1]), maximum=MAX_UPDATES)
    name = spec.pop("name", None)
    if name is not None and not isinstance(name, str):
        raise ValueError(f"schedule name must be a name, got {name!r}")
    return schedules.make(name, **spec)


def loop(prob, body: dict) -> dict:
    """train()'s keywords that the request gives (omitted ones keep train()'s defaults), after the size limit:
    epochs × updates per epoch at most :data:`MAX_UPDATES`."""
    kwargs = {k: body[k] for k in ("batch_size", "epochs", "period", "seed", "init_scale") if body.get(k) is not None}
    epochs = kwargs.get("epochs", TRAIN_DEFAULTS["epochs"])
    batch = kwargs.get("batch_size", default_batch_size(prob.n_examples))  # train's default: min(10, n)
    if isinstance(epochs, (int, float)) and isinstance(batch, (int, float)) and not isinstance(epochs, bool) \
            and batch >= 1 and epochs >= 1:
        per_epoch = -(-prob.n_examples // int(min(batch, prob.n_examples)))
        cap = max(1, MAX_UPDATES // per_epoch)
        checks.check_int("epochs", epochs, minimum=1, maximum=cap)
    return kwargs


def start(prob, value):
    """The initial parameters: given (P numbers), or the problem's picture start, or None (train() draws them)."""
    if value is None:
        return STARTS.get(prob.name)
    x = checks.as_values("start", value)
    if isinstance(x, float) or x.shape != (prob.dim,):
        raise ValueError(f"start must be a list of {prob.dim} numbers, got {value!r}")
    if np.max(np.abs(x)) > 1e6:
        raise ValueError(f"start must lie within ±1e6, got {value!r}")
    return x.tolist()
