"""The playground's JSON API: one function per endpoint, each taking the request's JSON (a dict) and returning a
JSON-ready dict. No web framework here: :mod:`optimlab.playground.app` routes HTTP to these functions, and tests
call them directly.

Every number comes from the library: ``optimlab.train`` runs the optimizers of ``optimlab.optim`` under the
schedules of ``optimlab.schedules``; the curvature, bounds and mean-square stability come from
``optimlab.analysis``; the presets and their claims from ``optimlab.lecture``. The page only draws.

Endpoints (all POST with a JSON object; bad input raises ``ValueError`` with the library's one-line message):

- ``registry``: optimizers (rule, hyperparameters, defaults, allowed ranges, slider specs), problems, schedules,
  the lecture's experiments, the limits.
- ``train``: exactly ``optimlab train --json`` for the same settings (the same keys, the same numbers).
- ``view``: up to eight optimizers on one problem: loss curves, trajectories, contours, bounds, commands.
- ``stability_map``: final loss over a grid of (η, γ) or (η, batch size), with the theory boundary.
- ``verdict``: a lecture experiment's claim checked on a run at the given settings.
- ``taylor``, ``ema``: the Taylor picture on x² and x⁴, and momentum as an exponential moving average.
"""

from __future__ import annotations

import inspect

import numpy as np

from optimlab import checks, optim, schedules
from optimlab.analysis import bounds
from optimlab.analysis.curvature import curvature
from optimlab.lecture import theory
from optimlab.lecture.experiments import EXPERIMENTS
from optimlab.playground import commands, lecture_views, maps, requests
from optimlab.playground.requests import fields
from optimlab.results import jsonable
from optimlab.train import train as run_training


def json_ready(x):
    """``results.jsonable`` (None for NaN and ±inf), with arrays converted whole: walking a 70×70 contour grid
    number by number took most of a view's time."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        out = x.astype(object)
        out[~np.isfinite(x)] = None
        return out.tolist()
    if isinstance(x, dict):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    return jsonable(x)


PATH_POINTS = 400  # points of a trajectory sent to the page: enough for a smooth line at any screen width
CONTOUR_GRID = 70  # contour resolution per axis


def _slider(default, kind: str) -> dict:
    """How the page lays out a slider for a registry range: a log scale over five decades around the default for
    a positive value, 1 − γ on a log scale for a decay in [0, 1) (0, 0.9, 0.99, 0.999 equally spaced), linear from
    0 for a non-negative one. The allowed range itself is the registry's; the server checks every value."""
    if kind == "positive":
        return {"scale": "log", "min": default * 1e-3, "max": default * 1e2, "default": default}
    if kind == "unit":
        return {"scale": "one-minus-log", "min": 0.0, "max": 0.999, "default": default}
    return {"scale": "linear", "min": 0.0, "max": max(1.0, 100 * default), "default": default}


