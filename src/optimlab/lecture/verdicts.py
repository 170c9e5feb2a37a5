"""Claims as predicates: a :class:`Verdict` says whether a run bears a claim out, in one sentence with the numbers.

The thresholds below were set from the lecture's wording and checked on seeds 1 to 20 of the lecture's data; each
states its margin where it is defined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimlab.problems import LECTURE_DATA
from optimlab.results import Run

TRUTH = np.array([*LECTURE_DATA["w"], LECTURE_DATA["b"]])  # w = [2, -3.4], b = 4.2

# "Converges": the gap to the optimum, L − L*, closes to below 0.1% of what it was at the start (the slowest
# converging lecture run over seeds 1-20, full-batch GD's 5 steps, leaves 0.016%).
GAP_CLOSED = 1e-3


@dataclass(frozen=True)
class Verdict:
    passed: bool
    measured: str  # one sentence, with the numbers
    numbers: dict = field(default_factory=dict)


def gap_left(run: Run) -> float:
    """(L_final − L*) / (L_0 − L*): the fraction of the initial distance to the optimum still to go."""
    start, end, floor = run.losses[0], run.final_loss, run.optimal_loss
    return float((end - floor) / (start - floor))


def distance_to_truth(run: Run) -> float:
    """The largest |θ − θ_true| over w and b."""
    return float(np.max(np.abs(run.params - TRUTH)))


def converges(run: Run, tolerance: float) -> Verdict:
    """Not diverged, gap closed below :data:`GAP_CLOSED`, and w, b within ``tolerance`` of the truth."""
    if run.diverged:
        return Verdict(False, f"diverged after {run.diverged_at} examples", {"diverged_at": run.diverged_at})
    gap, dist = gap_left(run), distance_to_truth(run)
    ok = gap < GAP_CLOSED and dist < tolerance
    return Verdict(ok, f"final loss {run.final_loss:.4e} = {run.final_loss / run.optimal_loss:.3f}× the optimum "
                       f"{run.optimal_loss:.4e} ({gap:.1e} of the initial gap left); w, b within {dist:.4f} of the "
                       f"truth (bound {tolerance})",
                   {"gap_left": gap, "distance_to_truth": dist, "ratio_to_optimum": run.final_loss / run.optimal_loss})


def roughness(run: Run) -> float:
    """How noisy the late curve is: the median |Δ log10 loss| between successive records of the last epoch."""
    start = int(run.epoch_ends[-2]) if run.epochs > 1 else 0  # the record that ends the second-to-last epoch
    late = np.log10(run.losses[start:])
    return float(np.median(np.abs(np.diff(late))))


def examples_to_reach(run: Run, level: float) -> int | None:
    """Examples seen when the recorded loss first falls to ``level`` (None if it never does)."""
    hit = np.flatnonzero(run.losses <= level)
    if not hit.size:
        return None
    return int(run.examples_seen[hit[0]])
