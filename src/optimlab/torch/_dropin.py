"""The preconditioner of optimlab's own drop-in optimizers (``optimlab.torch.make``), read through optimlab's
formulas rather than torch's state names.

A drop-in keeps its state as the fields of the rule's named state (Adam's ``t, v, s, s_max``; RMSProp's
``s, mean, b``; Adagrad's ``t, s``) and its group under optimlab's names (``beta1``, ``gamma``, ...). Each rule of
:mod:`optimlab.optim` returns ``step_size(state, lr)``, the per-coordinate η/P that multiplies its (averaged)
gradient, with the rule's own ε placement and bias correction: so the convention (lecture, torch, optax, keras) is
honoured without restating any formula here. The bound c per family is that of :mod:`optimlab.torch._state`.
"""

from __future__ import annotations

import torch

from optimlab.analysis import bounds

ADAPTIVE = ("adam", "adamw", "rmsprop", "adagrad", "adadelta")


def is_dropin(optimizer) -> bool:
    return isinstance(getattr(optimizer, "name", None), str) and hasattr(optimizer, "convention")


def family_and_bound(optimizer, group) -> tuple[str, float]:
    name = optimizer.name
    if name in ("adam", "adamw"):
        return "adam", bounds.adaptive_bound("adam", {"beta1": float(group["beta1"])})
    if name == "rmsprop":
        return "rmsprop", 2.0 * (1 + float(group.get("momentum", 0.0)))
    if name in ("adagrad", "adadelta"):
        return name, 2.0
    if name == "momentum":
        return "sgd", 2.0 * (1 + float(group["momentum"]))
    if name == "nesterov":
        gamma = float(group["momentum"])
        return "sgd", 2.0 * (1 + gamma) / (1 + 2 * gamma)
    if name == "sgd":
        return "sgd", 2.0
    raise ValueError(f"cannot read the preconditioner of optimlab's {name!r}")


def step_over_p(optimizer, group, p) -> torch.Tensor:
    """η/P for one parameter: the rule's own ``step_size`` on the live state (η alone for the plain methods)."""
    from optimlab import optim

    name = optimizer.name
    if name not in ADAPTIVE:
        return torch.full_like(p, float(group["lr"]))
    keys = [k for k in list(optim.defaults(name)) + list(optim.options(name, optimizer.convention)) if k != "lr"]
    values = {k: group[k] for k in keys}
    if any(isinstance(v, (list, tuple)) or (torch.is_tensor(v) and v.ndim) for v in values.values()):
        raise ValueError("per-configuration hyperparameters: measure each configuration's model on its own")
    init, _, step_size = optim.OPTIMIZERS[name](**{k: v.item() if torch.is_tensor(v) else v
                                                   for k, v in values.items()})
    saved = optimizer.state.get(p, {})
    if not saved:
        raise ValueError(f"optimlab's {name} has no state yet: the preconditioned sharpness reads it, so take at "
                         f"least one optimizer.step() first")
    kind = type(init(p.detach()))
    state = kind(**{f: saved.get(f) for f in kind._fields if f in saved})
    if name == "adagrad":
        state = state._replace(t=state.t + 1)  # the next update's η/(1 + t·decay), as the rule will use it
    lr = float(group["lr"]) if "lr" in group else None
    out = step_size(state, lr) if lr is not None else step_size(state)
    return torch.as_tensor(out, dtype=p.dtype, device=p.device).expand_as(p).detach()
