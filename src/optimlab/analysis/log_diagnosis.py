"""Diagnose a training log from any framework (:mod:`optimlab.analysis.logs`) with the classes and criteria of
optimlab's own runs: :func:`optimlab.analysis.criteria.classify_curve` decides the label (converged, noise_floor,
oscillating, diverged, too_slow; its module docstring is the one definition), this module explains it.

How a log meets the criteria:

- positions: a log has steps, not epochs, so it is measured in tenths of its span, 10·(step − first)/(last − first):
  the criteria's late window (the last unit of position, at least ``MIN_WINDOW`` steps between records) is the last
  tenth of the log;
- divergence: the trainer's verdict is read off the log as :mod:`optimlab.train` makes it, a non-finite loss or one
  above ``divergence_factor`` × the first;
- ``stochastic``: True unless the caller states the log is full-batch training (a log does not say). A late curve
  that jitters is then a noise floor; one that also alternates up and down in at least 90% of its records
  (:data:`ZIGZAG`, where noise would alternate about half of the time) is reported as such, so that a full-batch
  run can be re-read with ``stochastic=False``, which labels it oscillating;
- without ``optimal_loss``, converged means the curve levelled off (the criteria's rule 5).

With sharpness and lr in the log, η·λ_max is checked against 2 (gradient descent), or the sharpness against its
``sharpness_threshold`` column where the log has one (the monitor writes 2(1+γ)/η, 38/η for Adam, ...): the first
crossing, the largest excess and the η below which the measured sharpness would have been stable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optimlab.analysis.criteria import classify_curve, late_window, tolerance
from optimlab.analysis.logs import TrainingLog
from optimlab.results import jsonable
from optimlab.train import DIVERGENCE_FACTOR

ZIGZAG = 0.9  # fraction of sign alternations between successive changes that marks a zig-zag (explanation only)


@dataclass
class LogDiagnosis:
    diagnosis: str
    explanation: str
    numbers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return jsonable({"diagnosis": self.diagnosis, "explanation": self.explanation, "numbers": self.numbers})


def _g(x: float) -> str:
    return f"{x:.3g}"


def positions(log: TrainingLog) -> np.ndarray:
    """Where each record sits, in tenths of the log's span of steps (see the module docstring)."""
    return 10.0 * (log.step - log.step[0]) / (log.step[-1] - log.step[0])


def diagnose_log(log: TrainingLog, optimal_loss: float | None = None,
                 divergence_factor: float = DIVERGENCE_FACTOR, *, stochastic: bool = True) -> LogDiagnosis:
    """The label of :func:`~optimlab.analysis.criteria.classify_curve` for the log's loss curve, with the why.

    ``stochastic``: minibatch training (the default: a log does not say); False for full-batch training, where a
    jittering loss is an oscillation, not noise."""
    loss, step, lr = log.loss, log.step, log.lr
    start = float(loss[0])
    with np.errstate(invalid="ignore"):
        blown = np.flatnonzero(~np.isfinite(loss) | (loss > divergence_factor * abs(start)))
    outcome = classify_curve(loss, positions(log), start, optimal_loss, bool(blown.size), stochastic=stochastic)
    label = outcome.label
    numbers = {"records": len(log), "first_step": float(step[0]), "last_step": float(step[-1]),
               "lr": float(lr[0]), "lr_final": float(lr[-1]), **outcome.numbers}
    per_tenth = numbers.pop("log10_gap_change_per_epoch", None)
    if per_tenth is not None:  # log10 change of the gap per tenth of the log, as per 100 steps
        numbers["late_change_per_100_steps"] = per_tenth / ((step[-1] - step[0]) / 10) * 100
    stab = stability(log)
    numbers.update(stab)
    facts = _stability_text(stab, log)
    final = numbers["final_loss"]
    if not math.isfinite(start):
        return LogDiagnosis(label, f"Diverged before training began: the first loss is {start}. {facts}", numbers)
    if blown.size:
        i = int(blown[0])
        numbers["diverged_at_step"] = float(step[i])
        what = (f"the loss became {loss[i]} at step {step[i]:g}" if not np.isfinite(loss[i]) else
                f"the loss went from {_g(start)} to {_g(loss[i])} at step {step[i]:g}, past "
                f"{divergence_factor:g}× its start")
        text = f"Diverged: {what} (η = {_g(lr[i])}). " + _gradient_growth(log, i) + facts
        return LogDiagnosis(label, text.strip(), numbers)
    if final >= start:
        osc = stab.get("edge_ratio_final", 0.0) > 0.5  # η·λ_max > 1 of 2: the error flips sign each update
        text = (f"The loss ended at {_g(final)}, {_g(final / start)}× its start, without crossing the divergence "
                f"threshold" + (", still rising. " if label == "diverged" else ", going nowhere. ")
                + ("The error zig-zags instead of decaying. " if osc else "") + facts)
        return LogDiagnosis(label, text.strip(), numbers)
    text = _late(log, label, optimal_loss, numbers)
    return LogDiagnosis(label, (text + " " + facts).strip(), numbers)