def registry(body=None) -> dict:
    """What the page builds its controls from (no fields): each optimizer's rule, hyperparameters, defaults and
    allowed ranges (``optimlab.optim.describe``) with a slider layout, the problems, schedules and their settings,
    the lecture's experiments, train()'s defaults, the ravine picture the page opens on, and the request limits."""
    fields(body or {}, [])
    opts = {}
    for name in optim.OPTIMIZERS:
        d = optim.describe(name)
        d["sliders"] = {k: _slider(h["default"], optim.HYPERPARAMETERS[k].range)
                        for k, h in d["hyperparameters"].items()}
        opts[name] = d
    probs = {}
    for name, text in requests.PROBLEMS.items():
        p = requests.problem(name)
        probs[name] = {"description": text, "dim": p.dim, "param_names": list(p.param_names),
                       "n_examples": p.n_examples, "start": requests.STARTS.get(name),
                       "optimal_loss": p.optimal_loss, "optimum": jsonable(p.optimum)}
    return {
        "optimizers": opts, "default_optimizer": optim.DEFAULT_OPTIMIZER, "problems": probs,
        "schedules": {n: schedules.defaults(n) for n in ("constant", "lecture", "step", "exponential", "cosine")},
        "schedule_settings": {k: {"kind": s.kind, "flag": s.flag, "meaning": s.meaning}
                              for k, s in schedules.SETTINGS.items()},
        "experiments": [{"name": e.name, "section": e.section, "claim": e.claim, "note": e.note,
                         "optimizer": e.optimizer, "hyperparameters": e.hyperparams, "batch_size": e.batch_size,
                         "epochs": e.epochs, "decay": e.decay, "schedule": e.schedule().describe()}
                        for e in EXPERIMENTS],
        "train_defaults": commands.train_defaults(),
        # the page opens on the lecture's ravine picture (lecture.theory.ravine): its runs, start and steps
        "ravine": {"runs": [{"optimizer": o, "hyperparameters": h} for o, h in theory.RAVINE_RUNS.values()],
                   "start": list(theory.RAVINE_START),
                   "steps": inspect.signature(theory.ravine).parameters["steps"].default},
        "limits": {"configurations": requests.MAX_CONFIGS, "updates": requests.MAX_UPDATES,
                   "lines": requests.MAX_LINES, "grid": requests.MAX_GRID},
    }


TRAIN_FIELDS = ["problem", "condition", "optimizer", "hyperparameters", "grid", "schedule", "batch_size", "epochs",
                "period", "seed", "init_scale"]


def train(body) -> dict:
    """``optimlab train --json`` as a request: the same defaults, the same dictionary (``Run.to_dict``).

    Fields (all optional): problem, condition (κ, for ``quadratic``), optimizer, hyperparameters ({name: value or
    list}), grid (cross the lists), schedule ({"name": ..., setting: value}), batch_size, epochs, period, seed,
    init_scale. ``{"optimizer": "momentum", "hyperparameters": {"lr": 0.2}}`` is
    ``optimlab train --json --optimizer momentum --lr 0.2``."""
    body = fields(body, TRAIN_FIELDS)
    prob = requests.problem(body.get("problem") or "linear-regression", body.get("seed"), body.get("condition"))
    hyper = requests.hyperparameters(body.get("hyperparameters"))
    if body.get("grid") and hyper:  # each list checked first: optim.grid takes what it is given as numbers
        hyper = optim.grid(**{k: checks.as_values(k, v) for k, v in hyper.items() if v is not None})
    opt = requests.optimizer(body.get("optimizer") or optim.DEFAULT_OPTIMIZER, hyper)
    sched = requests.schedule(body.get("schedule"))
    return run_training(prob, opt, schedule=sched, **requests.loop(prob, body)).to_dict()


VIEW_FIELDS = ["problem", "condition", "runs", "schedule", "batch_size", "epochs", "seed", "start"]


def _lines(spec) -> list[optim.Optimizer]:
    if not isinstance(spec, list) or not spec:
        raise ValueError(f"runs must be a non-empty list of {{optimizer, hyperparameters}}, got {spec!r}")
    if len(spec) > requests.MAX_LINES:
        raise ValueError(f"runs holds {len(spec)} optimizers; the playground shows at most {requests.MAX_LINES}")
    lines = []
    for item in spec:
        item = fields(item, ["optimizer", "hyperparameters"], "each of runs")
        opt = requests.optimizer(item.get("optimizer"), item.get("hyperparameters"))
        if opt.num_configs is not None:
            raise ValueError("each of runs takes single values; lists of values belong in the stability map")
        lines.append(opt)
    return lines


