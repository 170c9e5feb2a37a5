"""Per-coordinate step sizes from the squared gradients: Adagrad (§8), RMSProp (§9), Adadelta (§11)."""

from __future__ import annotations

from typing import Any, NamedTuple

from optimlab.optim.base import ema, namespace, rms, weight_decayed, zero


class AdagradState(NamedTuple):
    t: int  # number of updates so far (for the lr decay)
    s: Any  # sum of g⊙g


class RMSPropState(NamedTuple):
    s: Any  # moving average of g⊙g
    mean: Any = None  # moving average ḡ of g (centered only)
    b: Any = None  # momentum buffer (momentum > 0 only)


class AdadeltaState(NamedTuple):
    s: Any  # moving average of g⊙g
    delta: Any  # Δx: moving average of g'⊙g', the squared updates


def adagrad(lr=0.9, eps=1e-7, *, eps_in_root=True, initial_accumulator=0.0, lr_decay=0.0, weight_decay=0.0,
            decoupled=False):
    """Adagrad (§8): each coordinate's step shrinks with the sum of its squared gradients.

    Symbols: ``lr`` = η > 0, ``eps`` = ε > 0; s starts at s₀ = ``initial_accumulator`` (0 in the lecture).

    Update::

        s := s + g⊙g
        x := x − η g / √(s + ε)

    ε sits inside the square root, as in the lecture's code (ε = 1e-7); η = 0.9 is the lecture's experiment.
    The per-coordinate step η/√(s + ε) (``step_size``) only ever decreases.

    Conventions: ``eps_in_root=False`` (torch.optim.Adagrad) takes x := x − η g / (√s + ε) instead;
    ``initial_accumulator`` s₀ (0.1 in optax and Keras, 0 in torch); ``lr_decay`` δ (torch only) uses
    η_t = η / (1 + (t − 1)δ) at update t = 1, 2, ...; ``weight_decay`` λ as in ``sgd``.
    """

    decays = not zero(weight_decay)  # decided once: the lecture's path (λ = 0) pays nothing per step

    def init(params):
        xp = namespace(params)
        s = xp.zeros_like(params)
        return AdagradState(t=0, s=s if zero(initial_accumulator) else s + initial_accumulator)

    def decayed(lr, t):
        return lr if zero(lr_decay) else lr / (1.0 + (t - 1) * lr_decay)

    def step_size(state, lr=lr):
        return decayed(lr, max(state.t, 1)) / rms(state.s, eps, eps_in_root)

    def update(params, grads, state, lr=lr):
        if decays:
            params, grads = weight_decayed(params, grads, lr, weight_decay, decoupled)
        new = AdagradState(state.t + 1, state.s + grads * grads)
        return params - step_size(new, lr) * grads, new

    return init, update, step_size


def rmsprop(lr=0.03, gamma=0.9, eps=1e-8, *, eps_in_root=True, centered=False, momentum=0.0, lr_in_velocity=True,
            weight_decay=0.0, decoupled=False):
    """RMSProp (§9): Adagrad with a leaky (exponentially weighted) average of g⊙g.

    Symbols: ``lr`` = η > 0, ``gamma`` = γ in [0, 1), ``eps`` = ε > 0; s starts at 0.

    Update::

        s := γ s + (1 − γ) g⊙g
        x := x − η g / √(s + ε)

    ε = 1e-8 sits inside the square root, as in the lecture's code; η = 0.03, γ = 0.9 is its experiment. The
    per-coordinate step η/√(s + ε) (``step_size``) follows the recent gradient scale instead of decaying for ever.
    torch.optim.RMSprop names γ ``alpha`` (default 0.99).

    Conventions: ``eps_in_root=False`` (torch) divides by √s + ε. ``centered=True`` keeps ḡ := γ ḡ + (1 − γ) g
    and divides by √(s − ḡ⊙ḡ + ε) (or √(s − ḡ⊙ḡ) + ε). ``momentum`` μ > 0 accumulates the step, with η inside the
    buffer (``lr_in_velocity=True``: Keras, optax, Gluon) or outside (torch)::

        b := μ b + η g / √(s + ε);   x := x − b        (lr_in_velocity=True)
        b := μ b + g / (√s + ε);     x := x − η b      (lr_in_velocity=False, torch)

    ``weight_decay`` λ as in ``sgd``.
    """

    decays = not zero(weight_decay)  # decided once: the lecture's path (λ = 0) pays nothing per step

    def init(params):
        xp = namespace(params)  # one zero array per field: a state may be updated in place (optimlab.torch)
        return RMSPropState(s=xp.zeros_like(params), mean=xp.zeros_like(params) if centered else None,
                            b=None if zero(momentum) else xp.zeros_like(params))

    def denominator(state):
        if centered:
            return rms(state.s - state.mean * state.mean, eps, eps_in_root)
        return rms(state.s, eps, eps_in_root)

    def step_size(state, lr=lr):
        return lr / denominator(state)

    def update(params, grads, state, lr=lr):
        if decays:
            params, grads = weight_decayed(params, grads, lr, weight_decay, decoupled)
        s = ema(state.s, grads * grads, gamma)
        mean = ema(state.mean, grads, gamma) if centered else None
        new = RMSPropState(s, mean, state.b)
        if zero(momentum):
            return params - step_size(new, lr) * grads, new
        if lr_in_velocity:
            b = momentum * state.b + step_size(new, lr) * grads
            return params - b, new._replace(b=b)
        b = momentum * state.b + grads / denominator(new)
        return params - lr * b, new._replace(b=b)

    return init, update, step_size


def adadelta(rho=0.999, eps=1e-5, *, lr_multiplier=False, lr=1.0, weight_decay=0.0, decoupled=False):
    """Adadelta (§11): no learning rate; the step is scaled by the RMS of past updates over the RMS of gradients.

    Symbols: ``rho`` = ρ in [0, 1), ``eps`` = ε > 0; s and Δx start at 0.

    Update::

        s  := ρ s + (1 − ρ) g⊙g
        g' := √(Δx + ε) / √(s + ε) ⊙ g
        Δx := ρ Δx + (1 − ρ) g'⊙g'
        x  := x − g'

    ``step_size`` is √(Δx + ε)/√(s + ε). ε = 1e-5 sits inside both roots, as in the lecture's code; ρ = 0.999 is
    its experiment (the lecture suggests 0.9 to 0.999).

    Convention ``lr_multiplier=True`` (torch.optim.Adadelta, optax, Keras) takes a learning rate η (``lr``,
    torch's default 1.0) on the step only, so that schedules apply: x := x − η g' (Δx still averages the
    unscaled g'). ``weight_decay`` λ as in ``sgd``.
    """

    decays = not zero(weight_decay)  # decided once: the lecture's path (λ = 0) pays nothing per step

    def init(params):
        xp = namespace(params)
        return AdadeltaState(s=xp.zeros_like(params), delta=xp.zeros_like(params))

    def step_size(state, lr=lr):
        xp = namespace(state.s)
        ratio = xp.sqrt(state.delta + eps) / xp.sqrt(state.s + eps)
        return lr * ratio if lr_multiplier else ratio

    def update(params, grads, state, lr=lr):
        if decays:
            params, grads = weight_decayed(params, grads, lr if lr_multiplier else 1.0, weight_decay, decoupled)
        s = ema(state.s, grads * grads, rho)
        xp = namespace(s)
        step = xp.sqrt(state.delta + eps) / xp.sqrt(s + eps) * grads
        delta = ema(state.delta, step * step, rho)
        return params - (lr * step if lr_multiplier else step), AdadeltaState(s, delta)

    return init, update, step_size
