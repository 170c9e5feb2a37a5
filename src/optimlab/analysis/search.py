"""Where a measurement starts from: the loop settings of a run (:func:`loop_of`), the default search range of η
(:func:`default_lr_search`) and the largest curvature it is scaled by (:func:`largest_curvature`)."""

from __future__ import annotations

import ast
import math
import re

import numpy as np

from optimlab import schedules
from optimlab.analysis.curvature import DENSE_MAX_DIM, _lanczos_end, curvature, default_point, hvp_function

DECADES_BELOW, DECADES_ABOVE = 5, 1  # default η search: from 1e-5 to 10 times the scale of the problem
ADAPTIVE = ("adagrad", "rmsprop", "adam", "adamw", "adadelta")  # per-coordinate steps of about η


def schedule_of(run, k: int = 0) -> schedules.Schedule:
    """The schedule a run used, rebuilt from its description (``lecture(after=2, factor=0.1)``); a setting given
    as a list takes configuration ``k``'s value."""
    name, _, inner = run.schedule.partition("(")
    settings = {}
    for key, value in re.findall(r"(\w+)=(\[[^\]]*\]|[^,)]+)", inner):
        settings[key] = run.hyperparams[k][key] if value.startswith("[") else ast.literal_eval(value.strip())
    return schedules.make(name, **settings)


def loop_of(run, k: int = 0) -> dict:
    """The loop settings of configuration ``k`` of a run, as keyword arguments of :func:`~optimlab.train`: batch
    size, epochs, period, schedule, initial scale, and the initial parameters themselves where they were given."""
    loop = {"batch_size": run.batch_size, "epochs": run.epochs, "period": run.period, "schedule": schedule_of(run, k),
            "init_scale": float(run.provenance.get("init_scale", 1.0))}
    if run.provenance.get("init") == "given":
        loop["init"] = run.initial_params[k]
    return loop


def default_lr_search(problem, optimizer: str, start, lambda_max: float) -> tuple[float, float]:
    """Where to look for η: 1e-5 to 10 times the problem's own scale. For gradient descent and momentum the scale is
    2/λ (λ the largest curvature at the optimum or at the start, whichever is larger: on x⁴ the optimum has none);
    for the adaptive methods, whose steps move each coordinate by about η, the distance from the start to the
    optimum (or the start's size where the optimum is unknown)."""
    start = np.asarray(start, dtype=float)
    if optimizer in ADAPTIVE:
        ref = problem.optimum if problem.optimum is not None else np.zeros_like(start)
        scale = float(np.max(np.abs(start - ref))) or float(np.max(np.abs(start))) or 1.0
    else:
        lam = lambda_max
        try:
            lam = max(lam, largest_curvature(problem, start, tol=1e-2)) if np.isfinite(start).all() else lam
        except ValueError:
            pass
        scale = 2.0 / lam if math.isfinite(lam) and lam > 0 else 1.0
    return scale * 10.0 ** -DECADES_BELOW, scale * 10.0 ** DECADES_ABOVE


def largest_curvature(problem, point=None, tol: float = 1e-6) -> float:
    """λ_max of the Hessian at ``point`` as :func:`~optimlab.analysis.curvature.curvature` finds it, but where that
    would run Lanczos on both ends of the spectrum, only the top end, to ``tol``: a default search range needs λ_max
    to 1e-2 at most (its grid steps by a quarter decade), and half the Hessian-vector products are saved (each a
    pass over all examples: 37 ms on the digits MLP)."""
    if getattr(problem, "exact_hessian", False) or problem.dim <= max(DENSE_MAX_DIM, 2):
        return curvature(problem, point).lambda_max
    point = default_point(problem) if point is None else np.asarray(point, dtype=float)
    if point.shape != (problem.dim,) or not np.isfinite(point).all():
        raise ValueError(f"point must be {problem.dim} finite numbers")
    return _lanczos_end(hvp_function(problem, point)[0], problem.dim, "LA", tol, 100, 0)[0]