def _bound(prob, opt, batch_size, lam) -> dict:
    """The stability bound on η that applies to ``opt`` on ``prob`` (None where the theory gives none)."""
    h = opt.hyperparams
    if batch_size < prob.n_examples and opt.name in ("sgd", "momentum"):
        gamma = h.get("momentum", 0.0)
        value = maps.mean_square_bounds(prob, [batch_size], gamma)[0]
        return {"lr": value, "text": f"mean-square stable for η < {value:.4g} at batch {batch_size}"}
    if opt.name == "sgd":
        return {"lr": bounds.gd_max_lr(lam), "text": f"η < 2/λ_max = {bounds.gd_max_lr(lam):.4g}"}
    if opt.name == "momentum":
        v = bounds.momentum_max_lr(lam, h["momentum"])
        return {"lr": v, "text": f"η < 2(1+γ)/λ_max = {v:.4g}"}
    if opt.name == "nesterov":
        v = bounds.nesterov_max_lr(lam, h["momentum"])
        return {"lr": v, "text": f"η < 2(1+γ)/((1+2γ)λ_max) = {v:.4g}"}
    b = bounds.adaptive_bound(opt.name, h)
    return {"lr": None, "text": f"stable while η·λ_max of the preconditioned Hessian < {b:.4g}"}


