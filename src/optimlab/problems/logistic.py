"""Binary logistic regression: mean log-loss of p = σ(a·θ), θ = [w, b], on a data set's 0/1 labels."""

from __future__ import annotations

import numpy as np

from optimlab.problems import convex
from optimlab.problems.datasets import binary_labels, load
from optimlab.problems.supervised import SupervisedProblem


def _sigmoid(z):
    """σ(z) = 1/(1 + e^{−z}), written as ½(1 + tanh(z/2)) so that it never overflows for large |z|."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LogisticRegression(SupervisedProblem):
    """f(θ) = (1/n) Σ_i [log(1 + e^{z_i}) − y_i z_i], z_i = a_iᵀθ, a_i = [x_i, 1] (bias last), y_i ∈ {0, 1}.

    Gradient (1/n) Σ (p_i − y_i) a_i with p_i = σ(z_i); Hessian (1/n) Σ p_i(1 − p_i) a_i a_iᵀ, so
    H·v = (1/n) Aᵀ[p(1 − p) ⊙ (A v)]. log(1 + e^z) is evaluated as logaddexp(0, z), exact for any z.

    The optimum exists iff the labels are not linearly separable (see :mod:`optimlab.problems.convex`); then it is
    found by trust-region Newton and ``optimum``/``optimal_loss`` are set, else both stay None and ``separable`` is
    True.
    Labels: the data set's own when it has two classes, else y > median(y) (``label_rule`` says which).
    """

    exact_hessian = True

    def __init__(self, dataset: str = "iris", standardize: bool = True, eval_examples: int | None = None):
        data = load(dataset, standardize)
        labels, self.label_rule = binary_labels(data)
        super().__init__(data, labels, eval_examples,
                         {"dataset": data.name, "standardize": bool(standardize)})
        self.name = "logistic-regression"
        self.A = np.hstack([self.X, np.ones((self.n_examples, 1))])
        self.param_names = tuple(f"w{i + 1}" for i in range(data.features)) + ("b",)
        margins = (2 * labels - 1)[:, None] * self.A
        self.solution = convex.solve(self.full_loss, self.grad, self.hvp, margins, self.dim)
        self.separable = self.solution.separable
        if not self.separable:
            self.optimum = self.solution.optimum
            self.optimal_loss = None if self.eval_idx is not None else float(self.full_loss(self.optimum))

    def _rows(self, idx):
        return (self.A, self.T) if idx is None else (self.A[idx], self.T[idx])

    def _loss(self, params, A, y):
        z = params @ A.T
        return np.mean(np.logaddexp(0.0, z) - y * z, axis=-1)

    def _grad(self, params, A, y):
        return (_sigmoid(params @ A.T) - y) @ A / A.shape[0]

    def _hvp(self, params, V, A, y):
        p = _sigmoid(params @ A.T)
        return (p * (1 - p) * (V @ A.T)) @ A / A.shape[0]

    def hessian(self, params, idx=None):
        """(1/n) Aᵀ diag(p(1 − p)) A at ``params`` (P,)."""
        A, _ = self._rows(idx)
        p = _sigmoid(A @ np.asarray(params, dtype=np.float64))
        return (A.T * (p * (1 - p))) @ A / A.shape[0]

    def init_params(self, rng, scale=1.0):
        """w ~ N(0, scale²/d), b = 0: with standardized features the initial logits have variance scale², so the
        start is the same distance from σ's flat tails whatever the number of features d."""
        d = self.dim - 1
        return np.append(scale * rng.normal(size=d) / np.sqrt(d), 0.0)

    def split(self, params):
        params = np.asarray(params)
        return {"w": params[..., :-1], "b": params[..., -1]}
