"""The lecture's own pictures and claims, as endpoints of :mod:`optimlab.playground.api`: a lecture experiment's
claim checked at the page's settings (``verdict``), the Taylor argument on x² and x⁴ (``taylor``), and momentum as an
exponential moving average (``ema``)."""

from __future__ import annotations

import functools

import numpy as np

from optimlab import checks, optim, schedules
from optimlab.analysis import bounds
from optimlab.lecture import theory
from optimlab.lecture.experiments import BY_NAME
from optimlab.playground import requests
from optimlab.playground.requests import fields
from optimlab.results import jsonable
from optimlab.train import train as run_training


def verdict(body) -> dict:
    """A lecture experiment's claim checked on a run of the given settings (the experiment's own where omitted),
    against the runs it compares with at their lecture settings, all on the lecture's data drawn from ``seed``."""
    body = fields(body, ["experiment", "optimizer", "hyperparameters", "batch_size", "epochs", "seed", "schedule"])
    name = body.get("experiment")
    if not isinstance(name, str) or name not in BY_NAME:
        raise ValueError(f"unknown experiment {name!r}; choose from: {', '.join(BY_NAME)}")
    e = BY_NAME[name]
    seed = checks.check_int("seed", body.get("seed", requests.TRAIN_DEFAULTS["seed"]), minimum=0)
    prob = requests.problem("linear-regression", seed)
    opt = requests.optimizer(body.get("optimizer") or e.optimizer,
                             e.hyperparams if body.get("hyperparameters") is None else body["hyperparameters"])
    if opt.num_configs is not None:
        raise ValueError("a claim is checked on one configuration: give single values")
    sched = e.schedule() if body.get("schedule") is None else requests.schedule(body["schedule"])
    if "lr" not in opt.hyperparams:  # as in the view: a schedule scales η, and this optimizer has none
        sched = schedules.make("constant")
    settings = {"batch_size": body.get("batch_size", e.batch_size), "epochs": body.get("epochs", e.epochs),
                "seed": seed}
    requests.loop(prob, settings)
    run = run_training(prob, opt, schedule=sched, period=e.period if settings["batch_size"] == e.batch_size
                       else None, **settings)
    others = {c: BY_NAME[c].run(prob, seed=seed) for c in e.compare}
    try:
        v = e.check(run, others)
    except (IndexError, ZeroDivisionError) as err:  # a claim read at records these settings do not have
        raise ValueError(f"the claim of {name} cannot be read at these settings ({err}); use more epochs or a "
                         f"smaller batch") from None
    return jsonable({"experiment": name, "section": e.section, "claim": e.claim, "note": e.note,
                     "passed": bool(v.passed), "measured": v.measured, "numbers": v.numbers,
                     "final_loss": run.final_loss, "optimal_loss": run.optimal_loss, "diverged": run.diverged})


def taylor(body) -> dict:
    """Gradient descent on x² or x⁴ from ``start`` at η: the iterates, the function, and where the Taylor argument
    says a step stops helping. On x², η < 2/f'' = 1 everywhere; on x⁴ the curvature 12x² depends on where the run
    is, and the measured boundary of converging starts is compared with 1/√(2η) (lecture.theory.quartic).
    Fields: function (x2 or x4), lr, start, steps (at most 200)."""
    body = fields(body, ["function", "lr", "start", "steps"])
    function = body.get("function", "x2")
    if function not in ("x2", "x4"):
        raise ValueError(f"function must be x2 or x4, got {function!r}")
    name = "quadratic-1d" if function == "x2" else "quartic"
    prob = requests.problem(name)
    lr = body.get("lr")
    lr = checks.check_range("lr", (0.4 if function == "x2" else theory.QUARTIC_LR) if lr is None else lr, "positive")
    if isinstance(lr, np.ndarray):
        raise ValueError("lr must be a single number")
    start = checks.as_values("start", body.get("start", 5.0 if function == "x2" else 3.0))
    if not isinstance(start, float) or abs(start) > 100:
        raise ValueError(f"start must be a number in [-100, 100], got {body.get('start')!r}")
    steps = checks.check_int("steps", body.get("steps", 12), minimum=1, maximum=200)
    points = []
    run = run_training(prob, optim.make("sgd", lr=lr), batch_size=1, epochs=steps, init=[start],
                       observe=lambda e, i, params, state, lr_: points.append(float(params[0, 0])))
    xs = np.array([start, *points])
    reach = max(abs(start) * 1.3, 1.0)
    grid = np.linspace(-reach, reach, 201)
    curv = float(prob.hvp(np.array([start]), np.array([1.0]))[0])  # f''(x₀): 2 for x², 12x₀² for x⁴
    out = {"function": function, "lr": lr, "start": start, "x": xs, "f": prob.loss(xs[:, None]),
           "curve_x": grid, "curve_f": prob.loss(grid[:, None]), "diverged": run.diverged,
           "curvature_at_start": curv, "taylor_max_lr": bounds.gd_max_lr(curv) if curv > 0 else None}
    if function == "x4":
        # 100 steps suffice to measure the boundary: a start inside it ends below |x₀|, one outside above it (or
        # diverged), whichever side it is caught on; 1000 steps (the report's) cost 0.1 s per slider move
        v, data = theory.quartic(lr=lr, steps=100)
        out.update(boundary=data["boundary"], measured_boundary=data["measured"], taylor_boundary=data["taylor_bound"],
                   verdict=v.measured)
    return jsonable(out)


@functools.lru_cache(maxsize=256)
def _ema(gamma: float, t: int):
    """lecture.theory.ema runs 3000 momentum updates (enough for γ = 0.999 to approach 1/(1−γ)); its answer depends
    on (γ, t) only, and a slider revisits the same few hundred values, so each is computed once."""
    return theory.ema(gamma=gamma, t=t)


def ema(body) -> dict:
    """Momentum as an exponential moving average (lecture.theory.ema): the weights (1−γ)γ^(t−i) and, under a steady
    gradient, v/(ηg) climbing to 1/(1−γ), measured by running the momentum optimizer. Fields: gamma, t."""
    body = fields(body, ["gamma", "t"])
    gamma = checks.check_range("gamma", body.get("gamma", 0.9), "unit")
    if isinstance(gamma, np.ndarray):
        raise ValueError("gamma must be a single number")
    t = checks.check_int("t", body.get("t", 20), minimum=1, maximum=500)
    v, data = _ema(gamma, t)
    row = data["gammas"].index(gamma)
    ratio = data["ratio"][row]
    return jsonable({"gamma": gamma, "t": t, "weights": data["weights"], "weights_sum": float(data["weights"].sum()),
                     "ratio": ratio[:400], "factor": 1 / (1 - gamma), "factor_measured": float(ratio[-1]),
                     "verdict": v.measured})
