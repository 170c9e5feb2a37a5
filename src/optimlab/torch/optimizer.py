"""Drop-in ``torch.optim`` optimizers whose ``step()`` calls optimlab's own update rules on tensors.

The formulas are the ones in :mod:`optimlab.optim`, written once over the array API; this module only moves
tensors in and out of them: it keeps the state in ``self.state[p]`` (so ``state_dict``/``load_state_dict`` work
as for any torch optimizer), reads each group's hyperparameters at every step (so ``torch.optim.lr_scheduler`` and
code that edits ``param_groups`` drive it) and writes the new parameters in place. A large contiguous CPU
parameter is updated in slices of ``Optimizer.chunk`` elements (bit for bit the same: every rule is elementwise),
so that the formula's temporaries stay in cache; ``compile=True`` runs a group's rules through ``torch.compile`` as
one call (see :func:`_compiled`), each parameter's update one fused kernel that writes into the old tensors.

Per-configuration hyperparameters: for K models stacked along a leading axis (``torch.func.stack_module_state``),
any hyperparameter may be a length-K list or 1-D tensor; configuration k then uses its own value, broadcast as a
(K, 1, ..., 1) column over each parameter of shape (K, ...). A per-configuration ``lr`` is kept in its group as a
float64 NumPy array, so that torch's lr schedulers, which compute with ``group["lr"]`` (``lr * gamma``,
``eta_min + (base_lr - eta_min) * ...``), drive every configuration's η at once (a 1-D tensor would not do: they
``fill_`` a tensor with one number). ``ReduceLROnPlateau`` compares one η with another and cannot. ``state_dict``
stores such an ``lr`` as a list (a checkpoint stays loadable with ``torch.load``'s default ``weights_only=True``);
the scheduler's own ``state_dict`` then holds NumPy arrays (``torch.load(..., weights_only=False)``).
Hyperparameters keep optimlab's names (``beta1``, ``beta2``, not ``betas``), so ``OneCycleLR`` needs
``cycle_momentum=False``.
"""

from __future__ import annotations

import math
import os
import shutil
import types

import numpy as np
import torch

from optimlab import optim

LR_KEYS = ("lr", "initial_lr", "max_lr", "min_lr")  # η and what torch's schedulers keep of it in a group


def _plain(value):
    """A group value as optimlab.optim.make validates it: tensors, arrays and tuples become lists."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist() if value.ndim else value.item()
    return list(value) if isinstance(value, tuple) else value


def _per_config(value) -> bool:
    return isinstance(value, (list, tuple)) or (isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 1)


def _schedulable(group: dict) -> dict:
    """``group`` with a per-configuration η as a float64 array, which torch's schedulers can compute with."""
    for key in LR_KEYS:
        value = group.get(key)
        if _per_config(value):
            group[key] = np.array(_plain(value), dtype=np.float64)
    return group


def _column(value, p: torch.Tensor):
    """A per-configuration value as a (K, 1, ..., 1) tensor on p's device and dtype; anything else unchanged."""
    if not _per_config(value):
        return value.item() if isinstance(value, torch.Tensor) else value
    col = torch.as_tensor(value, dtype=p.dtype, device=p.device)
    if p.ndim == 0 or p.shape[0] != col.shape[0]:
        raise ValueError(f"a hyperparameter has {col.shape[0]} values (one per configuration), so every parameter "
                         f"must have a leading axis of {col.shape[0]}, got shape {tuple(p.shape)}")
    return col.reshape((-1,) + (1,) * (p.ndim - 1))


def _key(value):
    if isinstance(value, torch.Tensor):
        return ("tensor", id(value), value._version)
    return tuple(value) if isinstance(value, list) else value


def _in_place(update):
    """``update`` that writes the new parameters and state into the old tensors and returns those: compiled, the
    copies become the kernel's own stores (inductor re-places them), so a step allocates nothing, as a fused
    torch.optim step. Only for the compiled path: eagerly it would add a copy per tensor."""

    def step(params, grads, state, **lr):
        new_params, new_state = update(params, grads, state, **lr)
        params.copy_(new_params)
        kept = []
        for old, new in zip(state, new_state):
            if isinstance(old, torch.Tensor):
                old.copy_(new)
                kept.append(old)
            else:
                kept.append(new)
        return params, type(state)(*kept)

    return step


def _cpp_compiler() -> str | None:
    """The C++ compiler inductor would use on CPU: $CXX, else c++, g++ or clang++ on the PATH."""
    return os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")