def _late(log, label, optimal_loss, numbers) -> str:
    """The words for a log that ended below its start: converged, noise floor, oscillating or too slow (the label
    comes from :func:`~optimlab.analysis.criteria.classify_curve`; this adds the why)."""
    loss = log.loss
    start, final = float(loss[0]), numbers["final_loss"]
    window = late_window(positions(log))
    tail = loss[window]
    records = len(tail)
    changes = np.diff(tail)
    signs = np.sign(changes[changes != 0])
    alternation = float(np.mean(signs[1:] != signs[:-1])) if signs.size > 2 else 0.0
    numbers["late_alternation"] = alternation
    rough, trend = numbers["late_roughness"], numbers["late_trend_per_record"]
    ratio = f"{final / optimal_loss:.3g}× the optimum" if optimal_loss else f"{final:.4g}"
    zigzag = (f"goes up and down in {alternation:.0%} of the last {records} records: the error along the steepest "
              f"direction flips sign each update (η·λ_max > 1) instead of decaying; a smaller η would converge "
              f"faster.")
    if label == "converged" and optimal_loss is not None:
        return f"Converged: the final loss {final:.4e} is within 10% of the optimum {optimal_loss:.4e}."
    if label == "converged":
        late, share = float(tail[0] - tail[-1]), numbers["late_share_of_decrease"]
        return (f"Converged, as far as the log can tell: over the last {records} records the loss fell by "
                f"{_g(late)}, {share:.2%} of its total decrease from {_g(start)} to {_g(final)}, smoothly. "
                f"(Without the optimum, give optimal_loss to check the gap.)")
    if label == "oscillating":
        return (f"Oscillating: the loss is {ratio} and its last tenth jumps up and down (roughness {rough:.3f} per "
                f"record against a trend of {trend:+.3f}) with the full gradient, where no minibatch noise can cause "
                f"it: the steps overshoot" + (f"; it {zigzag}" if alternation >= ZIGZAG else "."))
    if label == "noise_floor":
        text = (f"At a noise floor: the loss has stopped improving and jitters at {ratio} (late roughness "
                f"{rough:.3f} per record against a trend of {trend:+.3f}). Each minibatch gradient is a noisy "
                f"estimate of the full one, and at the final η = {_g(log.lr[-1])} the noise keeps the parameters "
                f"moving around the minimum. A smaller final η (decay) or a larger batch lowers it.")
        if alternation >= ZIGZAG:
            text += (f" Its changes alternate in sign in {alternation:.0%} of the last {records} records, where "
                     f"noise would alternate about half of the time: if this was full-batch training, read it with "
                     f"stochastic=False; then it is oscillating: the loss {zigzag}")
        return text
    return _too_slow(log, optimal_loss, numbers, tail, ratio)


def _too_slow(log, optimal_loss, numbers, tail, ratio) -> str:
    loss, start, final = log.loss, float(log.loss[0]), numbers["final_loss"]
    gap = tail - optimal_loss if optimal_loss is not None else tail
    per_100, unit = numbers["late_change_per_100_steps"], "decades"
    if not (gap > 0).all():  # a loss at or below zero has no logarithm: the rate is read as a share of the decrease
        steps = log.step[-len(tail):]
        per_100 = float(tail[-1] - tail[0]) / max(start - float(np.nanmin(loss)), 1e-300) / \
            (steps[-1] - steps[0]) * 100
        unit = "of the total decrease"
        numbers["late_change_per_100_steps"] = per_100
    cut = log.lr[-1] < 0.1 * log.lr[0]
    text = (f"Too slow: the loss is {ratio} and still falling ({per_100:+.3g} {unit} per 100 steps at the end)"
            + (f"; the schedule cut η from {_g(log.lr[0])} to {_g(log.lr[-1])}" if cut else "") + ".")
    if optimal_loss is not None and unit == "decades" and per_100 < 0:
        target = tolerance(start, optimal_loss)
        needed = (math.log10(target) - math.log10(final - optimal_loss)) / per_100 * 100
        numbers["steps_needed_at_measured_rate"] = needed
        text += f" At that rate it would need about {needed:.3g} more steps to come within 10% of the optimum."
    elif per_100 >= 0:
        text += " At that rate it would not improve further; a larger η or a different optimizer may."
    return text


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
