"""Curvature of a problem's loss: λ_max, λ_min and κ of the Hessian, and its spread over minibatches.

Three ways, chosen by ``method="auto"`` in this order and always named in ``Curvature.method``:

1. exact: a closed-form Hessian (quadratics, linear regression), eigenvalues by ``numpy.linalg.eigvalsh``;
2. dense: P ≤ :data:`DENSE_MAX_DIM` parameters, the Hessian built from P Hessian-vector products (exact ones where
   the problem has them, else finite differences of gradients), then ``eigvalsh``: P products cost less than a
   Lanczos run needs, and the answer is exact up to the products' own error;
3. Lanczos: scipy's ``eigsh`` (ARPACK's implicitly restarted Lanczos) on a ``LinearOperator`` of Hessian-vector
   products, for the largest and the smallest algebraic eigenvalue. Its ``converged`` flag is honest: False when
   ARPACK gives up (``ArpackNoConvergence``) or when the residual ‖Hv − λv‖ of the returned pair exceeds ``tol``·|λ|
   (for a symmetric H, |λ − λ_true| ≤ ‖Hv − λv‖ for some eigenvalue λ_true, so the flag guarantees ``tol`` relative
   accuracy). On an ill-conditioned H the smallest end converges slowly (Krylov methods resolve an eigenvalue at
   the rate of its gap relative to the spread of the spectrum): then the flag says so instead of a wrong number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from optimlab import checks
from optimlab.problems import Problem

EXACT = "exact: eigenvalues of the closed-form Hessian"
DENSE_EXACT_HVP = "exact: eigenvalues of the Hessian built from P exact Hessian-vector products"
DENSE_FD_HVP = ("eigenvalues of the Hessian built from P finite differences of gradients (the problem has no "
                "Hessian-vector product)")
LANCZOS_EXACT_HVP = "Lanczos (scipy eigsh) on exact Hessian-vector products"
LANCZOS_FD_HVP = ("Lanczos (scipy eigsh) on finite differences of gradients (the problem has no Hessian-vector "
                  "product)")
DENSE_MAX_DIM = 200  # up to this many parameters the Hessian is built from P products and decomposed exactly
METHODS = ("auto", "exact", "dense", "lanczos")


@dataclass(frozen=True)
class Curvature:
    """The extreme eigenvalues of the Hessian at a point, and how they were obtained."""

    lambda_max: float
    lambda_min: float
    method: str
    iterations: int = 0  # Hessian-vector products used (0 for a closed form)
    converged: bool = True
    residuals: tuple = ()  # Lanczos: ‖Hv − λv‖ at λ_max and at λ_min

    @property
    def condition_number(self) -> float:
        """κ = λ_max/λ_min (inf when λ_min <= 0: the problem is not strongly convex there)."""
        return self.lambda_max / self.lambda_min if self.lambda_min > 0 else float("inf")

    def to_dict(self) -> dict:
        return {"lambda_max": self.lambda_max, "lambda_min": self.lambda_min,
                "condition_number": self.condition_number, "method": self.method, "iterations": self.iterations,
                "converged": self.converged, "residuals": list(self.residuals)}


def default_point(problem: Problem) -> np.ndarray:
    """Where to measure when no point is given: the optimum if known, else the origin."""
    return np.array(problem.optimum if problem.optimum is not None else np.zeros(problem.dim), dtype=float)


def hvp_function(problem: Problem, params, idx=None, step: float | None = None):
    """v ↦ H(params)·v: exact where the problem has it, else a central difference of gradients,
    (∇f(x + hv) − ∇f(x − hv)) / 2h for unit v, whose error is O(h²·f''') + O(ε_mach·|∇f|/h); h = 1e-5·max(1, |x|)
    balances the two for well-scaled problems."""
    params = np.asarray(params, dtype=float)
    if problem.has_hvp:
        return (lambda v: np.asarray(problem.hvp(params, v, idx), dtype=float)), True
    h = step if step is not None else 1e-5 * max(1.0, float(np.linalg.norm(params)))

    def fd(v):
        norm = float(np.linalg.norm(v))
        if norm == 0:
            return np.zeros_like(v)
        u = v / norm
        return norm * (problem.grad(params + h * u, idx) - problem.grad(params - h * u, idx)) / (2 * h)

    return fd, False


def hessian_matrix(problem: Problem, params, idx=None) -> np.ndarray:
    """The P×P Hessian at ``params``: the problem's own where it has one (closed form or exact products), else
    built column by column from finite differences of gradients and symmetrised."""
    params = np.asarray(params, dtype=float)
    if getattr(problem, "exact_hessian", False) or problem.has_hvp:
        return np.asarray(problem.hessian(params, idx), dtype=float)
    hvp, _ = hvp_function(problem, params, idx)
    columns = np.stack([hvp(e) for e in np.eye(problem.dim)])
    return 0.5 * (columns + columns.T)


def _lanczos_end(hvp, dim: int, which: str, tol: float, max_iter: int, seed: int):
    """One end of the spectrum by eigsh: (λ, residual ‖Hv − λv‖, Hessian-vector products used, converged)."""
    calls = [0]

    def matvec(v):
        calls[0] += 1
        return hvp(np.asarray(v, dtype=float).ravel())

    op = LinearOperator((dim, dim), matvec=matvec, dtype=float)
    v0 = np.random.default_rng(seed).normal(size=dim)  # a random start has a component along every eigenvector
    try:
        # ARPACK stops on its Ritz estimate ‖r‖ ≤ tol'·|λ|; asking 100× tighter than the accuracy promised leaves
        # room for the true residual, checked below, to differ from the estimate
        values, vectors = eigsh(op, k=1, which=which, tol=tol / 100, maxiter=max_iter, v0=v0)
        ok = True
    except ArpackNoConvergence as e:  # give back what it had, flagged; often nothing at all: NaN, not a guess
        values, vectors, ok = e.eigenvalues, e.eigenvectors, False
        if values.size == 0:
            return float("nan"), float("inf"), calls[0], False
    lam, vec = float(values[0]), vectors[:, 0] / np.linalg.norm(vectors[:, 0])
    residual = float(np.linalg.norm(hvp(vec) - lam * vec))
    return lam, residual, calls[0] + 1, ok and residual <= tol * max(abs(lam), np.finfo(float).tiny)


def curvature(problem: Problem, params=None, idx=None, method: str = "auto", tol: float = 1e-6,
              max_iter: int = 100, seed: int = 0) -> Curvature:
    """λ_max and λ_min of the Hessian of the loss (over ``idx``, all examples by default) at ``params`` (default:
    the optimum, or the origin).

    ``method``: "exact" (the problem's closed-form Hessian, else the dense build), "dense" (the Hessian from P
    Hessian-vector products, then eigvalsh), "lanczos" (scipy eigsh on Hessian-vector products: ``converged`` means
    each eigenvalue is within ``tol`` relative of an eigenvalue of H, by its residual; ``max_iter`` caps ARPACK's
    restarts, 100 rather than scipy's 10·P, so that a hopeless case ends in seconds, not minutes), or "auto":
    exact where a closed form exists, dense up to :data:`DENSE_MAX_DIM` parameters, Lanczos beyond. See the module
    docstring for what ``converged`` guarantees.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    params = default_point(problem) if params is None else np.asarray(params, dtype=float)
    if params.shape != (problem.dim,):
        raise ValueError(f"params must have shape ({problem.dim},), got {params.shape}")
    if not np.isfinite(params).all():
        raise ValueError("params must be finite to measure curvature there")
    closed = getattr(problem, "exact_hessian", False)
    if method == "auto":
        method = "exact" if closed else "dense" if problem.dim <= DENSE_MAX_DIM else "lanczos"
    if method == "lanczos" and problem.dim < 3:  # ARPACK needs k < P - 1 Krylov room; 1 or 2 parameters: dense
        method = "dense"
    if method in ("exact", "dense"):
        hvp, exact = hvp_function(problem, params, idx)
        if closed and method == "exact":
            H, how = np.asarray(problem.hessian(params, idx), dtype=float), EXACT
        else:
            columns = np.stack([hvp(e) for e in np.eye(problem.dim)])
            H, how = 0.5 * (columns + columns.T), DENSE_EXACT_HVP if exact else DENSE_FD_HVP
        eig = np.linalg.eigvalsh(H)
        return Curvature(float(eig[-1]), float(eig[0]), how, 0 if how == EXACT else problem.dim,
                         bool(np.isfinite(eig).all()))
    hvp, exact = hvp_function(problem, params, idx)
    top, r_top, n_top, ok_top = _lanczos_end(hvp, problem.dim, "LA", tol, max_iter, seed)
    bottom, r_bottom, n_bottom, ok_bottom = _lanczos_end(hvp, problem.dim, "SA", tol, max_iter, seed + 1)
    return Curvature(top, bottom, LANCZOS_EXACT_HVP if exact else LANCZOS_FD_HVP, n_top + n_bottom,
                     ok_top and ok_bottom, residuals=(r_top, r_bottom))


@dataclass(frozen=True)
class MinibatchCurvature:
    """λ_max of the loss over single minibatches of one size: its spread is why smaller batches are unstable at
    smaller η."""

    batch_size: int
    samples: np.ndarray  # λ_max of each sampled minibatch
    full: float  # λ_max over all examples

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.samples, q))

    def share_unstable(self, lr: float) -> float:
        """The fraction of minibatches on whose own curvature a plain step of size ``lr`` overshoots (ηλ > 2)."""
        return float(np.mean(lr * self.samples > 2))

    def to_dict(self) -> dict:
        return {"batch_size": self.batch_size, "median": self.quantile(0.5), "q10": self.quantile(0.1),
                "q90": self.quantile(0.9), "max": float(self.samples.max()), "full_batch": self.full,
                "samples": int(self.samples.size)}


def minibatch_curvature(problem: Problem, batch_size: int, params=None, batches: int = 300,
                        seed: int = 0) -> MinibatchCurvature:
    """λ_max over ``batches`` minibatches drawn as training draws them (consecutive slices of shuffled orders)."""
    batch_size = checks.check_int("batch_size", batch_size, minimum=1, maximum=problem.n_examples)
    params = default_point(problem) if params is None else np.asarray(params, dtype=float)
    rng = np.random.default_rng(seed)
    n, samples = problem.n_examples, []
    while len(samples) < batches:
        perm = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            samples.append(curvature(problem, params, idx=perm[start:start + batch_size]).lambda_max)
            if len(samples) == batches:
                break
    return MinibatchCurvature(batch_size, np.array(samples), curvature(problem, params).lambda_max)
