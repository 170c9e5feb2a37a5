"""The lecture's figures, drawn from the data that :mod:`optimlab.lecture.theory` and the runs return.

Nothing here computes a result. Figures are made without pyplot (no window, no global state).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from optimlab import plots

COLORS = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _figure(width, height):
    return Figure(figsize=(width, height), layout="constrained")


def taylor(data) -> Figure:
    x, lrs, x0 = data["x"], data["lrs"], data["x0"]
    fig = _figure(11, 6.2)
    grid = fig.add_gridspec(2, len(lrs), height_ratios=[1.1, 1])
    curve = np.linspace(-1.3 * x0, 1.3 * x0, 200)
    words = ["too small: undershoot", "well chosen", "large: zig-zag inwards", "too large: zig-zag outwards"]
    for k, lr in enumerate(lrs):
        ax = fig.add_subplot(grid[0, k])
        ax.plot(curve, curve ** 2, color="0.6", lw=1)
        path = x[k, :8]
        ax.plot(path, path ** 2, "-o", color=COLORS[k], ms=3.5, lw=1)
        ax.set_ylim(-2, (1.3 * x0) ** 2)
        ax.set_title(f"η = {lr} ({words[k]})", fontsize=9)
        ax.set_xlabel("x")
        if k == 0:
            ax.set_ylabel("f(x) = x²")
    ax = fig.add_subplot(grid[1, :])
    steps = np.arange(x.shape[1])
    for k, lr in enumerate(lrs):
        ax.semilogy(steps, np.abs(x[k]), "-o", ms=3, color=COLORS[k],
                    label=f"η = {lr}: |1 − 2η| = {abs(1 - 2 * lr):.2f}")
    plots.lean_log_axis(ax.yaxis)
    ax.set_xlabel("gradient-descent step t")
    ax.set_ylabel("|x_t| (distance to the minimum)")
    ax.set_title("each step multiplies x by 1 − 2η: it shrinks iff η < 2/f'' = 1 (the bound)", fontsize=9)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(True, alpha=0.3)
    fig.suptitle("§3–4 The Taylor argument on f(x) = x²: η·f'' must stay below 2", fontsize=11)
    return fig


def quartic(data) -> Figure:
    fig = _figure(11, 4.2)
    left, right = fig.subplots(1, 2)
    lr, bound, taylor_bound = data["lr"], data["boundary"], data["taylor_bound"]
    curve = np.linspace(-3.6, 3.6, 300)
    left.plot(curve, curve ** 4, color="0.6", lw=1)
    for k, path in enumerate(data["paths"]):
        shown = path[np.abs(path) < 4]
        left.plot(shown, shown ** 4, "-o", ms=3, lw=1, color=COLORS[k],
                  label=f"x₀ = {path[0]:g}: " + ("diverges" if abs(path[0]) > bound else "converges"))
    left.set_ylim(-5, 3.6 ** 4)
    left.set_xlabel("x")
    left.set_ylabel("f(x) = x⁴")
    left.set_title(f"the same η = {lr} from three starts", fontsize=9)
    left.legend(fontsize=8)
    starts, ok = data["starts"], data["converged"]
    right.fill_between(starts, 0, 1, where=ok, color=COLORS[1], alpha=0.35, step="mid", label="converges")
    right.fill_between(starts, 0, 1, where=~ok, color=COLORS[3], alpha=0.35, step="mid", label="diverges")
    right.axvline(bound, color="k", lw=1.5, label=f"theory 1/√(2η) = {bound:.3f}")
    right.axvline(taylor_bound, color="k", ls=":", lw=1.2, label=f"η·f''(x₀) = 2 at x₀ = {taylor_bound:.3f}")
    right.set_yticks([])
    right.set_xlabel("starting point x₀")
    right.set_title(f"outcome of {len(starts)} starts in one vectorized run: boundary measured at "
                    f"{data['measured']:.3f}", fontsize=9)
    right.legend(fontsize=8, loc="upper left")
    fig.suptitle("§3 The start matters: on x⁴ the curvature 12x² grows with |x|", fontsize=11)
    return fig


def ravine(data) -> Figure:
    fig = _figure(8, 4.6)
    ax = fig.add_subplot()
    x1, x2 = np.meshgrid(np.linspace(-6, 2, 300), np.linspace(-3.5, 3.5, 300))
    ax.contour(x1, x2, 0.1 * x1 ** 2 + 2 * x2 ** 2, levels=np.geomspace(0.05, 25, 12), colors="0.75", linewidths=0.8)
    for k, (label, path) in enumerate(data["paths"].items()):
        shown = path[np.all(np.abs(path) < 8, axis=1)]
        ax.plot(shown[:, 0], shown[:, 1], "-o", ms=3, lw=1.2, color=COLORS[[0, 3, 1][k]], label=label)
    ax.plot(*data["start"], "ks", ms=6)
    ax.set_xlim(-6, 2)
    ax.set_ylim(-3.5, 3.5)
    ax.set_xlabel("x₁ (flat: curvature 0.2)")
    ax.set_ylabel("x₂ (steep: curvature 4)")
    ax.set_title("§7 f = 0.1·x₁² + 2·x₂²: GD is stable for η < 2/4 = 0.5 and then crawls along x₁;\n"
                 "momentum (γ = 0.5, stable for η < 2(1+γ)/4 = 0.75) goes through", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def ema(data) -> Figure:
    fig = _figure(11, 3.8)
    left, right = fig.subplots(1, 2)
    t, gamma, w = data["t"], data["gamma"], data["weights"]
    left.bar(np.arange(1, t + 1), w, color=COLORS[0])
    left.set_xticks(np.arange(1, t + 1, 2 if t > 10 else 1))
    left.set_xlabel("i (the term x(i) of the average)")
    left.set_ylabel("weight (1 − γ)·γ^(t − i)")
    left.set_title(f"γ = {gamma}, t = {t}: recent terms weigh most; the weights sum to 1 − γ^t = {w.sum():.3f}",
                   fontsize=9)
    steps = np.arange(1, data["ratio"].shape[1] + 1)
    for k, g in enumerate(data["gammas"]):
        right.semilogx(steps, data["ratio"][k], color=COLORS[k], label=f"γ = {g}")
        right.axhline(1 / (1 - g), color=COLORS[k], ls="--", lw=0.8)
    right.set_yscale("log")
    plots.lean_log_axis(right.yaxis)
    plots.lean_log_axis(right.xaxis)
    right.set_xlabel("update t (steady gradient g)")
    right.set_ylabel("v / (η g)")
    right.set_title("the velocity tends to η g/(1 − γ) (dashed): 1/(1 − γ) times the step", fontsize=9)
    right.legend(fontsize=8)
    fig.suptitle("§7 Momentum as an exponential moving average", fontsize=11)
    return fig


def adaptive_steps(data, bound: float) -> Figure:
    curves, names = data["curves"], data["names"]
    fig = _figure(11, 3.8)
    axes = fig.subplots(1, len(curves), sharey=True)
    titles = {"adagrad": "Adagrad: η/√(s+ε), s sums g² (decays for ever)",
              "rmsprop": "RMSProp γ = 0.9: η/√(s+ε), s leaks",
              "adam": "Adam: η/(√ŝ+ε), ŝ leaks slowly (β₂ = 0.999)"}
    for ax, (name, steps) in zip(axes, curves.items()):
        epochs = np.arange(1, len(steps) + 1) / len(steps) * data["epochs"]
        for p, label in enumerate(names):
            ax.semilogy(epochs, steps[:, p], lw=1, color=COLORS[p], label=label)
        ax.axhline(bound, color="k", ls="--", lw=0.8, label=f"2/λ_max = {bound:.2f}")
        plots.lean_log_axis(ax.yaxis)
        ax.set_title(titles[name], fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("per-coordinate step")
    axes[0].legend(fontsize=8)
    fig.suptitle("§8–11 The step each coordinate takes, on the lecture's problem (batch 10)", fontsize=11)
    return fig


def comparison(data) -> Figure:
    runs = list(data["runs"].values())
    fig = plots.loss_curves(runs, labels=list(data["runs"]),
                            title="Every optimizer with the lecture's settings, batch 10 (SGD, momentum and Nesterov "
                                  "with the decay)")
    fig.set_size_inches(8, 4.6)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.1, top=0.93)
    return fig


def experiment(run, others: dict, title: str) -> Figure:
    """The lecture's semilog loss curve for one experiment, with the runs its claim compares against."""
    runs = [run, *others.values()]
    labels = [f"{run.optimizer}, {run.labels()[0]}"] + [f"{r.optimizer}, {r.labels()[0]} (for comparison)"
                                                        for r in others.values()]
    fig = plots.loss_curves(runs, labels=labels, title=title)
    fig.set_size_inches(6.4, 3.8)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.13, top=0.9)
    return fig
