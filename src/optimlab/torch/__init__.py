"""optimlab inside PyTorch: the PyTorch bridge (install with ``pip install "optimlab[torch]"``).

    opt = optimlab.torch.make("adam", model.parameters(), lr=1e-3)     # a real torch.optim.Optimizer
    opt = optimlab.torch.make("momentum", stacked_params, lr=[0.01, 0.03, 0.1])   # one η per stacked model

This room imports torch; nothing below it does, so ``import optimlab`` stays light.
"""

from optimlab.torch.optimizer import Optimizer, make

__all__ = ["Optimizer", "make"]
