"""Optimizers written once, from their formulas, as pure functions over a leading configuration axis.

    opt = optimlab.optim.make("adam", lr=0.1)        # or lr=[0.01, 0.1, 1.0] for K = 3
    state = opt.init(params)                         # params: float array (P,) or (K, P)
    params, state = opt.update(params, grads, state) # pure: one step, new arrays out

This package imports nothing else of optimlab but the validation helpers: an optimizer knows no problem.
"""

from optimlab.optim.base import HYPERPARAMETERS, Optimizer, bias_corrected, ema
from optimlab.optim.registry import DEFAULT_OPTIMIZER, OPTIMIZERS, defaults, describe, grid, make, update_rule

__all__ = ["DEFAULT_OPTIMIZER", "HYPERPARAMETERS", "OPTIMIZERS", "Optimizer", "bias_corrected", "defaults",
           "describe", "ema", "grid", "make", "update_rule"]
