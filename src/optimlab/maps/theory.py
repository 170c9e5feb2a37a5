"""The theory drawn on a stability map, from :mod:`optimlab.analysis` (no bound is restated here).

On a quadratic model of the loss at a point (the optimum where known, else the common start):

* full batch: gradient descent is stable iff η < 2/λ_max, heavy-ball momentum iff η < 2(1 + γ)/λ_max, Nesterov
  iff η < 2(1 + γ)/((1 + 2γ)λ_max) (:mod:`optimlab.analysis.bounds`);
* minibatches: the mean-square bound, the largest η at which E|e|² stays bounded
  (:func:`optimlab.analysis.stability.mean_square_max_lr`; P ≤ 12, as it builds a (2P)² × (2P)² operator);
* on a quadratic (least squares, ``Quadratic``: the Hessian is the same everywhere) with sgd or momentum: the
  per-step contraction over the whole spectrum, the largest root modulus of the heavy-ball recurrence over
  λ ∈ [λ_min, λ_max], as in Goh's "Why Momentum Really Works", with Polyak's optimal (η*, γ*) marked.

Each boundary is a polyline in the map's (x, y) coordinates; ``unstable`` is the predicted verdict per cell where
it is exact (full batch on a quadratic), to count the cells where the runs agree.
"""

from __future__ import annotations

import numpy as np

from optimlab import optim
from optimlab.analysis import bounds
from optimlab.analysis.curvature import curvature
from optimlab.analysis.stability import hessian_second_moment, mean_square_max_lr
from optimlab.maps.axes import Axis
from optimlab.problems import LinearRegression, Quadratic

MEAN_SQUARE_MAX_DIM = 12
MEAN_SQUARE_POINTS = 25  # the mean-square boundary is smooth in γ: this many bisections draw it, interpolated
BOUNDED = ("sgd", "momentum", "nesterov")


def lambda_max_min(problem, point) -> tuple[float, float | None, str]:
    """(λ_max, λ_min, method): exact eigenvalues where the problem has a closed-form Hessian; else λ_max alone by
    Lanczos (scipy's eigsh on Hessian-vector products), which needs a few dozen products where power iteration may
    need thousands on a large network."""
    if getattr(problem, "exact_hessian", False) and problem.dim <= 2000:
        c = curvature(problem, point)
        return c.lambda_max, c.lambda_min, c.method
    if not problem.has_hvp:
        c = curvature(problem, point, max_iter=500)
        return c.lambda_max, None, c.method
    import scipy.sparse.linalg

    p = problem.dim
    op = scipy.sparse.linalg.LinearOperator((p, p), matvec=lambda v: problem.hvp(point, np.ravel(v)), dtype=float)
    value = scipy.sparse.linalg.eigsh(op, k=1, which="LA", tol=1e-6, return_eigenvectors=False,
                                      v0=np.ones(p))[0]
    return float(value), None, "Lanczos (scipy eigsh) on exact Hessian-vector products"


def heavy_ball_rate(lr, gamma, lam_max: float, lam_min: float) -> np.ndarray:
    """Per-step contraction of full-batch heavy ball (γ = 0: gradient descent) for arrays of η and γ: the spectral
    radius of the iteration matrix [[1 + γ − ηλ, −γ], [1, 0]] (acting on (e_t, e_{t−1})), largest over λ.

    This is :func:`optimlab.analysis.bounds.momentum_rate` for a whole grid at once: the matrix's eigenvalues are
    the roots of the same z² − (1 + γ − ηλ) z + γ, taken by one batched ``eigvals`` instead of one ``np.roots``
    per cell (a 100 × 100 grid: 10 ms instead of 2 s); the tests hold the two equal. The modulus is quasi-convex
    in λ, so the ends λ_min, λ_max of the spectrum decide the maximum.
    """
    lr, gamma = np.broadcast_arrays(np.asarray(lr, dtype=float), np.asarray(gamma, dtype=float))
    worst = np.zeros(lr.shape)
    for lam in (lam_min, lam_max):
        M = np.zeros(lr.shape + (2, 2))
        M[..., 0, 0] = 1 + gamma - lr * lam
        M[..., 0, 1] = -gamma
        M[..., 1, 0] = 1.0
        worst = np.maximum(worst, np.abs(np.linalg.eigvals(M)).max(axis=-1))
    return worst


