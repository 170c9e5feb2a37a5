"""Measured recommendations: a range of η (or γ) is printed only after it was run, in the same call, and worked.

:func:`measure_range` searches one hyperparameter on the user's problem with the user's loop settings (batch size,
epochs, period, schedule, initial scale, seed), K values in one vectorized :func:`~optimlab.train` call per seed:

1. a coarse grid over the search range; every configuration is labelled by
   :func:`~optimlab.analysis.criteria.classify_curve` (the one definition of the labels);
2. the longest stretch of coarse values that reach the goal (``converged`` or ``noise_floor``) in every seed has
   each of its ends refined between its last working and first failing coarse value (:data:`EDGE_POINTS` values
   each, both ends in the same vectorized call); where no coarse value works, a fine grid around the best one;
3. the range runs from the smallest to the largest value that works in every seed, contiguously; its geometric
   middle is run once more, alone, with the same flags (the user's seed), and must reach the goal too; otherwise
   the range shrinks to the measured value nearest the middle, which is run alone in its turn.

Where nothing reaches the goal, no range is given: the result says so, and measures what would (the epochs 4, 16
or 64 times; the same epochs without the schedule's decay) on the coarse values that ended below their start, while
that fits the budget of :func:`~optimlab.analysis.budget.alternatives_budget`; what did not fit is named. A range
that touches an end of the search range is flagged: the best values may lie beyond it. The theory's bound is set
beside the measurement, and where the two disagree the result says so and why.

The grid runs sample the loss no more often than a cost-aware period (the verification runs with the
user's own period); see :mod:`optimlab.analysis.budget` for that, the budget and the progress steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optimlab import memory, optim, schedules
from optimlab.analysis.budget import Steps, alternatives_budget, measurement_loop, run_steps, work
from optimlab.analysis.criteria import GOAL, classify_run, goal_loss, reaches_goal
from optimlab.analysis.search import (  # noqa: F401
    ADAPTIVE,
    DECADES_ABOVE,
    DECADES_BELOW,
    default_lr_search,
    largest_curvature,
    loop_of,
    schedule_of,
)
from optimlab.results import jsonable
from optimlab.train import initial_params, train

POINTS = 25  # values per grid: 6 decades at 0.25 decade; around the best value when nothing works, 25 more
EDGE_POINTS = 13  # each end of a working stretch refined over one coarse step: steps of about 5% in η
MORE_EPOCHS = (4, 16, 64)  # the alternatives measured, in turn, when nothing reaches the goal
CHEAP_UPDATES = 2_000_000  # configurations × updates up to which an alternative is measured (and within budget)


@dataclass
class MeasuredRange:
    """What was run and what worked. ``low``/``high`` are None when no value reached the goal."""

    parameter: str  # "lr" or "momentum"
    optimizer: str
    search: tuple  # (smallest, largest) value searched
    low: float | None
    high: float | None
    middle: float | None
    middle_outcome: dict | None  # the verification run: label, losses, and the value run
    seeds: list
    grid: np.ndarray  # every value run (coarse and fine), sorted
    labels: list  # per grid value: the label in each seed
    edges: list = field(default_factory=list)  # "low"/"high" where the range touches the search range's ends
    theory: dict = field(default_factory=dict)  # bound, agrees, note
    alternative: dict | None = None  # measured where nothing reached the goal
    configurations: int = 0  # configurations trained in all
    best_loss: float | None = None  # f* unknown: the lowest final loss of the coarse grid (first seed)
    goal_loss: float | None = None  # f* unknown: the highest final loss that counted as reaching the goal

    @property
    def found(self) -> bool:
        return self.low is not None

    def to_dict(self) -> dict:
        return jsonable({"parameter": self.parameter, "search": list(self.search), "low": self.low,
                         "high": self.high, "middle": self.middle, "middle_outcome": self.middle_outcome,
                         "seeds": self.seeds, "edges": self.edges, "theory": self.theory,
                         "alternative": self.alternative, "configurations": self.configurations,
                         "best_loss": self.best_loss, "goal_loss": self.goal_loss,
                         "grid": self.grid, "labels": self.labels})


def measurement_runs(seeds: int) -> int:
    """How many steps :func:`measure_range` reports where every run is short: a coarse and a fine grid per seed,
    then the verification and the alternatives, counted as two (:func:`measurement_steps` in general)."""
    return 2 * seeds + 2


def measurement_steps(problem, loop: dict, seeds: int, coarse_given: bool = False) -> int:
    """How many steps :func:`measure_range` reports to ``progress`` (see :mod:`optimlab.analysis.budget`): the
    coarse (unless given) and the fine grid per seed; the verification (its epochs twice when long: the middle, and
    the fallback where the middle fails); the alternatives that fit the budget (the short ones together one step)."""
    grid_loop = measurement_loop(problem, loop)
    grids = seeds * ((0 if coarse_given else run_steps(problem, POINTS, grid_loop))
                     + run_steps(problem, max(POINTS, 2 * EDGE_POINTS), grid_loop))
    verify = run_steps(problem, 1, loop)
    return grids + (1 if verify == 1 else 2 * verify) + _alternative_steps(problem, _affordable(problem, grid_loop)[0])


def _setting(parameter: str, values: np.ndarray, hyperparams: dict) -> dict:
    return {**hyperparams, parameter: values}


def _label_grid(problem, optimizer, hyperparams, parameter, values, loop, seeds, steps: Steps):
    """(labels[s][k], stable[s][k], final loss[s][k] (inf where diverged)) for each seed and value, one vectorized
    train call per seed."""
    labels, stable, finals = [], [], []
    n_steps = run_steps(problem, len(values), loop)
    for s in seeds:
        start = steps.done
        run = train(problem, optim.make(optimizer, **_setting(parameter, values, hyperparams)), **loop, seed=s,
                    progress=steps.train_progress(n_steps))
        outcomes = [classify_run(run, k) for k in range(run.num_configs)]
        labels.append([o.label for o in outcomes])
        stable.append([o.stable for o in outcomes])
        finals.append(np.where(run.diverged_mask, np.inf, run.final_losses))
        steps.to(start + n_steps)
    return np.array(labels, dtype=object), np.array(stable, dtype=bool), np.array(finals, dtype=float)


def _longest(flags) -> tuple[int, int] | None:
    """(first, last) index of the longest run of True, or None."""
    best, start = None, None
    for i, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            if best is None or i - 1 - start > best[1] - best[0]:
                best = (start, i - 1)
            start = None
    return best


def _between(parameter, lo, hi, points):
    """``points`` values from ``lo`` to ``hi``, evenly in log (for γ: in log of 1 − γ)."""
    if parameter == "momentum":
        return 1 - np.geomspace(1 - lo, max(1 - hi, 1e-6), points)
    return np.geomspace(lo, hi, points)


def middle_of(parameter: str, low: float, high: float) -> float:
    """The geometric middle: √(low·high) for η; for γ the middle of 1 − γ, 1 − √((1 − low)(1 − high))."""
    if parameter == "momentum":
        return 1 - math.sqrt((1 - low) * (1 - high))
    return math.sqrt(low * high)


def search_grid(parameter: str, search) -> np.ndarray:
    if parameter == "momentum":
        return 1 - np.geomspace(1 - search[0], 1 - search[1], POINTS)
    return np.geomspace(search[0], search[1], POINTS)


def measure_range(problem, optimizer: str, hyperparams: dict, parameter: str, search, *, loop: dict, seed: int,
                  seeds: int = 1, bound: float | None = None, progress=None, coarse=None) -> MeasuredRange:
    """Search ``parameter`` ("lr" or "momentum") over ``search`` = (smallest, largest) on ``problem``, with the other
    ``hyperparams`` fixed and the loop settings ``loop`` (batch_size, epochs, period, schedule, init_scale), on
    seeds ``seed``, ``seed + 1``, ... See the module docstring for the procedure; ``bound`` is the theory's
    largest stable value (η only), set beside the measurement. ``coarse``: (values, labels, stable, final losses)
    of a coarse grid over ``search`` already run with these settings and seeds (each but values of shape
    (seeds, values); lr-find's band), used instead of running one."""
    seed_list = [seed + s for s in range(seeds)]
    updates = loop["epochs"] * math.ceil(problem.n_examples / loop["batch_size"])
    memory.check_fits("the measurement runs", f"{POINTS} values × {updates} updates",
                      memory.float_array_bytes(POINTS, updates + loop["epochs"] + 6 * problem.dim))
    grid_loop = measurement_loop(problem, loop)  # the grids sample no finer than the cost-aware default period
    steps = Steps(progress, measurement_steps(problem, loop, seeds, coarse is not None))
    if coarse is not None:
        coarse, labels, stable, finals = np.asarray(coarse[0], dtype=float), np.asarray(coarse[1], dtype=object), \
            np.asarray(coarse[2], dtype=bool), np.asarray(coarse[3], dtype=float)
        if labels.shape != (seeds, len(coarse)) or stable.shape != labels.shape or finals.shape != labels.shape:
            raise ValueError(f"coarse labels must have shape (seeds, values) = ({seeds}, {len(coarse)})")
    else:
        coarse = search_grid(parameter, search)
        labels, stable, finals = _label_grid(problem, optimizer, hyperparams, parameter, coarse, grid_loop, seed_list,
                                             steps)
    ceilings = _ceilings(problem, loop, seed_list, finals)  # f* unknown: near the best final loss, per seed
    good = np.all(_good(labels, finals, ceilings), axis=0)
    region = _longest(good)
    last = len(coarse) - 1
    if region is not None:
        # each end of the stretch refined between its last good and first failing coarse value
        i, j = region
        lows = _between(parameter, coarse[max(i - 1, 0)], coarse[i], EDGE_POINTS)
        highs = _between(parameter, coarse[j], coarse[min(j + 1, last)], EDGE_POINTS)
        fine = np.concatenate([lows, highs])
    else:  # refine around the best value, where the goal may hide between two coarse points
        order = ["converged", "noise_floor", "too_slow", "oscillating", "diverged"]
        rank = np.array([max(order.index(label) for label in labels[:, k]) for k in range(len(coarse))])
        # the best label in its worst seed; among equals (often all "too_slow"), the lowest median final loss
        best = int(np.lexsort((np.median(finals, axis=0), rank))[0])
        fine = _between(parameter, coarse[max(best - 1, 0)], coarse[min(best + 1, last)], POINTS)
    fine_labels, _, fine_finals = _label_grid(problem, optimizer, hyperparams, parameter, fine, grid_loop, seed_list,
                                              steps)
    fine_good = np.all(_good(fine_labels, fine_finals, ceilings), axis=0)
    grid = np.concatenate([coarse, fine])
    all_labels = np.concatenate([labels, fine_labels], axis=1)
    order_ = np.argsort(grid)
    result = MeasuredRange(parameter, optimizer, tuple(search), None, None, None, None, seed_list, grid[order_],
                           all_labels[:, order_].T.tolist(), configurations=len(grid) * seeds)
    if ceilings is not None:
        result.best_loss, result.goal_loss = float(np.min(finals[0])), float(ceilings[0])
    if region is not None:
        low_good, high_good = fine_good[:EDGE_POINTS], fine_good[EDGE_POINTS:]
        a = EDGE_POINTS - 1  # walk down from the stretch's first coarse value while the refined values work
        while a > 0 and low_good[a - 1] and low_good[a]:
            a -= 1
        b = 0  # and up from its last
        while b < EDGE_POINTS - 1 and high_good[b + 1] and high_good[b]:
            b += 1
        candidates = np.concatenate([coarse[i:j + 1], lows[a:] if low_good[-1] else [],
                                     highs[:b + 1] if high_good[0] else []])
    else:
        stretch = _longest(fine_good)
        candidates = fine[stretch[0]:stretch[1] + 1] if stretch is not None else np.array([])
    if len(candidates):
        candidates = np.unique(candidates)
        _verify(result, problem, optimizer, hyperparams, parameter, loop, seed, candidates, steps, result.goal_loss)
    if result.found:
        lo, hi = min(search), max(search)
        result.edges = [name for name, at in (("low", lo), ("high", hi))
                        if math.isclose(result.low if name == "low" else result.high, at, rel_tol=1e-9)
                        or (name == "low" and result.low <= lo) or (name == "high" and result.high >= hi)]
    else:
        result.alternative = _alternative(problem, optimizer, hyperparams, parameter, coarse, stable[0], grid_loop,
                                          seed, steps, result.best_loss)
    result.theory = _theory(result, bound, loop)
    steps.to(steps.total)  # the verification and the alternatives are the last steps, whichever were needed
    return result


def _start_loss(problem, loop: dict, seed: int) -> float:
    """The loss where a run with these loop settings and seed starts."""
    init = loop.get("init")
    point = initial_params(problem, seed, loop.get("init_scale", 1.0)) if init is None else np.asarray(init)
    return float(problem.loss(point))


def _ceilings(problem, loop: dict, seeds: list, finals: np.ndarray) -> np.ndarray | None:
    """Where f* is unknown, per seed the :func:`~optimlab.analysis.criteria.goal_loss` beside the lowest final loss
    of that seed's grid; None where f* is known (the labels alone decide)."""
    if problem.optimal_loss is not None:
        return None
    return np.array([goal_loss(_start_loss(problem, loop, s), float(np.min(f))) for s, f in zip(seeds, finals)])


def _good(labels: np.ndarray, finals: np.ndarray, ceilings: np.ndarray | None) -> np.ndarray:
    """(seeds, values): reached the goal (see :func:`~optimlab.analysis.criteria.reaches_goal`)."""
    good = np.isin(labels, GOAL)
    return good if ceilings is None else good & (finals <= ceilings[:, None])


def _outcome_of(problem, optimizer, hyperparams, parameter, value, loop, seed, steps=None, ceiling=None) -> dict:
    n_steps = run_steps(problem, 1, loop)
    run = train(problem, optim.make(optimizer, **{**hyperparams, parameter: value}), **loop, seed=seed,
                progress=None if steps is None else steps.train_progress(n_steps))
    outcome = classify_run(run)
    return {"value": value, "label": outcome.label, "seed": seed, "initial_loss": outcome.numbers["initial_loss"],
            "final_loss": outcome.numbers["final_loss"], "optimal_loss": run.optimal_loss,
            "epoch_losses": run.epoch_losses.tolist(), "reached_goal": reaches_goal(outcome, ceiling)}


def _verify(result, problem, optimizer, hyperparams, parameter, loop, seed, candidates, steps=None, ceiling=None):
    """``candidates``: the measured values of the range, each good in every seed. Run the geometric middle of
    their span alone; if it misses the goal (``ceiling``: see :func:`_ceilings`), fall back to the measured value
    nearest to it, run alone too."""
    low, high = float(candidates.min()), float(candidates.max())
    middle = middle_of(parameter, low, high)
    outcome = _outcome_of(problem, optimizer, hyperparams, parameter, middle, loop, seed, steps, ceiling)
    result.configurations += 1
    if not outcome["reached_goal"]:
        scale = (lambda v: np.log(1 - v)) if parameter == "momentum" else np.log
        nearest = float(candidates[np.argmin(np.abs(scale(candidates) - scale(middle)))])
        low = high = middle = nearest
        outcome = _outcome_of(problem, optimizer, hyperparams, parameter, middle, loop, seed, steps, ceiling)
        result.configurations += 1
        if not outcome["reached_goal"]:
            result.middle_outcome = outcome
            return
    result.low, result.high, result.middle, result.middle_outcome = low, high, middle, outcome


def _tries(loop: dict) -> list:
    """The alternatives, in order: (change, factor on the epochs, loop settings)."""
    tries = []
    if loop.get("schedule") is not None and loop["schedule"].name != "constant":
        tries.append(("no_decay", 1, {**loop, "schedule": schedules.make("constant")}))
    return tries + [("epochs", m, {**loop, "epochs": m * loop["epochs"]}) for m in MORE_EPOCHS]


def _affordable(problem, loop: dict) -> tuple[list, list, float]:
    """(the alternatives to measure, the (change, epochs) of those skipped, the budget in multiply-adds). Each is
    priced on the whole coarse grid (an upper bound: it runs on the values that ended below their start), in turn,
    cumulatively; the first that would take the total past the budget, or take more than CHEAP_UPDATES
    configuration-updates, is skipped with all after it."""
    budget = alternatives_budget(problem, POINTS, loop)
    updates = loop["epochs"] * math.ceil(problem.n_examples / loop["batch_size"])
    chosen, skipped, spent = [], [], 0.0
    for what, factor, setting in _tries(loop):
        cost = work(problem, POINTS, setting)
        if skipped or POINTS * updates * factor > CHEAP_UPDATES or spent + cost > budget:
            skipped.append((what, setting["epochs"]))
            continue
        spent += cost
        chosen.append((what, factor, setting))
    return chosen, skipped, budget


def _alternative_steps(problem, chosen) -> int:
    """Progress steps of the alternatives: the short ones together one, each long one its epochs."""
    counts = [run_steps(problem, POINTS, setting) for _, _, setting in chosen]
    return (1 if 1 in counts else 0) + sum(c for c in counts if c > 1)


def _alternative(problem, optimizer, hyperparams, parameter, coarse, stable, loop, seed, steps, best=None) -> dict:
    """What would reach the goal, measured on the coarse values that ended below their start in the first seed
    (a run that diverged, or ended above its start, is not rescued by more of the same) while the budget allows:
    more epochs (4, 16, 64 times), or the same epochs without the schedule's decay. Where f* is unknown (``best``:
    the grid's lowest final loss), the goal is near the lower of that and the alternative's own best."""
    chosen, skipped, budget = _affordable(problem, loop)
    tried = []
    values = np.flatnonzero(stable)
    for what, _factor, setting in chosen if values.size else []:
        tried.append((what, setting["epochs"]))
        n_steps = run_steps(problem, POINTS, setting)
        start = steps.done
        run = train(problem, optim.make(optimizer, **_setting(parameter, coarse[values], hyperparams)), **setting,
                    seed=seed, progress=steps.train_progress(n_steps))
        if n_steps > 1:
            steps.to(start + n_steps)
        ceiling = None
        if best is not None:
            finite = run.final_losses[~run.diverged_mask & np.isfinite(run.final_losses)]
            ceiling = goal_loss(_start_loss(problem, setting, seed), min([best, *finite]))
        good = np.zeros(len(coarse), dtype=bool)
        good[values] = [reaches_goal(classify_run(run, k), ceiling) for k in range(run.num_configs)]
        stretch = _longest(good)
        if stretch is not None:
            return {"change": what, "epochs": setting["epochs"], "low": float(coarse[stretch[0]]),
                    "high": float(coarse[stretch[1]]), "seed": seed}
    return {"change": None, "tried": tried, "skipped": skipped, "budget": budget,
            "ended_below_start": int(values.size)}


def _theory(result: MeasuredRange, bound: float | None, loop: dict) -> dict:
    """The bound beside the measurement: do they agree, and if not, why."""
    if result.parameter != "lr":
        return {}
    if bound is None or not math.isfinite(bound) or bound <= 0:
        return {"bound": None, "agrees": None,
                "note": "the quadratic model at the optimum gives no finite bound on η here (zero curvature there)"}
    unstable = [v for v, labels in zip(result.grid, result.labels) if "diverged" in labels]
    first_unstable = min(unstable) if unstable else None
    decays = loop.get("schedule") is not None and loop["schedule"].name != "constant"
    adaptive = result.optimizer in ADAPTIVE
    out = {"bound": bound, "first_diverged": first_unstable, "agrees": True}
    if result.found and result.high > 1.05 * bound:
        out["agrees"] = False
        out["note"] = (f"η up to {result.high:.3g} reached the goal although the bound is {bound:.3g}: "
                       + ("the schedule shrinks η below the bound before the instability compounds"
                          if decays else "an unstable mode that starts small grows past the divergence factor only "
                                         "after more updates than this budget has, or the curvature along the path "
                                         "is smaller than at the optimum"))
    elif first_unstable is not None and first_unstable < 0.5 * bound:
        out["agrees"] = False
        out["note"] = (f"runs diverged from η = {first_unstable:.3g}, below the bound {bound:.3g}: "
                       + ("the bound holds for the per-coordinate steps at the end of the run, and the first steps, "
                          "before the averages of g² build up, are larger" if adaptive else
                          "the bound holds for the curvature at the optimum, and the curvature along the path (from "
                          "the start) or across minibatches is larger"))
    else:
        out["note"] = (f"consistent with the bound {bound:.3g}" + (f": the smallest η measured to diverge is "
                                                                   f"{first_unstable:.3g}" if first_unstable else ""))
    return out
