"""Figures from results; nothing here computes a result. Every function returns a matplotlib Figure, made without
pyplot so that no window or global state is involved; save it with ``fig.savefig(path)``."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from optimlab.results import Run


def loss_curves(runs: Run | list[Run], labels: list[str] | None = None, title: str | None = None,
                ax=None) -> Figure:
    """The lecture's figure: loss (mean over all examples) against epoch on a log scale, one curve per
    configuration, the optimum as a dashed line and a cross where a configuration diverged."""
    runs = [runs] if isinstance(runs, Run) else list(runs)
    if ax is None:
        fig = Figure(figsize=(6.4, 4.2))
        fig.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.9)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    curves, names = [], []
    for run in runs:
        multi = run.num_configs > 1 or len(runs) > 1
        for k, label in enumerate(run.labels()):
            curves.append((run.epochs_axis, run.curves[k], run.diverged_mask[k]))
            names.append(f"{run.optimizer} {label}" if multi else f"{run.optimizer}, {label}")
    if labels is not None:
        names = list(labels)
    for (x, y, diverged), name in zip(curves, names):
        line, = ax.semilogy(x, y, label=name, lw=1.2)
        if diverged:
            last = np.flatnonzero(np.isfinite(y))
            if last.size:
                ax.plot(x[last[-1]], y[last[-1]], "x", color=line.get_color(), ms=9, mew=2)
    optimum = runs[0].optimal_loss
    if optimum:
        ax.axhline(optimum, color="0.3", ls="--", lw=1, label=f"optimum {optimum:.3e}")
    lean_log_axis(ax.yaxis)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (mean over all examples)")
    ax.grid(True, which="major", alpha=0.3)
    first = runs[0]
    ax.set_title(title or f"{first.problem.name}: batch size {first.batch_size}, schedule {first.schedule}",
                 fontsize=10)
    ax.legend(fontsize=8)
    return fig


def lean_log_axis(axis) -> None:
    """No minor ticks on a log axis: over many decades they cost most of the drawing time and add little."""
    axis.set_minor_locator(NullLocator())


SUGGESTION_STYLES = {"steepest": "v", "valley": "o", "minimum/10": "s"}


def range_test(result) -> Figure:
    """The learning-rate range test: the classic growing-η curve with its suggestions (top) and the band of K
    fixed-η runs over seeds (bottom), both against the curvature bounds on η."""
    fig = Figure(figsize=(8, 7.2))
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.08, top=0.93, hspace=0.38)
    top, bottom = fig.subplots(2, 1, sharex=True)
    valid = np.isfinite(result.losses)
    top.loglog(result.lrs[valid], result.losses[valid], color="0.7", lw=1, label="loss after each update")
    top.loglog(result.lrs, result.smoothed, color="C0", lw=1.6, label="smoothed")
    for name, lr in result.suggestions.items():
        y = np.interp(np.log(lr), np.log(result.lrs[valid]), result.smoothed[valid])
        top.plot(lr, y, SUGGESTION_STYLES[name], color="C3", ms=8, mfc="none", mew=2, label=f"{name}: η = {lr:.3g}")
    top.set_ylabel("loss (mean over all examples)")
    top.set_title(f"classic range test: one run of {len(result.lrs)} updates, η growing exponentially", fontsize=9)
    band = result.band
    finite = np.isfinite(band["high"])
    bottom.fill_between(result.grid, band["low"], np.where(finite, band["high"], np.nan), color="C2", alpha=0.25,
                        label=f"lowest–highest over {result.grid_losses.shape[0]} seeds")
    bottom.loglog(result.grid, np.where(np.isfinite(band["median"]), band["median"], np.nan), "-o", color="C2",
                  ms=3, label="median final loss")
    diverged = ~np.all(np.isfinite(result.grid_losses), axis=0)
    if diverged.any():
        ceiling = np.nanmax(np.where(np.isfinite(result.grid_losses), result.grid_losses, np.nan))
        bottom.plot(result.grid[diverged], np.full(diverged.sum(), ceiling), "x", color="C3", ms=6,
                    label="a seed diverged")
    best = result.grid_suggestions["best"]
    bottom.axvline(best, color="C2", ls="-.", lw=1.2, label=f"best median: η = {best:.3g}")
    bottom.set_ylabel(f"final loss after {result.grid_epochs} epoch(s)")
    bottom.set_xlabel("learning rate η")
    bottom.set_title(f"optimlab's range test: {len(result.grid)} fixed learning rates in one vectorized run per seed",
                     fontsize=9)
    names = {"full_batch": "2/λ_max" if result.optimizer == "sgd" else "full-batch bound",
             "minibatch": f"mean-square bound, batch {result.batch_size}", "gd_2_over_lambda_max": "2/λ_max (plain GD)"}
    for ax in (top, bottom):
        for key, style in (("full_batch", "--"), ("minibatch", ":"), ("gd_2_over_lambda_max", "--")):
            if key in result.bounds:
                ax.axvline(result.bounds[key], color="k", ls=style, lw=1,
                           label=f"{names[key]} = {result.bounds[key]:.3g}")
        lean_log_axis(ax.yaxis)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Learning-rate range test: {result.optimizer}, batch {result.batch_size}", fontsize=11)
    return fig
