"""Why did a run converge, stall, zig-zag, crawl or blow up? :func:`explain` classifies each configuration of a
:class:`~optimlab.results.Run` and explains it in the lecture's terms, with the curvature, the stability bound that
applies to its optimizer and batch size, and a recommended range for η (and γ).

The labels:
- ``converged``: the final loss is within 10% of the optimum.
- ``noise_floor``: the loss has stopped improving and jitters above the optimum: minibatch noise (or, for an
  adaptive method, a step at the edge of stability) keeps it there.
- ``oscillating``: the error zig-zags along the steepest direction (or rotates, with momentum) instead of decaying;
  a run that ends above its start without crossing the divergence threshold lands here when its dynamics oscillate.
- ``diverged``: the loss became non-finite or grew past the divergence threshold, or ended above its start.
- ``too_slow``: still improving smoothly, but at the measured rate the budget cannot reach the optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optimlab.analysis import bounds
from optimlab.analysis.curvature import Curvature, curvature, hessian_matrix
from optimlab.analysis.stability import hessian_second_moment, mean_square_max_lr, mean_square_radius
from optimlab.results import Run, jsonable
from optimlab.train import DIVERGENCE_FACTOR

CONVERGED_WITHIN = 0.10  # final loss ≤ 1.1 × the optimum
NOISY = 0.02  # median |Δlog10 gap| per record above which (and above twice the trend) a late curve counts as noisy
HEAVY_BALL = ("momentum",)
ADAPTIVE = ("adagrad", "rmsprop", "adam", "adamw", "adadelta")
MEAN_SQUARE_MAX_DIM = 12  # the second-moment operator is (2P)² square: keep it small


@dataclass
class Diagnosis:
    diagnosis: str
    explanation: str
    curvature: Curvature
    lr_max_stable: float | None
    recommended_lr: list | None
    recommended_momentum: list | None = None
    numbers: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return jsonable({"diagnosis": self.diagnosis, "lambda_max": self.curvature.lambda_max,
                         "lambda_min": self.curvature.lambda_min,
                         "condition_number": self.curvature.condition_number,
                         "curvature_method": self.curvature.method, "lr_max_stable": self.lr_max_stable,
                         "recommended_lr": self.recommended_lr, "recommended_momentum": self.recommended_momentum,
                         "explanation": self.explanation, "numbers": self.numbers, "config": self.config})


def explain(run: Run):
    """A :class:`Diagnosis` per configuration: one for a single run, a list for K configurations."""
    context = _Context(run)
    out = [context.diagnose(k) for k in range(run.num_configs)]
    return out[0] if run.single else out


def _g(x: float) -> str:
    return f"{x:.3g}"


class _Context:
    """What all configurations of a run share: the problem's curvature and the minibatch statistics."""

    def __init__(self, run: Run):
        self.run = run
        problem = run.problem
        self.problem = problem
        self.stochastic = run.batch_size < problem.n_examples
        point = problem.optimum
        if point is None:
            finite = np.isfinite(run.final_params).all(axis=1)
            point = run.final_params[np.argmax(finite)] if finite.any() else run.initial_params[0]
        self.point = np.asarray(point, dtype=float)
        self.curv = curvature(problem, self.point)
        self.H = hessian_matrix(problem, self.point) if problem.dim <= 200 else None
        self.second_moment = None
        if self.stochastic and self.H is not None and problem.dim <= MEAN_SQUARE_MAX_DIM:
            self.second_moment = hessian_second_moment(problem, run.batch_size, self.point)[1]
        per_epoch = (run.curves.shape[1] - 1) // run.epochs
        self.records_per_epoch = per_epoch
        self.updates_per_epoch = math.ceil(problem.n_examples / run.batch_size)

    @staticmethod
    def tolerance(start: float, floor: float) -> float:
        """How close to f* counts as converged: within 10% of f*, or (when f* is 0 or tiny) 1e-9 of the initial
        gap."""
        return max(CONVERGED_WITHIN * floor, 1e-9 * (start - floor))

    # -- the bound that applies ------------------------------------------------------------------------------------
    def limits(self, name: str, hyper: dict, lr: float | None, step: np.ndarray) -> dict:
        lam = self.curv.lambda_max
        out: dict = {}
        if name in ("sgd",) + HEAVY_BALL:
            gamma = hyper.get("momentum", 0.0)
            out["full_batch_max_lr"] = bounds.momentum_max_lr(lam, gamma)
            out["max_lr"] = out["full_batch_max_lr"]
            if self.second_moment is not None:
                out["mean_square_max_lr"] = mean_square_max_lr(self.H, self.second_moment, gamma)
                out["max_lr"] = out["mean_square_max_lr"]
                out["mean_square_growth_per_update"] = mean_square_radius(self.H, self.second_moment, lr, gamma)
        elif name == "nesterov":
            out["full_batch_max_lr"] = out["max_lr"] = bounds.nesterov_max_lr(lam, hyper["momentum"])
        else:  # adaptive: the bound holds for the curvature seen through the per-coordinate steps
            bound = bounds.adaptive_bound(name, hyper)
            sharp = bounds.preconditioned_sharpness(self.H, step) if self.H is not None and np.isfinite(step).all() \
                else math.nan
            out.update({"preconditioned_bound": bound, "preconditioned_curvature": sharp})
            if lr is not None and sharp > 0:
                out["max_lr"] = lr * bound / sharp
        return out

    # -- one configuration -----------------------------------------------------------------------------------------
    def diagnose(self, k: int) -> Diagnosis:
        run, curv = self.run[k], self.curv
        name, hyper = run.optimizer, dict(run.hyperparams[0])
        curve = run.curves[0]
        lrs = run.lr_by_epoch[0]
        has_lr = not np.isnan(lrs).all()
        lr0 = float(lrs[0]) if has_lr else None
        lr_end = float(lrs[-1]) if has_lr else None
        gamma = hyper.get("momentum", 0.0)
        step = run.step_sizes[0]
        limits = self.limits(name, hyper, lr0, step)
        floor = run.optimal_loss
        start = float(curve[0])
        final = float(run.final_losses[0])
        numbers = {"initial_loss": start, "final_loss": final, "optimal_loss": floor, **limits}
        if has_lr:
            numbers.update({"lr": lr0, "lr_final": lr_end, "lr_times_lambda_max": lr0 * curv.lambda_max})
        facts = self._facts(name, hyper, lr0, limits)

        if run.diverged_mask[0]:
            label = "diverged"
            where = run.diverged_examples[0]
            lead = ("Diverged before training began: the initial loss is not finite" if where == 0 else
                    f"Diverged after {where} examples: the loss went from {_g(start)} to {_g(final)}, past "
                    f"{run.provenance.get('divergence_factor', DIVERGENCE_FACTOR):g}× its start, and the run was "
                    f"stopped there")
            text = f"{lead}. {facts}"
        elif final > start:
            osc = name in ("sgd",) + HEAVY_BALL + ("nesterov",) and has_lr and \
                bounds.oscillates(lr0, gamma, curv.lambda_max)
            label = "oscillating" if osc else "diverged"
            text = (f"The loss ended at {_g(final)}, {_g(final / start)}× above its start, without crossing the "
                    f"divergence threshold. " + ("The error rotates or zig-zags instead of decaying. " if osc else "")
                    + facts)
        elif floor is not None and final - floor <= self.tolerance(start, floor):
            label = "converged"
            text = (f"Converged: the final loss {final:.4e} is "
                    + (f"{final / floor:.3f}× the optimum {floor:.4e}. " if floor > 0 else
                       f"within {final - floor:.1e} of the optimum {floor:g}. ") + facts)
        else:
            label, text = self._stalled(run, name, hyper, lr_end, gamma, limits, numbers)
            text = text + " " + facts
        recommended, rec_momentum = self._recommend(run, name, hyper, limits, numbers)
        if recommended:
            text += f" Recommended η: {_g(recommended[0])} to {_g(recommended[1])}"
            text += (f" at γ = {gamma}; or keep η = {_g(lr0)} with γ ≤ {_g(rec_momentum[1])}." if rec_momentum
                     else ".")
            if recommended[0] > recommended[1]:
                text += (" The low end is above the high end: " + (
                    "no η both travels the distance to the optimum at about η per coordinate and update within the "
                    "budget and keeps the end-of-run curvature well inside its bound; decay η, or add epochs."
                    if name in ADAPTIVE else
                    f"no stable η closes the gap within {run.epochs} epochs with this schedule; add epochs or decay "
                    f"later."))
        return Diagnosis(label, text, curv, limits.get("max_lr"), recommended, rec_momentum, numbers,
                         {"optimizer": name, **hyper, "batch_size": run.batch_size})

    def _facts(self, name, hyper, lr, limits) -> str:
        """The bound in the lecture's terms, for this optimizer."""
        c = self.curv
        head = (f"The curvature of the full loss runs from λ_min = {_g(c.lambda_min)} to λ_max = {_g(c.lambda_max)} "
                f"(κ = {_g(c.condition_number)}).")
        if name == "sgd":
            text = (f"{head} Gradient descent is stable only while η·λ_max < 2, i.e. η < "
                    f"{_g(limits['full_batch_max_lr'])}; "
                    f"here η·λ_max = {_g(lr * c.lambda_max)}, so each update multiplies the error along the steepest "
                    f"direction by 1 − ηλ_max = {_g(1 - lr * c.lambda_max)}.")
        elif name == "momentum":
            g = hyper["momentum"]
            text = (f"{head} Momentum γ = {g} makes the effective step η/(1−γ) = {_g(lr / (1 - g))}; heavy ball is "
                    f"stable for η < 2(1+γ)/λ_max = {_g(limits['full_batch_max_lr'])} with the full gradient, and "
                    f"its error decays at best by √γ = {_g(math.sqrt(g))} per update when it oscillates.")
        elif name == "nesterov":
            text = (f"{head} Nesterov momentum γ = {hyper['momentum']} is stable for η < 2(1+γ)/((1+2γ)λ_max) = "
                    f"{_g(limits['max_lr'])} with the full gradient (minibatch noise lowers this).")
        else:
            bound = limits["preconditioned_bound"]
            sharp = limits["preconditioned_curvature"]
            text = (f"{head} {name} divides each coordinate's step by its own gradient scale, so the plain bound "
                    f"η < 2/λ_max does not apply to η itself: it applies to the curvature seen through the per-"
                    f"coordinate steps, which ended at {_g(float(np.min(self.run.step_sizes)))}–"
                    f"{_g(float(np.max(self.run.step_sizes)))}. That preconditioned curvature is {_g(sharp)} against "
                    f"a bound of {_g(bound)}" + (" (Adam's momentum β1 raises it to 2(1+β1)/(1−β1))"
                                                   if name in ("adam", "adamw") else "") + ".")
            return text
        if "mean_square_max_lr" in limits:
            grow = limits["mean_square_growth_per_update"]
            text += (f" With minibatches of {self.run.batch_size} the minibatch curvature varies, and the error's "
                     f"second moment stays bounded only for η < {_g(limits['mean_square_max_lr'])}; at η = {_g(lr)} it "
                     + (f"grows ×{grow:.4g} per update." if grow > 1 else f"shrinks ×{grow:.4g} per update."))
        return text

    def _stalled(self, run, name, hyper, lr_end, gamma, limits, numbers):
        """Not converged, not blown up: noise floor, zig-zag, or too slow, from the last epoch of the curve."""
        curve, floor = run.curves[0], run.optimal_loss
        window = max(self.records_per_epoch, 5)
        tail = curve[-window - 1:]
        gap = tail - floor if floor is not None else tail
        logs = np.log10(np.maximum(gap, 1e-300))
        steps = np.diff(logs)
        rough, trend = float(np.median(np.abs(steps))), float(np.mean(steps))
        span_epochs = (len(tail) - 1) / self.records_per_epoch
        per_epoch = (logs[-1] - logs[0]) / span_epochs  # log10 change of the gap per epoch
        numbers.update({"late_roughness": rough, "log10_gap_change_per_epoch": per_epoch})
        final = float(run.final_losses[0])
        ratio = f"{final / floor:.3g}× the optimum" if floor else f"{final:.4g}"
        if self.stochastic and rough > NOISY and rough > 2 * abs(trend):
            predicted = None
            if floor and name == "sgd":
                predicted = floor + bounds.sgd_noise_floor(lr_end, run.batch_size, float(np.trace(self.H)), floor,
                                                           self.problem.n_examples)
                numbers["predicted_noise_floor"] = predicted
            text = (f"At a noise floor: the loss has stopped improving and jitters at {ratio} (late roughness "
                    f"{rough:.3f} per record against a trend of {trend:+.3f}). Each minibatch gradient is a noisy "
                    f"estimate of the full one, and at the final η the noise keeps the parameters moving around the "
                    f"optimum" + (f"; for SGD the predicted floor is {predicted:.4e} (f* + η·f*·tr H/2B)"
                                  if predicted else "") + ". A smaller final η (decay) or a larger batch lowers it.")
            return "noise_floor", text
        if lr_end is not None and name in ("sgd",) + HEAVY_BALL and not self.stochastic and \
                bounds.oscillates(lr_end, gamma, self.curv.lambda_max) and \
                self._zigzag_bottleneck(lr_end, gamma):
            text = (f"Oscillating: the loss is still {ratio}. At η = {_g(lr_end)} the error along the steepest "
                    f"direction flips sign each update (η·λ_max = {_g(lr_end * self.curv.lambda_max)} > 1) and this "
                    f"zig-zag is the slowest mode: a smaller η would converge faster.")
            return "oscillating", text
        target = self.tolerance(float(curve[0]), floor) if floor is not None else None
        needed = math.inf
        if target is not None and per_epoch < 0:
            needed = (math.log10(target) - math.log10(max(final - floor, 1e-300))) / per_epoch
        close = "within 10% of the optimum" if floor and target == CONVERGED_WITHIN * floor else "to the optimum"
        numbers["epochs_needed_at_measured_rate"] = needed
        lr0 = float(run.lr_by_epoch[0][0]) if lr_end is not None else None
        cut = lr_end is not None and lr_end < 0.1 * lr0
        text = (f"Too slow: after {run.epochs} epochs the loss is {ratio} and still falling smoothly "
                f"({per_epoch:+.3g} decades of the gap per epoch at the end)"
                + (f"; the schedule cut η from {_g(lr0)} to {_g(lr_end)}. " if cut else ". "))
        text += (f"At that rate it would need about {needed:.3g} more epochs to come {close}. "
                 if math.isfinite(needed) else f"At that rate it would never come {close}. ")
        if lr_end is not None and target is not None and name in ("sgd",) + HEAVY_BALL + ("nesterov",):
            eff = lr0 / (1 - gamma)
            rate = bounds.gd_rate(eff, self.curv.lambda_max, self.curv.lambda_min)
            steps = bounds.steps_to_tolerance(rate, final - floor, target)
            numbers["epochs_needed_at_constant_initial_lr"] = steps / self.updates_per_epoch
            text += (f"At η = {_g(lr0)} each update shrinks the error along the slowest direction by the factor "
                     f"{_g(rate)} (η{'/(1−γ)' if gamma else ''}·λ_min = {_g(eff * self.curv.lambda_min)}); kept "
                     f"constant, η = {_g(lr0)} would need about {_g(steps / self.updates_per_epoch)} more epochs.")
        return "too_slow", text

    def _zigzag_bottleneck(self, lr, gamma) -> bool:
        lam_max, lam_min = self.curv.lambda_max, self.curv.lambda_min
        top = np.abs(bounds.momentum_roots(lr, gamma, lam_max)).max()
        bottom = np.abs(bounds.momentum_roots(lr, gamma, lam_min)).max()
        return bool(top >= bottom)

    def _recommend(self, run, name, hyper, limits, numbers):
        """[low, high] for η: high is half the stability limit that applies (a margin from the edge, where noise and
        zig-zag are amplified most); low is the smallest η whose run can close the gap within the budget."""
        max_lr = limits.get("max_lr")
        if max_lr is None or not math.isfinite(max_lr):
            return None, None
        high = 0.5 * max_lr
        start = float(run.curves[0][0])
        floor = run.optimal_loss
        gap0 = start - floor if floor is not None else start
        target = self.tolerance(start, floor) if floor is not None else 1e-6 * start
        lrs = run.lr_by_epoch[0]
        factor_sum = float(np.sum(lrs / lrs[0])) * self.updates_per_epoch  # Σ_t η_t/η over all updates
        gamma = hyper.get("momentum", 0.0)
        if name in ADAPTIVE:
            # While far from the optimum the adaptive step moves each coordinate by about η per update (v̂/√ŝ and
            # g/√s are ≈ ±1): η must be large enough to travel the distance D within the budget, and a tenth of D
            # at most, so that the approach takes at least ten updates instead of overshooting.
            distance = float(np.max(np.abs(run.initial_params[0] - self.point)))
            low = distance / (factor_sum or 1.0)
            high = min(high, distance / 10)
        else:
            low = math.log(max(gap0, target) / target) / (2 * self.curv.lambda_min * factor_sum) * (1 - gamma) \
                if self.curv.lambda_min > 0 else 0.0
        numbers["recommended_lr"] = [low, high]
        rec_momentum = None
        lr0 = float(lrs[0])
        if name in HEAVY_BALL:
            g_max = self._max_stable_gamma(lr0)
            rec_momentum = [0.0, g_max]
            numbers["max_stable_momentum_at_lr"] = g_max
            eta_p, gamma_p, rate_p = bounds.optimal_momentum(self.curv.lambda_max, self.curv.lambda_min)
            numbers["polyak_optimum"] = {"lr": eta_p, "momentum": gamma_p, "rate": rate_p}
        return [low, high], rec_momentum

    def _max_stable_gamma(self, lr: float) -> float:
        """The largest γ (≤ 0.999) for which η stays stable: in mean square with minibatches, else the full-batch
        bound 2(1 + γ)/λ_max ≥ η; found by bisection on γ."""
        def stable(g):
            if self.second_moment is not None:
                return mean_square_radius(self.H, self.second_moment, lr, g) < 1
            return lr < bounds.momentum_max_lr(self.curv.lambda_max, g)
        if not stable(0.0):
            return 0.0
        lo, hi = 0.0, 0.999
        if stable(hi):
            return hi
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if stable(mid) else (lo, mid)
        return lo
