"""Adam (§10) and AdamW: momentum and RMSProp combined, with bias correction."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optimlab.optim.base import bias_corrected, ema


class AdamState(NamedTuple):
    t: int  # number of updates so far; the update being made is number t + 1
    v: np.ndarray  # first moment: EMA of g
    s: np.ndarray  # second moment: EMA of g⊙g


def adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (§10).

    Symbols: ``lr`` = η > 0, ``beta1`` = β1 and ``beta2`` = β2 in [0, 1), ``eps`` = ε > 0; v, s start at 0 and
    t counts updates from 1.

    Update::

        t := t + 1
        v := β1 v + (1 − β1) g
        s := β2 s + (1 − β2) g⊙g
        v̂ := v / (1 − β1^t)
        ŝ := s / (1 − β2^t)
        x := x − η v̂ / (√ŝ + ε)

    ε sits outside the root, as in the lecture's code (its text writes √(ŝ + ε), and its v line has a typo: g, not
    v, is averaged). Same as torch.optim.Adam. η = 0.1 is the lecture's experiment. ``step_size`` is the
    per-coordinate η/(√ŝ + ε) that multiplies v̂.
    """

    def init(params):
        return AdamState(t=0, v=np.zeros_like(params), s=np.zeros_like(params))

    def step_size(state, lr=lr):
        # before the first update (t = 0) s is 0 and there is nothing to correct
        return lr / (np.sqrt(bias_corrected(state.s, beta2, max(state.t, 1))) + eps)

    def update(params, grads, state, lr=lr):
        t = state.t + 1
        v = ema(state.v, grads, beta1)
        s = ema(state.s, grads * grads, beta2)
        new = AdamState(t, v, s)
        return params - step_size(new, lr) * bias_corrected(v, beta1, t), new

    return init, update, step_size


def adamw(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter). Beyond the lecture.

    Symbols as :func:`adam`, plus ``weight_decay`` = λ >= 0.

    Update::

        x := x − η λ x
        then the Adam update of x with the same g (the decay never enters v or s)

    As torch.optim.AdamW (its default λ = 0.01); η = 0.1 follows the lecture's Adam experiment.
    """

    adam_init, adam_update, adam_step_size = adam(lr, beta1, beta2, eps)

    def update(params, grads, state, lr=lr):
        return adam_update(params - lr * weight_decay * params, grads, state, lr=lr)

    return adam_init, update, adam_step_size
