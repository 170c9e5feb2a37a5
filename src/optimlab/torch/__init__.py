"""The PyTorch bridge: optimlab's analysis on the user's own model. Importing this room imports torch; nothing
outside it does (``pip install "optimlab[torch]"``).

- :func:`sharpness`, :func:`critical_sharpness`: λ_max of the loss Hessian (or of P⁻¹H under an adaptive
  optimizer) by Lanczos on double-backward Hessian-vector products, and the cheap line-search variant.
- :class:`StabilityMonitor`: loss, gradient norm, η and sharpness against their thresholds in any training loop.
- :func:`lr_find`: the learning-rate range test with a band over seeds, leaving model, optimizer and RNG untouched.
"""

from optimlab.torch.lr_find import LRFind, lr_find, plot_lr_find
from optimlab.torch.monitor import StabilityMonitor
from optimlab.torch.sharpness import CriticalSharpness, Sharpness, critical_sharpness, sharpness

__all__ = ["CriticalSharpness", "LRFind", "Sharpness", "StabilityMonitor", "critical_sharpness", "lr_find",
           "plot_lr_find", "sharpness"]
