"""The lecture's training loop (§6.1) over K configurations in lockstep.

Each epoch walks the examples in a shuffled order, in minibatches; each minibatch updates the parameters with its
mean gradient. After the update of minibatch i (counted from 0 within the epoch), when i·batch_size is a multiple
of ``period``, the mean loss over ALL examples is recorded, plus one record before training: exactly the lecture's
``if batch_i * batch_size % period == 0``. The schedule sets each update's η.
"""

from __future__ import annotations

import math
import time

import numpy as np

from optimlab import checks, schedules
from optimlab.optim import Optimizer
from optimlab.problems import Problem
from optimlab.provenance import versions
from optimlab.results import Run

# A configuration is declared diverged when its loss is not finite or exceeds this multiple of its initial loss.
# 1e4 is far above anything a converging or merely noisy run reaches on the lecture's problem (the noisiest,
# momentum γ = 0.99, peaks near 1e3 times its start) and far below float64 overflow, which a run at η = 3 reaches
# only after hundreds of updates; stopping early keeps a later, smaller η from "rescuing" a run that already blew up.
DIVERGENCE_FACTOR = 1e4


def default_period(batch_size: int) -> int:
    """The lecture records every 10 examples: the smallest multiple of the batch size that is at least 10."""
    return batch_size * max(1, math.ceil(10 / batch_size))


def _check_order(order, epochs: int, n: int) -> np.ndarray:
    order = np.asarray(order)
    if order.shape != (epochs, n) or not np.issubdtype(order.dtype, np.integer):
        raise ValueError(f"order must be an integer array of shape (epochs, n_examples) = ({epochs}, {n}), "
                         f"got {order.dtype} {order.shape}")
    expected = np.arange(n)
    for e, row in enumerate(order):
        if not np.array_equal(np.sort(row), expected):
            raise ValueError(f"order[{e}] must be a permutation of 0..{n - 1}")
    return order


def _check_init(init, k: int, p: int) -> np.ndarray:
    init = np.asarray(init, dtype=np.float64)
    if init.shape not in ((p,), (k, p)):
        raise ValueError(f"init must have shape ({p},) or ({k}, {p}), got {init.shape}")
    if not np.isfinite(init).all():
        raise ValueError("init must hold finite numbers")
    return np.array(np.broadcast_to(init, (k, p)))


def _check_loop(n, batch_size, epochs, period, seed, init_scale, divergence_factor):
    batch_size = checks.check_int("batch_size", batch_size, minimum=1, maximum=n)
    epochs = checks.check_int("epochs", epochs, minimum=1)
    period = default_period(batch_size) if period is None else checks.check_int("period", period, minimum=1)
    if period % batch_size:
        raise ValueError(f"period must be a multiple of batch_size={batch_size}, got {period}")
    seed = checks.check_int("seed", seed, minimum=0)
    init_scale = checks.check_range("init_scale", init_scale, "positive")
    if isinstance(init_scale, np.ndarray):
        raise ValueError("init_scale must be a single number")
    divergence_factor = float(checks.check_range("divergence_factor", divergence_factor, "positive"))
    if divergence_factor <= 1:
        raise ValueError(f"divergence_factor must be > 1, got {divergence_factor}")
    return batch_size, epochs, period, seed, init_scale, divergence_factor


def _configurations(opt, schedule, init):
    """The schedule (constant by default), the number of configurations K, and whether the run is a single one.
    K comes from list-valued hyperparameters, list-valued schedule settings or a (K, P) init; they must agree."""
    schedule = schedules.make("constant") if schedule is None else schedule
    if not isinstance(schedule, schedules.Schedule):
        raise ValueError(f"schedule must come from optimlab.schedules.make, got {type(schedule).__name__}")
    if "lr" not in opt.hyperparams and schedule.name != "constant":
        raise ValueError(f"{opt.name} has no learning rate, so the schedule must be constant, got {schedule.name}")
    sizes = {"optimizer": opt.num_configs, "schedule": schedule.num_configs}
    if init is not None and np.ndim(init) == 2:
        sizes["init"] = np.shape(init)[0]
    k = checks.num_configs({name: np.empty(size) for name, size in sizes.items() if size}) or 1
    return schedule, k, all(size is None for size in sizes.values())


