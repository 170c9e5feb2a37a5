"""Curvature of a problem's loss: λ_max, λ_min and κ of the Hessian, exact or by power iteration, and its spread
over minibatches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimlab import checks
from optimlab.problems import Problem

EXACT = "exact: eigenvalues of the Hessian"
POWER_EXACT_HVP = "power iteration on exact Hessian-vector products"
POWER_FD_HVP = "power iteration on finite differences of gradients (the problem has no Hessian-vector product)"


@dataclass(frozen=True)
class Curvature:
    """The extreme eigenvalues of the Hessian at a point, and how they were obtained."""

    lambda_max: float
    lambda_min: float
    method: str
    iterations: int = 0
    converged: bool = True

    @property
    def condition_number(self) -> float:
        """κ = λ_max/λ_min (inf when λ_min <= 0: the problem is not strongly convex there)."""
        return self.lambda_max / self.lambda_min if self.lambda_min > 0 else float("inf")

    def to_dict(self) -> dict:
        return {"lambda_max": self.lambda_max, "lambda_min": self.lambda_min,
                "condition_number": self.condition_number, "method": self.method, "iterations": self.iterations,
                "converged": self.converged}


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


def _power(hvp, dim: int, shift: float, rng, tol: float, max_iter: int) -> tuple[float, int, bool]:
    """Dominant eigenvalue of H − shift·I by power iteration, stopping when the Rayleigh quotient changes by less
    than ``tol`` (relative) in 3 successive iterations."""
    v = rng.normal(size=dim)
    v /= np.linalg.norm(v)
    value, calm = 0.0, 0
    for it in range(1, max_iter + 1):
        w = hvp(v) - shift * v
        new = float(v @ w)
        norm = float(np.linalg.norm(w))
        if norm == 0:
            return 0.0, it, True
        v = w / norm
        calm = calm + 1 if abs(new - value) <= tol * max(abs(new), 1e-300) else 0
        value = new
        if calm >= 3:
            return value, it, True
    return value, max_iter, False


def curvature(problem: Problem, params=None, idx=None, method: str = "auto", tol: float = 1e-9,
              max_iter: int = 5000, seed: int = 0) -> Curvature:
    """λ_max and λ_min of the Hessian of the loss (over ``idx``, all examples by default) at ``params`` (default:
    the optimum, or the origin).

    ``method``: "exact" (eigenvalues of the problem's Hessian: quadratics and linear regression, bias column
    included), "power" (power iteration), or "auto" (exact where the problem has a closed-form Hessian). Power
    iteration finds the eigenvalue of largest magnitude μ, then iterates on H − μI for the other end of the
    spectrum; each run stops when the Rayleigh quotient has settled to ``tol`` and says whether it did.
    """
    if method not in ("auto", "exact", "power"):
        raise ValueError(f"method must be auto, exact or power, got {method!r}")
    params = default_point(problem) if params is None else np.asarray(params, dtype=float)
    if params.shape != (problem.dim,):
        raise ValueError(f"params must have shape ({problem.dim},), got {params.shape}")
    if not np.isfinite(params).all():
        raise ValueError("params must be finite to measure curvature there")
    if method == "exact" or (method == "auto" and getattr(problem, "exact_hessian", False)):
        eig = np.linalg.eigvalsh(np.asarray(problem.hessian(params, idx), dtype=float))
        return Curvature(float(eig[-1]), float(eig[0]), EXACT)
    hvp, exact = hvp_function(problem, params, idx)
    rng = np.random.default_rng(seed)
    mu, it1, ok1 = _power(hvp, problem.dim, 0.0, rng, tol, max_iter)
    nu, it2, ok2 = _power(hvp, problem.dim, mu, rng, tol, max_iter)
    other = mu + nu
    return Curvature(max(mu, other), min(mu, other), POWER_EXACT_HVP if exact else POWER_FD_HVP, it1 + it2,
                     ok1 and ok2)


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
            samples.append(curvature(problem, params, idx=perm[start:start + batch_size], tol=1e-7,
                                     max_iter=500).lambda_max)
            if len(samples) == batches:
                break
    return MinibatchCurvature(batch_size, np.array(samples), curvature(problem, params).lambda_max)
