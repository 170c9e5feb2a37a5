"""The learning-rate range test, twice: the classic single run with a growing η (Smith; fastai's and
torch-lr-finder's lr_find) with their suggestion rules, and optimlab's own: K short runs at K fixed learning rates
in one vectorized call, repeated over seeds, read as a band. Both are set against the curvature bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optimlab import checks, memory, optim, schedules
from optimlab.analysis import bounds
from optimlab.analysis.advice import (
    MeasuredRange,
    default_lr_search,
    largest_curvature,
    measure_range,
    measurement_steps,
)
from optimlab.analysis.budget import Steps, measurement_loop, run_steps
from optimlab.analysis.criteria import classify_run
from optimlab.analysis.stability import hessian_second_moment, mean_square_max_lr
from optimlab.results import jsonable
from optimlab.train import default_batch_size, initial_params, train

STOP_FACTOR = 4.0  # the classic test stops once the smoothed loss exceeds 4× its minimum (fastai's rule)
# fastai smooths the noisy minibatch loss with an EMA (β = 0.98). optimlab records the full-data loss, which has no
# minibatch noise but spans several decades within the test: it is smoothed in log space, lightly (β = 0.5, a lag
# of about one update), so that the slope estimate is steady without dragging the suggestions to larger η.
SMOOTHING = 0.5


@dataclass
class RangeTest:
    optimizer: str
    hyperparams: dict
    batch_size: int
    lrs: np.ndarray  # classic: η of each update
    losses: np.ndarray  # classic: full-data loss after each update (NaN once stopped)
    smoothed: np.ndarray
    suggestions: dict  # classic rules: steepest, valley, minimum/10
    grid: np.ndarray  # the fixed learning rates
    grid_losses: np.ndarray  # (seeds, K): final loss of each short run, inf where it diverged
    grid_suggestions: dict  # best (lowest median final loss), largest_stable (stable in every seed)
    bounds: dict = field(default_factory=dict)  # curvature bounds on η
    grid_epochs: int = 1
    grid_labels: list = field(default_factory=list)  # (seeds, K): classify_curve's label of each short run
    edges: dict = field(default_factory=dict)  # suggestion -> "low"/"high" where it sits at an end of the search
    measured: MeasuredRange | None = None  # the recommended range: run, verified (see optimlab.analysis.advice)

    @property
    def band(self) -> dict:
        """Median, lowest and highest final loss over seeds at each fixed η (inf where a seed diverged)."""
        return {"median": np.median(self.grid_losses, axis=0), "low": self.grid_losses.min(axis=0),
                "high": self.grid_losses.max(axis=0)}

    def to_dict(self) -> dict:
        band = self.band
        return jsonable({
            "optimizer": self.optimizer, "hyperparameters": self.hyperparams, "batch_size": self.batch_size,
            "classic": {"lrs": self.lrs, "losses": self.losses, "smoothed": self.smoothed,
                        "suggestions": self.suggestions},
            "grid": {"lrs": self.grid, "epochs": self.grid_epochs, "final_losses": self.grid_losses,
                     "median": band["median"], "low": band["low"], "high": band["high"],
                     "suggestions": self.grid_suggestions, "labels": self.grid_labels},
            "edges": self.edges,
            "bounds": self.bounds,
            "measured": self.measured.to_dict() if self.measured else None,
        })


def smooth(losses: np.ndarray, beta: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average of log L with bias correction: a_t = β a_{t−1} + (1 − β) log L_t, reported as
    exp(a_t/(1 − β^t))."""
    out, avg = np.empty(len(losses)), 0.0
    for t, value in enumerate(np.log(losses), start=1):
        avg = beta * avg + (1 - beta) * value
        out[t - 1] = np.exp(avg / (1 - beta ** t))
    return out


def suggest_minimum(lrs, losses) -> float:
    """fastai's "minimum": the η of the lowest loss, divided by 10."""
    return float(lrs[int(np.nanargmin(losses))] / 10)


def suggest_steepest(lrs, losses) -> float:
    """The η where the loss falls fastest against log η (fastai's "steep", torch-lr-finder's suggestion)."""
    slope = np.gradient(losses, np.log10(lrs))
    return float(lrs[int(np.nanargmin(slope))])


