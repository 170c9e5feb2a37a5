"""Parity cases shared by the convention tests and the drop-in torch optimizer tests: each optimlab configuration
beside the torch.optim (or optax) constructor written from that library's documentation, independently of
optimlab's translation code."""

from __future__ import annotations

import numpy as np

STEPS = 60
CURVATURE = np.array([1.0, 0.3, 3.0, 0.01])  # g = h ⊙ x + noise: gradients that depend on the iterate
NOISE = np.array([1.0, 0.1, 2.0, 1e-3])
X0 = np.array([1.0, -2.0, 0.5, 3.0])


def gradient(x, t, seed=0):
    """The gradient at step t: a diagonal quadratic's plus fixed noise (the same for both sides)."""
    noise = np.random.default_rng([seed, t]).normal(size=x.shape) * NOISE
    return CURVATURE * x + noise


def step_lr(o):
    import torch
    return torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)


def cosine_lr(o):
    import torch
    return torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40)


# (case id, optimlab name, optimlab hyperparameters under convention="torch", torch.optim constructor, scheduler)
TORCH_CASES = [
    ("sgd", "sgd", {"lr": 0.05}, lambda t, p: t.optim.SGD(p, lr=0.05), None),
    ("sgd+wd+StepLR", "sgd", {"lr": 0.05, "weight_decay": 0.1},
     lambda t, p: t.optim.SGD(p, lr=0.05, weight_decay=0.1), step_lr),
    ("momentum", "momentum", {"lr": 0.05, "momentum": 0.9}, lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9), None),
    ("momentum+wd+Cosine", "momentum", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01},
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01), cosine_lr),
    ("nesterov+StepLR", "nesterov", {"lr": 0.05, "momentum": 0.8},
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True), step_lr),
    ("nesterov+wd+Cosine", "nesterov", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.05},
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05), cosine_lr),
    ("adagrad", "adagrad", {"lr": 0.5, "eps": 1e-10}, lambda t, p: t.optim.Adagrad(p, lr=0.5), None),
    ("adagrad+decay+s0+wd+StepLR", "adagrad",
     {"lr": 0.5, "eps": 1e-6, "lr_decay": 0.01, "initial_accumulator": 0.1, "weight_decay": 0.05},
     lambda t, p: t.optim.Adagrad(p, lr=0.5, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1,
                                  eps=1e-6), step_lr),
    ("rmsprop", "rmsprop", {"lr": 0.01, "gamma": 0.99, "eps": 1e-8}, lambda t, p: t.optim.RMSprop(p, lr=0.01), None),
    ("rmsprop centered", "rmsprop", {"lr": 0.01, "gamma": 0.9, "eps": 1e-8, "centered": True},
     lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, centered=True), None),
    ("rmsprop momentum+Cosine", "rmsprop", {"lr": 0.01, "gamma": 0.99, "eps": 1e-8, "momentum": 0.9},
     lambda t, p: t.optim.RMSprop(p, lr=0.01, momentum=0.9), cosine_lr),
    ("rmsprop centered+momentum+wd+StepLR", "rmsprop",
     {"lr": 0.01, "gamma": 0.95, "eps": 1e-6, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
     lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.95, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.1),
     step_lr),
    ("adam", "adam", {"lr": 0.01}, lambda t, p: t.optim.Adam(p, lr=0.01), None),
    ("adam amsgrad+wd+StepLR", "adam", {"lr": 0.05, "beta2": 0.9, "amsgrad": True, "weight_decay": 0.1},
     lambda t, p: t.optim.Adam(p, lr=0.05, betas=(0.9, 0.9), amsgrad=True, weight_decay=0.1), step_lr),
    ("adamw+Cosine", "adamw", {"lr": 0.05, "weight_decay": 0.1},
     lambda t, p: t.optim.AdamW(p, lr=0.05, weight_decay=0.1), cosine_lr),
    ("adamw amsgrad+StepLR", "adamw", {"lr": 0.05, "beta1": 0.8, "weight_decay": 0.01, "amsgrad": True},
     lambda t, p: t.optim.AdamW(p, lr=0.05, betas=(0.8, 0.999), amsgrad=True), step_lr),
    ("adadelta", "adadelta", {"rho": 0.9, "eps": 1e-6}, lambda t, p: t.optim.Adadelta(p), None),
    ("adadelta lr+wd+StepLR", "adadelta", {"rho": 0.95, "eps": 1e-6, "lr": 0.5, "weight_decay": 0.1},
     lambda t, p: t.optim.Adadelta(p, lr=0.5, rho=0.95, weight_decay=0.1), step_lr),
]


def max_rel_diff(ours: np.ndarray, theirs: np.ndarray) -> float:
    """max over steps of max_i |ours − theirs| / max_i |theirs|: the error relative to the iterate's scale (an
    elementwise ratio would blow up where a coordinate passes through 0)."""
    return float(np.max(np.max(np.abs(ours - theirs), axis=1) / np.max(np.abs(theirs), axis=1)))


def torch_trajectory(torch, make_torch, schedule, steps=STEPS, seed=0):
    """Iterates of torch.optim on the gradient sequence, and the η it used at each step."""
    p = torch.nn.Parameter(torch.tensor(X0, dtype=torch.float64))
    opt = make_torch(torch, [p])
    sched = schedule(opt) if schedule else None
    xs, lrs = [], []
    for t in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        p.grad = torch.tensor(gradient(p.detach().numpy(), t, seed), dtype=torch.float64)
        opt.step()
        if sched:
            sched.step()
        xs.append(p.detach().numpy().copy())
    return np.array(xs), lrs


def optimlab_trajectory(opt, lrs, steps=STEPS, seed=0):
    """Iterates of an optimlab optimizer on the same gradients, with the given η per step (None: configured)."""
    x = X0.copy()
    state = opt.init(x)
    xs = []
    for t in range(steps):
        kw = {} if lrs is None or "lr" not in opt.hyperparams else {"lr": lrs[t]}
        x, state = opt.update(x, gradient(x, t, seed), state, **kw)
        xs.append(x)
    return np.array(xs)
