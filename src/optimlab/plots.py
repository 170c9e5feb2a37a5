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