def suggest_valley(lrs, losses) -> float:
    """fastai's "valley": find the longest stretch over which the loss keeps reaching new lows (a longest
    decreasing subsequence), then take the point a half of the way into its middle third."""
    n = len(losses)
    length = np.ones(n, dtype=int)
    best_end = 0
    for i in range(1, n):
        earlier = np.flatnonzero(losses[:i] > losses[i])
        if earlier.size:
            length[i] = max(length[i], int(length[earlier].max()) + 1)
        if length[i] > length[best_end]:
            best_end = i
    start = best_end - length[best_end]
    third = (best_end - start) / 3
    return float(lrs[max(0, start + int(third) + int(third / 2))])


def lr_range_test(problem, optimizer: str = "sgd", hyperparams: dict | None = None, batch_size: int | None = None,
                  start_lr: float | None = None, end_lr: float | None = None, steps: int = 100, grid: int = 40,
                  grid_epochs: int | None = None, seeds: int = 5, seed: int = 1, epochs: int = 5,
                  schedule: schedules.Schedule | None = None, period: int | None = None, init_scale: float = 1.0,
                  progress=None) -> RangeTest:
    """Run both range tests on ``problem`` for ``optimizer`` (with ``hyperparams`` other than η), and measure a
    recommended range.

    Classic: one run of ``steps`` updates with η growing exponentially from ``start_lr`` to ``end_lr``, the full-data
    loss recorded after each update, stopped once its smoothed value exceeds 4× its minimum. Grid: ``grid``
    learning rates spaced evenly in log between the same ends, each trained with the loop settings (``batch_size``,
    ``grid_epochs`` epochs, default ``epochs``, ``schedule``, ``period``, ``init_scale``), all in one vectorized call
    per seed, for ``seeds`` seeds (each its own initial point and order), sampling their curves no finer than the
    cost-aware default period (:func:`~optimlab.analysis.budget.measurement_loop`). The recommended range comes
    from :func:`~optimlab.analysis.advice.measure_range` with the same settings and seeds, the grid serving as its
    coarse grid (run once, not twice). Default ends: 1e-5 to 10
    times the problem's scale (:func:`~optimlab.analysis.advice.default_lr_search`). ``progress(done, total)`` is
    called after each run.
    """
    hyperparams = dict(hyperparams or {})
    if "lr" not in optim.defaults(optimizer):
        raise ValueError(f"{optimizer} has no learning rate to search")
    if "lr" in hyperparams:
        raise ValueError("the range test searches η itself: give no lr")
    steps = checks.check_int("steps", steps, minimum=5)
    grid = checks.check_int("grid", grid, minimum=3)
    seeds = checks.check_int("seeds", seeds, minimum=1)
    epochs = checks.check_int("epochs", epochs, minimum=1)
    grid_epochs = epochs if grid_epochs is None else checks.check_int("grid_epochs", grid_epochs, minimum=1)
    batch_size = default_batch_size(problem.n_examples) if batch_size is None else \
        checks.check_int("batch_size", batch_size, minimum=1, maximum=problem.n_examples)
    seed = checks.check_int("seed", seed, minimum=0)
    optim.make(optimizer, **hyperparams)  # validate before any work
    updates = grid_epochs * math.ceil(problem.n_examples / batch_size)
    memory.check_fits("the classic range test's records", f"steps={steps}", memory.float_array_bytes(3, steps))
    memory.check_fits("the fixed-η runs", f"points={grid} × {updates} updates",
                      memory.float_array_bytes(grid, updates + grid_epochs + 6 * problem.dim))
    memory.check_fits("the fixed-η results", f"points={grid} × seeds={seeds}", memory.float_array_bytes(grid, seeds))
    lambda_max = largest_curvature(problem)  # at the optimum (or the origin): the bounds need only the top end
    if start_lr is None or end_lr is None:
        start = initial_params(problem, seed, init_scale)
        low, high = default_lr_search(problem, optimizer, start, lambda_max)
        start_lr = low if start_lr is None else start_lr
        end_lr = high if end_lr is None else end_lr
    start_lr = float(checks.check_range("start_lr", start_lr, "positive"))
    end_lr = float(checks.check_range("end_lr", end_lr, "positive"))
    if end_lr <= start_lr:
        raise ValueError(f"end_lr must be > start_lr={start_lr:g}, got {end_lr:g}")
    loop = {"batch_size": batch_size, "epochs": grid_epochs, "period": period, "schedule": schedule,
            "init_scale": init_scale}
    # the band samples its curves no finer than the cost-aware default period (its runs need only their outcome) and
    # is the measurement's coarse grid
    band_loop = measurement_loop(problem, loop)
    band_steps = run_steps(problem, grid, band_loop)  # one per run, or one per epoch of a long run
    # the classic run, the band's seeds, then measure_range's steps
    counter = Steps(progress, 1 + seeds * band_steps + measurement_steps(problem, loop, seeds, coarse_given=True))

    # classic
    per_epoch = math.ceil(problem.n_examples / batch_size)
    ramp = schedules.make("ramp", steps=steps, ratio=end_lr / start_lr)
    run = train(problem, optim.make(optimizer, lr=start_lr, **hyperparams), batch_size=batch_size,
                epochs=math.ceil(steps / per_epoch), period=batch_size, schedule=ramp, seed=seed,
                init_scale=init_scale)
    counter.to(1)
    # the records after each update: every update is sampled (period = batch size); drop the epochs' repeated ends
    after_update = np.flatnonzero(np.diff(run.examples_seen) > 0) + 1
    losses = np.array(run.losses[after_update][:steps], dtype=float)
    lrs = start_lr * ramp(1, np.arange(steps))
    valid = np.isfinite(losses)
    smoothed = np.full(steps, np.nan)
    smoothed[valid] = smooth(losses[valid])
    stop = steps
    running_min = np.fmin.accumulate(np.where(np.isnan(smoothed), np.inf, smoothed))
    over = np.flatnonzero(smoothed > STOP_FACTOR * running_min)
    if over.size:
        stop = int(over[0]) + 1
    losses[stop:] = np.nan
    smoothed[stop:] = np.nan
    kept = slice(0, max(stop, 3))
    suggestions = {"steepest": suggest_steepest(lrs[kept], smoothed[kept]),
                   "valley": suggest_valley(lrs[kept], smoothed[kept]),
                   "minimum/10": suggest_minimum(lrs[kept], smoothed[kept])}

    # grid: K fixed learning rates in one call per seed
    grid_lrs = np.geomspace(start_lr, end_lr, grid)
    finals = np.empty((seeds, grid))
    labels, stable_in = [], []
    for s in range(seeds):
        start = counter.done
        short = train(problem, optim.make(optimizer, lr=grid_lrs, **hyperparams), **band_loop, seed=seed + s,
                      progress=counter.train_progress(band_steps))
        finals[s] = np.where(short.diverged_mask, np.inf, short.final_losses)
        outcomes = [classify_run(short, k) for k in range(grid)]
        labels.append([o.label for o in outcomes])
        stable_in.append([o.stable for o in outcomes])
        counter.to(start + band_steps)
    median = np.median(finals, axis=0)
    # "stable": ended below its start and did not diverge (criteria.Outcome.stable), in every seed
    stable = np.all(stable_in, axis=0)
    grid_suggestions = {"best": float(grid_lrs[int(np.argmin(median))]),
                        "largest_stable": float(grid_lrs[np.flatnonzero(stable)[-1]]) if stable.any() else None}
    edges = {}
    for name, value in {**suggestions, **{f"grid {k}": v for k, v in grid_suggestions.items()}}.items():
        if value is not None and value <= start_lr * (1 + 1e-9):
            edges[name] = "low"
        elif value is not None and value >= end_lr * (1 - 1e-9):
            edges[name] = "high"

    # the curvature bounds the plot marks
    gamma = hyperparams.get("momentum", optim.defaults(optimizer).get("momentum", 0.0))
    marks = {"lambda_max": lambda_max}
    if optimizer in ("sgd", "momentum"):
        marks["full_batch"] = bounds.momentum_max_lr(lambda_max, gamma)
        if batch_size < problem.n_examples and problem.dim <= 12:
            H, HH = hessian_second_moment(problem, batch_size)
            marks["minibatch"] = mean_square_max_lr(H, HH, gamma)
    elif optimizer == "nesterov":
        marks["full_batch"] = bounds.nesterov_max_lr(lambda_max, gamma)
    else:
        marks["gd_2_over_lambda_max"] = bounds.gd_max_lr(lambda_max)  # for reference: not the adaptive bound
    marks = {k: v for k, v in marks.items() if math.isfinite(v) and v > 0}  # x⁴: no curvature at the optimum
    bound = marks.get("minibatch", marks.get("full_batch"))
    base = counter.done
    measured = measure_range(problem, optimizer, hyperparams, "lr", (start_lr, end_lr), loop=loop, seed=seed,
                             seeds=seeds, bound=bound,
                             progress=None if progress is None else lambda d, _: counter.to(base + d),
                             coarse=(grid_lrs, labels, stable_in, finals))
    return RangeTest(optimizer, {**optim.defaults(optimizer), **hyperparams, "lr": None}, batch_size, lrs, losses,
                     smoothed, suggestions, grid_lrs, finals, grid_suggestions, marks, grid_epochs,
                     labels, edges, measured)
