"""Deterministic objectives for the lecture's pictures: quadratics (§3–4, §7), x⁴ (§3: the start matters),
Rosenbrock, and any function a user supplies."""

from __future__ import annotations

import numpy as np

from optimlab.problems.base import Problem


class Quadratic(Problem):
    """f(x) = ½ xᵀ Q x with Q symmetric positive semi-definite; the minimum is f(0) = 0 and the Hessian is Q.

    ``quadratic-1d`` is x² (Q = [2]), ``quadratic-2d`` the lecture's 0.1·x₁² + 2·x₂² (Q = diag(0.2, 4)).
    """

    exact_hessian = True

    def __init__(self, Q, name="quadratic"):
        Q = np.atleast_2d(np.asarray(Q, dtype=float))
        if Q.shape[0] != Q.shape[1] or not np.allclose(Q, Q.T):
            raise ValueError(f"Q must be a symmetric square matrix, got shape {Q.shape}")
        self.Q = Q
        self.name = name
        self.param_names = tuple(f"x{i + 1}" for i in range(Q.shape[0]))
        self.optimum = np.zeros(Q.shape[0])
        self.optimal_loss = 0.0

    def loss(self, params, idx=None):
        x = np.asarray(params)
        return 0.5 * np.einsum("...p,pq,...q->...", x, self.Q, x)

    def grad(self, params, idx=None):
        return np.asarray(params) @ self.Q

    def hvp(self, params, v, idx=None):
        return np.asarray(v) @ self.Q

    def hessian(self, params=None, idx=None):
        return self.Q

    def describe(self):
        return {"name": self.name, "Q": self.Q.tolist()}


class Quartic(Problem):
    """f(x) = x⁴ in one dimension: the curvature f''(x) = 12x² grows with |x|, so whether a fixed η converges depends
    on the start. Gradient descent maps x to x(1 − 4ηx²): it converges from |x₀| < 1/√(2η), cycles between ±x₀ on
    that boundary and diverges beyond it."""

    name = "quartic"
    param_names = ("x",)
    optimum = np.zeros(1)
    optimal_loss = 0.0

    def loss(self, params, idx=None):
        return np.asarray(params)[..., 0] ** 4

    def grad(self, params, idx=None):
        return 4 * np.asarray(params) ** 3

    def hvp(self, params, v, idx=None):
        return 12 * np.asarray(params) ** 2 * np.asarray(v)


class Rosenbrock(Problem):
    """f(x, y) = (a − x)² + b(y − x²)², minimum 0 at (a, a²): a curved, badly conditioned valley (non-convex)."""

    name = "rosenbrock"
    param_names = ("x", "y")
    optimal_loss = 0.0

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a, self.b = float(a), float(b)
        self.optimum = np.array([self.a, self.a ** 2])

    def loss(self, params, idx=None):
        x, y = np.moveaxis(np.asarray(params), -1, 0)
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def grad(self, params, idx=None):
        x, y = np.moveaxis(np.asarray(params), -1, 0)
        return np.stack([-2 * (self.a - x) - 4 * self.b * x * (y - x * x), 2 * self.b * (y - x * x)], axis=-1)

    def hessian(self, params, idx=None):
        x, y = np.asarray(params, dtype=float)
        return np.array([[2 - 4 * self.b * (y - 3 * x * x), -4 * self.b * x], [-4 * self.b * x, 2 * self.b]])

    def hvp(self, params, v, idx=None):
        return np.asarray(v) @ self.hessian(params)

    def describe(self):
        return {"name": self.name, "a": self.a, "b": self.b}


class FunctionProblem(Problem):
    """A deterministic objective from a user's callables. ``loss(x)`` and ``grad(x)`` receive x of shape (P,) or
    (K, P); ``hvp(x, v)`` is optional: without it, curvature is estimated from finite differences of gradients."""

    def __init__(self, loss, grad, dim: int, hvp=None, optimum=None, optimal_loss=None, name="custom"):
        self._loss, self._grad, self._hvp = loss, grad, hvp
        self.name = name
        self.param_names = tuple(f"x{i + 1}" for i in range(dim))
        self.optimum = None if optimum is None else np.asarray(optimum, dtype=float)
        self.optimal_loss = optimal_loss

    @property
    def has_hvp(self):
        return self._hvp is not None

    def loss(self, params, idx=None):
        return np.asarray(self._loss(np.asarray(params)))

    def grad(self, params, idx=None):
        return np.asarray(self._grad(np.asarray(params)))

    def hvp(self, params, v, idx=None):
        if self._hvp is None:
            return super().hvp(params, v, idx)
        return np.asarray(self._hvp(np.asarray(params), np.asarray(v)))