def _divergence_threshold(start_loss: np.ndarray, factor: float) -> np.ndarray:
    """factor × the initial loss, capped at the largest float; where the start is 0 or not finite, the cap."""
    usable = np.isfinite(start_loss) & (start_loss > 0)
    return np.minimum(np.where(usable, factor * np.where(usable, start_loss, 0.0), np.inf), np.finfo(float).max)


def _provenance(problem, opt, schedule, hyperparams, seed, batch_size, epochs, period, init, order, init_scale,
                divergence_factor) -> dict:
    return {
        "seed": seed,
        "optimizer": opt.name,
        "hyperparameters": hyperparams,
        "schedule": schedule.describe(),
        "batch_size": batch_size, "epochs": epochs, "period": period,
        "init": "given" if init is not None else f"drawn: w ~ N(0, {init_scale}²), b = 0",
        "order": "given" if order is not None else "drawn: a permutation per epoch",
        "divergence_factor": divergence_factor,
        "problem": problem.describe(),
        "versions": versions(),
    }


def _freeze(mask, new, old):
    """Keep the old value of every array leaf for the configurations in ``mask`` (K,)."""
    if isinstance(new, np.ndarray):
        return np.where(mask.reshape((-1,) + (1,) * (new.ndim - 1)), old, new)
    if isinstance(new, tuple) and new:
        return type(new)(*(_freeze(mask, a, b) for a, b in zip(new, old)))
    return new


