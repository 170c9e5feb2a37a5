"""The lecture's training loop (§6.1) over K configurations in lockstep.

Each epoch walks the examples in a shuffled order, in minibatches; each minibatch updates the parameters with its
mean gradient, with the η the schedule sets for that update.

Records (the mean loss over ALL examples at the current parameters), and what they mean:

- one before training, at position 0;
- one at the end of every epoch: the loss of the parameters after the epoch's last update. ``Run.epoch_losses``
  are these, and ``Run.final_loss`` is the loss of the final parameters, whatever the period;
- in between, the lecture's samples: after minibatch i (counted from 0 within the epoch) when
  ``i * batch_size % period == 0``, exactly the lecture's ``if batch_i * batch_size % period == 0``.

Every record sits at its exact position on the run's x axis, examples seen / n (``Run.epochs_axis``;
``Run.examples`` holds the count): the lecture's samples fall at (i + 1)·batch_size / n into an epoch, not on an
even grid. The period changes how often the curve is sampled, never what an epoch's loss is. (The lecture printed
the last of its own samples in each epoch, e.g. after 991 of 1000 examples for batch 1, period 10: that value is
still on the curve, at its position.)
"""

from __future__ import annotations

import time

import numpy as np

from optimlab import checks, optim, schedules
from optimlab.loop import (  # noqa: F401
    DEFAULT_BATCH_SIZE,
    check_init,
    check_loop,
    check_order,
    check_size,
    default_batch_size,
    default_period,
    evaluation_examples,
    record_plan,
)
from optimlab.optim import Optimizer
from optimlab.problems import Problem
from optimlab.provenance import versions
from optimlab.results import Run

# A configuration is declared diverged when its loss is not finite or exceeds this multiple of its initial loss.
# 1e4 is far above anything a converging or merely noisy run reaches on the lecture's problem (the noisiest,
# momentum γ = 0.99, peaks near 1e3 times its start) and far below float64 overflow, which a run at η = 3 reaches
# only after hundreds of updates; stopping early keeps a later, smaller η from "rescuing" a run that already blew up.
DIVERGENCE_FACTOR = 1e4


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


def _streams(seed: int):
    """Two independent generators from ``seed``: the initial parameters' and the example orders'."""
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))


def initial_params(problem: Problem, seed: int = 1, init_scale: float = 1.0) -> np.ndarray:
    """The (P,) initial parameters :func:`train` draws for ``seed`` (without ``init``)."""
    return problem.init_params(_streams(seed)[0], init_scale)


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
        "init_scale": init_scale,
        "order": "given" if order is not None else "drawn: a permutation per epoch",
        "divergence_factor": divergence_factor,
        "problem": problem.describe(),
        "versions": versions(),
    }


def _rows(tree, rows):
    """Every array leaf of an optimizer state (or a plain array) restricted to the configurations ``rows``."""
    if isinstance(tree, np.ndarray):
        return tree[rows] if tree.ndim else tree
    if isinstance(tree, tuple) and tree:
        return type(tree)(*(_rows(leaf, rows) for leaf in tree))
    return tree


def _put(full, rows, part):
    """``full`` with the configurations ``rows`` replaced by ``part`` (the same structure, restricted to rows)."""
    if isinstance(full, np.ndarray) and full.ndim:
        out = full.copy()
        out[rows] = part
        return out
    if isinstance(full, tuple) and full:
        return type(full)(*(_put(a, rows, b) for a, b in zip(full, part)))
    return part  # a shared leaf (a step counter): the running configurations' value


def _restricted(opt: Optimizer, rows) -> Optimizer:
    """The optimizer of the configurations ``rows`` only: list-valued hyperparameters cut to those entries, the
    same formulas (rebuilt through the registry, so nothing is written twice)."""
    if not opt.num_configs or len(rows) == 0:  # nothing left to run: the optimizer is not called again
        return opt
    settings = {**opt.options, **opt.hyperparams}  # the resolved convention options too, so nothing changes
    return optim.make(opt.name, opt.convention, **{key: v[rows] if isinstance(v, np.ndarray) else v
                                                   for key, v in settings.items()})