def _compiled(step):
    """``step`` through ``torch.compile``, with its own code object and inductor's scalars computed once.

    Own code object: dynamo keeps its compiled graphs, and its limit of recompilations (8), per code object; the
    group functions of every optimizer and group share one, so a program with more than 8 of them (groups, models,
    a changed set of parameters) would silently fall back to eager after the eighth. A copy of the code gives each
    its own cache.

    ``realize_opcount_threshold=0``: inductor otherwise inlines scalar expressions (Adam's 1 − β^t, Adagrad's
    η/(1 + (t − 1)·decay)) into the elementwise loop, where they are recomputed for every 16 elements (``std::pow``
    under ``-fmath-errno`` cannot be hoisted by the C++ compiler): 2.0x the time of ``torch.optim.Adam(fused=True)``
    on 10M parameters, against 1.0x once they are computed once, before the loop (benchmarks/bench_adam_step.py).
    """
    own = types.FunctionType(step.__code__.replace(), step.__globals__, step.__name__, step.__defaults__,
                             step.__closure__)
    return torch.compile(own, options={"realize_opcount_threshold": 0})


def _by_chunks(step, p: torch.Tensor, grad: torch.Tensor, state, lr: dict, size: int):
    """Apply ``step`` (an in-place update, see :func:`_in_place`) to consecutive slices of ``size`` elements.

    Why: every rule is elementwise, so slices give bit for bit the same numbers; but an eager rule makes about a
    dozen temporaries, and on a CPU each one of a 10M-parameter tensor is a fresh 40 MB block (zeroed pages from the
    kernel) while a slice's temporaries stay in the cache and are reused. See benchmarks/bench_adam_step.py.
    """
    flat = [f.view(-1) if isinstance(f, torch.Tensor) else f for f in state]
    p_flat, g_flat = p.view(-1), grad.reshape(-1)
    new = state
    for i in range(0, p_flat.numel(), size):
        part = type(state)(*(f[i:i + size] if isinstance(f, torch.Tensor) else f for f in flat))
        _, new = step(p_flat[i:i + size], g_flat[i:i + size], part, **lr)
    return type(state)(*(old if isinstance(old, torch.Tensor) else n for old, n in zip(state, new)))


