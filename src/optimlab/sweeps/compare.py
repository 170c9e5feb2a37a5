"""A fair comparison of optimizers: the same declared tuning budget for each, the best rerun on many seeds.

1. **Tune.** Every optimizer gets the same budget: a log grid of ``points`` learning rates over ``lr_range``
   (Adadelta, which has no η, gets the same number of points of ε over ``ADADELTA_EPS``: ε sets its first steps,
   √ε/√(s+ε)·g), crossed with the values of ``grid`` for the hyperparameters it takes, the rest at their defaults.
   The grid runs as ONE vectorized train call per tuning seed; a configuration scores the median over the tuning
   seeds of its final loss (a divergence scores +∞).
2. **Rerun.** The best configuration of each optimizer and the optimizer at its defaults are rerun on ``seeds``
   fresh seeds (not the tuning seeds, so that the score of the winner is not the luck of its selection), both in
   one train call per seed.
3. **Time to target.** Unless given, the target is the loss whose excess over the floor is 1/1000 of the
   starting excess: target = floor + 10⁻³·(L₀ − floor), with L₀ the median initial loss and the floor the problem's
   optimum f* where known, else the lowest median final loss of any tuned optimizer. (A target at the floor itself
   would time the noise of the last records; 1000-fold is a reduction every working optimizer makes.) Each
   optimizer's time to target is the first record at which its median curve over seeds is at or below it: in
   epochs, and in seconds: the wall time of its rerun calls (which advance the best and the default configuration
   together, so the per-update cost of the optimizer is in it) scaled by the fraction of the run.

Everything is returned as data (:func:`compare`); :mod:`optimlab.sweeps.report` draws and writes the report.
"""

from __future__ import annotations

import functools
import shlex

import numpy as np

from optimlab import checks, optim, schedules
from optimlab.problems import Problem
from optimlab.provenance import versions
from optimlab.sweeps.runner import data_checksum
from optimlab.train import train

ADADELTA_EPS = (1e-9, 1e-1)
TARGET_FRACTION = 1e-3  # the default target: the excess loss over the floor reduced 1000-fold


def budget(optimizer: str, lr_range: tuple[float, float], points: int, grid: dict) -> dict[str, np.ndarray]:
    """The configurations tried for ``optimizer``: paired hyperparameter arrays of equal length."""
    takes = optim.defaults(optimizer)
    name, (lo, hi) = ("lr", lr_range) if "lr" in takes else ("eps", ADADELTA_EPS)
    axes = {name: np.geomspace(lo, hi, points), **{k: v for k, v in grid.items() if k in takes and k != name}}
    return optim.grid(**axes)


def train_command(problem_flags: str, optimizer: str, hyper: dict, loop: dict, seed: int) -> str:
    """The ``optimlab train`` command that reruns one configuration exactly."""
    parts = ["optimlab", "train"] + shlex.split(problem_flags) + ["--optimizer", optimizer]
    parts += [x for k, v in hyper.items() for x in ("--" + k.replace("_", "-"), repr(float(v)))]  # round-trips
    parts += ["--batch-size", str(loop["batch_size"]), "--epochs", str(loop["epochs"]), "--seed", str(seed)]
    schedule = loop["schedule"]
    if schedule.name != "constant":
        parts += ["--schedule", schedule.name]
        parts += [x for k, v in schedule.settings.items() for x in (schedules.SETTINGS[k].flag, repr(v))]
    return shlex.join(parts)


def _median_curve(curves: np.ndarray) -> np.ndarray:
    """Median over seeds at each record; a diverged seed (NaN after it stopped) counts as +∞ there."""
    return np.median(np.where(np.isnan(curves), np.inf, curves), axis=0)


def _reruns(problem_for, name, rows: list[dict], seeds: list[int], loop: dict, progress) -> list[dict]:
    """Each row of ``rows`` on every seed: one train call per seed with len(rows) configurations."""
    hyper = {k: [row[k] for row in rows] for k in rows[0]}
    curves, seconds, diverged = [], 0.0, []
    for s in seeds:
        run = train(problem_for(s), optim.make(name, **hyper), seed=s, **loop)
        curves.append(run.curves)
        diverged.append(run.diverged_mask)
        seconds += run.seconds
        progress()
    curves = np.stack(curves, axis=1)  # (rows, seeds, T)
    epochs_axis = run.epochs_axis
    out = []
    for j, row in enumerate(rows):
        stopped = np.array([d[j] for d in diverged])
        # the final loss of each seed, +∞ where it diverged (its curve keeps the loss that stopped it)
        finals = np.where(stopped, np.inf, [c[np.flatnonzero(~np.isnan(c))[-1]] for c in curves[j]])
        out.append({"hyperparams": row, "curves": curves[j], "final_losses": finals,
                    "diverged": int(stopped.sum()), "median_curve": _median_curve(curves[j]),
                    "seconds_per_run": seconds / len(seeds), "epochs_axis": epochs_axis})
    return out


def _loop_for(name: str, loop: dict) -> dict:
    """The loop settings for ``name``: a schedule scales η, so an optimizer without one (Adadelta) runs constant."""
    return loop if "lr" in optim.defaults(name) else {**loop, "schedule": schedules.make("constant")}


