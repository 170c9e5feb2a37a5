"""The divergence threshold of η, measured: a vectorized bisection over learning rates, to check the bounds of
:mod:`optimlab.analysis.bounds` against what the optimizers actually do."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimlab import optim
from optimlab.train import train


@dataclass(frozen=True)
class Threshold:
    """The measured boundary: every η ≤ ``stable`` converged or stayed bounded, every η ≥ ``unstable`` diverged
    within ``steps`` full-batch updates."""

    stable: float
    unstable: float
    steps: int
    runs: int

    @property
    def estimate(self) -> float:
        return float(np.sqrt(self.stable * self.unstable))


def divergence_threshold(problem, optimizer: str = "sgd", hyperparams: dict | None = None, lo: float = 1e-3,
                         hi: float = 1e2, steps: int = 3000, grid: int = 64, rel_tol: float = 1e-3,
                         init=None) -> Threshold:
    """Bisect the smallest diverging η of full-batch training, ``grid`` learning rates per round in one vectorized
    call, until the bracket is narrower than ``rel_tol`` (relative).

    "Diverged" is the trainer's verdict: the loss grew past 10⁴ times its start. Just above the true boundary the
    error grows only slowly (by a factor 1 + δ per update), so with ``steps`` updates the measurement sits at most
    about ln(100)/steps above it (0.15% for 3000 steps). ``init`` defaults to the optimum plus one in every
    coordinate, so that every eigendirection is excited.
    """
    hyperparams = dict(hyperparams or {})
    if init is None:
        base = problem.optimum if problem.optimum is not None else np.zeros(problem.dim)
        init = np.asarray(base, dtype=float) + 1.0
    n = problem.n_examples
    runs = 0
    while hi / lo - 1 > rel_tol:
        lrs = np.geomspace(lo, hi, grid)
        run = train(problem, optim.make(optimizer, lr=lrs, **hyperparams), batch_size=n, epochs=steps, period=n,
                    init=init)
        runs += grid
        diverged = run.diverged_mask
        if not diverged.any():
            raise ValueError(f"no learning rate up to {hi:g} diverged within {steps} steps; raise hi")
        if diverged[0]:
            raise ValueError(f"already the smallest learning rate {lo:g} diverged; lower lo")
        first = int(np.argmax(diverged))
        if not diverged[first:].all():
            raise ValueError("divergence is not monotone in η on this grid; the threshold is not a single number")
        lo, hi = float(lrs[first - 1]), float(lrs[first])
    return Threshold(lo, hi, steps, runs)