def train(problem: Problem, opt: Optimizer, *, batch_size: int | None = None, epochs: int = 5,
          period: int | None = None, schedule: schedules.Schedule | None = None, seed: int = 1, init=None,
          order=None, init_scale: float = 1.0, divergence_factor: float = DIVERGENCE_FACTOR, observe=None,
          progress=None) -> Run:
    """Train ``problem`` with ``opt``, all its configurations at once, and return a :class:`~optimlab.results.Run`.

    Args:
        batch_size: examples per minibatch, in [1, n]; default min(10, n) (the lecture's 10, never above n). A last,
            smaller minibatch takes the remainder, as the lecture's ``data_iter`` does.
        epochs: passes over the data (>= 1). On a deterministic objective an epoch is one full-gradient step.
        period: sample the full loss every ``period`` examples (see the module docstring); a multiple of
            ``batch_size``. Default: :func:`default_period`.
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

    Everything is validated before any work (sizes whose records would not fit in memory included); a bad value
    raises ``ValueError`` naming it and its allowed range.
    """
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be an optimlab problem, got {type(problem).__name__}")
    if not isinstance(opt, Optimizer):
        raise ValueError(f"opt must come from optimlab.optim.make, got {type(opt).__name__}")
    n = problem.n_examples
    batch_size, epochs, period, seed, init_scale, divergence_factor = check_loop(
        n, batch_size, epochs, period, seed, init_scale, divergence_factor, problem.dim, evaluation_examples(problem))
    schedule, k, single = _configurations(opt, schedule, init)
    has_lr = "lr" in opt.hyperparams
    p = problem.dim
    batches, recorded = record_plan(n, batch_size, period)
    check_size(k, epochs, len(recorded), p)

    init_rng, order_rng = _streams(seed)
    params = check_init(init, k, p) if init is not None else \
        np.tile(problem.init_params(init_rng, init_scale), (k, 1))
    if order is not None:
        order = check_order(order, epochs, n)

    start = time.perf_counter()
    is_record = [False] * len(batches)
    for i in recorded:
        is_record[i] = True
    seen_in_epoch = np.array([batches[i].stop for i in recorded])  # examples seen within the epoch at each record
    examples = np.concatenate([[0], (np.arange(epochs)[:, None] * n + seen_in_epoch[None, :]).ravel()])
    curves = np.full((k, examples.size), np.nan)
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
    grad, loss = problem.grad, problem.loss  # bound once: this loop is the hot path
    with np.errstate(over="ignore", invalid="ignore"):
        curves[:, 0] = loss(params)
        threshold = _divergence_threshold(curves[:, 0], divergence_factor)
        # "not (loss <= threshold)" is true for NaN and for inf too, since the threshold is always finite
        diverged = ~(curves[:, 0] <= threshold)
        diverged_at = [0 if d else None for d in diverged]
        # Only the configurations still running are computed: when some diverge, the live rows (parameters, state,
        # hyperparameters, η) are cut out and the loop goes on with those; the full arrays are written back at the
        # end. A diverged row costs nothing after the record that caught it.
        live = np.flatnonzero(~diverged)
        full_params, full_state = params, state
        params, state, run_opt = _rows(params, live), _rows(state, live), _restricted(opt, live)
        update, live_threshold = run_opt.update, threshold[live]
        col = 1
        for epoch in range(1, epochs + 1):
            if live.size == 0:
                break
            perm = order[epoch - 1] if order is not None else order_rng.permutation(n)
            all_lrs = epoch_lrs(epoch) if has_lr else None
            lrs = all_lrs[:, live] if has_lr else None
            for i, rows in enumerate(batches):
                grads = grad(params, perm[rows])
                params, state = update(params, grads, state, lr=lrs[i]) if has_lr else update(params, grads, state)
                if observe is not None:
                    observe(epoch, (epoch - 1) * len(batches) + i, _put(full_params, live, params),
                            _put(full_state, live, state), all_lrs[i] if has_lr else None)
                if is_record[i]:
                    values = loss(params)
                    curves[live, col] = values
                    if not (values <= live_threshold).all():  # some crossed: freeze them, go on with the rest
                        crossed = ~(values <= live_threshold)
                        for j in live[crossed]:
                            diverged_at[j] = int(examples[col])
                        diverged[live[crossed]] = True
                        full_params = _put(full_params, live, params)
                        full_state = _put(full_state, live, state)
                        keep = np.flatnonzero(~crossed)
                        live = live[keep]
                        params, state = _rows(params, keep), _rows(state, keep)
                        run_opt = _restricted(opt, live)
                        update, live_threshold = run_opt.update, threshold[live]
                        if has_lr:
                            lrs = lrs[:, keep]
                        if live.size == 0:
                            break
                    col += 1
            if progress is not None:
                progress(epoch, epochs)
        params = _put(full_params, live, params)
        state = _put(full_state, live, state)
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
               epochs_axis=examples / n, final_params=params, lr_by_epoch=lr_by_epoch,
               diverged_mask=diverged, diverged_examples=diverged_at, initial_params=initial_params,
               step_sizes=step_sizes, optimal_loss=problem.optimal_loss,
               seconds=seconds, single=single, provenance=provenance, examples=examples)
