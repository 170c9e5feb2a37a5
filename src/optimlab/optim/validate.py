"""Checks on the inputs of a configured optimizer's ``update``: cheap enough for the training loop's hot path.

``update(params, grads, state, lr=η_t)`` rejects, with one line naming the value and what is allowed:
grads of another shape than params (no silent broadcasting of (P,) against (K, P)), a state made by another
optimizer or for params of another shape, and a per-step η that is negative or not finite (0 is allowed: a schedule
may end there). Each check is a type or tuple comparison, plus one scalar read of η; measured in
benchmarks/README.md.
"""

from __future__ import annotations

import math

import numpy as np

from optimlab.optim.adam import AdamState
from optimlab.optim.adaptive import AdadeltaState, AdagradState, RMSPropState
from optimlab.optim.sgd import EmptyState, MomentumState, NesterovState

# Which optimizer made a state of each type, to name it when a state is handed to the wrong optimizer.
STATE_OWNERS = {EmptyState: "sgd", MomentumState: "momentum", NesterovState: "nesterov", AdagradState: "adagrad",
                RMSPropState: "rmsprop", AdadeltaState: "adadelta", AdamState: "adam or adamw"}


def lr_bounds(lr) -> tuple[float, float]:
    """The smallest and largest entry of a per-step η (a number or an array), as floats."""
    if isinstance(lr, (int, float)):
        return lr, lr
    if lr.ndim == 0 or lr.shape[0] == 1 == math.prod(lr.shape):
        value = float(lr.item())  # one read, no reduction: the single-configuration training loop's case
        return value, value
    # .min()/.max() methods (NumPy, torch, CuPy, JAX alike): the array-API functions are Python wrappers in
    # array_api_compat and cost several times more on the small (K, 1) arrays of a sweep
    return float(lr.min()), float(lr.max())


def check_lr(lr) -> None:
    low, high = lr_bounds(lr)
    if not (0.0 <= low and high < math.inf):  # NaN fails every comparison, so it is caught here too
        bad = low if not 0.0 <= low else high
        raise ValueError(f"lr (this step's η) must be a finite number >= 0, got {bad!r}")


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else type(x).__name__


def checked(name: str, rule, sample_state, has_lr: bool):
    """``rule`` (the optimizer's pure update) behind the input checks; ``sample_state`` is a state its ``init``
    made, to learn the state's type and which of its fields is an array of the params' shape."""
    state_type = type(sample_state)
    probe = next((i for i, field in enumerate(sample_state) if hasattr(field, "shape")), None)

    def refuse(params, grads, state):
        if _shape(grads) != _shape(params):
            raise ValueError(f"grads must have the shape of params, {_shape(params)}, got {_shape(grads)}")
        if type(state) is not state_type:
            owner = STATE_OWNERS.get(type(state))
            made = f"comes from {owner}" if owner else f"is a {type(state).__name__}"
            raise ValueError(f"state {made}, not from {name}: start it with this optimizer's init(params)")
        raise ValueError(f"state was made for params of shape {_shape(state[probe])}, got params of shape "
                         f"{_shape(params)}")

    def update(params, grads, state, lr=None):
        # the common case costs two shape comparisons, one type test and one comparison of η; the messages are
        # composed only on failure
        try:
            shape = params.shape
            if grads.shape != shape or type(state) is not state_type or \
                    (probe is not None and state[probe].shape != shape):
                refuse(params, grads, state)
        except AttributeError:
            refuse(params, grads, state)
        if lr is None:
            return rule(params, grads, state)
        if not has_lr:
            raise ValueError(f"{name} takes no learning rate here, got lr={lr!r} (Adadelta takes one with "
                             "lr_multiplier=True)")
        if type(lr) is float:
            if not 0.0 <= lr < math.inf:
                check_lr(lr)
            return rule(params, grads, state, lr=lr)
        if type(lr) is np.ndarray and lr.size == 1:  # the single-configuration training loop: one read
            if not 0.0 <= lr.item() < math.inf:
                check_lr(lr)
        else:
            check_lr(lr)
        new_params, new_state = rule(params, grads, state, lr=lr)
        if new_params.shape != shape:  # η of shape (K, 1) against params (P,) would broadcast to (K, P)
            raise ValueError(f"lr of shape {_shape(lr)} does not fit params of shape {_shape(params)}: give a "
                             "number or one value per configuration, shape (K, 1)")
        return new_params, new_state

    return update
