"""The stability map as a figure, drawn from a :class:`~optimlab.maps.compute.StabilityMap` (no computation)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch

RATE_LEVELS = (0.5, 0.9, 0.99)  # contours of the per-step contraction: fast, slow, very slow
DIVERGED_COLOUR = "#d62728"
SPAN = 1e12  # at most 12 decades of colour below the top: a gap of 1e-30 must not wash out the rest


def _edges(axis) -> np.ndarray:
    """Cell edges around the axis values: geometric midpoints on a log axis, arithmetic otherwise."""
    v = np.asarray(axis.values, dtype=float)
    if v.size == 1:
        return np.array([v[0] * 0.9, v[0] * 1.1]) if axis.log else np.array([v[0] - 0.5, v[0] + 0.5])
    t = np.log(v) if axis.log else v
    mid = (t[1:] + t[:-1]) / 2
    e = np.concatenate([[t[0] - (mid[0] - t[0])], mid, [t[-1] + (t[-1] - mid[-1])]])
    return np.exp(e) if axis.log else e


def colour_limits(stability) -> tuple[float, float]:
    """(vmin, vmax) of the log colour scale. The top is the largest starting gap: a cell that ends worse than
    where it started saturates there, so one blown-up cell cannot stretch the scale; the bottom is the smallest
    positive gap, but no more than :data:`SPAN` below the top."""
    floor = stability.optimal_loss or 0.0
    start = np.asarray(stability.start_loss, dtype=float) - floor
    top = float(np.nanmax(start)) if np.isfinite(start).any() and np.nanmax(start) > 0 else 1.0
    gap = stability.gap
    positive = gap[np.isfinite(gap) & (gap > 0)]
    bottom = float(positive.min()) if positive.size else top / 10
    return max(min(bottom, top / 10), top / SPAN), top


def draw(stability, ax=None) -> Figure:
    """Heat map of the final loss gap f − f* (log colour, clipped; diverged cells red), with the theory's
    boundaries as lines, the contraction per step as contours and the optimal (η, γ) as a star where known."""
    if ax is None:
        fig = Figure(figsize=(7.2, 5.4))
        fig.subplots_adjust(left=0.12, right=0.98, bottom=0.11, top=0.9)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    x, y, theory = stability.x, stability.y, stability.theory
    xe, ye = _edges(x), _edges(y)
    vmin, vmax = colour_limits(stability)
    gap = np.clip(stability.gap, vmin, vmax)
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(gap), norm=LogNorm(vmin, vmax), cmap="viridis")
    blown = np.ma.masked_where(~stability.diverged, np.ones(stability.diverged.shape))
    ax.pcolormesh(xe, ye, blown, cmap=ListedColormap([DIVERGED_COLOUR]), vmin=0, vmax=1)
    label = "final loss − f*" if stability.optimal_loss is not None else "final loss"
    fig.colorbar(mesh, ax=ax, label=f"{label} (clipped at the start)")
    handles = [Patch(color=DIVERGED_COLOUR, label="diverged")]
    styles = ["--", "-", ":", "-."]
    for line, style in zip(theory.get("lines", []), styles):
        handles += ax.plot(line["x"], line["y"], style, color="white" if "mean" not in line["name"] else "orange",
                           lw=1.6, label=line["name"])
    rate = theory.get("rate")
    if rate is not None and np.ndim(rate) == 2 and min(np.shape(rate)) > 1:
        xc, yc = np.meshgrid(x.values, y.values)
        contours = ax.contour(xc, yc, np.asarray(rate), levels=RATE_LEVELS, colors="0.85", linewidths=0.7)
        ax.clabel(contours, fmt=lambda v: f"rate {v:g}", fontsize=7)
    best = theory.get("optimum")
    if best is not None and {x.name, y.name} <= set(best):
        handles += ax.plot(best[x.name], best[y.name], "*", ms=15, color="white", mec="black",
                           label=f"optimal ({', '.join(f'{k} {best[k]:.3g}' for k in (x.name, y.name))})")
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.set_xscale("log" if x.log else "linear")
    ax.set_yscale("log" if y.log else "linear")
    ax.set_xlabel(x.name)
    ax.set_ylabel(y.name)
    s = stability.settings
    ax.set_title(f"{stability.optimizer} on {stability.problem.get('name')}: batch {s['batch_size']}, "
                 f"{s['epochs']} epochs", fontsize=10)
    ax.legend(handles=handles, fontsize=7, loc="lower left", framealpha=0.6)
    return fig
