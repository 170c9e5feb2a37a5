"""The verification run of a translation: optimlab's optimizer and the target library's, 100 steps each, fed the
same gradients in float64.

The gradients are recorded from optimlab's own run (g_t = h ⊙ x_t + noise, a diagonal quadratic with curvatures
of different scales plus seeded noise) and replayed to the other library, so both see exactly the same sequence;
the iterates are compared step by step.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile

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


def keras_backend() -> str | None:
    """The Keras backend the verification uses: the user's ``KERAS_BACKEND``, else torch, jax or tensorflow,
    whichever is installed first (None: none is)."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    return next((name for name in ("torch", "jax", "tensorflow") if importlib.util.find_spec(name)), None)


def run_keras(target, grads, lrs, steps: int) -> tuple[np.ndarray, str]:
    """Keras's iterates, and the Keras version and backend that ran them.

    In a child process (optimlab/translate/keras_run.py), because Keras fixes its backend at import and a process that
    has imported JAX must not fork later. Keras writes ``keras.json`` into its home folder on import; where the user
    has none (``~/.keras/keras.json`` or ``KERAS_HOME``), the child's home is a temporary folder, removed after, so
    that translate writes nothing of its own into the user's home.
    """
    env = {**os.environ, "KERAS_BACKEND": keras_backend() or "tensorflow"}
    request = {"constructor": target.constructor, "kwargs": target.kwargs, "x0": X0.tolist(),
               "grads": np.asarray(grads)[:steps].tolist(), "lrs": None if lrs is None else list(lrs)}
    with tempfile.TemporaryDirectory(prefix="optimlab-keras-") as home:
        if "KERAS_HOME" not in env and not os.path.exists(os.path.expanduser("~/.keras/keras.json")):
            env["KERAS_HOME"] = home
        # the file itself (it imports nothing of optimlab's), so that the child needs only Keras; -P: its folder is
        # not put on the child's sys.path
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_run.py")
        out = subprocess.run([sys.executable, "-P", script], input=json.dumps(request), capture_output=True,
                             text=True, env=env, timeout=600)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the Keras run failed ({env['KERAS_BACKEND']} backend): {last}")
    answer = json.loads(out.stdout)
    return np.array(answer["iterates"]), f"Keras {answer['version']} on {answer['backend']}"
