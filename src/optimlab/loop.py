"""The training loop's settings: defaults that adapt to the problem, their validation, which updates are recorded,
and the memory the records will take, all decided before any work."""

from __future__ import annotations

import math

import numpy as np

from optimlab import checks, memory

DEFAULT_BATCH_SIZE = 10  # the lecture's minibatch; min(10, n) on smaller problems
MAX_RECORDS_PER_EPOCH = 100  # the default period samples at most about this many full losses per epoch
# What a record may cost. A record evaluates the loss on the evaluation examples (all n, or the problem's fixed
# subset), about n_eval·P multiply-adds per configuration, where an epoch of training costs about 3·n·P (a forward
# and a backward pass per example). The records of an epoch may cost RECORD_SHARE passes over the evaluation
# examples' worth of the training set (5 full losses per epoch without a subset: about as much as the epoch's
# gradients), or FREE_RECORD_WORK multiply-adds (about a millisecond), whichever allows more.
RECORD_SHARE = 5
FREE_RECORD_WORK = 1e6


def default_batch_size(n: int) -> int:
    """The lecture's 10, or n when the problem has fewer examples (a deterministic objective has n = 1)."""
    return min(DEFAULT_BATCH_SIZE, n)


def evaluation_examples(problem) -> int:
    """How many examples a record evaluates: the problem's fixed evaluation subset where it has one, else all n."""
    subset = getattr(problem, "eval_idx", None)
    return len(subset) if subset is not None else problem.n_examples


def records_allowed(n: int, dim: int, eval_examples: int | None = None, share: float = RECORD_SHARE) -> float:
    """How many full-loss records per epoch the default period allows on a problem of ``n`` examples and ``dim``
    parameters whose records evaluate ``eval_examples`` (default n): ``share``·n/n_eval, or as many as
    FREE_RECORD_WORK pays for at n_eval·P each, whichever is more."""
    n_eval = n if eval_examples is None else eval_examples
    return max(FREE_RECORD_WORK / (n_eval * dim), share * n / n_eval)


def default_period(batch_size: int, n: int | None = None, dim: int | None = None,
                   eval_examples: int | None = None, share: float = RECORD_SHARE) -> int:
    """The lecture records every 10 examples: the smallest multiple of the batch size that is at least 10. On
    larger data sets that would evaluate the full loss (O(n) each) n/10 times per epoch, O(n²) in all; the period
    then grows to the smallest multiple of the batch size that keeps to about :data:`MAX_RECORDS_PER_EPOCH`
    samples per epoch, and, given the problem's ``dim`` (and ``eval_examples``), to about
    :func:`records_allowed` of them, so that recording never costs much more than training: on the digits MLP
    (n = 1797, P = 2410) 5 records per epoch where 90 would cost 30 times the training itself. On the lecture's
    1000 examples and 2 parameters every rule gives 10 for batch sizes up to 10 (a record there costs 2000
    multiply-adds, 100 per epoch 0.3 of FREE_RECORD_WORK). ``share``: see :func:`records_allowed`."""
    multiple = max(1, math.ceil(10 / batch_size))
    if n is not None:
        multiple = max(multiple, math.ceil(n / (MAX_RECORDS_PER_EPOCH * batch_size)))
        if dim is not None:
            multiple = max(multiple, math.ceil(n / (records_allowed(n, dim, eval_examples, share) * batch_size)))
    return batch_size * multiple


def check_order(order, epochs: int, n: int) -> np.ndarray:
    order = np.asarray(order)
    if order.shape != (epochs, n) or not np.issubdtype(order.dtype, np.integer):
        raise ValueError(f"order must be an integer array of shape (epochs, n_examples) = ({epochs}, {n}), "
                         f"got {order.dtype} {order.shape}")
    expected = np.arange(n)
    for e, row in enumerate(order):
        if not np.array_equal(np.sort(row), expected):
            raise ValueError(f"order[{e}] must be a permutation of 0..{n - 1}")
    return order


def check_init(init, k: int, p: int) -> np.ndarray:
    init = np.asarray(init, dtype=np.float64)
    if init.shape not in ((p,), (k, p)):
        raise ValueError(f"init must have shape ({p},) or ({k}, {p}), got {init.shape}")
    if not np.isfinite(init).all():
        raise ValueError("init must hold finite numbers")
    return np.array(np.broadcast_to(init, (k, p)))


def check_loop(n, batch_size, epochs, period, seed, init_scale, divergence_factor, dim=None, eval_examples=None):
    """The loop's settings validated, with the defaults filled in (``dim`` and ``eval_examples``, where given,
    let the default period account for what a record costs: :func:`default_period`)."""
    batch_size = default_batch_size(n) if batch_size is None else \
        checks.check_int("batch_size", batch_size, minimum=1, maximum=n)
    epochs = checks.check_int("epochs", epochs, minimum=1)
    period = default_period(batch_size, n, dim, eval_examples) if period is None else \
        checks.check_int("period", period, minimum=1)
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


def record_plan(n: int, batch_size: int, period: int) -> tuple[list[slice], list[int]]:
    """The minibatches of an epoch and the ones after which the full loss is recorded: the lecture's
    ``batch_i * batch_size % period == 0`` (i from 0), plus the epoch's last minibatch, so that every epoch ends
    with the loss of its final parameters."""
    batches = [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    recorded = [i for i in range(len(batches)) if i * batch_size % period == 0 or i == len(batches) - 1]
    return batches, recorded


def check_size(k: int, epochs: int, records_per_epoch: int, p: int) -> None:
    """Refuse, before allocating, a run whose records and state would not fit in memory."""
    t = 1 + epochs * records_per_epoch
    nbytes = memory.float_array_bytes(k, t + epochs + 6 * p) + memory.float_array_bytes(t)
    memory.check_fits("the loss records", f"epochs={epochs} with {k} configuration{'s' if k > 1 else ''} and "
                      f"{records_per_epoch} records per epoch", nbytes)


def run_work(problem, k: int, epochs: int, batch_size: int, period: int | None) -> float:
    """About how many multiply-adds a :func:`~optimlab.train` call costs, to budget work before doing it: per
    configuration and epoch, 3·n·P for the gradients (a forward and a backward pass per example) and n_eval·P per
    record (``period`` None: the default period)."""
    n, p = problem.n_examples, problem.dim
    n_eval = evaluation_examples(problem)
    period = default_period(batch_size, n, p, n_eval) if period is None else period
    records = len(record_plan(n, batch_size, period)[1])
    return float(k) * epochs * p * (3.0 * n + records * n_eval)
