"""Stability maps for the playground: the gap left over a grid of η × γ or η × batch size, and the theory boundary.

The grid is computed by :func:`optimlab.maps.stability_map` (issue 9's room: hyperparameter cells in vectorized
chunks, one ``train`` call per batch size); this module only shapes it for the page and draws the boundary from
:mod:`optimlab.analysis.bounds` and :mod:`optimlab.analysis.stability`.
"""

from __future__ import annotations

import functools

import numpy as np

from optimlab import checks, optim
from optimlab import maps as maps_room
from optimlab.analysis import bounds, stability
from optimlab.analysis.curvature import curvature
from optimlab.playground import requests

LOOP = ("batch_size", "epochs", "seed", "init", "schedule", "init_scale")


def axis(which: str, spec) -> tuple[str, np.ndarray]:
    """``{"name": "lr", "values": [...]}`` -> ("lr", values): a hyperparameter or ``batch_size``, 2 to MAX_GRID
    values (their ranges are checked where they are used: optim.make and train)."""
    spec = requests.fields(spec, ["name", "values"], f"the {which} axis")
    name = spec.get("name")
    if not isinstance(name, str) or (name not in optim.HYPERPARAMETERS and name != "batch_size"):
        raise ValueError(f"{which} axis must be a hyperparameter or batch_size, got {name!r}")
    values = spec.get("values")
    if not isinstance(values, list) or not 2 <= len(values) <= requests.MAX_GRID:
        raise ValueError(f"{which} axis needs a list of 2 to {requests.MAX_GRID} values")
    return name, checks.as_values(f"{which} axis values", values)


def stability_map(problem, optimizer: str, x: tuple[str, np.ndarray], y: tuple[str, np.ndarray], **fixed) -> dict:
    """Train ``optimizer`` on ``problem`` at every (x, y) cell through :func:`optimlab.maps.stability_map`;
    ``fixed`` holds the other hyperparameters and train()'s keywords. Returns the axes and, per cell (rows y,
    columns x), the gap left (f_final − f*)/(f_0 − f*) (NaN where the run diverged), the final loss and the
    divergence mask."""
    (xn, xv), (yn, yv) = x, y
    if xn == yn:
        raise ValueError(f"the two axes must differ, got {xn} twice")
    if xv.size * yv.size > requests.MAX_CONFIGS:
        raise ValueError(f"{xv.size}×{yv.size} = {xv.size * yv.size} cells asked; a map has at most "
                         f"{requests.MAX_CONFIGS}")
    if xn == "batch_size":
        raise ValueError("put batch_size on the y axis")
    loop = {k: fixed.pop(k) for k in LOOP if fixed.get(k) is not None}
    fixed.pop("period", None)  # a map records once per epoch: it needs only the final loss
    hyper = {k: v for k, v in fixed.items() if v is not None}
    m = maps_room.stability_map(problem, optimizer, x=(xn, xv), y=(yn, yv), theory=False, **loop, **hyper)
    floor = problem.optimal_loss or 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(m.diverged, np.nan, (m.final_loss - floor) / (m.start_loss - floor))
    return {"optimizer": optimizer, "x": {"name": xn, "values": xv}, "y": {"name": yn, "values": yv},
            "gap": gap, "final_loss": m.final_loss, "diverged": m.diverged, "seconds": m.seconds}


@functools.lru_cache(maxsize=1024)
def _mean_square(problem, batch_size: int, gamma: float) -> float:
    H, HH = stability.hessian_second_moment(problem, batch_size)
    # 1e-4 relative: far finer than a map's cells (64 at most over several decades) at half the bisection steps
    return stability.mean_square_max_lr(H, HH, gamma, rel_tol=1e-4)


def mean_square_bounds(problem, batch_sizes, gamma: float) -> list[float]:
    """The largest η stable in mean square (optimlab.analysis.stability) for each batch size, at momentum γ."""
    return [_mean_square(problem, int(b), float(gamma)) for b in batch_sizes]


def boundary(problem, optimizer: str, x, y, fixed: dict, batch_size: int) -> dict:
    """Where theory puts the edge of stability on the map: η_max as a function of the y axis. Heavy ball and
    Nesterov on a deterministic objective or full batch: the closed forms of analysis.bounds; SGD and heavy ball on
    minibatches: the mean-square bound of analysis.stability. Otherwise none, and the text says so."""
    (xn, _), (yn, yv) = x, y
    none = {"x": None, "y": None, "text": f"no closed-form boundary for {optimizer} over {xn} × {yn}"}
    if xn != "lr" or optimizer not in ("sgd", "momentum", "nesterov"):
        return none
    gamma = fixed.get("momentum")  # validated by the map's own optim.make; omitted (None): the default
    gamma = float(optim.defaults(optimizer).get("momentum", 0.0) if gamma is None else gamma)
    minibatch = problem.n_examples > 1 and optimizer != "nesterov"
    if yn == "batch_size":
        if not minibatch:
            return none
        return {"x": mean_square_bounds(problem, yv, gamma), "y": yv,
                "text": "mean-square stability bound on η for each batch size (E[H_b ⊗ H_b], exact on least squares)"}
    if yn != "momentum":
        return none
    if minibatch and batch_size < problem.n_examples and optimizer == "momentum":
        return {"x": [_mean_square(problem, batch_size, float(g)) for g in yv], "y": yv,
                "text": f"mean-square stability bound on η at batch {batch_size} (heavy ball)"}
    lam = curvature(problem).lambda_max
    if lam <= 0:  # x⁴ is flat at its minimum: the quadratic model there bounds nothing
        return {**none, "text": f"λ_max = {lam:g} at the optimum: the quadratic model gives no bound"}
    rule = bounds.nesterov_max_lr if optimizer == "nesterov" else bounds.momentum_max_lr
    text = "η < 2(1+γ)/((1+2γ)λ_max)" if optimizer == "nesterov" else "η < 2(1+γ)/λ_max"
    return {"x": [rule(lam, float(g)) for g in yv], "y": yv, "text": f"{text}, λ_max = {lam:.4g}"}
