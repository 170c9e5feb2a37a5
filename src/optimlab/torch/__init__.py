"""optimlab inside PyTorch: the PyTorch bridge (install with ``pip install "optimlab[torch]"``). Importing this room
imports torch; nothing outside it does, so ``import optimlab`` stays light.

- :func:`make`: drop-in ``torch.optim`` optimizers on optim/'s rules, with selectable conventions and
  per-configuration hyperparameters for stacked models::

    opt = optimlab.torch.make("adam", model.parameters(), lr=1e-3)     # a real torch.optim.Optimizer
    opt = optimlab.torch.make("momentum", stacked_params, lr=[0.01, 0.03, 0.1])   # one η per stacked model

- :func:`sharpness`, :func:`critical_sharpness`: λ_max of the loss Hessian (or of P⁻¹H under an adaptive
  optimizer) by Lanczos on double-backward Hessian-vector products, and the cheap line-search variant.
- :class:`StabilityMonitor`: loss, gradient norm, η and sharpness against their thresholds in any training loop.
- :func:`lr_find`: the learning-rate range test with a band over seeds, leaving model, optimizer and RNG untouched.
"""

from optimlab.torch.lr_find import LRFind, lr_find, plot_lr_find
from optimlab.torch.monitor import StabilityMonitor
from optimlab.torch.optimizer import Optimizer, make
from optimlab.torch.sharpness import CriticalSharpness, Sharpness, critical_sharpness, sharpness

__all__ = ["CriticalSharpness", "LRFind", "Optimizer", "Sharpness", "StabilityMonitor", "critical_sharpness",
           "lr_find", "make", "plot_lr_find", "sharpness"]