def compare(problem, *, optimizers=None, lr_range=(1e-4, 10.0), points: int = 13, grid: dict | None = None,
            tune_seeds=(1,), seeds: int = 10, first_seed: int = 100, loop: dict | None = None,
            target: float | None = None, problem_flags: str = "", progress=None) -> dict:
    """Tune every optimizer with the same budget, rerun the best and the defaults on ``seeds`` seeds, and measure
    time to target (see the module docstring). ``loop``: train's batch_size, epochs and schedule.

    ``problem`` is a problem, or a function ``seed -> problem`` for problems whose data are drawn from the seed
    (the lecture's synthetic regression): then every run with seed s uses the problem built with seed s, exactly
    as ``optimlab train --seed s`` does, so that the report's commands rerun each configuration (to about 12
    significant digits: a one-configuration call may round its matrix products differently from the batched one)."""
    data_per_seed = not isinstance(problem, Problem)
    problem_for = functools.lru_cache(maxsize=None)(
        problem if not isinstance(problem, Problem) else lambda seed: problem)
    names = list(optimizers or optim.OPTIMIZERS)
    for name in names:
        optim.defaults(name)  # unknown names raise here, before any work
    points = checks.check_int("points", points, minimum=2)
    seeds = checks.check_int("seeds", seeds, minimum=10)
    lo, hi = (float(v) for v in checks.check_range("lr_range", list(lr_range), "positive"))
    if not lo < hi:
        raise ValueError(f"lr_range must have low < high, got {lo}:{hi}")
    grid = {k: [float(x) for x in checks.as_values(k, v)] for k, v in (grid or {}).items()}
    for k in grid:
        if k not in optim.HYPERPARAMETERS or k == "lr":
            raise ValueError(f"grid takes hyperparameters other than lr ({', '.join(list(optim.HYPERPARAMETERS)[1:])})"
                             f", got {k!r}")
    tune_seeds = [checks.check_int("tune seed", s, minimum=0) for s in tune_seeds]
    if not tune_seeds:
        raise ValueError("tune_seeds must hold at least one seed, got none")
    loop = {"batch_size": 10, "epochs": 5, **(loop or {})}
    loop["schedule"] = loop.get("schedule") or schedules.make("constant")
    budgets = {name: budget(name, (lo, hi), points, grid) for name in names}
    for name, hyper in budgets.items():
        optim.make(name, **hyper)  # every value in range, before any work
    first_seed = max(first_seed, max(tune_seeds) + 1)  # fresh seeds: never one the selection was made on
    rerun_seeds = list(range(first_seed, first_seed + seeds))
    total = sum(len(tune_seeds) + seeds for _ in names)
    done = [0]

    def step():
        done[0] += 1
        if progress:
            progress(done[0], total)

    results = {}
    for name in names:
        hyper = budgets[name]
        own_loop = _loop_for(name, loop)
        finals = []
        for s in tune_seeds:
            run = train(problem_for(s), optim.make(name, **hyper), seed=s, **own_loop)
            finals.append(np.where(run.diverged_mask, np.inf, run.final_losses))
            step()
        score = np.median(finals, axis=0)
        configs = [dict(h) for h in run.hyperparams]
        best = int(np.argmin(score))
        # every hyperparameter written out (not only the tuned ones), so that the commands state the configuration
        best_row = {k: float(v) for k, v in configs[best].items()}
        default_row = dict(optim.defaults(name))
        tuned, default = _reruns(problem_for, name, [best_row, default_row], rerun_seeds, own_loop, step)
        results[name] = {"budget": len(configs) * len(tune_seeds), "grid": {k: v.tolist() for k, v in hyper.items()},
                         "scores": score.tolist(), "best": tuned, "default": default}
    problem = problem_for(tune_seeds[0])
    if target is None:
        medians = [np.median(r["best"]["final_losses"]) for r in results.values()]
        floor = problem.optimal_loss if problem.optimal_loss is not None else float(np.nanmin(medians))
        start = float(np.median([r["best"]["median_curve"][0] for r in results.values()]))
        target = floor + TARGET_FRACTION * (start - floor)
    target = float(target)
    for name, r in results.items():
        for kind in ("best", "default"):
            entry = r[kind]
            hit = np.flatnonzero(entry["median_curve"] <= target)
            fraction = entry["epochs_axis"][hit[0]] / loop["epochs"] if hit.size else None
            entry["epochs_to_target"] = None if fraction is None else fraction * loop["epochs"]
            entry["seconds_to_target"] = None if fraction is None else fraction * entry["seconds_per_run"]
            entry["commands"] = [train_command(problem_flags, name, entry["hyperparams"], _loop_for(name, loop), s)
                                 for s in rerun_seeds]
    return {"problem": problem.describe(), "data_sha256": data_checksum(problem),
            "data_per_seed": data_per_seed, "optimal_loss": problem.optimal_loss,
            "optimizers": names, "lr_range": [lo, hi], "points": points, "grid": grid, "tune_seeds": tune_seeds,
            "rerun_seeds": rerun_seeds,
            "loop": {"batch_size": loop["batch_size"], "epochs": loop["epochs"],
                     "schedule": loop["schedule"].describe()},
            "target": target, "results": results, "versions": versions()}
