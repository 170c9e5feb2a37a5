"""What every optimizer is made of: the shared pieces of the formulas and the :class:`Optimizer` record.

An optimizer is three pure functions over NumPy arrays::

    state = init(params)
    params, state = update(params, grads, state, lr=η_t)
    step_size(state, lr=η_t)   # the per-coordinate step the update applies, for analysis

``params`` and ``grads`` have shape ``(P,)`` for one run or ``(K, P)`` for K runs advanced together; each
hyperparameter is a float or an array of shape ``(K, 1)`` so that it broadcasts over the configuration axis.
``update`` never writes into its arguments: it returns new arrays and a new state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class Hyperparameter(NamedTuple):
    """How a hyperparameter is named in the lecture and which values it may take (a key of ``checks.RANGES``)."""

    symbol: str
    range: str
    meaning: str


# Every hyperparameter any optimizer takes. The defaults live in each optimizer's signature, not here.
HYPERPARAMETERS = {
    "lr": Hyperparameter("η", "positive", "learning rate (step size)"),
    "momentum": Hyperparameter("γ", "unit", "momentum: decay of the velocity v"),
    "gamma": Hyperparameter("γ", "unit", "decay of the moving average s of g⊙g"),
    "rho": Hyperparameter("ρ", "unit", "decay of the moving averages s and Δx"),
    "beta1": Hyperparameter("β1", "unit", "decay of the first moment v"),
    "beta2": Hyperparameter("β2", "unit", "decay of the second moment s"),
    "eps": Hyperparameter("ε", "positive", "numerical-stability term"),
    "weight_decay": Hyperparameter("λ", "nonnegative", "decoupled weight decay"),
}


class Optimizer(NamedTuple):
    """A configured optimizer: its name, its validated hyperparameters and its two pure functions.

    ``hyperparams`` holds floats, or 1-D arrays of length ``num_configs`` for a batch of configurations.
    ``update(params, grads, state, lr=η_t)``: ``lr`` (when the optimizer has one) is this step's η, e.g. the base η
    times a schedule's factor, as a float or an array of shape ``(K, 1)``; omitted, the configured η.
    ``step_size(state, lr=η_t)``: the factor that multiplies the gradient (or its average) in the update, per
    coordinate where the optimizer adapts it: η for SGD, η/(1 − γ) for momentum, η/√(s + ε) for Adagrad and
    RMSProp, η/(√ŝ + ε) for Adam, √(Δx + ε)/√(s + ε) for Adadelta.
    """

    name: str
    hyperparams: dict[str, Any]
    num_configs: int | None
    init: Callable
    update: Callable
    step_size: Callable

    def config(self, k: int) -> dict[str, float]:
        """The hyperparameters of configuration ``k`` as plain floats."""
        return {n: float(v[k]) if isinstance(v, np.ndarray) else v for n, v in self.hyperparams.items()}


# Shared pieces of the formulas: each exists once and every optimizer that needs it calls it.

def ema(average: np.ndarray, value: np.ndarray, decay) -> np.ndarray:
    """Exponential moving average, the lecture's EMA (§7): ``decay·average + (1 − decay)·value``."""
    return decay * average + (1.0 - decay) * value


def bias_corrected(average: np.ndarray, decay, t: int) -> np.ndarray:
    """Undo the pull towards the zero start of an EMA after ``t`` updates (Adam, §10): ``average / (1 − decay^t)``."""
    return average / (1.0 - decay ** t)
