"""Mean-square stability of minibatch SGD and momentum: why smaller batches become unstable at smaller η.

With a minibatch Hessian H_b the error map is random, e ← (I − ηH_b) e for SGD. The mean E[e] follows the full
Hessian and obeys 2/λ_max, but the second moment E[e eᵀ] evolves by the linear operator
Σ ↦ E[(I − ηH_b) Σ (I − ηH_b)], which involves E[H_b ⊗ H_b]: the spread of the minibatch curvature. The run is
stable in mean square iff that operator's spectral radius is below 1. For momentum the state is (e, v) and the
same holds for the 2P-dimensional map. On least squares this is exact; elsewhere it is the quadratic model at a point.
"""

from __future__ import annotations

import weakref

import numpy as np

from optimlab.analysis.curvature import default_point, hessian_matrix
from optimlab.problems import Problem

_MOMENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # problem -> {(B, point): result}


def hessian_second_moment(problem: Problem, batch_size: int, params=None) -> tuple[np.ndarray, np.ndarray]:
    """(H, E[H_b ⊗ H_b]) for minibatches of ``batch_size`` drawn without replacement.

    With per-example Hessians H_i: E[H_b ⊗ H_b] = H ⊗ H + c·(E[H_i ⊗ H_i] − H ⊗ H), c = (n − B)/((n − 1)·B).
    The sum over examples is computed once per problem, batch size and point.
    """
    params = default_point(problem) if params is None else np.asarray(params, dtype=float)
    cache = _MOMENTS.setdefault(problem, {})
    key = (batch_size, params.tobytes())
    if key not in cache:
        cache[key] = _second_moment(problem, batch_size, params)
    return cache[key]


def _second_moment(problem: Problem, batch_size: int, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = problem.n_examples
    H = hessian_matrix(problem, params)
    if n == 1:
        return H, np.kron(H, H)
    fourth = np.zeros((problem.dim ** 2, problem.dim ** 2))
    for i in range(n):
        Hi = hessian_matrix(problem, params, np.array([i]))
        fourth += np.kron(Hi, Hi)
    fourth /= n
    c = (n - batch_size) / ((n - 1) * batch_size)
    HH = np.kron(H, H)
    return H, HH + c * (fourth - HH)


def _second_moment_operator(H, HH, lr: float, gamma: float) -> np.ndarray:
    """E[M_b ⊗ M_b] for the lecture's momentum on the state s = (e, v):
    v' = γv + ηH_b e, e' = e − v', i.e. M_b = M₀ + η·kron(C, H_b) with M₀ = [[I, −γI], [0, γI]], C = [[−1, 0], [1, 0]].
    (γ = 0 is SGD with a redundant v.)"""
    P = H.shape[0]
    eye = np.eye(P)
    M0 = np.block([[eye, -gamma * eye], [np.zeros((P, P)), gamma * eye]])
    C = np.array([[-1.0, 0.0], [1.0, 0.0]])
    K = np.kron(C, H)
    # E[K_b ⊗ K_b][(i,p,k,r),(j,q,l,s)] = C[i,j]·C[k,l]·E[H_b[p,q]·H_b[r,s]]
    S = HH.reshape(P, P, P, P)  # (H ⊗ H)[(p,r),(q,s)] = H[p,q]·H[r,s], so S[p, r, q, s] = E[H_b[p,q] H_b[r,s]]
    KK = np.einsum("ij,kl,prqs->ipkrjqls", C, C, S).reshape((2 * P) ** 2, (2 * P) ** 2)
    return np.kron(M0, M0) + lr * (np.kron(M0, K) + np.kron(K, M0)) + lr * lr * KK


def mean_square_radius(H, HH, lr: float, gamma: float = 0.0) -> float:
    """Per-update growth factor of the error's second moment (spectral radius of E[M_b ⊗ M_b]); the run is stable
    in mean square iff it is below 1. Its square root is the typical per-update growth of |e|."""
    return float(np.max(np.abs(np.linalg.eigvals(_second_moment_operator(H, HH, lr, gamma)))))


def mean_square_max_lr(H, HH, gamma: float = 0.0, rel_tol: float = 1e-6) -> float:
    """The largest η that is stable in mean square, by bisection on :func:`mean_square_radius` (which crosses 1
    once on (0, 2(1 + γ)/λ_max])."""
    lam = float(np.linalg.eigvalsh(H)[-1])
    hi = 2.0 * (1.0 + gamma) / lam
    if mean_square_radius(H, HH, hi * (1 - 1e-9), gamma) < 1:
        return hi
    lo = 0.0
    while hi - lo > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        if mean_square_radius(H, HH, mid, gamma) < 1:
            lo = mid
        else:
            hi = mid
    return lo