def _path(points: list, start) -> np.ndarray:
    path = np.concatenate([np.asarray(start, dtype=float)[None], np.concatenate(points)]) if points else \
        np.asarray(start, dtype=float)[None]
    stride = max(1, -(-len(path) // PATH_POINTS))
    return np.concatenate([path[::stride], path[-1:]]) if (len(path) - 1) % stride else path[::stride]


def _contours(prob, paths, start) -> dict:
    """log10(f − f*) over the plane of the first two parameters (the others at the optimum), on a box that holds
    the start and the optimum, widened to the paths where they stay within twice that box: a diverging path leaves
    the picture instead of shrinking everything else to a dot."""
    centre = np.asarray(prob.optimum, dtype=float)
    first = np.asarray(start, dtype=float)[:2]
    half = np.maximum(np.abs(first - centre[:2]), 1e-3 + 0.05 * np.abs(first - centre[:2]).max())
    lo, hi = np.minimum(first, centre[:2]), np.maximum(first, centre[:2])
    for p in paths:
        near = p[np.isfinite(p).all(axis=1)][:, :2]
        near = near[(np.abs(near - centre[:2]) <= 2 * half).all(axis=1)]
        if near.size:
            lo, hi = np.minimum(lo, near.min(axis=0)), np.maximum(hi, near.max(axis=0))
    pad = 0.1 * (hi - lo) + 1e-3
    xs, ys = (np.linspace(lo[i] - pad[i], hi[i] + pad[i], CONTOUR_GRID) for i in range(2))
    grid = np.tile(centre, (CONTOUR_GRID * CONTOUR_GRID, 1))
    gx, gy = np.meshgrid(xs, ys)
    grid[:, 0], grid[:, 1] = gx.ravel(), gy.ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = prob.loss(grid) - (prob.optimal_loss or 0.0)
        # log10 of the gap, floored 8 decades below its largest value on the box: contours of a quadratic are then
        # evenly spaced ellipses (each a factor of the loss), and the floor keeps log10(0) at the optimum finite
        z = np.log10(np.maximum(gap, gap.max() * 1e-8))
    return {"x": xs, "y": ys, "z": z.reshape(CONTOUR_GRID, CONTOUR_GRID), "axes": list(prob.param_names[:2])}


def _batch(prob, body) -> int:
    """The request's batch size; omitted, train()'s default, or 1 on a deterministic objective (one "example")."""
    default = requests.TRAIN_DEFAULTS["batch_size"] if prob.n_examples > 1 else 1
    return default if body.get("batch_size") is None else body["batch_size"]


def view(body) -> dict:
    """Up to eight optimizers on one problem, each trained by ``optimlab.train`` from the same start: loss curves,
    trajectories (at most 400 points each), final loss, divergence, the stability bound that applies, the command
    and Python lines that reproduce it; the contours of the loss around them; the curvature (λ_max, λ_min, κ).

    Fields: runs ([{"optimizer": ..., "hyperparameters": {...}}], required), problem (default quadratic-2d),
    condition, schedule (applied to the optimizers that have η), batch_size, epochs (steps on the 2-D problems),
    seed, start (the 2-D problems' default: the lecture's (−5, −2), Rosenbrock's (−1.5, 2))."""
    body = fields(body, VIEW_FIELDS)
    prob = requests.problem(body.get("problem") or "quadratic-2d", body.get("seed"), body.get("condition"))
    if prob.dim < 2:
        raise ValueError(f"the view draws a plane of parameters; {prob.name} has {prob.dim} (its picture is "
                         f"/api/taylor)")
    lines = _lines(body.get("runs"))
    sched = requests.schedule(body.get("schedule"))
    kwargs = requests.loop(prob, {**body, "batch_size": _batch(prob, body)})
    init = requests.start(prob, body.get("start"))
    lam = curvature(prob)
    out_runs, paths = [], []
    for opt in lines:
        points = []
        sched_here = sched if "lr" in opt.hyperparams else schedules.make("constant")
        run = run_training(prob, opt, schedule=sched_here, init=init, **kwargs,
                           observe=lambda e, i, params, state, lr, points=points: points.append(params.copy()))
        first = run.initial_params[0]
        path = _path(points, first)
        paths.append(path)
        d = run.to_dict()
        out_runs.append({
            "optimizer": opt.name, "hyperparameters": d["hyperparameters"], "label": f"{opt.name} " + run.labels()[0],
            "schedule": d["schedule"], "epochs_axis": d["epochs_axis"], "losses": d["losses"],
            "final_loss": d["final_loss"], "diverged": d["diverged"], "diverged_at": d["diverged_at"],
            "params": d["params"], "path": path, "bound": _bound(prob, opt, run.batch_size, lam.lambda_max),
            "seconds": d["seconds"], "command": commands.lines(body, prob, opt, sched_here, kwargs, init),
        })
    return json_ready({
        "problem": {"name": prob.name, "param_names": list(prob.param_names), "optimal_loss": prob.optimal_loss,
                    "optimum": prob.optimum, "curvature": lam.to_dict(), "n_examples": prob.n_examples},
        "runs": out_runs,
        "contours": _contours(prob, paths, paths[0][0]),
    })


MAP_FIELDS = ["problem", "condition", "optimizer", "hyperparameters", "x", "y", "schedule", "batch_size", "epochs",
              "seed", "start"]


def stability_map(body) -> dict:
    """The gap left, (f_final − f*)/(f_0 − f*), over a grid of η × γ or η × batch size, with the theory boundary.
    Fields: x and y ({"name": a hyperparameter or batch_size, "values": [...]}, at most 1000 cells), optimizer,
    hyperparameters (the fixed ones), and the view's problem, schedule, batch_size, epochs, seed, start.
    The grid itself is computed by :func:`optimlab.playground.maps.stability_map` (one vectorized train call)."""
    body = fields(body, MAP_FIELDS)
    prob = requests.problem(body.get("problem") or "quadratic-2d", body.get("seed"), body.get("condition"))
    x, y = maps.axis("x", body.get("x")), maps.axis("y", body.get("y"))
    fixed = requests.hyperparameters(body.get("hyperparameters"))
    for key, value in fixed.items():  # the axes vary; everything else is one value for the whole map
        if value is not None and not isinstance(checks.as_values(key, value), float):
            raise ValueError(f"{key} is fixed on a map: give one value, got {value!r}")
    kwargs = requests.loop(prob, {**body, "batch_size": _batch(prob, body)})
    result = maps.stability_map(prob, body.get("optimizer") or "momentum", x=x, y=y,
                                schedule=requests.schedule(body.get("schedule")),
                                init=requests.start(prob, body.get("start")), **kwargs, **fixed)
    result["boundary"] = maps.boundary(prob, body.get("optimizer") or "momentum", x, y, fixed,
                                       kwargs.get("batch_size", 1))
    return json_ready(result)


taylor, ema, verdict = lecture_views.taylor, lecture_views.ema, lecture_views.verdict
