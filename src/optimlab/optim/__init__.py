"""Optimizers written once, from their formulas, as pure functions over a leading configuration axis.

    opt = optimlab.optim.make("adam", lr=0.1)        # or lr=[0.01, 0.1, 1.0] for K = 3
    state = opt.init(params)                         # params: float array (P,) or (K, P)
    params, state = opt.update(params, grads, state) # pure: one step, new arrays out
    optimlab.optim.make("adam", convention="torch")  # torch.optim's conventions (see optim.conventions)

The formulas are written once over the Python array API, so ``update`` runs unchanged on NumPy arrays and on
torch tensors (see ``optimlab.torch`` for drop-in ``torch.optim`` optimizers built on them).

This package imports nothing else of optimlab but the validation helpers: an optimizer knows no problem.
"""

from optimlab.optim.base import FLAGS, HYPERPARAMETERS, Optimizer, bias_corrected, ema, namespace
from optimlab.optim.conventions import CONVENTIONS, DEFAULT_CONVENTION
from optimlab.optim.registry import (
    DEFAULT_OPTIMIZER,
    OPTIMIZERS,
    defaults,
    describe,
    grid,
    make,
    options,
    update_rule,
)

__all__ = ["CONVENTIONS", "DEFAULT_CONVENTION", "DEFAULT_OPTIMIZER", "FLAGS", "HYPERPARAMETERS", "OPTIMIZERS",
           "Optimizer", "bias_corrected", "defaults", "describe", "ema", "grid", "make", "namespace", "options",
           "update_rule"]
