"""A stability map: every cell of a 2-D grid of settings trained, in vectorized chunks, to its final loss."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from optimlab import checks, optim
from optimlab.loop import default_batch_size
from optimlab.maps import theory as theory_module
from optimlab.maps.axes import Axis, as_axis, check
from optimlab.problems import Problem
from optimlab.train import DIVERGENCE_FACTOR, train

DEFAULT_CHUNK = 4096  # configurations per train() call: big enough to amortise Python, small enough for memory


@dataclass(frozen=True)
class StabilityMap:
    """The result: ``final_loss`` and ``diverged`` are (len(y), len(x)) arrays, rows following ``y``.

    ``final_loss`` is the loss (``problem.loss(params)``, the recorded loss) of each cell's final parameters;
    ``start_loss`` the loss at the common start (one per seed); ``optimal_loss`` the problem's f* where known.
    ``diverged``: the trainer stopped the cell (loss not finite or past ``DIVERGENCE_FACTOR`` × its start) or its
    final loss is so. ``theory`` holds the curvature and the bounds drawn on the map (see :mod:`.theory`).
    """

    problem: dict
    optimizer: str
    x: Axis
    y: Axis
    final_loss: np.ndarray
    diverged: np.ndarray
    start_loss: np.ndarray
    optimal_loss: float | None
    settings: dict
    theory: dict
    seconds: float

    @property
    def gap(self) -> np.ndarray:
        """f − f* per cell (f itself where f* is unknown); NaN where diverged."""
        floor = self.optimal_loss or 0.0
        return np.where(self.diverged, np.nan, self.final_loss - floor)

    @property
    def grew(self) -> np.ndarray:
        """Cells that diverged or ended above their starting loss gap: unstable, as far as the run can tell."""
        floor = self.optimal_loss or 0.0
        return self.diverged | ~(self.final_loss - floor <= self.start_loss - floor)

    def agreement(self) -> dict | None:
        """Cells where the run agrees with the theory's verdict (stable iff the bound holds), where the theory gives
        one per cell: {"cells", "matching", "mismatched": [(row, col), ...]}."""
        predicted = self.theory.get("unstable")
        if predicted is None:
            return None
        predicted = np.asarray(predicted, dtype=bool)
        wrong = np.argwhere(predicted != self.grew)
        return {"cells": int(predicted.size), "matching": int(predicted.size - len(wrong)),
                "mismatched": [tuple(int(i) for i in w) for w in wrong]}

    def to_dict(self) -> dict:
        def rows(a):
            return [[None if not math.isfinite(v) else float(v) for v in row] for row in np.asarray(a, float)]

        return {"problem": self.problem, "optimizer": self.optimizer, "x": self.x.to_dict(), "y": self.y.to_dict(),
                "final_loss": rows(self.final_loss), "diverged": self.diverged.tolist(),
                "start_loss": rows(self.start_loss),
                "optimal_loss": self.optimal_loss, "settings": self.settings,
                "theory": theory_module.jsonable(self.theory), "agreement": self.agreement(),
                "seconds": self.seconds}


class _WholeBatch(Problem):
    """``problem`` with a minibatch that holds every example answered by its full-data path (idx=None).

    With batch_size = n, ``train`` passes a permutation of all examples; the mean over it is the full mean, which
    a problem may compute far more cheaply (least squares: H(θ − θ*), without touching the n examples) and more
    accurately. The recorded loss (idx=None) is unchanged.
    """

    def __init__(self, problem: Problem):
        self.inner = problem
        for name in ("name", "param_names", "n_examples", "optimum", "optimal_loss", "exact_hessian"):
            setattr(self, name, getattr(problem, name))

    def _idx(self, idx):
        return None if idx is None or len(idx) == self.n_examples else idx

    def loss(self, params, idx=None):
        return self.inner.loss(params, self._idx(idx))

    def grad(self, params, idx=None):
        return self.inner.grad(params, self._idx(idx))

    def init_params(self, rng, scale=1.0):
        return self.inner.init_params(rng, scale)

    def describe(self):
        return self.inner.describe()


def _groups(x: Axis, y: Axis):
    """Split the grid into groups that share one loop setting: yields (overrides of batch_size/seed, rows, cols),
    the cells of a group in row-major order. Without a loop axis the whole grid is one group."""
    rows, cols = (a.ravel() for a in np.meshgrid(np.arange(len(y.values)), np.arange(len(x.values)), indexing="ij"))
    loops = [(axis, position) for axis, position in ((x, cols), (y, rows)) if axis.loop]
    if not loops:
        yield {}, rows, cols
        return
    keys = np.stack([position for _, position in loops], axis=1)
    for key in np.unique(keys, axis=0):
        select = np.all(keys == key, axis=1)
        overrides = {axis.name: int(axis.values[i]) for (axis, _), i in zip(loops, key)}
        yield overrides, rows[select], cols[select]


def stability_map(problem: Problem, optimizer: str, x, y, *, batch_size: int | None = None, epochs: int = 5,
                  seed: int = 1, init=None, init_scale: float = 1.0, schedule=None, chunk: int = DEFAULT_CHUNK,
                  theory: bool = True, progress=None, **hyperparams) -> StabilityMap:
    """Train every cell of the grid ``x`` × ``y`` and return a :class:`StabilityMap`.

    Args:
        problem: any optimlab problem; optimizer: a registered optimizer's name.
        x, y: axes, each ``(name, values)`` or ``"NAME=LOW:HIGH[:log]:N"``; a name is one of the optimizer's
            hyperparameters, ``batch_size`` or ``seed``.
        batch_size, epochs, seed, init, init_scale, schedule: as :func:`optimlab.train` (an axis overrides its
            setting; the batch size defaults to train's, min(10, n)). Every cell of one seed starts from the same
            parameters.
        chunk: configurations per ``train`` call. Hyperparameter cells go in chunks; a batch-size or seed axis
            costs one call per value (they change the loop, not the arithmetic).
        theory: compute the bounds drawn on the map (curvature at the optimum, or at the start).
        progress: optional ``progress(done, total)`` called after each ``train`` call, in cells.
        hyperparams: fixed values of the optimizer's other hyperparameters.

    The loss is recorded once per epoch only (the map needs the final loss, and the records cost full passes).
    """
    x, y = check(as_axis(x), optimizer, problem.n_examples), check(as_axis(y), optimizer, problem.n_examples)
    if x.name == y.name:
        raise ValueError(f"the two axes must differ, both are {x.name}")
    for axis in (x, y):
        if axis.name in hyperparams:
            raise ValueError(f"{axis.name} is an axis; do not also fix it")
    for name, value in hyperparams.items():
        if np.ndim(value) > 0:
            raise ValueError(f"{name} must be a single number on a map (the axes hold the lists), got {value!r}")
    chunk = checks.check_int("chunk", chunk, minimum=1)
    optim.make(optimizer, **hyperparams)  # fixed values: ranges checked before any work
    if batch_size is None:  # train's default: the lecture's 10, or n on a smaller problem
        batch_size = default_batch_size(problem.n_examples)
    loop = {"batch_size": batch_size, "seed": seed}
    checks.check_int("batch_size", batch_size, minimum=1, maximum=problem.n_examples)
    checks.check_int("epochs", epochs, minimum=1)

    ny, nx = len(y.values), len(x.values)
    final = np.full((ny, nx), np.nan)
    diverged = np.zeros((ny, nx), dtype=bool)
    start_loss = np.full((ny, nx), np.nan)
    hyper_axes = [a for a in (x, y) if not a.loop]
    total, done, run = ny * nx, 0, None
    start = time.perf_counter()
    for overrides, rows, cols in _groups(x, y):
        setting = {**loop, **overrides}
        bs = setting["batch_size"]
        for at in range(0, rows.size, chunk):
            r, c = rows[at:at + chunk], cols[at:at + chunk]
            lists = {a.name: a.values[c] if a is x else a.values[r] for a in hyper_axes}
            opt = optim.make(optimizer, **hyperparams, **lists)
            run = train(_WholeBatch(problem) if bs == problem.n_examples else problem, opt, batch_size=bs,
                        epochs=epochs, period=bs * math.ceil(problem.n_examples / bs),  # one record per epoch
                        seed=setting["seed"], init=init, init_scale=init_scale, schedule=schedule)
            with np.errstate(over="ignore", invalid="ignore"):
                last = np.broadcast_to(np.asarray(problem.loss(run.final_params), dtype=float), r.shape)
            first = run.curves[:, 0]
            final[r, c] = np.where(run.diverged_mask, np.nan, last)
            diverged[r, c] = run.diverged_mask | ~(last <= DIVERGENCE_FACTOR * first)
            start_loss[r, c] = first
            done += r.size
            if progress is not None:
                progress(done, total)
    seconds = time.perf_counter() - start
    settings = {"batch_size": batch_size, "epochs": epochs, "seed": seed, "init_scale": init_scale,
                "fixed": dict(hyperparams), "chunk": chunk}
    point = problem.optimum if problem.optimum is not None else run.initial_params[0]
    drawn = theory_module.theory(problem, optimizer, x, y, batch_size, hyperparams, point) if theory else {}
    return StabilityMap(problem.describe(), optimizer, x, y, final, diverged, start_loss, problem.optimal_loss,
                        settings, drawn, seconds)
