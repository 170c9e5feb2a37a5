"""Plain and momentum gradient descent (lecture §3–7), in order of increasing complexity."""

from __future__ import annotations

from typing import Any, NamedTuple

from optimlab.optim.base import namespace, weight_decayed, zero


class EmptyState(NamedTuple):
    """SGD keeps no state."""


class MomentumState(NamedTuple):
    v: Any  # velocity: η inside (lr_in_velocity=True, the lecture) or outside (the buffer b of torch.optim)


class NesterovState(NamedTuple):
    v: Any  # as MomentumState; its own type so that a momentum state is not taken for a Nesterov one


def sgd(lr=0.1, *, weight_decay=0.0, decoupled=False):
    """Stochastic gradient descent (§3, §5, §6).

    Symbols: ``lr`` = η > 0; g is the gradient of the mean loss over the minibatch.

    Update::

        x := x − η g

    With the batch equal to the whole data set this is gradient descent, with batch 1 the lecture's SGD.
    The default η = 0.1 is the lecture's batch-1 experiment. Step size: η.

    Options: ``weight_decay`` λ >= 0 (default 0): ``decoupled=False`` uses g + λx (torch.optim.SGD),
    ``decoupled=True`` first shrinks x := x − ηλx; for plain SGD the two agree.

    Example: ``optimlab.optim.make("sgd", lr=[0.01, 0.1, 1.0])`` advances three runs per call.
    """

    decays = not zero(weight_decay)  # decided once: the lecture's path (λ = 0) pays nothing per step

    def init(params):
        return EmptyState()

    def update(params, grads, state, lr=lr):
        if decays:
            params, grads = weight_decayed(params, grads, lr, weight_decay, decoupled)
        return params - lr * grads, state

    def step_size(state, lr=lr):
        return lr

    return init, update, step_size


def momentum(lr=0.2, momentum=0.9, *, lr_in_velocity=True, weight_decay=0.0, decoupled=False):
    """Heavy-ball momentum in the lecture's form (§7).

    Symbols: ``lr`` = η > 0, ``momentum`` = γ in [0, 1); v starts at 0.

    Update::

        v := γ v + η g
        x := x − v

    v is an exponential moving average of η g/(1 − γ), so the effective step is η/(1 − γ): γ = 0.9 takes steps
    ten times η, γ = 0.99 a hundred times (``step_size`` returns η/(1 − γ)). γ = 0 is exactly ``sgd``.
    Defaults are the lecture's experiment (η = 0.2, γ = 0.9).

    Convention ``lr_in_velocity`` (η inside the buffer, default True: the lecture, Keras, Gluon). With False, as
    torch.optim.SGD and optax.sgd::

        b := γ b + g
        x := x − η b

    The two agree while η is constant and differ once a schedule changes η: with η inside, a change of η only
    affects new gradients; outside, it rescales the whole accumulated velocity at once. ``weight_decay`` λ adds λx
    to g (``decoupled=False``, torch) or shrinks x := x − ηλx first (``decoupled=True``, Keras).
    """

    gamma = momentum
    decays = not zero(weight_decay)  # decided once: the lecture's path (λ = 0) pays nothing per step

    def init(params):
        return MomentumState(v=namespace(params).zeros_like(params))

    def update(params, grads, state, lr=lr):
        if decays:
            params, grads = weight_decayed(params, grads, lr, weight_decay, decoupled)
        if lr_in_velocity:
            v = gamma * state.v + lr * grads
            return params - v, MomentumState(v)
        b = gamma * state.v + grads  # on the first step b = g exactly, as torch's buffer starts
        return params - lr * b, MomentumState(b)

    def step_size(state, lr=lr):
        return lr / (1.0 - gamma)  # the effective step once v has built up under a steady gradient

    return init, update, step_size


def nesterov(lr=0.2, momentum=0.9, *, lr_in_velocity=True, weight_decay=0.0, decoupled=False):
    """Nesterov momentum, in the lecture's convention (η inside the buffer). Beyond the lecture.

    Symbols: ``lr`` = η > 0, ``momentum`` = γ in [0, 1); v starts at 0.

    Update::

        v := γ v + η g
        x := x − (γ v + η g)

    The step looks ahead along the new velocity (Keras's and Gluon's form). With ``lr_in_velocity=False``, as
    torch.optim.SGD(nesterov=True) and optax.sgd(nesterov=True)::

        b := γ b + g
        x := x − η (g + γ b)

    For constant η the two are equal; like ``momentum`` they differ when η changes. ``weight_decay`` as ``momentum``.
    """

    gamma = momentum
    decays = not zero(weight_decay)  # decided once: the lecture's path (λ = 0) pays nothing per step

    def init(params):
        return NesterovState(v=namespace(params).zeros_like(params))

    def update(params, grads, state, lr=lr):
        if decays:
            params, grads = weight_decayed(params, grads, lr, weight_decay, decoupled)
        if lr_in_velocity:
            step = lr * grads
            v = gamma * state.v + step
            return params - (gamma * v + step), NesterovState(v)
        b = gamma * state.v + grads
        return params - lr * (grads + gamma * b), NesterovState(b)

    def step_size(state, lr=lr):
        return lr / (1.0 - gamma)

    return init, update, step_size
