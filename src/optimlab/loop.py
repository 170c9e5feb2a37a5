"""The training loop's settings: defaults that adapt to the problem, their validation, which updates are recorded,
and the memory the records will take, all decided before any work."""

from __future__ import annotations

import math

import numpy as np

from optimlab import checks, memory

DEFAULT_BATCH_SIZE = 10  # the lecture's minibatch; min(10, n) on smaller problems
MAX_RECORDS_PER_EPOCH = 100  # the default period samples at most about this many full losses per epoch


def default_batch_size(n: int) -> int:
    """The lecture's 10, or n when the problem has fewer examples (a deterministic objective has n = 1)."""
    return min(DEFAULT_BATCH_SIZE, n)


def default_period(batch_size: int, n: int | None = None) -> int:
    """The lecture records every 10 examples: the smallest multiple of the batch size that is at least 10. On
    larger data sets that would evaluate the full loss (O(n) each) n/10 times per epoch, O(n²) in all; the period
    then grows to the smallest multiple of the batch size that keeps to about :data:`MAX_RECORDS_PER_EPOCH`
    samples per epoch. On the lecture's 1000 examples both rules give 10 for batch sizes up to 10."""
    multiple = max(1, math.ceil(10 / batch_size))
    if n is not None:
        multiple = max(multiple, math.ceil(n / (MAX_RECORDS_PER_EPOCH * batch_size)))
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


def check_loop(n, batch_size, epochs, period, seed, init_scale, divergence_factor):
    batch_size = default_batch_size(n) if batch_size is None else \
        checks.check_int("batch_size", batch_size, minimum=1, maximum=n)
    epochs = checks.check_int("epochs", epochs, minimum=1)
    period = default_period(batch_size, n) if period is None else checks.check_int("period", period, minimum=1)
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
