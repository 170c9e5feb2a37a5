"""Per-coordinate step sizes from the squared gradients: Adagrad (§8), RMSProp (§9), Adadelta (§11)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optimlab.optim.base import ema


class SquaresState(NamedTuple):
    s: np.ndarray  # sum (Adagrad) or moving average (RMSProp) of g⊙g


class AdadeltaState(NamedTuple):
    s: np.ndarray  # moving average of g⊙g
    delta: np.ndarray  # Δx: moving average of g'⊙g', the squared updates


def adagrad(lr=0.9, eps=1e-7):
    """Adagrad (§8): each coordinate's step shrinks with the sum of its squared gradients.

    Symbols: ``lr`` = η > 0, ``eps`` = ε > 0; s starts at 0.

    Update::

        s := s + g⊙g
        x := x − η g / √(s + ε)

    ε sits inside the square root, as in the lecture's code (ε = 1e-7); η = 0.9 is the lecture's experiment.
    The per-coordinate step η/√(s + ε) (``step_size``) only ever decreases. torch.optim.Adagrad puts ε outside the root
    (``η g / (√s + ε)``) and has a learning-rate decay of its own, so the two differ.
    """

    def init(params):
        return SquaresState(s=np.zeros_like(params))

    def step_size(state, lr=lr):
        return lr / np.sqrt(state.s + eps)

    def update(params, grads, state, lr=lr):
        s = state.s + grads * grads
        return params - step_size(SquaresState(s), lr) * grads, SquaresState(s)

    return init, update, step_size


def rmsprop(lr=0.03, gamma=0.9, eps=1e-8):
    """RMSProp (§9): Adagrad with a leaky (exponentially weighted) average of g⊙g.

    Symbols: ``lr`` = η > 0, ``gamma`` = γ in [0, 1), ``eps`` = ε > 0; s starts at 0.

    Update::

        s := γ s + (1 − γ) g⊙g
        x := x − η g / √(s + ε)

    ε = 1e-8 sits inside the square root, as in the lecture's code; η = 0.03, γ = 0.9 is its experiment. The
    per-coordinate step η/√(s + ε) (``step_size``) follows the recent gradient scale instead of decaying for ever.
    torch.optim.RMSprop names γ ``alpha`` (default 0.99) and puts ε outside the root.
    """

    def init(params):
        return SquaresState(s=np.zeros_like(params))

    def step_size(state, lr=lr):
        return lr / np.sqrt(state.s + eps)

    def update(params, grads, state, lr=lr):
        s = ema(state.s, grads * grads, gamma)
        return params - step_size(SquaresState(s), lr) * grads, SquaresState(s)

    return init, update, step_size


def adadelta(rho=0.999, eps=1e-5):
    """Adadelta (§11): no learning rate; the step is scaled by the RMS of past updates over the RMS of gradients.

    Symbols: ``rho`` = ρ in [0, 1), ``eps`` = ε > 0; s and Δx start at 0.

    Update::

        s  := ρ s + (1 − ρ) g⊙g
        g' := √(Δx + ε) / √(s + ε) ⊙ g
        Δx := ρ Δx + (1 − ρ) g'⊙g'
        x  := x − g'

    ``step_size`` is √(Δx + ε)/√(s + ε). ε = 1e-5 sits inside both roots, as in the lecture's code; ρ = 0.999 is
    its experiment (the lecture suggests 0.9 to 0.999). torch.optim.Adadelta is the same rule times an extra ``lr``
    (default 1.0) with ε = 1e-6.
    """

    def init(params):
        return AdadeltaState(s=np.zeros_like(params), delta=np.zeros_like(params))

    def step_size(state):
        return np.sqrt(state.delta + eps) / np.sqrt(state.s + eps)

    def update(params, grads, state):
        s = ema(state.s, grads * grads, rho)
        step = step_size(AdadeltaState(s, state.delta)) * grads
        delta = ema(state.delta, step * step, rho)
        return params - step, AdadeltaState(s, delta)

    return init, update, step_size
