"""What the measurements of :mod:`optimlab.analysis.advice` cost, decided before any work, and the progress they
report while they run.

- A measurement run needs only its outcome, read by :func:`~optimlab.analysis.criteria.classify_curve` from the late
  window of its curve: the grid runs sample the loss at the user's period or at the default period that accounts
  for what a record costs (:func:`optimlab.loop.default_period`) with :data:`MEASURE_RECORD_SHARE`, whichever is
  coarser (:func:`measurement_loop`). On the lecture's problem the two agree (10: its records are nearly free); on
  the digits MLP the grid records 3 losses per epoch (the late window then spans the last two epochs) where the
  lecture's period would take 180, each over all 1797 examples. The verification of a range's middle always runs
  with the user's own settings, period included, so what is recommended is checked on the curve the user sees.
- Work is counted in multiply-adds (:func:`optimlab.loop.run_work`); the alternatives measured where nothing reached
  the goal (more epochs, no decay) may together cost :data:`ALTERNATIVES_SHARE` times the coarse grid or
  :data:`ALTERNATIVES_FREE_WORK`, whichever is more.
- Progress (``progress(done, total)``) is counted in steps: a run counts one step, or one per epoch when it costs
  more than :data:`LONG_RUN_WORK`, so that a long measurement advances the bar epoch by epoch.
"""

from __future__ import annotations

from optimlab.loop import default_period, evaluation_examples, run_work

MEASURE_RECORD_SHARE = 2  # a grid run's records may cost 2 passes over the data per epoch (a user's run: 5)
LONG_RUN_WORK = 2e9  # multiply-adds (about a second here) above which a run reports each epoch
ALTERNATIVES_SHARE = 4  # the alternatives may cost 4 times the coarse grid ...
ALTERNATIVES_FREE_WORK = 1e10  # ... or this many multiply-adds (a few seconds), whichever is more


def measurement_loop(problem, loop: dict) -> dict:
    """``loop`` with the period no finer than the measurements' cost-aware one (see the module docstring)."""
    n, dim, n_eval, batch = problem.n_examples, problem.dim, evaluation_examples(problem), loop["batch_size"]
    period = loop.get("period") or default_period(batch, n, dim, n_eval)
    return {**loop, "period": max(period, default_period(batch, n, dim, n_eval, MEASURE_RECORD_SHARE))}


def work(problem, k: int, loop: dict) -> float:
    """Multiply-adds of one ``train`` call of ``k`` configurations with the settings ``loop``."""
    return run_work(problem, k, loop["epochs"], loop["batch_size"], loop.get("period"))


def run_steps(problem, k: int, loop: dict) -> int:
    """Progress steps of one ``train`` call: its epochs when it is long, else 1."""
    return loop["epochs"] if work(problem, k, loop) > LONG_RUN_WORK else 1


def alternatives_budget(problem, k: int, loop: dict) -> float:
    """Multiply-adds the alternatives may cost together, after a coarse grid of ``k`` values."""
    return max(ALTERNATIVES_FREE_WORK, ALTERNATIVES_SHARE * work(problem, k, loop))


class Steps:
    """A ``progress(done, total)`` callable (or None) fed in steps; ``train_progress`` gives the callable a
    ``train`` call reports its epochs to."""

    def __init__(self, progress, total: int, done: int = 0):
        self.progress, self.total, self.done = progress, total, done

    def to(self, done: int) -> None:
        if done > self.done:
            self.done = done
            if self.progress is not None:
                self.progress(done, self.total)

    def train_progress(self, steps: int):
        """For a run of ``steps`` steps starting now: each epoch is a step when steps > 1 (None otherwise)."""
        if self.progress is None or steps == 1:
            return None
        start = self.done
        return lambda epoch, _: self.to(start + epoch)
