"""What a problem is: an objective f(x) = (1/n) Σ f_i(x) with its gradient and, where known, its curvature.

Every method takes ``params`` of shape ``(P,)`` or ``(K, P)`` (K configurations at once) and returns one value per
configuration. ``idx`` selects examples (a minibatch); None means all of them. A deterministic objective (a
quadratic, x⁴) has a single "example", so one epoch of training is one full-gradient step.
"""

from __future__ import annotations

import numpy as np


class Problem:
    """Base class. Subclasses set the attributes and implement ``loss`` and ``grad``; ``hvp`` and ``hessian`` are
    optional (``has_hvp`` says whether exact Hessian-vector products exist)."""

    name: str = "problem"
    param_names: tuple[str, ...] = ()
    n_examples: int = 1
    optimum: np.ndarray | None = None  # a minimiser, where known in closed form
    optimal_loss: float | None = None  # f at the optimum: the floor every run is measured against
    exact_hessian: bool = False  # True where ``hessian`` is a closed form whose eigenvalues can be taken directly

    @property
    def dim(self) -> int:
        return len(self.param_names)

    @property
    def has_hvp(self) -> bool:
        return type(self).hvp is not Problem.hvp

    def loss(self, params, idx=None):
        raise NotImplementedError

    def grad(self, params, idx=None):
        raise NotImplementedError

    def hvp(self, params, v, idx=None):
        """Hessian-vector product H(params)·v; not every problem has one."""
        raise NotImplementedError(f"{self.name} has no exact Hessian-vector product")

    def hessian(self, params, idx=None):
        """The P×P Hessian at ``params`` (P,), built from ``hvp`` when a problem defines nothing better."""
        eye = np.eye(self.dim)
        return np.stack([self.hvp(params, e, idx) for e in eye])

    def init_params(self, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """Initial parameters as the lecture draws them: every coordinate ~ N(0, scale²)."""
        return scale * rng.normal(size=self.dim)

    def split(self, params) -> dict[str, np.ndarray]:
        """The parameters under the names a reader expects (``w`` and ``b`` for a linear model)."""
        return {"x": np.asarray(params)}

    def describe(self) -> dict:
        """What is needed to rebuild the problem: recorded in every run's provenance."""
        return {"name": self.name}
