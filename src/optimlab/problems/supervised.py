"""What the real problems share: a data set, minibatches by index, a fixed evaluation subset, and provenance.

A subclass implements the objective on explicit rows, ``_loss(params, X, T)``, ``_grad`` and ``_hvp``, over params
of shape (P,) or (K, P); this base picks the rows:

* ``grad(params, idx)`` and ``hvp(params, v, idx)``: the examples ``idx``, all of them when idx is None;
* ``loss(params, idx)``: the examples ``idx``; when idx is None (the loss ``train`` records), all examples, or the
  fixed, seeded evaluation subset of ``eval_examples`` when one was asked for, so that recording stays cheap on
  large data. Gradients, minibatches and curvature always use all the data.
"""

from __future__ import annotations

import numpy as np

from optimlab import checks
from optimlab.problems.base import Problem
from optimlab.problems.datasets import Dataset, eval_subset


class SupervisedProblem(Problem):
    """Base of logistic regression, softmax regression and the MLP (see the module docstring)."""

    def __init__(self, data: Dataset, targets: np.ndarray, eval_examples: int | None, options: dict):
        if eval_examples is not None:
            eval_examples = checks.check_int("eval_examples", eval_examples, minimum=1)
        self.data = data
        self.X = data.X
        self.T = targets
        self.n_examples = data.n
        self.eval_examples = eval_examples
        self.eval_idx = eval_subset(data.n, eval_examples)
        self._options = {**options, "eval_examples": eval_examples}

    # -- rows --------------------------------------------------------------------------------------------------
    def _rows(self, idx):
        if idx is None:
            return self.X, self.T
        return self.X[idx], self.T[idx]

    def loss(self, params, idx=None):
        if idx is None and self.eval_idx is not None:
            idx = self.eval_idx
        return self._loss(np.asarray(params, dtype=np.float64), *self._rows(idx))

    def grad(self, params, idx=None):
        return self._grad(np.asarray(params, dtype=np.float64), *self._rows(idx))

    def hvp(self, params, v, idx=None):
        params = np.asarray(params, dtype=np.float64)
        return self._hvp(params, np.broadcast_to(np.asarray(v, dtype=np.float64), params.shape), *self._rows(idx))

    def full_loss(self, params):
        """The loss over all examples, whatever ``eval_examples`` says."""
        return self._loss(np.asarray(params, dtype=np.float64), *self._rows(None))

    # -- provenance --------------------------------------------------------------------------------------------
    def describe(self) -> dict:
        """The name, the options that rebuild the problem and the data's description (with its checksum)."""
        return {"name": self.name, **self._options, **self.data.describe()}

    def _loss(self, params, X, T):
        raise NotImplementedError

    def _grad(self, params, X, T):
        raise NotImplementedError

    def _hvp(self, params, V, X, T):
        raise NotImplementedError
