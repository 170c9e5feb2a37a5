"""Adam (§10) and AdamW: momentum and RMSProp combined, with bias correction."""

from __future__ import annotations

from typing import Any, NamedTuple

from optimlab.optim.base import bias_corrected, ema, namespace, weight_decayed, zero


class AdamState(NamedTuple):
    t: int  # number of updates so far; the update being made is number t + 1
    v: Any  # first moment: EMA of g
    s: Any  # second moment: EMA of g⊙g
    s_max: Any = None  # AMSGrad only: running maximum of s


def adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, *, amsgrad=False, eps_uncorrected=False, weight_decay=0.0,
         decoupled=False):
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
    v, is averaged). Same as torch.optim.Adam and optax.adam. η = 0.1 is the lecture's experiment. ``step_size`` is
    the per-coordinate η/(√ŝ + ε) that multiplies v̂.

    Conventions: ``amsgrad=True`` (torch, Keras) keeps s_max := max(s_max, s) and uses ŝ := s_max / (1 − β2^t).
    ``eps_uncorrected=True`` (Keras/TensorFlow, the paper's ε̂) adds ε before the correction of s:
    x := x − η √(1 − β2^t)/(1 − β1^t) · v / (√s + ε), i.e. ε/√(1 − β2^t) in place of ε above.
    ``weight_decay`` λ: coupled g := g + λx (torch.optim.Adam) or ``decoupled`` x := x − ηλx (AdamW).
    """

    decays = not zero(weight_decay)  # decided once: the lecture's path (λ = 0) pays nothing per step

    def init(params):
        xp = namespace(params)  # one zero array per field: a state may be updated in place (optimlab.torch)
        return AdamState(t=0, v=xp.zeros_like(params), s=xp.zeros_like(params),
                         s_max=xp.zeros_like(params) if amsgrad else None)

    def step_size(state, lr=lr):
        xp = namespace(state.s)
        t = max(state.t, 1)  # before the first update (t = 0) s is 0 and there is nothing to correct
        s = state.s_max if amsgrad else state.s
        if eps_uncorrected:
            root = xp.sqrt(s)
            root += eps
            return lr / (root / (1.0 - beta2 ** t) ** 0.5)
        root = xp.sqrt(bias_corrected(s, beta2, t))
        root += eps  # in place on the fresh root: the same operations as √ŝ + ε, one allocation fewer
        return lr / root

    def update(params, grads, state, lr=lr):
        if decays:
            params, grads = weight_decayed(params, grads, lr, weight_decay, decoupled)
        t = state.t + 1
        v = ema(state.v, grads, beta1)
        s = ema(state.s, grads * grads, beta2)
        new = AdamState(t, v, s, namespace(s).maximum(state.s_max, s) if amsgrad else None)
        step = step_size(new, lr)  # a fresh array, scaled in place: the same product as step_size · v̂
        step *= bias_corrected(v, beta1, t)
        return params - step, new

    return init, update, step_size


def adamw(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, *, amsgrad=False, eps_uncorrected=False):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter). Beyond the lecture.

    Symbols as :func:`adam`, plus ``weight_decay`` = λ >= 0.

    Update::

        x := x − η λ x
        then the Adam update of x with the same g (the decay never enters v or s)

    As torch.optim.AdamW (its default λ = 0.01), optax.adamw and Keras's AdamW (which write the same step as
    x := x − η (v̂ / (√ŝ + ε) + λ x)); η = 0.1 follows the lecture's Adam experiment. Options as :func:`adam`.
    """

    return adam(lr, beta1, beta2, eps, amsgrad=amsgrad, eps_uncorrected=eps_uncorrected,
                weight_decay=weight_decay, decoupled=True)
