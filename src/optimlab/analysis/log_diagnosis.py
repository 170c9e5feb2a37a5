"""Diagnose a training log from any framework (:mod:`optimlab.analysis.logs`) with the classes of
:mod:`optimlab.analysis.diagnosis`: converged, noise_floor, oscillating, diverged, too_slow.

A log carries only the curve, so the criteria are those of :mod:`~optimlab.analysis.diagnosis` read off the curve,
with its constants (``CONVERGED_WITHIN``, ``NOISY``, the divergence factor of :mod:`optimlab.train`):

- ``diverged``: a non-finite loss, or a loss above ``divergence_factor`` × its start, or a final loss above the start
  (unless the sharpness shows the zig-zag regime, η·λ_max > 1 for gradient descent: then ``oscillating``).
- ``converged``: within 10% of the optimum when ``optimal_loss`` is known; without it, levelled off: the last tenth
  of the log fell by less than 1% of the total decrease, smoothly.
- ``noise_floor``: the late curve jitters: median |Δlog10 L| per record above ``NOISY`` and above twice its trend
  (the slope of a line fitted through it, per record).
- ``oscillating``: the late curve alternates up and down in at least 90% of its records (a zig-zag, not noise,
  whose signs would alternate half of the time).
- ``too_slow``: still falling at the end.

With sharpness and lr in the log, η·λ_max is checked against 2 (gradient descent), or the sharpness against its
``sharpness_threshold`` column where the log has one (the monitor writes 2(1+γ)/η, 38/η for Adam, ...): the first
crossing, the largest excess and the η below which the measured sharpness would have been stable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optimlab.analysis.criteria import CONVERGED_WITHIN, NOISY
from optimlab.analysis.logs import TrainingLog
from optimlab.results import jsonable
from optimlab.train import DIVERGENCE_FACTOR

LEVELLED = 0.01  # the last tenth of the log fell by < 1% of the total decrease: the curve has levelled off
ZIGZAG = 0.9  # fraction of sign alternations between successive changes that marks a zig-zag


@dataclass
class LogDiagnosis:
    diagnosis: str
    explanation: str
    numbers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return jsonable({"diagnosis": self.diagnosis, "explanation": self.explanation, "numbers": self.numbers})


def _g(x: float) -> str:
    return f"{x:.3g}"


def diagnose_log(log: TrainingLog, optimal_loss: float | None = None,
                 divergence_factor: float = DIVERGENCE_FACTOR) -> LogDiagnosis:
    loss, step, lr = log.loss, log.step, log.lr
    start, final = float(loss[0]), float(loss[-1])
    numbers = {"records": len(log), "first_step": float(step[0]), "last_step": float(step[-1]),
               "initial_loss": start, "final_loss": final, "lr": float(lr[0]), "lr_final": float(lr[-1]),
               "optimal_loss": optimal_loss}
    stab = stability(log)
    numbers.update(stab)
    facts = _stability_text(stab, log)
    if not math.isfinite(start):
        return LogDiagnosis("diverged", f"Diverged before training began: the first loss is {start}. {facts}",
                            numbers)
    blown = np.flatnonzero(~np.isfinite(loss) | (loss > divergence_factor * abs(start)))
    if blown.size:
        i = int(blown[0])
        numbers["diverged_at_step"] = float(step[i])
        what = (f"the loss became {loss[i]} at step {step[i]:g}" if not np.isfinite(loss[i]) else
                f"the loss went from {_g(start)} to {_g(loss[i])} at step {step[i]:g}, past "
                f"{divergence_factor:g}× its start")
        text = f"Diverged: {what} (η = {_g(lr[i])}). " + _gradient_growth(log, i) + facts
        return LogDiagnosis("diverged", text.strip(), numbers)
    if final > start:
        osc = stab.get("edge_ratio_final", 0.0) > 0.5  # η·λ_max > 1 of 2: the error flips sign each update
        text = (f"The loss ended at {_g(final)}, {_g(final / start)}× above its start, without crossing the "
                f"divergence threshold. " + ("The error zig-zags instead of decaying. " if osc else "") + facts)
        return LogDiagnosis("oscillating" if osc else "diverged", text.strip(), numbers)
    label, text = _late(log, optimal_loss, numbers)
    return LogDiagnosis(label, (text + " " + facts).strip(), numbers)


def _late(log, optimal_loss, numbers) -> tuple[str, str]:
    """Converged, noise floor, zig-zag or too slow, from the last tenth of the log (at least 5 records)."""
    loss, step = log.loss, log.step
    start, final = float(loss[0]), float(loss[-1])
    window = min(max(5, len(loss) // 10), len(loss) - 1)
    tail = loss[-window - 1:]
    gap = tail - optimal_loss if optimal_loss is not None else tail
    if (gap > 0).all():
        values, unit = np.log10(gap), "decades"
    else:  # a loss at or below zero has no logarithm: changes are read as fractions of the total decrease
        values, unit = tail / max(start - float(np.min(loss)), 1e-300), "of the total decrease"
    changes = np.diff(values)
    # the trend is the slope of a straight line through the tail, not its end-to-end change: a minibatch loss is
    # noisy, and the end points alone would carry all of that noise
    spacing = float(np.median(np.diff(step[-window - 1:])))
    slope = float(np.polyfit(step[-window - 1:] - step[-window - 1], values, 1)[0])
    rough, trend = float(np.median(np.abs(changes))), slope * spacing
    per_100 = slope * 100
    signs = np.sign(changes[changes != 0])
    alternation = float(np.mean(signs[1:] != signs[:-1])) if signs.size > 2 else 0.0
    numbers.update({"late_roughness": rough, "late_trend": trend, "late_change_per_100_steps": per_100,
                    "late_alternation": alternation})
    ratio = f"{final / optimal_loss:.3g}× the optimum" if optimal_loss else f"{final:.4g}"
    if optimal_loss is not None and final - optimal_loss <= max(CONVERGED_WITHIN * optimal_loss,
                                                               1e-9 * (start - optimal_loss)):
        return "converged", (f"Converged: the final loss {final:.4e} is within 10% of the optimum "
                             f"{optimal_loss:.4e}.")
    if alternation >= ZIGZAG and rough > NOISY:
        return "oscillating", (f"Oscillating: the loss is {ratio} and goes up and down in {alternation:.0%} of the "
                               f"last {window} records: the error along the steepest direction flips sign each "
                               f"update (η·λ_max > 1) instead of decaying; a smaller η would converge faster.")
    if rough > NOISY and rough > 2 * abs(trend):
        return "noise_floor", (f"At a noise floor: the loss has stopped improving and jitters at {ratio} (late "
                               f"roughness {rough:.3f} per record against a trend of {trend:+.3f}). Each minibatch "
                               f"gradient is a noisy estimate of the full one, and at the final η = "
                               f"{_g(log.lr[-1])} the noise keeps the parameters moving around the minimum. A "
                               f"smaller final η (decay) or a larger batch lowers it.")
    total = start - float(np.nanmin(loss))
    late = float(tail[0] - tail[-1])
    numbers["late_share_of_decrease"] = late / total if total > 0 else math.nan
    if optimal_loss is None and total > 0 and late <= LEVELLED * total:
        return "converged", (f"Converged, as far as the log can tell: over the last {window} records the loss fell "
                             f"by {_g(late)}, {late / total:.2%} of its total decrease from {_g(start)} to "
                             f"{_g(final)}, smoothly. (Without the optimum, give optimal_loss to check the gap.)")
    cut = log.lr[-1] < 0.1 * log.lr[0]
    text = (f"Too slow: the loss is {ratio} and still falling ({per_100:+.3g} {unit} per 100 steps at the end)"
            + (f"; the schedule cut η from {_g(log.lr[0])} to {_g(log.lr[-1])}" if cut else "") + ".")
    if optimal_loss is not None and unit == "decades" and per_100 < 0:
        target = max(CONVERGED_WITHIN * optimal_loss, 1e-9 * (start - optimal_loss))
        needed = (math.log10(target) - math.log10(final - optimal_loss)) / per_100 * 100
        numbers["steps_needed_at_measured_rate"] = needed
        text += f" At that rate it would need about {needed:.3g} more steps to come within 10% of the optimum."
    elif per_100 >= 0:
        text += " At that rate it would not improve further; a larger η or a different optimizer may."
    return "too_slow", text


def stability(log: TrainingLog) -> dict:
    """Sharpness against its threshold over the log: ratio r = sharpness/threshold (threshold 2/η unless the log
    gives one), the first step with r > 1, the largest r and the η below which it would have been < 1."""
    if log.sharpness is None:
        return {}
    threshold = log.sharpness_threshold if log.sharpness_threshold is not None else 2.0 / log.lr
    r = log.sharpness / threshold
    seen = np.flatnonzero(np.isfinite(r))
    if not seen.size:
        return {}
    top = int(seen[np.argmax(r[seen])])
    out = {"edge_ratio_max": float(r[top]), "edge_ratio_max_step": float(log.step[top]),
           "edge_ratio_final": float(r[seen[-1]]), "sharpness_final": float(log.sharpness[seen[-1]]),
           "threshold_final": float(threshold[seen[-1]])}
    over = seen[r[seen] > 1]
    if over.size:
        out["crossed_at_step"] = float(log.step[over[0]])
        out["crossed_ratio"] = float(r[over[0]])
        out["crossed_sharpness"] = float(log.sharpness[over[0]])
        out["crossed_threshold"] = float(threshold[over[0]])
        stays = np.flatnonzero(r[seen] <= 1)
        last_ok = seen[stays[-1]] if stays.size else -1
        if r[seen[-1]] > 1:
            out["above_since_step"] = float(log.step[seen[seen > last_ok][0]])
        out["max_stable_lr"] = float(log.lr[top] / r[top])
    return out


def _stability_text(stab: dict, log: TrainingLog) -> str:
    if not stab:
        return ("" if log.sharpness is not None else
                "(The log has no sharpness column, so the bound η < 2/λ_max cannot be checked; "
                "optimlab.torch.StabilityMonitor writes one.)")
    gd = log.sharpness_threshold is None
    if "crossed_at_step" not in stab:
        most = (f"η·λ_max stayed below 2 (at most {_g(2 * stab['edge_ratio_max'])}" if gd else
                f"The sharpness stayed below its threshold (at most ×{_g(stab['edge_ratio_max'])} of it")
        return (f"{most}, at step {stab['edge_ratio_max_step']:g}): it did not cross its stability threshold.")
    if gd:
        text = (f"η·λ_max first exceeded 2 at step {stab['crossed_at_step']:g} (η·λ_max = "
                f"{_g(2 * stab['crossed_ratio'])}) and reached {_g(2 * stab['edge_ratio_max'])} at step "
                f"{stab['edge_ratio_max_step']:g}")
    else:
        text = (f"The sharpness first exceeded its threshold at step {stab['crossed_at_step']:g} "
                f"({_g(stab['crossed_sharpness'])} against {_g(stab['crossed_threshold'])}, ×"
                f"{_g(stab['crossed_ratio'])}) and reached ×{_g(stab['edge_ratio_max'])} its threshold at step "
                f"{stab['edge_ratio_max_step']:g}")
    if "above_since_step" in stab:
        text += f"; it has stayed above since step {stab['above_since_step']:g}"
    rule = "gradient descent is stable only while η·λ_max < 2" if gd else \
        "the update is stable only while the sharpness stays under its threshold, which scales as 1/η"
    return (text + f". {rule[0].upper() + rule[1:]}: lower η below {_g(stab['max_stable_lr'])} (the edge at the "
            f"measured sharpness; half of it leaves a margin).")


def _gradient_growth(log: TrainingLog, i: int) -> str:
    if log.grad_norm is None:
        return ""
    g = log.grad_norm[: i + 1]
    ok = np.flatnonzero(np.isfinite(g) & (g > 0))
    if ok.size < 2:
        return ""
    first, last = ok[0], ok[-1]
    return (f"The gradient norm grew from {_g(g[first])} (step {log.step[first]:g}) to {_g(g[last])} "
            f"(step {log.step[last]:g}). ")
