"""The optimum of the convex real problems (logistic and softmax regression): whether it exists, and where.

Both losses are means of terms ℓ(m_r(θ)) of linear margins m_r(θ) = M_r·θ, with ℓ convex and decreasing to 0 as
m → ∞ (log(1 + e^{−m}) and its multiclass kin). If some direction d has M d ≥ 0 with at least one margin > 0, the
loss falls for ever along d: the data are *separable* (or quasi-separable) and no finite minimiser exists, only an
infimum approached as |θ| → ∞. If not, every direction with M d ≥ 0 has M d = 0, along which the loss is constant
(softmax's shared shift of all classes), so the loss is coercive on the rest and the minimum is attained.

A small gradient proves nothing here: along a separating direction the gradient decays like e^{−|θ|}, so a solver
"converges" on separable data too. Hence :func:`solve` decides existence by certificates: a point with every margin
> 0 proves separability; otherwise the linear program of :func:`separable` decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def separable(M) -> bool:
    """Whether some d has M d ≥ 0 with Σ min(M d, 1) > 0 (a direction of recession of the loss).

    The LP: maximise Σ s over (d, s), s_r ≤ M_r d, 0 ≤ s_r ≤ 1, d free. Its optimum is 0 exactly when no margin can
    be made positive without making another negative. Tolerance 1e-7 on the objective: HiGHS's feasibility
    tolerance is 1e-7 per constraint, so a smaller optimum is solver noise, not a direction.
    """
    import scipy.optimize  # scipy is imported where it is used, so that `import optimlab` stays light
    import scipy.sparse

    M = scipy.sparse.csr_matrix(M)
    rows, p = M.shape
    A = scipy.sparse.hstack([-M, scipy.sparse.identity(rows)], format="csr")
    cost = np.concatenate([np.zeros(p), -np.ones(rows)])
    bounds = [(None, None)] * p + [(0.0, 1.0)] * rows
    result = scipy.optimize.linprog(cost, A_ub=A, b_ub=np.zeros(rows), bounds=bounds, method="highs")
    if result.status != 0:  # pragma: no cover - the LP is always feasible (d = 0) and bounded (s ≤ 1)
        raise RuntimeError(f"separability LP failed: {result.message}")
    return -result.fun > 1e-7


@dataclass(frozen=True)
class Solution:
    """``optimum`` is None when the data are separable (no finite minimiser); ``how`` says what decided it;
    ``point`` is the solver's last iterate (with every margin > 0 where that was the certificate)."""

    optimum: np.ndarray | None
    point: np.ndarray
    separable: bool
    how: str
    iterations: int


def solve(loss, grad, hvp, margins, dim: int, gtol: float = 1e-10) -> Solution:
    """Minimise by scipy's trust-region Newton-CG on exact Hessian-vector products, from θ = 0.

    Stops early when every margin is positive (a certificate of separability). A trust-region Newton step never
    moves along a flat direction of the Hessian when started at 0 with the gradient orthogonal to it, so for
    softmax the iterates keep zero-sum class columns and end at the minimum-norm minimiser. ``gtol`` 1e-10 on the
    largest gradient entry: Newton converges quadratically, so the last iterations cost little and leave θ within
    ~1e-10/λ_min of the minimiser.
    """
    import scipy.optimize
    import scipy.sparse

    M = scipy.sparse.csr_matrix(margins)

    def certificate(intermediate_result):
        if (M @ intermediate_result.x).min() > 0:
            raise StopIteration

    result = scipy.optimize.minimize(loss, np.zeros(dim), jac=grad, hessp=hvp, method="trust-ncg",
                                     callback=certificate, options={"gtol": gtol, "maxiter": 500})
    if (M @ result.x).min() > 0:
        return Solution(None, result.x, True, "a point with every margin > 0 separates the data", result.nit)
    if separable(M):
        return Solution(None, result.x, True, "linear program: a direction makes margins >= 0, some > 0", result.nit)
    if np.max(np.abs(grad(result.x))) > 100 * gtol:
        raise RuntimeError(f"no minimiser found although the data are not separable: {result.message}")
    return Solution(result.x, result.x, False, "linear program: not separable; trust-region Newton", result.nit)
