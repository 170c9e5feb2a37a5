"""optimlab translate: the same optimizer in another library, with the conventions mapped, and proved by a run.

    t = optimlab.translate.translate("adam", to="torch", lr=0.1)
    t.code           # "torch.optim.Adam(params, lr=0.1, betas=(0.9, 0.999), eps=1e-08, amsgrad=False, ...)"
    t.max_rel_diff   # both run 100 steps on the same gradients: ~1e-16 when the translation is exact

The source is an optimlab optimizer under a convention (``source="lecture"`` by default, or "torch", "optax",
"keras", "gluon": hyperparameters in optimlab's names, read with that library's conventions). Where the target
library has no option for one of the source's conventions, ``missing`` says which, and the code is the closest
constructor. The verification runs where the target is installed (torch, optax, and Keras 3 on any of its
backends, in a child process) and says so where not; MXNet/Gluon has no run (MXNet is retired and has no wheels for
today's Pythons), so its mapping follows its documentation and says "not verified".
This room imports the target library only to verify, and only when it is installed.
"""

from __future__ import annotations

import importlib.util
from typing import NamedTuple

import numpy as np

from optimlab import optim, schedules
from optimlab.translate.libraries import MODULES, TARGETS, Target
from optimlab.translate.verify import gradient_run, keras_backend, run_keras, run_optax, run_torch

STEPS = 100
STEPS_PER_EPOCH = 10  # for a schedule given per epoch (the lecture's decay): the verification run's epochs


class Translation(NamedTuple):
    optimizer: str
    source: str
    target: str
    hyperparams: dict  # the source optimizer's resolved hyperparameters and options
    code: str
    exact: bool
    missing: list  # one sentence per convention the target cannot express
    verified: bool
    max_rel_diff: float | None
    note: str  # what was run, or why nothing was

    def to_dict(self) -> dict:
        return {k: (v if not isinstance(v, float) or np.isfinite(v) else None) for k, v in self._asdict().items()}


def translate(name: str, to: str, source: str = "lecture", schedule: str | None = None, steps: int = STEPS,
              **hyperparams) -> Translation:
    """Translate optimizer ``name`` (with ``hyperparams`` under convention ``source``) into library ``to``.

    ``schedule``: an optimlab schedule name (with its defaults) that changes η during the run, epochs of
    ``STEPS_PER_EPOCH`` steps; conventions that only differ when η changes (η in the momentum buffer) matter then.
    Raises ``ValueError`` naming the value and what is allowed, before any work.
    """
    if to not in TARGETS:
        raise ValueError(f"unknown target library {to!r}; choose one of: {', '.join(TARGETS)}")
    for key, value in hyperparams.items():
        if isinstance(value, (list, tuple, np.ndarray)):
            raise ValueError(f"translate takes one value per hyperparameter, got {key}={value!r}")
    opt = optim.make(name, convention=source, **hyperparams)
    sched = schedules.make(schedule) if schedule else None
    scheduled = sched is not None and sched.name != "constant"
    if scheduled and "lr" not in opt.hyperparams:
        raise ValueError(f"{name} has no learning rate under the {source} convention, so the schedule must be "
                         f"constant, got {schedule}")
    values = {**opt.options, **opt.hyperparams}
    target = TARGETS[to](name, values, scheduled)
    lrs = None
    if "lr" in opt.hyperparams:
        factors = [float(np.asarray(sched(t // STEPS_PER_EPOCH + 1, t))) if sched else 1.0 for t in range(steps)]
        lrs = [opt.hyperparams["lr"] * f for f in factors]
    verified, diff, note = _verify(opt, target, to, lrs, steps)
    return Translation(name, source, to, values, target.code, not target.missing, list(target.missing), verified,
                       diff, note)


def _verify(opt, target: Target, to: str, lrs, steps: int):
    module = MODULES[to]
    if importlib.util.find_spec(module) is None or (to == "optax" and importlib.util.find_spec("jax") is None):
        return False, None, f"not verified: {module} is not installed"
    if to == "keras" and keras_backend() is None:
        return False, None, "not verified: Keras is installed but none of its backends (torch, jax, tensorflow)"
    if to not in ("torch", "optax", "keras"):
        return False, None, f"not verified: optimlab has no {to} run (the mapping follows {to}'s documentation)"
    ours, grads = gradient_run(opt, lrs, steps)
    ran = ""
    if to == "keras":
        theirs, ran = run_keras(target, grads, lrs, steps)
        ran = f"; {ran}"
    else:
        theirs = (run_torch if to == "torch" else run_optax)(target, grads, lrs, steps)
    scale = np.max(np.abs(theirs), axis=1)
    diff = float(np.max(np.max(np.abs(ours - theirs), axis=1) / scale))
    return True, diff, (f"{steps} steps of both on the same gradients (float64{ran}); largest difference "
                        f"relative to the parameters' scale: {diff:.3g}")