class Optimizer(torch.optim.Optimizer):
    """An optimlab optimizer as a ``torch.optim.Optimizer``: build it with :func:`make`.

    Args:
        params: parameters or param groups, as for any torch optimizer; a group may set its own hyperparameters.
        name: an optimizer of ``optimlab.optim.OPTIMIZERS``.
        convention: "torch" (default here: torch.optim's conventions), "lecture", "optax", "keras" or "gluon".
        compile: run the update rule through ``torch.compile`` (one fused kernel per parameter on CPU and GPU).
        **hyperparams: optimlab's names (``lr``, ``beta1``, ``gamma``, ...) and options (``amsgrad``,
            ``centered``, ...); omitted ones take optimlab's defaults (the lecture's numbers: give torch's
            explicitly, e.g. ``lr=1e-3`` for Adam).
    """

    chunk = 1 << 17  # elements per slice for a large CPU parameter (see _by_chunks); 512 KB of float32

    def __init__(self, params, name: str = "adam", convention: str = "torch", compile: bool = False, **hyperparams):
        self.name, self.convention, self._compile = name, convention, compile
        optim.make(name, convention, **self._validatable(hyperparams))  # names, ranges, list lengths: fail early
        self._keys = list(optim.defaults(name)) + list(optim.options(name, convention))
        self._rules: dict = {}  # per (group values, parameter's rank, leading size, dtype, device)
        self._group_steps: dict = {}  # compiled: per sequence of rule keys (see _group_step)
        defaults = _schedulable({**optim.defaults(name), **optim.options(name, convention), **hyperparams})
        super().__init__(params, defaults)

    def _validatable(self, values: dict) -> dict:
        plain = {k: _plain(v) for k, v in values.items()}
        if not plain.get("lr_multiplier", optim.options(self.name, self.convention).get("lr_multiplier", True)):
            plain.pop("lr", None)  # lecture Adadelta: the group carries an lr (schedulers need the key); unused
        return plain

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(_schedulable(dict(param_group)))
        group = self.param_groups[-1]
        optim.make(self.name, self.convention, **self._validatable({k: group[k] for k in self._keys}))

    def _rule(self, values: dict, group_key: tuple, p: torch.Tensor):
        """(key, init, update, in-place update, state type, takes lr) for a group's current values (η left out: it is
        passed to every update, schedulers change it each step, and checked there) and this parameter, built on first
        use."""
        key = (group_key, p.ndim, p.shape[:1], p.dtype, p.device)
        rule = self._rules.get(key)
        if rule is None:
            opt = optim.make(self.name, self.convention, **self._validatable(values))  # a changed group: recheck
            init, update, _ = optim.OPTIMIZERS[self.name](**{k: _column(v, p) for k, v in values.items()})
            sample = init(p.new_zeros((1,) * max(p.ndim, 1)))
            rule = self._rules[key] = (key, init, update, _in_place(update), type(sample), "lr" in opt.hyperparams)
        return rule

    def _group_step(self, steps: list):
        """One compiled function that applies every parameter's in-place rule of a group (see :func:`_compiled`),
        built once per sequence of rules: one call, and one set of guards, per group and step instead of one per
        parameter."""
        keys = tuple(key for key, _ in steps)
        fn = self._group_steps.get(keys)
        if fn is None:
            if any(key[-1].type == "cpu" for key in keys) and not _cpp_compiler():
                raise RuntimeError("compile=True on CPU tensors needs a C++ compiler (torch.compile's CPU backend "
                                   "builds C++): install g++ (or set CXX), or use compile=False")
            rules = [rule for _, rule in steps]

            def group_step(params, grads, states, lrs):
                return [rule(p, g, s, **lr)[1] for rule, p, g, s, lr in zip(rules, params, grads, states, lrs)]

            fn = self._group_steps[keys] = _compiled(group_step)
        return fn

    def _sliced(self, p: torch.Tensor, state, uniform: bool) -> bool:
        """Update ``p`` by slices (see :func:`_by_chunks`): eager, a large contiguous CPU tensor and state, and the
        same hyperparameters for every element (``uniform``: no per-configuration value)."""
        return not self._compile and uniform and p.device.type == "cpu" and p.numel() > self.chunk and \
            p.is_contiguous() and p.grad is not None and \
            all(f.is_contiguous() for f in state if isinstance(f, torch.Tensor))

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss when given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            values = {k: group[k] for k in self._keys if k != "lr"}
            group_key = tuple(_key(v) for v in values.values())
            uniform = not any(_per_config(group[k]) for k in self._keys)
            compiled = []  # (parameter, rule key, in-place rule, state, lr) for the group's one compiled call
            for p in group["params"]:
                if p.grad is None:
                    continue
                key, init, update, in_place, state_type, has_lr = self._rule(values, group_key, p)
                saved = self.state[p]
                state = state_type(**{f: saved.get(f) for f in state_type._fields}) if saved else init(p)
                lr = {"lr": self._lr(group["lr"], p)} if has_lr else {}
                if self._compile:
                    compiled.append((p, key, in_place, state, lr))
                    continue
                if self._sliced(p, state, uniform):
                    new_state = _by_chunks(in_place, p, p.grad, state, lr, self.chunk)
                else:
                    new_p, new_state = update(p, p.grad, state, **lr)
                    if new_p is not p:
                        p.copy_(new_p)
                self._keep(p, new_state)
            if compiled:
                params, keys, rules, states, lrs = zip(*compiled)
                new_states = self._group_step(list(zip(keys, rules)))(
                    list(params), [p.grad for p in params], list(states), list(lrs))
                for p, new_state in zip(params, new_states):
                    self._keep(p, new_state)
        return loss

    def _keep(self, p, new_state) -> None:
        """The state as a dict of its named fields, so that torch's state_dict/load_state_dict carry it."""
        self.state[p] = {f: v for f, v in zip(new_state._fields, new_state) if v is not None}

    def state_dict(self) -> dict:
        """torch's state dict, a per-configuration η as a list (see the module docstring)."""
        out = super().state_dict()
        for group in out["param_groups"]:
            for key in LR_KEYS:
                if isinstance(group.get(key), np.ndarray):
                    group[key] = group[key].tolist()
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            _schedulable(group)

    def _lr(self, lr, p):
        if _per_config(lr):
            values = np.asarray(_plain(lr), dtype=np.float64)
            ok = (values >= 0) & np.isfinite(values)
            if not ok.all():
                raise ValueError(f"lr must be finite numbers >= 0, got {float(values[~ok][0])!r} among "
                                 f"{values.tolist()}")
            return _column(lr, p)
        lr = lr.item() if isinstance(lr, torch.Tensor) else lr
        if not 0.0 <= lr < math.inf:
            raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
        if self._compile:  # a tensor, so that a schedule's new η reuses the compiled kernel instead of recompiling
            return torch.tensor(lr, dtype=p.dtype, device=p.device)
        return lr

    def __repr__(self) -> str:
        return f"optimlab.torch.make({self.name!r}, convention={self.convention!r}) " + super().__repr__()


def make(name: str, params, convention: str = "torch", compile: bool = False, **hyperparams) -> Optimizer:
    """A ``torch.optim.Optimizer`` running optimlab's ``name`` rule under ``convention`` (default "torch").

    >>> opt = make("adam", model.parameters(), lr=1e-3, amsgrad=True)
    >>> sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)

    Raises ``ValueError`` naming the value and its allowed range for an unknown optimizer, hyperparameter or
    convention, or a value out of range, before anything runs.
    """
    return Optimizer(params, name=name, convention=convention, compile=compile, **hyperparams)