def train(problem: Problem, opt: Optimizer, *, batch_size: int = 10, epochs: int = 5, period: int | None = None,
          schedule: schedules.Schedule | None = None, seed: int = 1, init=None, order=None, init_scale: float = 1.0,
          divergence_factor: float = DIVERGENCE_FACTOR, observe=None, progress=None) -> Run:
    """Train ``problem`` with ``opt``, all its configurations at once, and return a :class:`~optimlab.results.Run`.

    Args:
        batch_size: examples per minibatch, in [1, n]; a last, smaller minibatch takes the remainder, as the
            lecture's ``data_iter`` does.
        epochs: passes over the data (>= 1). On a deterministic objective an epoch is one full-gradient step.
        period: record the full loss every ``period`` examples; a multiple of ``batch_size``. Default: the
            smallest multiple of the batch size that is at least 10, as the lecture.
        schedule: factor on η per epoch and step (default constant).
        seed: draws the initial parameters and each epoch's order (independent streams of ``seed``).
        init: initial parameters, (P,) or (K, P), instead of drawing w ~ N(0, init_scale²), b = 0. A (K, P) init
            with scalar hyperparameters runs K starting points in lockstep.
        order: (epochs, n) example order, row e being the permutation used in epoch e + 1, instead of drawing it.
            With ``init`` and ``order`` a run is replayed exactly.
        divergence_factor: a configuration whose loss turns non-finite or exceeds this multiple of its initial
            loss is marked diverged at that record and frozen; the others go on.
        observe: optional ``observe(epoch, step, params, state, lr)`` called after every update, with the (K, P)
            parameters, the optimizer state and the η used (None without a learning rate); for analysis, e.g.
            ``opt.step_size(state, lr)`` along the run.
        progress: optional ``progress(done, total)`` called after each epoch with the epochs done and ``epochs``.

    Everything is validated before any work; a bad value raises ``ValueError`` naming it and its allowed range.
    """
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be an optimlab problem, got {type(problem).__name__}")
    if not isinstance(opt, Optimizer):
        raise ValueError(f"opt must come from optimlab.optim.make, got {type(opt).__name__}")
    n = problem.n_examples
    batch_size, epochs, period, seed, init_scale, divergence_factor = _check_loop(
        n, batch_size, epochs, period, seed, init_scale, divergence_factor)
    schedule, k, single = _configurations(opt, schedule, init)
    has_lr = "lr" in opt.hyperparams
    p = problem.dim

    init_rng, order_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    params = _check_init(init, k, p) if init is not None else \
        np.tile(problem.init_params(init_rng, init_scale), (k, 1))
    if order is not None:
        order = _check_order(order, epochs, n)

    start = time.perf_counter()
    batches = [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    records = [i * batch_size % period == 0 for i in range(len(batches))]  # the lecture's rule, i from 0
    curves = np.full((k, 1 + epochs * sum(records)), np.nan)
    base_lr = np.reshape(opt.hyperparams["lr"], (-1, 1)) if has_lr else None

    def epoch_lrs(epoch: int) -> np.ndarray:
        """η of every update of ``epoch``, shape (updates, K, 1): the base η times the schedule's factor."""
        steps = np.arange((epoch - 1) * len(batches), epoch * len(batches))[:, None]
        return base_lr[None] * np.broadcast_to(schedule(epoch, steps), (len(batches), k))[:, :, None]

    lr_by_epoch = np.full((k, epochs), np.nan)
    if has_lr:  # closed form, so known for every epoch even when a run stops early
        for epoch in range(1, epochs + 1):
            lr_by_epoch[:, epoch - 1] = epoch_lrs(epoch)[0, :, 0]
    initial_params = params.copy()
    state = opt.init(params)
    grad, update, loss = problem.grad, opt.update, problem.loss  # bound once: this loop is the hot path
    with np.errstate(over="ignore", invalid="ignore"):
        curves[:, 0] = loss(params)
        threshold = _divergence_threshold(curves[:, 0], divergence_factor)
        # "not (loss <= threshold)" is true for NaN and for inf too, since the threshold is always finite
        diverged = ~(curves[:, 0] <= threshold)
        diverged_at = [0 if d else None for d in diverged]
        col = 1
        for epoch in range(1, epochs + 1):
            if diverged.all():
                break
            perm = order[epoch - 1] if order is not None else order_rng.permutation(n)
            lrs = epoch_lrs(epoch) if has_lr else None
            frozen = diverged.any()
            for i, rows in enumerate(batches):
                grads = grad(params, perm[rows])
                new_params, new_state = update(params, grads, state, lr=lrs[i]) if has_lr else \
                    update(params, grads, state)
                if frozen:
                    new_params, new_state = _freeze(diverged, new_params, params), _freeze(diverged, new_state, state)
                params, state = new_params, new_state
                if observe is not None:
                    observe(epoch, (epoch - 1) * len(batches) + i, params, state, lrs[i] if has_lr else None)
                if records[i]:
                    live = loss(params)
                    if not (live <= threshold).all():  # someone crossed: find who, among those still running
                        newly = ~(live <= threshold) & ~diverged
                        for j in np.flatnonzero(newly):
                            diverged_at[j] = (epoch - 1) * n + rows.stop
                        diverged |= newly
                        frozen = diverged.any()
                        live = np.where(diverged & ~newly, np.nan, live)
                    curves[:, col] = live
                    col += 1
            if progress is not None:
                progress(epoch, epochs)
    seconds = time.perf_counter() - start
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        last_lr = {"lr": epoch_lrs(epochs)[-1]} if has_lr else {}
        step_sizes = np.broadcast_to(opt.step_size(state, **last_lr), (k, p)).astype(float)

    # One dict per configuration: the optimizer's hyperparameters, plus any schedule setting given as a list.
    listed = {key: v for key, v in schedule.settings.items() if isinstance(v, np.ndarray)}
    hyperparams = [{**opt.config(j if opt.num_configs else 0), **{key: float(v[j]) for key, v in listed.items()}}
                   for j in range(k)]
    provenance = _provenance(problem, opt, schedule, hyperparams, seed, batch_size, epochs, period, init, order,
                             init_scale, divergence_factor)
    return Run(problem=problem, optimizer=opt.name, hyperparams=hyperparams, schedule=schedule.describe(),
               batch_size=batch_size, epochs=epochs, period=period, seed=seed, curves=curves,
               epochs_axis=np.linspace(0, epochs, curves.shape[1]), final_params=params, lr_by_epoch=lr_by_epoch,
               diverged_mask=diverged, diverged_examples=diverged_at, initial_params=initial_params,
               step_sizes=step_sizes, optimal_loss=problem.optimal_loss,
               seconds=seconds, single=single, provenance=provenance)
