"""Stability bounds and rates of the lecture's methods on a quadratic model of the loss, in the lecture's symbols.

Near a minimum the loss is f(x* + e) ≈ f* + ½ eᵀHe, so one update is linear in the error e and everything follows
from the eigenvalues λ of H (λ_min ≤ λ ≤ λ_max) and, for minibatches, from how the minibatch Hessian H_b varies.
"""

from __future__ import annotations

import math

import numpy as np


def gd_max_lr(lambda_max: float) -> float:
    """Gradient descent diverges when η > 2/λ_max.

    Along an eigenvector with eigenvalue λ the error obeys e ← (1 − ηλ) e. It shrinks iff |1 − ηλ| < 1, i.e.
    0 < ηλ < 2; the steepest direction (λ_max) is the first to fail. This is the lecture's Taylor argument made
    exact: f(x − ηg) = f(x) − η gᵀg + ½η² gᵀHg decreases along that direction iff ½ηλ < 1. For
    1 < ηλ < 2 the sign of e flips every step: the zig-zag of §4.2.
    """
    return 2.0 / lambda_max if lambda_max > 0 else math.inf  # no curvature: no bound from the quadratic model


def momentum_max_lr(lambda_max: float, gamma: float) -> float:
    """Heavy-ball momentum in the lecture's form (v := γv + ηg; x := x − v) diverges when η > 2(1 + γ)/λ_max.

    Eliminating v gives e_{t+1} = (1 + γ − ηλ) e_t − γ e_{t−1}, whose characteristic polynomial
    z² − (1 + γ − ηλ) z + γ has both roots inside the unit circle iff 0 < ηλ < 2(1 + γ) (for 0 ≤ γ < 1); the
    root leaves through z = −1 at ηλ = 2(1 + γ). γ = 0 gives back 2/λ_max.
    """
    return 2.0 * (1.0 + gamma) / lambda_max if lambda_max > 0 else math.inf


def nesterov_max_lr(lambda_max: float, gamma: float) -> float:
    """Nesterov momentum (v := γv + ηg; x := x − (γv + ηg)) diverges when η > 2(1 + γ)/((1 + 2γ)·λ_max).

    On a quadratic the state (e, v) maps by [[1 − ηλ(1 + γ), −γ²], [ηλ, γ]], with trace T = 1 + γ − ηλ(1 + γ) and
    determinant D = γ(1 − ηλ); a root crosses z = −1 when 1 + T + D = 0, i.e. ηλ = 2(1 + γ)/(1 + 2γ). The look-ahead
    buys stability against oscillation at the price of a lower step limit than heavy ball.
    """
    return 2.0 * (1.0 + gamma) / ((1.0 + 2.0 * gamma) * lambda_max) if lambda_max > 0 else math.inf


def gd_rate(lr: float, lambda_max: float, lambda_min: float) -> float:
    """Worst per-step contraction of the error under gradient descent: max(|1 − ηλ_min|, |1 − ηλ_max|)."""
    return max(abs(1 - lr * lambda_min), abs(1 - lr * lambda_max))


def momentum_roots(lr: float, gamma: float, lam: float) -> np.ndarray:
    """The two roots of z² − (1 + γ − ηλ) z + γ: the per-step factors of the error along an eigenvalue λ."""
    return np.roots([1.0, -(1 + gamma - lr * lam), gamma])


def momentum_rate(lr: float, gamma: float, lambda_max: float, lambda_min: float) -> float:
    """Worst per-step contraction under heavy-ball momentum: the largest root modulus over the spectrum. The modulus
    is √γ wherever the roots are complex and grows outside that band, so the extremes λ_min, λ_max decide it."""
    return float(max(np.abs(momentum_roots(lr, gamma, lam)).max() for lam in (lambda_min, lambda_max)))


