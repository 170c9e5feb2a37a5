"""The sharpness of a model's loss, λ_max of its Hessian, and the cheap critical sharpness along the update.

Sharpness: Lanczos (``scipy.sparse.linalg.eigsh``) on exact Hessian-vector products. The gradient g(θ) is built
once with ``create_graph=True``; each product Hv = ∇(g·v) is one more backward pass through that graph (double
backward), in the model's own dtype (float64 where the model is), with Lanczos itself in float64. With an
optimizer the eigenproblem is the one its next update must keep under its bound (:mod:`optimlab.torch._state`):
λ_max(ηP⁻¹H) < c, solved in the symmetric form S^½ H S^½ with S = diag(η/(cP)), so that ``ratio`` < 1 means
stable, and reported as λ_max(P⁻¹H) against the threshold c/η (2/η for gradient descent, 2(1+γ)/η heavy ball,
2(1+β1)/((1−β1)η) = 38/η for Adam at β1 = 0.9).

Critical sharpness: along the update direction d (the optimizer's next step, or the gradient), the smallest step
η_c with L(θ − η_c d) > L(θ), found by bracketing and bisection with forward passes only, reported as 2/η_c. On a
quadratic with d = g, L(θ − ηg) − L(θ) = −η gᵀg + ½η² gᵀHg, so η_c = 2gᵀg/gᵀHg and 2/η_c = gᵀHg/gᵀg: the
curvature along the step, ≤ λ_max. An update with η > η_c raises the loss along its own direction.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse.linalg as sla
import torch

from optimlab.torch import _model, _state

DENSE_BELOW = 8  # Lanczos needs a few dimensions to work in; below this the Hessian is built column by column
# Lanczos vectors kept by ARPACK: its restarts cost O(n·ncv²), and at scipy's default 20 they cost more than the
# Hessian-vector products themselves on a 100k-parameter MLP; 12 needed as few products and half the time there
# (benchmarks/bench_sharpness.py)
NCV = 12


@dataclass
class Sharpness:
    """λ_max of the Hessian (``kind="hessian"``) or of P⁻¹H (``kind="preconditioned"``), its stability threshold
    and the cost it took. ``ratio = lambda_max/threshold`` (< 1: the next update is stable along every direction).
    When the optimizer's groups use different η or bounds, ``lambda_max`` is λ_max(S^½HS^½) itself and ``threshold``
    is 1."""
    lambda_max: float
    eigenvalues: np.ndarray  # the top k, largest first
    kind: str
    optimizer: str | None
    lr: float | None
    bound: float | None  # c: stable while η·lambda_max < c
    threshold: float | None  # c/η
    ratio: float | None
    hvps: int
    gradient_evaluations: int
    seconds: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["eigenvalues"] = [float(x) for x in self.eigenvalues]
        return d


def sharpness(model, loss_fn, batches, optimizer=None, k: int = 1, tol: float = 1e-6, seed: int = 0) -> Sharpness:
    """λ_max of the Hessian of L(θ) = Σ_b (n_b/N)·loss_fn(model(x_b), y_b) over ``batches`` (one ``(x, y)`` or an
    iterable of them, averaged as one loss weighted by batch size), or with ``optimizer`` the preconditioned
    λ_max(P⁻¹H) read from its live state, with the threshold of its next update. ``k`` top eigenvalues are found to
    relative accuracy ``tol``; the Lanczos start vector is drawn from ``seed`` (no global RNG is touched). Give a few
    batches, not a whole loader: each batch's gradient graph is kept for the products (memory ≈ one training step
    per batch). Costs ``hvps`` products of about 2 gradient evaluations each (benchmarks/bench_sharpness.py)."""
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    batches = _model.as_batches(batches)
    start = time.perf_counter()
    pre = _state.read(optimizer) if optimizer is not None else None
    params = pre.params if pre else _model.trainable(model)
    n = sum(p.numel() for p in params)
    if k > n:
        raise ValueError(f"k must be <= the number of parameters {n}, got {k}")
    like = params[0]
    scale = pre.scale if pre else None
    root = torch.sqrt(scale) if pre else None
    counter = [0]
    with _model.quiet(model) as rewind:
        grads = _gradient_graph(model, loss_fn, batches, params, rewind)

        def matvec(v):
            counter[0] += 1
            v = torch.as_tensor(np.asarray(v, dtype=np.float64).reshape(-1), dtype=like.dtype, device=like.device)
            if root is not None:
                v = root * v
            pieces = _model.unflat(v, params)
            dot = sum((g * u).sum() for g, u in zip(grads, pieces))
            parts = torch.autograd.grad(dot, params, retain_graph=True, allow_unused=True)
            hv = _model.flat([torch.zeros_like(p) if h is None else h for p, h in zip(params, parts)])
            if pre is not None:
                hv = root * (hv + pre.decay * v)
            if not torch.isfinite(hv).all():
                raise ValueError("a Hessian-vector product is not finite at these parameters: no curvature to "
                                 "measure")
            return hv.detach().to(torch.float64).cpu().numpy()

        values = _top_eigenvalues(matvec, n, k, tol, seed)
    top = float(values[0])
    if pre is None:
        return Sharpness(top, values, "hessian", None, None, None, None, None, counter[0], len(batches),
                         time.perf_counter() - start)
    uniform = pre.lr is not None and pre.bound is not None
    factor = pre.bound / pre.lr if uniform else 1.0  # S = (η/c)·P⁻¹: undo it to report λ_max(P⁻¹H)
    kind = "preconditioned" if pre.adaptive else "hessian"
    threshold = pre.bound / pre.lr if uniform else 1.0
    return Sharpness(top * factor, values * factor, kind, pre.family, pre.lr, pre.bound, threshold, top,
                     counter[0], len(batches), time.perf_counter() - start)


def _gradient_graph(model, loss_fn, batches, params, rewind):
    """g(θ) with its graph kept, so that each Hessian-vector product is one more backward pass."""
    rewind()
    grads = None
    for w, (x, y) in zip(_model.weights(batches), batches):
        loss = w * loss_fn(model(x), y)
        if not torch.isfinite(loss.detach()).all():
            raise ValueError(f"the loss is {float(loss.detach())} at these parameters: no curvature to measure")
        g = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
        g = [torch.zeros_like(p) if gi is None else gi for p, gi in zip(params, g)]
        grads = g if grads is None else [a + b for a, b in zip(grads, g)]
    return grads


def _top_eigenvalues(matvec, n, k, tol, seed) -> np.ndarray:
    if n < DENSE_BELOW or k >= n - 1:
        dense = np.column_stack([matvec(e) for e in np.eye(n)])
        return np.sort(np.linalg.eigvalsh(0.5 * (dense + dense.T)))[::-1][:k]
    op = sla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)  # a seeded start: the same answer every call
    ncv = min(n - 1, max(NCV, 2 * k + 1))
    values = sla.eigsh(op, k=k, which="LA", tol=tol, v0=v0, ncv=ncv, return_eigenvectors=False)
    return np.sort(values)[::-1]


@dataclass
class CriticalSharpness:
    """η_c, the smallest step along the update direction d at which the loss rises, and 2/η_c."""
    critical_lr: float  # η_c (inf: the loss never rose up to max step; 0: d is not a descent direction)
    critical_sharpness: float  # 2/η_c
    lr: float | None  # the optimizer's η, when there is one
    ratio: float | None  # η/η_c: > 1 means the next update raises the loss along its own direction
    direction: str  # "update" or "gradient"
    forward_passes: int
    gradient_evaluations: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def critical_sharpness(model, loss_fn, batches, optimizer=None, rtol: float = 1e-2, guess: float | None = None,
                       max_forward: int = 60) -> CriticalSharpness:
    """2/η_c along d: d = −Δθ/η of the optimizer's next update (a dry run of ``optimizer.step()`` on the gradient of
    ``batches``, then the parameters and optimizer state restored), or d = g without an optimizer. η_c is bracketed by
    halving or doubling from ``guess`` (default: the optimizer's η, else 1), then bisected to relative width
    ``rtol``. The loss is evaluated in the model's mode with the RNG rewound, so dropout is the same in every pass.
    Step hooks registered on the optimizer (``register_step_post_hook``) fire during the dry run: keep hooks with
    side effects (an EMA of the weights) out of a monitored optimizer, or measure without ``optimizer``."""
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol}")
    batches = _model.as_batches(batches)
    start = time.perf_counter()
    params = _model.trainable(model)
    lr = float(optimizer.param_groups[0]["lr"]) if optimizer is not None else None
    passes = [0]
    with _model.quiet(model) as rewind:
        base = _model.loss_on(model, loss_fn, batches, rewind)
        passes[0] += 1
        grads = torch.autograd.grad(base, params, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
        direction = _update_direction(optimizer, params, grads, lr) if optimizer is not None else grads
        theta = [p.detach().clone() for p in params]
        base = float(base.detach())

        def rises(eta: float) -> bool:
            passes[0] += 1
            with torch.no_grad():
                for p, t, d in zip(params, theta, direction):
                    p.copy_(t - eta * d)
                value = float(_model.loss_on(model, loss_fn, batches, rewind))
            return not value <= base  # NaN counts as a rise

        try:
            eta_c = _bracket(rises, guess or lr or 1.0, rtol, max_forward)
        finally:
            with torch.no_grad():
                for p, t in zip(params, theta):
                    p.copy_(t)
    crit = 2.0 / eta_c if eta_c > 0 else math.inf
    ratio = lr / eta_c if lr is not None and eta_c > 0 else (math.inf if lr else None)
    return CriticalSharpness(eta_c, crit, lr, ratio, "update" if optimizer is not None else "gradient",
                             passes[0], 1, time.perf_counter() - start)


def _bracket(rises, guess: float, rtol: float, max_forward: int) -> float:
    """The first η at which the loss rises: double (or halve) from ``guess`` until the answer changes, then
    bisect the bracket in log space until hi/lo < 1 + rtol."""
    lo, hi = 0.0, math.inf
    eta = guess
    for _ in range(max_forward // 2):
        if rises(eta):
            hi = eta
            if eta < 1e-12 * guess:
                return 0.0  # it rises at any step: not a descent direction
            eta /= 2
        else:
            lo = eta
            eta *= 2
        if lo > 0 and math.isfinite(hi):
            break
    if not math.isfinite(hi):
        return math.inf
    if lo == 0.0:
        return 0.0
    for _ in range(max_forward // 2):
        if hi / lo < 1 + rtol:
            break
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if rises(mid) else (mid, hi)
    return hi


def _update_direction(optimizer, params, grads, lr):
    """−Δθ/η of the optimizer's next update on ``grads``, by a dry run whose trace is undone: parameters, their
    .grad and the optimizer's state (deep-copied state_dict) are put back as they were."""
    saved_state = copy.deepcopy(optimizer.state_dict())
    saved_grad = [p.grad for p in params]
    theta = [p.detach().clone() for p in params]
    try:
        for p, g in zip(params, grads):
            p.grad = g.detach().clone()
        optimizer.step()
        with torch.no_grad():
            return [(t - p.detach()) / lr for p, t in zip(params, theta)]
    finally:
        with torch.no_grad():
            for p, t, g in zip(params, theta, saved_grad):
                p.copy_(t)
                p.grad = g
        optimizer.load_state_dict(saved_state)
