"""Plain and momentum gradient descent (lecture §3–7), in order of increasing complexity."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class EmptyState(NamedTuple):
    """SGD keeps no state."""


class MomentumState(NamedTuple):
    v: np.ndarray  # velocity, η already inside (the lecture's convention)


def sgd(lr=0.1):
    """Stochastic gradient descent (§3, §5, §6).

    Symbols: ``lr`` = η > 0; g is the gradient of the mean loss over the minibatch.

    Update::

        x := x − η g

    With the batch equal to the whole data set this is gradient descent, with batch 1 the lecture's SGD.
    The default η = 0.1 is the lecture's batch-1 experiment. Step size: η.

    Example: ``optimlab.optim.make("sgd", lr=[0.01, 0.1, 1.0])`` advances three runs per call.
    """

    def init(params):
        return EmptyState()

    def update(params, grads, state, lr=lr):
        return params - lr * grads, state

    def step_size(state, lr=lr):
        return lr

    return init, update, step_size


def momentum(lr=0.2, momentum=0.9):
    """Heavy-ball momentum in the lecture's form (§7).

    Symbols: ``lr`` = η > 0, ``momentum`` = γ in [0, 1); v starts at 0.

    Update::

        v := γ v + η g
        x := x − v

    v is an exponential moving average of η g/(1 − γ), so the effective step is η/(1 − γ): γ = 0.9 takes steps
    ten times η, γ = 0.99 a hundred times (``step_size`` returns η/(1 − γ)). γ = 0 is exactly ``sgd``.
    Defaults are the lecture's experiment (η = 0.2, γ = 0.9).

    Convention: η sits inside the buffer. torch.optim.SGD keeps ``b := γ b + g; x := x − η b`` instead; the two
    agree while η is constant and differ once a schedule changes η (here a change of η only affects new gradients;
    in torch it rescales the whole accumulated velocity at once).
    """

    gamma = momentum

    def init(params):
        return MomentumState(v=np.zeros_like(params))

    def update(params, grads, state, lr=lr):
        v = gamma * state.v + lr * grads
        return params - v, MomentumState(v)

    def step_size(state, lr=lr):
        return lr / (1.0 - gamma)  # the effective step once v has built up under a steady gradient

    return init, update, step_size


def nesterov(lr=0.2, momentum=0.9):
    """Nesterov momentum, in the lecture's convention (η inside the buffer). Beyond the lecture.

    Symbols: ``lr`` = η > 0, ``momentum`` = γ in [0, 1); v starts at 0.

    Update::

        v := γ v + η g
        x := x − (γ v + η g)

    The step looks ahead along the new velocity. For constant η this equals torch.optim.SGD(nesterov=True)
    (``b := γ b + g; x := x − η (g + γ b)``); like ``momentum`` it differs from torch when η changes.
    """

    gamma = momentum

    def init(params):
        return MomentumState(v=np.zeros_like(params))

    def update(params, grads, state, lr=lr):
        step = lr * grads
        v = gamma * state.v + step
        return params - (gamma * v + step), MomentumState(v)

    def step_size(state, lr=lr):
        return lr / (1.0 - gamma)

    return init, update, step_size