def _full_batch_bound(optimizer: str, lam: float, gamma: float) -> float:
    if optimizer == "nesterov":
        return bounds.nesterov_max_lr(lam, gamma)
    return bounds.momentum_max_lr(lam, gamma)


def _line(name, x: Axis, y: Axis, lr: np.ndarray, other: np.ndarray) -> dict:
    """A boundary η = f(other) as a polyline in (x, y): lr on whichever axis holds it."""
    xs, ys = (lr, other) if x.name == "lr" else (other, lr)
    return {"name": name, "x": [float(v) for v in xs], "y": [float(v) for v in ys]}


def theory(problem, optimizer: str, x: Axis, y: Axis, batch_size: int, fixed: dict, point) -> dict:
    """The curvature, the boundaries, the rate map and the predicted verdicts for a map (see the module doc)."""
    point = np.asarray(point, dtype=float)
    lam_max, lam_min, method = lambda_max_min(problem, point)
    out: dict = {"lambda_max": lam_max, "lambda_min": lam_min, "curvature": method,
                 "point": "optimum" if problem.optimum is not None else "start", "lines": [], "optimum": None,
                 "rate": None, "unstable": None}
    names = {x.name, y.name}
    if optimizer not in BOUNDED or "lr" not in names or lam_max <= 0:
        out["note"] = (f"no closed-form stability boundary for {optimizer}" if optimizer not in BOUNDED else
                       "the boundaries are drawn on an lr axis" if "lr" not in names else "λ_max <= 0")
        return out
    other = y if x.name == "lr" else x
    lr_axis = x if x.name == "lr" else y
    default_gamma = optim.defaults(optimizer).get("momentum", 0.0)
    gamma_fixed = fixed.get("momentum", default_gamma)
    gammas = other.values if other.name == "momentum" else np.full(other.values.shape, gamma_fixed)
    out["lines"].append(_line("2/λ_max", x, y, np.full(gammas.shape, bounds.gd_max_lr(lam_max)), other.values))
    if optimizer != "sgd":
        label = "2(1+γ)/((1+2γ)λ_max)" if optimizer == "nesterov" else "2(1+γ)/λ_max"
        lrs = np.array([_full_batch_bound(optimizer, lam_max, g) for g in gammas])
        out["lines"].append(_line(label, x, y, lrs, other.values))
    n = problem.n_examples
    small = problem.dim <= MEAN_SQUARE_MAX_DIM and optimizer in ("sgd", "momentum")
    if small and (batch_size < n or other.name == "batch_size"):
        ms = []
        at = np.unique(np.linspace(0, len(gammas) - 1, min(MEAN_SQUARE_POINTS, len(gammas))).round().astype(int))
        for g, v in zip(gammas[at], other.values[at]):
            b = int(v) if other.name == "batch_size" else batch_size
            if b >= n:
                ms.append(_full_batch_bound(optimizer, lam_max, g))
                continue
            H, HH = hessian_second_moment(problem, b, point)
            ms.append(mean_square_max_lr(H, HH, g))
        out["lines"].append(_line("mean-square (minibatch)", x, y, np.array(ms), other.values[at]))
    # the rate and the per-cell verdict are exact only where the Hessian is the same everywhere
    quadratic = isinstance(problem, (LinearRegression, Quadratic)) and lam_min is not None and lam_min > 0
    if quadratic and optimizer in ("sgd", "momentum"):
        lr_grid, gamma_grid = np.meshgrid(lr_axis.values, gammas, indexing="xy")
        rate = heavy_ball_rate(lr_grid, gamma_grid, lam_max, lam_min)
        out["rate"] = rate if x.name == "lr" else rate.T
        if optimizer == "momentum" and other.name == "momentum":
            eta, gamma, r = bounds.optimal_momentum(lam_max, lam_min)
            out["optimum"] = {"lr": eta, "momentum": gamma, "rate": r}
        elif optimizer == "sgd" or gamma_fixed == 0:
            eta, r = bounds.optimal_lr(lam_max, lam_min)
            out["optimum"] = {"lr": eta, "rate": r}
        full_batch = batch_size >= n and other.name != "batch_size"
        if full_batch:
            out["unstable"] = out["rate"] >= 1
    return out


def jsonable(theory_dict: dict) -> dict:
    """The theory with arrays as nested lists (rows = y)."""
    out = {}
    for key, value in theory_dict.items():
        out[key] = value.tolist() if isinstance(value, np.ndarray) else value
    return out
