"""How a training curve ended, by one set of criteria for every optimizer, every problem and every caller.

:func:`classify_curve` is the one place the labels are defined; ``optimlab explain``, the measured recommendations
of ``explain`` and ``lr-find``, the lecture's report and diagnoses of external training logs all call it, so the
same curve gets the same label whatever produced it. It reads only the curve: the losses, where they were recorded
(in epochs), the start, the optimum where known, and the trainer's divergence verdict.

The labels, checked in this order:

1. ``diverged``: the trainer stopped it (loss non-finite or past its divergence factor × the start), or the last
   loss is not finite.
2. ``converged``: the optimum f* is known and the final gap is within :func:`tolerance`: 10% of f*, or 1e-9 of the
   initial gap where f* is 0 or tiny.
3. It ended at or above its start: ``diverged`` if the last epoch is still rising steadily (the mean step up is
   more than half the median step), else ``oscillating`` (bounded, going nowhere).
4. Its last epoch has stopped improving and jitters (the median |Δ log10 gap| per record is above :data:`NOISY`
   and above twice the mean trend): ``noise_floor`` in a stochastic run (minibatches), ``oscillating`` in a
   deterministic one (full batch), where no noise can cause it.
5. ``converged`` without a known optimum: where f* is unknown (a network, a log from another framework), a curve
   that has levelled off: below its start, not jittering (rule 4), and its late window moved by less than
   :data:`LEVELLED` (1%) of its total decrease (the start minus the lowest loss). That is all a curve can say
   without f*; with f* known, rule 2 alone decides.
6. ``too_slow``: below its start, still improving smoothly, not yet at the optimum.

The late window is the records of the last unit of ``positions`` (the last epoch of optimlab's runs; a training log
from another framework is measured in tenths of its steps, so there it is the last tenth of the log), and at least
:data:`MIN_WINDOW` steps between records.

"stable" (lr-find's word, :attr:`Outcome.stable`) means: ended below its start and did not diverge. "Reaches the
goal" means ``converged`` or ``noise_floor``; where f* is unknown, a measurement that compares runs (the measured
ranges of explain and lr-find) also asks that the final loss be near the lowest one it measured
(:func:`goal_loss`): a curve that levelled off or jitters at a high loss has stopped, but has not reached a goal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

LABELS = ("converged", "noise_floor", "oscillating", "diverged", "too_slow")
GOAL = ("converged", "noise_floor")
CONVERGED_WITHIN = 0.10  # final loss ≤ 1.1 × the optimum
RELATIVE_GAP = 1e-9  # where f* is 0 (or tiny), converged means the gap fell to 1e-9 of its start
NOISY = 0.02  # median |Δlog10 gap| per record above which (and above twice the trend) a late curve counts as noisy
LEVELLED = 0.01  # without f*: a late window that moved by < 1% of the total decrease has levelled off (rule 5)
MIN_WINDOW = 5  # the late window is the last epoch, and at least this many steps between records
NEAR_BEST = 0.25  # without f*: within a quarter of the best measured decrease, on a log scale (goal_loss)


@dataclass(frozen=True)
class Outcome:
    """A label and the numbers it was decided on."""

    label: str
    numbers: dict = field(default_factory=dict)

    @property
    def reached_goal(self) -> bool:
        return self.label in GOAL

    @property
    def stable(self) -> bool:
        """Ended below its start and did not diverge."""
        final, start = self.numbers.get("final_loss", math.nan), self.numbers.get("initial_loss", math.nan)
        return self.label != "diverged" and final < start


def goal_loss(start: float, best: float) -> float:
    """Where f* is unknown, the highest final loss that reaches the goal beside ``best``, the lowest final loss
    measured with the same start: best·(start/best)^0.25, i.e. within a quarter of the best run's decrease counted
    in decades (the known-f* rule's 10% of f* has no f* to use here). Where a loss is ≤ 0, a quarter of the linear
    decrease instead. Example, the digits MLP with SGD: start 2.59, best 0.0083 (η = 0.6) give 0.035, so η = 1.9
    (noise floor at 0.27) and η = 5.9 (noise floor at 2.1) no longer count, η = 0.19 (converged at 0.025) does."""
    if not best < start:
        return best
    if best > 0:
        return best * (start / best) ** NEAR_BEST
    return best + NEAR_BEST * (start - best)


def reaches_goal(outcome: Outcome, ceiling: float | None = None) -> bool:
    """``converged`` or ``noise_floor``, and (where ``ceiling``, a :func:`goal_loss`, is given) a final loss at or
    below it."""
    return outcome.reached_goal and (ceiling is None or outcome.numbers["final_loss"] <= ceiling)


def tolerance(start: float, floor: float) -> float:
    """How close to f* counts as converged: within 10% of f*, or (when f* is 0 or tiny) 1e-9 of the initial gap."""
    return max(CONVERGED_WITHIN * floor, RELATIVE_GAP * (start - floor))


def late_window(positions: np.ndarray) -> slice:
    """The records of the last epoch of the curve (and at least :data:`MIN_WINDOW` steps between records)."""
    last = positions[-1]
    first = int(np.searchsorted(positions, last - 1.0, side="left"))
    return slice(max(0, min(first, len(positions) - 1 - MIN_WINDOW)), len(positions))


def classify_curve(losses, positions, start_loss: float | None = None, optimal_loss: float | None = None,
                   diverged: bool = False, *, stochastic: bool = True) -> Outcome:
    """Label a loss curve (see the module docstring for the criteria).

    Args:
        losses: (T,) recorded losses; NaN after a divergence (the trainer's records) is skipped.
        positions: (T,) where each was recorded, in epochs (``Run.epochs_axis``); increasing.
        start_loss: the loss before training (default: the first record).
        optimal_loss: f*, where known; without it "converged" means levelled off (rule 5).
        diverged: the trainer's verdict (``Run.diverged``).
        stochastic: minibatch training (noise can hold a run at a floor); False for full-batch runs, where a
            jittering curve is an oscillation.
    """
    losses = np.asarray(losses, dtype=float)
    positions = np.asarray(positions, dtype=float)
    if losses.shape != positions.shape or losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"losses and positions must be 1-D of the same length, got {losses.shape} and "
                         f"{positions.shape}")
    seen = np.flatnonzero(~np.isnan(losses))
    start = float(losses[0] if start_loss is None else start_loss)
    final = float(losses[seen[-1]]) if seen.size else math.nan
    numbers = {"initial_loss": start, "final_loss": final, "optimal_loss": optimal_loss}
    if diverged or not (math.isfinite(final) and math.isfinite(start)):
        return Outcome("diverged", numbers)
    curve, where = losses[seen], positions[seen]
    floor = optimal_loss
    window = late_window(where)
    gap = curve[window] - floor if floor is not None else curve[window]
    logs = np.log10(np.maximum(gap, 1e-300))
    steps = np.diff(logs)
    rough = float(np.median(np.abs(steps))) if steps.size else 0.0
    trend = float(np.mean(steps)) if steps.size else 0.0
    span = float(where[window][-1] - where[window][0])
    per_epoch = (logs[-1] - logs[0]) / span if span > 0 else 0.0  # log10 change of the gap per epoch
    numbers.update({"late_roughness": rough, "late_trend_per_record": trend,
                    "log10_gap_change_per_epoch": per_epoch})
    if floor is None:
        total = start - float(np.min(curve))
        late = float(curve[window][0] - curve[window][-1])
        numbers["late_share_of_decrease"] = late / total if total > 0 else math.nan
    if floor is not None and final - floor <= tolerance(start, floor):
        return Outcome("converged", numbers)
    if final >= start:
        return Outcome("diverged" if trend > 0 and rough <= 2 * trend else "oscillating", numbers)
    if rough > NOISY and rough > 2 * abs(trend):
        return Outcome("noise_floor" if stochastic else "oscillating", numbers)
    if floor is None and abs(numbers["late_share_of_decrease"]) <= LEVELLED:
        return Outcome("converged", numbers)
    return Outcome("too_slow", numbers)


def classify_run(run, k: int = 0) -> Outcome:
    """:func:`classify_curve` on configuration ``k`` of a :class:`~optimlab.results.Run`."""
    return classify_curve(run.curves[k], run.epochs_axis, float(run.curves[k, 0]), run.optimal_loss,
                          bool(run.diverged_mask[k]), stochastic=run.batch_size < run.problem.n_examples)
