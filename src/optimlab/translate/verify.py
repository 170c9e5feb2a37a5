"""The verification run of a translation: optimlab's optimizer and the target library's, 100 steps each, fed the
same gradients in float64.

The gradients are recorded from optimlab's own run (g_t = h ⊙ x_t + noise, a diagonal quadratic with curvatures
of different scales plus seeded noise) and replayed to the other library, so both see exactly the same sequence;
the iterates are compared step by step.
"""

from __future__ import annotations

import numpy as np

CURVATURE = np.array([1.0, 0.3, 3.0, 0.01])
NOISE = np.array([1.0, 0.1, 2.0, 1e-3])
X0 = np.array([1.0, -2.0, 0.5, 3.0])
SEED = 0


def gradient_run(opt, lrs, steps: int):
    """optimlab's iterates (steps, P) and the gradients it was given (steps, P)."""
    rng = np.random.default_rng(SEED)
    x, state, xs, grads = X0.copy(), opt.init(X0), [], []
    for t in range(steps):
        g = CURVATURE * x + rng.normal(size=x.shape) * NOISE
        x, state = opt.update(x, g, state, **({"lr": lrs[t]} if lrs is not None else {}))
        xs.append(x)
        grads.append(g)
    return np.array(xs), np.array(grads)


def run_torch(target, grads, lrs, steps: int) -> np.ndarray:
    import torch

    p = torch.nn.Parameter(torch.tensor(X0, dtype=torch.float64))
    ctor = getattr(torch.optim, target.constructor.rsplit(".", 1)[1])
    opt = ctor([p], **target.kwargs)
    xs = []
    for t in range(steps):
        if lrs is not None and "lr" in target.kwargs:
            opt.param_groups[0]["lr"] = lrs[t]  # what a scheduler does: write this step's η into the group
        p.grad = torch.tensor(grads[t], dtype=torch.float64)
        opt.step()
        xs.append(p.detach().numpy().copy())
    return np.array(xs)


def run_optax(target, grads, lrs, steps: int) -> np.ndarray:
    import jax
    import optax

    kwargs = {k: v for k, v in target.kwargs.items() if not k.startswith("_")}
    if lrs is not None and "learning_rate" in kwargs:
        kwargs["learning_rate"] = lambda count: lrs[int(count)]  # optax evaluates its schedule at its step count
    tx = getattr(optax, target.constructor.rsplit(".", 1)[1])(**kwargs)
    decay = target.kwargs.get("_coupled_weight_decay", 0.0)
    if decay:
        tx = optax.chain(optax.add_decayed_weights(decay), tx)
    with jax.enable_x64(True):  # float64 for this run only, as the other side
        x = jax.numpy.asarray(X0, dtype=jax.numpy.float64)
        state, xs = tx.init(x), []
        for t in range(steps):
            updates, state = tx.update(jax.numpy.asarray(grads[t], dtype=jax.numpy.float64), state, x)
            x = optax.apply_updates(x, updates)
            xs.append(np.asarray(x))
    return np.array(xs)
