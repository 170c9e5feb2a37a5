"""What a live torch optimizer says about stability: its step size η, its per-coordinate preconditioner P and the
bound c such that the next update is stable while λ_max(η P⁻¹ H) < c.

The optimizer is read by duck typing on the names torch.optim uses (optimlab's drop-in optimizers,
``optimlab.torch.make``, are read through their own rules' ``step_size`` instead: :mod:`optimlab.torch._dropin`):

- SGD (a group with ``momentum`` and none of the keys below): P = 1; c = 2(1+γ)/(1−τ) with dampening τ (heavy
  ball with step η(1−τ)), 2(1+γ)/(1+2γ) with ``nesterov``.
- Adam, AdamW (a group with ``betas``): P = √(v/(1−β2^t)) + ε, v = state ``exp_avg_sq`` (``max_exp_avg_sq`` under
  ``amsgrad``), t = state ``step``: torch's denominator exactly; c = 2(1+β1)/(1−β1), 38 at β1 = 0.9.
- RMSprop (a group with ``alpha``): P = √(s − ḡ²) + ε, s = state ``square_avg``, ḡ = state ``grad_avg`` when
  ``centered`` (else 0); c = 2(1+μ) with its ``momentum`` μ.
- Adagrad (a group with ``lr_decay``): P = √(state ``sum``) + ε (the initial accumulator is in it); the next
  update's η is η/(1 + t·lr_decay), t = state ``step``, as torch computes it; c = 2.

P carries no η: the update is θ ← θ − η P⁻¹ m (m the gradient or its momentum), so the sharpness reported is
λ_max(P⁻¹H) against the threshold c/η. Folding η into P (P_η = P/η, θ ← θ − P_η⁻¹ m) gives the same test as
λ_max(P_η⁻¹H) = η·λ_max(P⁻¹H) < c.

Why these bounds: near a minimum the update is linear in the error e. Gradient descent preconditioned by P maps
e ← (I − ηP⁻¹H) e, stable while η·λ_max(P⁻¹H) < 2; heavy-ball momentum γ on top gives 2(1+γ) (see
:func:`optimlab.analysis.bounds.momentum_max_lr`); Adam's m̂ is an EMA of g, i.e. heavy ball with γ = β1 and step
η(1−β1), so c = 2(1+β1)/(1−β1) (:func:`optimlab.analysis.bounds.adaptive_bound`, Cohen et al. 2022, "Adaptive
gradient methods at the edge of stability"). P⁻¹H is similar to the symmetric P^{-½} H P^{-½}, which Lanczos needs;
both have the same eigenvalues. P is frozen at its live value (it changes slowly: β2 close to 1).

Coupled L2 weight decay w (SGD, Adam, RMSprop, Adagrad: g ← g + wθ) adds w to the Hessian and is included.
Decoupled decay (AdamW: θ ← θ − ηwθ − …) only shrinks the update's Jacobian by ηw and is left out (it makes the
bound slightly conservative).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from optimlab.analysis import bounds
from optimlab.torch import _dropin


@dataclass
class Preconditioner:
    family: str  # sgd, adam, rmsprop, adagrad
    params: list  # the parameters the optimizer moves, in its order
    scale: torch.Tensor  # s_i = η_g/(c_g P_i) per coordinate: the update is stable while λ_max(S^½ H S^½) < 1
    decay: torch.Tensor  # coupled L2 weight decay per coordinate, added to H
    lr: float | None  # η when every group shares it, else None
    bound: float | None  # c when every group shares it, else None
    adaptive: bool


def read(optimizer: torch.optim.Optimizer) -> Preconditioner:
    params, scales, decays, lrs, cs, families = [], [], [], set(), set(), set()
    dropin = _dropin.is_dropin(optimizer)
    for group in optimizer.param_groups:
        if dropin:  # optimlab.torch.make: its own formulas give η/P (see _dropin)
            family, c = _dropin.family_and_bound(optimizer, group)
            lr = float(group.get("lr", 1.0))
        else:
            family, lr, c = _family(optimizer, group)
        families.add(family)
        for p in group["params"]:
            if not p.requires_grad:
                continue
            if dropin:
                step = _dropin.step_over_p(optimizer, group, p)
                lr_p = lr
                if family == "adagrad" and group.get("lr_decay"):  # the next update's η, as in step_over_p
                    lr_p = lr / (1 + float(optimizer.state[p]["t"]) * group["lr_decay"])
            else:
                precond = _diagonal(optimizer, family, group, p)
                lr_p = lr
                if family == "adagrad":  # the next update's η, as torch computes it
                    lr_p = lr / (1 + float(optimizer.state[p]["step"]) * group["lr_decay"])
                step = lr_p / precond
            lrs.add(lr_p)
            cs.add(c)
            params.append(p)
            scales.append((step / c).reshape(-1).detach())
            wd = 0.0 if _decoupled(optimizer, group) else float(group.get("weight_decay", 0.0))
            decays.append(torch.full((p.numel(),), wd, dtype=p.dtype, device=p.device))
    if not params:
        raise ValueError("optimizer holds no parameters that require grad")
    if len(families) > 1:
        raise ValueError(f"optimizer mixes families {sorted(families)}: give one optimizer per family")
    family = families.pop()
    return Preconditioner(family, params, torch.cat(scales), torch.cat(decays),
                          lrs.pop() if len(lrs) == 1 else None, cs.pop() if len(cs) == 1 else None,
                          family != "sgd")


def _family(optimizer, group) -> tuple[str, float, float]:
    lr = float(group["lr"])
    if not lr > 0:
        raise ValueError(f"lr must be > 0 to have a stability threshold, got {lr}")
    if "betas" in group:
        return "adam", lr, bounds.adaptive_bound("adam", {"beta1": float(group["betas"][0])})
    if "alpha" in group:
        return "rmsprop", lr, 2.0 * (1 + float(group.get("momentum", 0.0)))
    if "lr_decay" in group:
        return "adagrad", lr, 2.0
    if "momentum" in group:
        gamma = float(group["momentum"])
        if group.get("nesterov"):
            return "sgd", lr, 2.0 * (1 + gamma) / (1 + 2 * gamma)  # bounds.nesterov_max_lr's constant
        damp = float(group.get("dampening", 0.0))
        return "sgd", lr, 2.0 * (1 + gamma) / (1 - damp) if damp < 1 else math.inf
    raise ValueError(f"cannot read {type(optimizer).__name__}: expected torch.optim's names (SGD's momentum, "
                     f"Adam's betas/exp_avg_sq, RMSprop's alpha/square_avg, Adagrad's lr_decay/sum)")


def _decoupled(optimizer, group) -> bool:
    return bool(group.get("decoupled_weight_decay", False) or group.get("decoupled", False)) or \
        isinstance(optimizer, torch.optim.AdamW) or getattr(optimizer, "name", None) == "adamw"


def _diagonal(optimizer, family, group, p) -> torch.Tensor:
    """P for one parameter, from the optimizer's live state."""
    if family == "sgd":
        return torch.ones_like(p)
    state = optimizer.state.get(p, {})
    names = {"adam": "max_exp_avg_sq" if group.get("amsgrad") else "exp_avg_sq", "rmsprop": "square_avg",
             "adagrad": "sum"}
    name = names[family]
    if name not in state:
        raise ValueError(f"{type(optimizer).__name__} has no {name!r} state yet: the preconditioned sharpness "
                         f"reads it, so take at least one optimizer.step() first")
    s = state[name].detach()
    eps = float(group["eps"])
    if family == "adam":
        t = float(state["step"])
        return torch.sqrt(s / (1 - float(group["betas"][1]) ** t)) + eps
    if family == "rmsprop" and group.get("centered"):
        s = s - state["grad_avg"].detach() ** 2
    return torch.sqrt(s) + eps