def oscillates(lr: float, gamma: float, lam: float) -> bool:
    """Whether the error along λ alternates or rotates instead of decaying monotonically: a negative real root
    (gradient descent: ηλ > 1) or complex roots (momentum: γ > (1 − √(ηλ))²)."""
    roots = momentum_roots(lr, gamma, lam)
    dominant = roots[np.argmax(np.abs(roots))]
    return bool(abs(dominant.imag) > 1e-12 or dominant.real < 0)


def optimal_lr(lambda_max: float, lambda_min: float) -> tuple[float, float]:
    """The fastest fixed step for gradient descent, η* = 2/(λ_max + λ_min), and its contraction (κ − 1)/(κ + 1).

    |1 − ηλ| is largest at an end of the spectrum; the worst case is smallest where the two ends balance,
    1 − η λ_min = η λ_max − 1.
    """
    kappa = lambda_max / lambda_min
    return 2.0 / (lambda_max + lambda_min), (kappa - 1) / (kappa + 1)


def optimal_momentum(lambda_max: float, lambda_min: float) -> tuple[float, float, float]:
    """Polyak's optimal heavy ball for a quadratic: η* = 4/(√λ_max + √λ_min)², γ* = ((√κ − 1)/(√κ + 1))², with
    contraction √γ* = (√κ − 1)/(√κ + 1) per step. The lecture's form x_{t+1} = x_t − ηg_t + γ(x_t − x_{t−1}) is
    Polyak's, so the optimum carries over; the rate needs √κ where gradient descent needs κ."""
    a, b = math.sqrt(lambda_max), math.sqrt(lambda_min)
    gamma = ((a - b) / (a + b)) ** 2
    return 4.0 / (a + b) ** 2, gamma, math.sqrt(gamma)


def steps_to_tolerance(rate: float, gap: float, target: float) -> float:
    """Steps for the loss gap f − f* to fall from ``gap`` to ``target`` when the error contracts by ``rate`` per
    step: the gap is quadratic in the error, so it contracts by rate², t = ln(target/gap) / (2 ln rate)."""
    if gap <= target:
        return 0.0
    if rate >= 1:
        return math.inf
    if rate <= 0:
        return 1.0
    return math.log(target / gap) / (2 * math.log(rate))


def sgd_noise_floor(lr: float, batch_size: int, trace_hessian: float, optimal_loss: float,
                    n_examples: int | None = None) -> float:
    """The loss gap at which minibatch SGD with a constant η settles on least squares, η·f*·tr(H)/(2B).

    At the optimum the per-example gradients a_i·r_i have covariance ≈ σ²H (residual variance σ² = 2f*), a minibatch
    of B has σ²H/B (times (n − B)/(n − 1) without replacement). For small η the error's stationary covariance Σ
    solves HΣ + ΣH = η σ² H / B, so Σ = ησ²/(2B)·I and the excess loss is ½ tr(HΣ) = η σ² tr(H)/(4B).
    """
    correction = 1.0 if n_examples is None or n_examples <= 1 else (n_examples - batch_size) / (n_examples - 1)
    return lr * optimal_loss * trace_hessian * correction / (2 * batch_size)


def adaptive_bound(optimizer: str, hyperparams: dict) -> float:
    """The stability bound on the preconditioned curvature η·λ_max(P^½ H P^½) of a method with per-coordinate step
    P: 2 for Adagrad, RMSProp and Adadelta (preconditioned gradient descent), 2(1 + β1)/(1 − β1) for Adam and AdamW
    (their EMA of g is heavy-ball momentum with γ = β1 and step η(1 − β1): 38 for β1 = 0.9)."""
    if optimizer in ("adam", "adamw"):
        b1 = hyperparams["beta1"]
        return 2.0 * (1 + b1) / (1 - b1)
    return 2.0


def preconditioned_sharpness(hessian: np.ndarray, step: np.ndarray) -> float:
    """λ_max(D^½ H D^½) for the per-coordinate step D = diag(step): the curvature the adaptive update sees."""
    root = np.sqrt(np.asarray(step, dtype=float))
    return float(np.linalg.eigvalsh(root[:, None] * hessian * root[None, :])[-1])
