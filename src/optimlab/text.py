"""Plain-text views of results, in the lecture's words and format. Functions return strings; the CLI prints."""

from __future__ import annotations

import math

import numpy as np

from optimlab.results import Run
from optimlab.train import DIVERGENCE_FACTOR


def number(x, digits: int = 4) -> str:
    """A number as a person reads it: ``digits`` significant digits, switching to powers of ten outside
    [1e-4, 1e6): 1e-07 (not 0.000000), 1e+308 (not 309 digits), 0.0376, 1.59e+04; nan, inf and -inf as such."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def fixed(x, decimals: int = 4) -> str:
    """The lecture's fixed-point form (``0.100000``, ``-3.4000``) while it shows the value readably, that is
    while |x| is 0 or in [10^-(decimals-2), 1e6); otherwise :func:`number`."""
    x = float(x)
    if x == 0 or (math.isfinite(x) and 10.0 ** -(decimals - 2) <= abs(x) < 1e6):
        return f"{x:.{decimals}f}"
    return number(x)


SHOWN = 12  # parameter arrays longer than this print as a summary (an MLP's weights are thousands of numbers)


def _vector(v) -> str:
    v = np.asarray(v, dtype=float)
    if v.ndim == 0:
        return fixed(v)
    if v.size > SHOWN:
        return f"{v.size} values, norm {number(float(np.linalg.norm(v)))}"
    if all(fixed(x) == f"{x:.4f}" for x in v.ravel()):
        return np.array2string(v, precision=4, max_line_width=10**6)  # the lecture's layout, e.g. [ 1.9998 -3.4001]
    return "[" + " ".join(number(x) for x in v.ravel()) + "]"


def _loss(x: float) -> str:
    return f"{x:.4e}" if math.isfinite(x) else str(x)


def epoch_lines(run: Run) -> list[str]:
    """One line per configuration and epoch, as the lecture's code prints them, then the learned parameters."""
    lines = []
    optimum = run.problem.optimum
    if run.optimal_loss is not None:
        at = run.problem.split(optimum) if optimum is not None else {}
        where = " ".join(f"{k}: {_vector(v)}" for k, v in at.items())
        lines.append(f"Optimum: loss {_loss(run.optimal_loss)}" + (f" at {where}" if where else ""))
    labels = run.labels()
    for k in range(run.num_configs):
        one = run[k]
        if run.num_configs > 1:
            lines.append(f"[{k + 1}/{run.num_configs}] {run.optimizer} {labels[k]}")
        for e, (lr, loss) in enumerate(zip(one.lr_per_epoch, one.epoch_losses), start=1):
            rate = "" if math.isnan(lr) else f"Learning rate {fixed(lr, 6)}, "
            lines.append(f"Batch size {run.batch_size}, {rate}Epoch {e}, loss {_loss(loss)}")
        named = one.named_params
        params = " ".join(f"{name}: {_vector(v)}" for name, v in named.items())
        if any(np.size(v) > SHOWN for v in named.values()):
            params = "; ".join(f"{name}: {_vector(v)}" for name, v in named.items()) + \
                "  (--json or --save give every value)"
        lines.append(params)
        if one.diverged:
            lines.append(f"diverged after {one.diverged_at} examples: loss {_loss(one.final_loss)} "
                         f"(stopped there; a run is declared diverged when its loss is not finite or grows past "
                         f"{number(run.provenance.get('divergence_factor', DIVERGENCE_FACTOR))} times its initial "
                         f"value)")
        lines.append("")
    return lines
