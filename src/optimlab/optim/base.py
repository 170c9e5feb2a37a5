"""What every optimizer is made of: the shared pieces of the formulas and the :class:`Optimizer` record.

An optimizer is three pure functions over arrays of any array-API library (NumPy arrays, torch tensors, ...)::

    state = init(params)
    params, state = update(params, grads, state, lr=η_t)
    step_size(state, lr=η_t)   # the per-coordinate step the update applies, for analysis

``params`` and ``grads`` have shape ``(P,)`` for one run or ``(K, P)`` for K runs advanced together; each
hyperparameter is a float or an array of shape ``(K, 1)`` so that it broadcasts over the configuration axis.
``update`` never writes into its arguments: it returns new arrays and a new state. The formulas use only
arithmetic operators and the array-API functions of :func:`namespace` (``xp.sqrt``, ``xp.zeros_like``,
``xp.maximum``), so the same lines run on every library and device.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from array_api_compat import array_namespace


class Hyperparameter(NamedTuple):
    """How a hyperparameter is named in the lecture and which values it may take (a key of ``checks.RANGES``)."""

    symbol: str
    range: str
    meaning: str


# Every numeric hyperparameter any optimizer takes (including the numeric convention options, which default to a
# value that leaves the lecture's rule unchanged). The defaults live in each optimizer's signature, not here.
HYPERPARAMETERS = {
    "lr": Hyperparameter("η", "positive", "learning rate (step size)"),
    "momentum": Hyperparameter("γ", "unit", "momentum: decay of the velocity v"),
    "gamma": Hyperparameter("γ", "unit", "decay of the moving average s of g⊙g"),
    "rho": Hyperparameter("ρ", "unit", "decay of the moving averages s and Δx"),
    "beta1": Hyperparameter("β1", "unit", "decay of the first moment v"),
    "beta2": Hyperparameter("β2", "unit", "decay of the second moment s"),
    "eps": Hyperparameter("ε", "positive", "numerical-stability term"),
    "weight_decay": Hyperparameter("λ", "nonnegative", "weight decay: L2 in g, or decoupled (see decoupled)"),
    "initial_accumulator": Hyperparameter("s₀", "nonnegative", "Adagrad: initial value of the sum s"),
    "lr_decay": Hyperparameter("δ", "nonnegative", "Adagrad: η_t = η/(1 + (t − 1)δ)"),
}


class Flag(NamedTuple):
    """A convention switch: what it means when True and when False."""

    true: str
    false: str


# Every convention switch any optimizer takes; the lecture's value is the default in each optimizer's signature.
FLAGS = {
    "eps_in_root": Flag("ε inside the root, g/√(s + ε) (lecture, optax, Keras)",
                        "ε outside the root, g/(√s + ε) (torch.optim)"),
    "lr_in_velocity": Flag("η inside the velocity, v := γv + ηg (lecture, Keras, Gluon)",
                           "η outside the velocity, b := γb + g, x −= ηb (torch.optim, optax.sgd)"),
    "decoupled": Flag("decoupled weight decay, x := x − ηλx before the update (AdamW, Keras)",
                      "L2 weight decay coupled into the gradient, g := g + λx (torch.optim)"),
    "centered": Flag("RMSProp divides by the centred √(s − ḡ²), ḡ the EMA of g", "by the uncentred √s"),
    "amsgrad": Flag("AMSGrad: divide by the running maximum of s (torch, Keras)", "plain Adam"),
    "eps_uncorrected": Flag("ε added to √s before the bias correction of s (Keras/TF, the paper's ε̂)",
                            "ε added to √ŝ (lecture, torch.optim, optax)"),
    "lr_multiplier": Flag("Adadelta's step times a learning rate η (torch, optax, Keras)",
                          "no learning rate (lecture, Zeiler)"),
}


class Optimizer(NamedTuple):
    """A configured optimizer: its name, its validated hyperparameters and its pure functions.

    ``hyperparams`` holds floats, or 1-D arrays of length ``num_configs`` for a batch of configurations: the
    lecture's hyperparameters, plus any numeric convention option that was set. ``options`` holds every convention
    switch and numeric option as resolved (convention preset, then explicit values). ``update(params, grads, state,
    lr=η_t)``: ``lr`` (when the optimizer has one) is this step's η, e.g. the base η times a schedule's factor, as a
    float or an array of shape ``(K, 1)``; omitted, the configured η. It checks its inputs (shapes, state, η); the
    same rule without the checks is ``rule``. ``step_size(state, lr=η_t)``: the factor that multiplies the gradient
    (or its average) in the update, per coordinate where the optimizer adapts it: η for SGD, η/(1 − γ) for
    momentum, η/√(s + ε) for Adagrad and RMSProp, η/(√ŝ + ε) for Adam, √(Δx + ε)/√(s + ε) for Adadelta.
    """

    name: str
    hyperparams: dict[str, Any]
    num_configs: int | None
    init: Callable
    update: Callable
    step_size: Callable
    options: dict[str, Any] = {}
    convention: str = "lecture"
    rule: Callable | None = None

    def config(self, k: int) -> dict[str, float]:
        """The hyperparameters of configuration ``k`` as plain floats."""
        return {n: float(v[k]) if isinstance(v, np.ndarray) else v for n, v in self.hyperparams.items()}


# Shared pieces of the formulas: each exists once and every optimizer that needs it calls it.

_NAMESPACES: dict[type, Any] = {}


def namespace(x):
    """The array-API namespace of ``x`` (``array_api_compat.array_namespace``), memoized by type.

    Why memoized: ``array_namespace`` inspects its argument anew on every call (several µs for a NumPy array, as
    much as a whole small update) and the training loop calls an update per minibatch; the namespace depends only on
    the array's type, so one look-up per type is enough.
    """
    kind = type(x)
    xp = _NAMESPACES.get(kind)
    if xp is None:
        xp = _NAMESPACES[kind] = array_namespace(x)
    return xp


def zero(value) -> bool:
    """True when a hyperparameter is the plain number 0, so that the term it scales can be skipped (the lecture's
    path then computes exactly what it did before the option existed, at no cost)."""
    return isinstance(value, (int, float)) and value == 0


def ema(average, value, decay):
    """Exponential moving average, the lecture's EMA (§7): ``decay·average + (1 − decay)·value``.

    The sum is added into the fresh product ``decay·average`` in place: the same IEEE operations as the one-line
    form, one array allocation fewer (on large CPU tensors each fresh allocation costs page faults that exceed
    the arithmetic). The inputs are never written.
    """
    out = decay * average
    out += (1.0 - decay) * value
    return out


def bias_corrected(average, decay, t: int):
    """Undo the pull towards the zero start of an EMA after ``t`` updates (Adam, §10): ``average / (1 − decay^t)``."""
    return average / (1.0 - decay ** t)


def weight_decayed(params, grads, lr, weight_decay, decoupled: bool):
    """Weight decay λ applied before an update, as (params, grads)::

        coupled (L2, torch.optim):   g := g + λx
        decoupled (AdamW, Keras):    x := x − ηλx     (g unchanged)

    λ = 0 returns the inputs unchanged.
    """
    if zero(weight_decay):
        return params, grads
    if decoupled:
        return params - lr * weight_decay * params, grads
    return params, grads + weight_decay * params


def rms(s, eps, eps_in_root: bool):
    """The denominator of Adagrad and RMSProp: √(s + ε) with ε inside the root (the lecture), √s + ε outside."""
    xp = namespace(s)
    return xp.sqrt(s + eps) if eps_in_root else xp.sqrt(s) + eps
