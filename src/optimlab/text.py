"""Plain-text views of results, in the lecture's words and format. Functions return strings; the CLI prints."""

from __future__ import annotations

import math

import numpy as np

from optimlab.results import Run
from optimlab.train import DIVERGENCE_FACTOR


def _vector(v) -> str:
    v = np.asarray(v, dtype=float)
    return f"{float(v):.4f}" if v.ndim == 0 else np.array2string(v, precision=4)


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
            rate = "" if math.isnan(lr) else f"Learning rate {lr:f}, "
            lines.append(f"Batch size {run.batch_size}, {rate}Epoch {e}, loss {_loss(loss)}")
        params = " ".join(f"{name}: {_vector(v)}" for name, v in one.named_params.items())
        lines.append(params)
        if one.diverged:
            lines.append(f"diverged after {one.diverged_at} examples: loss {_loss(one.final_loss)} "
                         f"(stopped there; a run is declared diverged when its loss is not finite or grows past "
                         f"{run.provenance.get('divergence_factor', DIVERGENCE_FACTOR):g} times its initial value)")
        lines.append("")
    return lines
