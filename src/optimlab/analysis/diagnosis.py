"""Why did a run converge, stall, zig-zag, crawl or blow up? :func:`explain` labels each configuration of a
:class:`~optimlab.results.Run` by :func:`~optimlab.analysis.criteria.classify_curve` (the one definition of the
labels: converged, noise_floor, oscillating, diverged, too_slow) and explains it in the lecture's terms, with the
curvature and the stability bound that applies to its optimizer and batch size. Its recommended ranges of η (and γ)
are measured (:mod:`optimlab.analysis.advice`): run in the same call with the run's own settings, their middle
verified, the theory's bound beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optimlab import optim
from optimlab.analysis import bounds
from optimlab.analysis.advice import MeasuredRange, default_lr_search, loop_of, measure_range, measurement_steps
from optimlab.analysis.advice_text import describe_range
from optimlab.analysis.criteria import CONVERGED_WITHIN, classify_run, tolerance
from optimlab.analysis.curvature import Curvature, curvature, hessian_matrix
from optimlab.analysis.stability import hessian_second_moment, mean_square_max_lr, mean_square_radius
from optimlab.results import Run, jsonable
from optimlab.train import DIVERGENCE_FACTOR

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
    lr_range: MeasuredRange | None = None  # the measurement behind recommended_lr (None: not measured)
    momentum_range: MeasuredRange | None = None

    def to_dict(self) -> dict:
        return jsonable({"diagnosis": self.diagnosis, "lambda_max": self.curvature.lambda_max,
                         "lambda_min": self.curvature.lambda_min,
                         "condition_number": self.curvature.condition_number,
                         "curvature_method": self.curvature.method, "lr_max_stable": self.lr_max_stable,
                         "recommended_lr": self.recommended_lr, "recommended_momentum": self.recommended_momentum,
                         "explanation": self.explanation, "numbers": self.numbers, "config": self.config,
                         "lr_range": self.lr_range.to_dict() if self.lr_range else None,
                         "momentum_range": self.momentum_range.to_dict() if self.momentum_range else None})


def explain(run: Run, measure: bool = True, seeds: int = 1, progress=None):
    """A :class:`Diagnosis` per configuration: one for a single run, a list for K configurations.

    ``measure``: search η (and γ for momentum) with the run's own settings on ``seeds`` seeds (the run's seed and
    the next ones) and recommend only what was run and reached the goal; False gives the diagnosis alone, with no
    recommendation. ``progress(done, total)`` is called as the measurements advance (after each vectorized run,
    or each epoch of a long one: :func:`~optimlab.analysis.advice.measurement_steps`), and once per configuration:
    total = Σ over configurations of (1 + the measurement steps of its searches)."""
    context = _Context(run)
    searches = 0 if not measure or "lr" not in run.hyperparams[0] else 1 + ("momentum" in run.hyperparams[0])
    per_config = [1 + searches * measurement_steps(run.problem, loop_of(run, k), seeds) if searches else 1
                  for k in range(run.num_configs)]
    total = sum(per_config)
    out = []
    for k in range(run.num_configs):
        base = sum(per_config[:k])
        context.progress = None if progress is None else \
            (lambda done, _, base=base: progress(base + done, total))
        out.append(context.diagnose(k, measure, seeds))
        if progress is not None:
            progress(base + per_config[k], total)
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
        self.measured: dict = {}  # measurements shared between configurations (see _measure)
        self.progress = None  # set by explain for each configuration
        self.updates_per_epoch = math.ceil(problem.n_examples / run.batch_size)

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
    def diagnose(self, k: int, measure: bool = True, seeds: int = 1) -> Diagnosis:
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
        outcome = classify_run(run)
        label = outcome.label
        numbers = {**outcome.numbers, **limits}
        if has_lr:
            numbers.update({"lr": lr0, "lr_final": lr_end, "lr_times_lambda_max": lr0 * curv.lambda_max})
        facts = self._facts(name, hyper, lr0, limits)

        if run.diverged_mask[0] or not math.isfinite(final):
            where = run.diverged_examples[0]
            lead = ("Diverged before training began: the initial loss is not finite" if where == 0 else
                    f"Diverged after {where} examples: the loss went from {_g(start)} to {_g(final)}, past "
                    f"{run.provenance.get('divergence_factor', DIVERGENCE_FACTOR):g}× its start, and the run was "
                    f"stopped there")
            text = f"{lead}. {facts}"
        elif label == "converged":
            text = (f"Converged: the final loss {final:.4e} is "
                    + (f"{final / floor:.3f}× the optimum {floor:.4e}. " if floor is not None and floor > 0 else
                       f"within {final - floor:.1e} of the optimum {floor:g}. " if floor is not None else  # rule 5:
                       f"levelled off: its last epoch moved by {numbers['late_share_of_decrease']:.2%} of its total "
                       f"decrease (no optimum is known to measure the gap). ") + facts)
        elif final >= start:
            osc = name in ("sgd",) + HEAVY_BALL + ("nesterov",) and has_lr and \
                bounds.oscillates(lr0, gamma, curv.lambda_max)
            text = (f"The loss ended at {_g(final)}, {_g(final / start)}× its start, without crossing the "
                    f"divergence threshold" + (", still rising. " if label == "diverged" else ", going nowhere. ")
                    + ("The error rotates or zig-zags instead of decaying. " if osc else "") + facts)
        else:
            text = self._stalled(run, label, name, lr_end, gamma, numbers) + " " + facts
        lr_range = momentum_range = None
        if measure and has_lr:
            text, lr_range, momentum_range = self._measure(run, k, name, hyper, limits, seeds, text)
        recommended = [lr_range.low, lr_range.high] if lr_range is not None and lr_range.found else None
        rec_momentum = [momentum_range.low, momentum_range.high] if momentum_range is not None and \
            momentum_range.found else None
        if name in HEAVY_BALL and has_lr:
            numbers["max_stable_momentum_at_lr"] = self._max_stable_gamma(lr0)
            if curv.lambda_min > 0:
                eta_p, gamma_p, rate_p = bounds.optimal_momentum(curv.lambda_max, curv.lambda_min)
                numbers["polyak_optimum"] = {"lr": eta_p, "momentum": gamma_p, "rate": rate_p}
        max_lr = limits.get("max_lr")
        max_lr = max_lr if max_lr is not None and math.isfinite(max_lr) else None  # x⁴: no curvature, no bound
        return Diagnosis(label, text, curv, max_lr, recommended, rec_momentum, numbers,
                         {"optimizer": name, **hyper, "batch_size": run.batch_size}, lr_range, momentum_range)

    def _measure(self, run, k, name, hyper, limits, seeds, text):
        """The measured ranges of η (at the run's γ) and, for momentum, of γ (at the run's η), as sentences."""
        loop = loop_of(self.run, k)
        fixed = {key: v for key, v in hyper.items() if key in optim.defaults(name) and key != "lr"}
        start = run.initial_params[0]
        search = default_lr_search(self.problem, name, start, self.curv.lambda_max)
        # configurations that differ only in η share one measurement of the η range (and K that differ only in γ,
        # one of γ): the key holds everything else the measurement depends on
        key = ("lr", repr(sorted(fixed.items())), repr({k_: v for k_, v in loop.items() if k_ != "init"}),
               np.asarray(loop.get("init", ())).tobytes(), start.tobytes(), limits.get("max_lr"), seeds)
        if key not in self.measured:
            self.measured[key] = measure_range(self.problem, name, fixed, "lr", search, loop=loop, seed=run.seed,
                                               seeds=seeds, bound=limits.get("max_lr"), progress=self.progress)
        lr_range = self.measured[key]
        text += " " + describe_range(lr_range, "η", loop["epochs"])
        momentum_range = None
        if "momentum" in hyper:
            others = {key: v for key, v in fixed.items() if key != "momentum"}
            key = ("momentum", repr(sorted(others.items())), hyper["lr"]) + key[2:]
            if key not in self.measured:
                steps = measurement_steps(self.problem, loop, seeds)
                self.measured[key] = measure_range(
                    self.problem, name, {**others, "lr": hyper["lr"]}, "momentum", (0.0, 0.999), loop=loop,
                    seed=run.seed, seeds=seeds,
                    progress=None if self.progress is None else lambda d, t: self.progress(steps + d, None))
            momentum_range = self.measured[key]
            text += " " + describe_range(momentum_range, f"γ at η = {_g(hyper['lr'])}", loop["epochs"])
        return text, lr_range, momentum_range

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

    def _stalled(self, run, label, name, lr_end, gamma, numbers) -> str:
        """The words for a run below its start that did not converge: noise floor, jitter, or too slow (the label
        comes from :func:`~optimlab.analysis.criteria.classify_curve`; this adds the why)."""
        floor = run.optimal_loss
        rough, trend = numbers["late_roughness"], numbers["late_trend_per_record"]
        per_epoch = numbers["log10_gap_change_per_epoch"]
        final = float(run.final_losses[0])
        ratio = f"{final / floor:.3g}× the optimum" if floor else f"{final:.4g}"
        if label == "noise_floor":
            predicted = None
            if floor and name == "sgd" and self.H is not None:
                predicted = floor + bounds.sgd_noise_floor(lr_end, run.batch_size, float(np.trace(self.H)), floor,
                                                           self.problem.n_examples)
                numbers["predicted_noise_floor"] = predicted
            return (f"At a noise floor: the loss has stopped improving and jitters at {ratio} (late roughness "
                    f"{rough:.3f} per record against a trend of {trend:+.3f}). Each minibatch gradient is a noisy "
                    f"estimate of the full one, and at the final η the noise keeps the parameters moving around the "
                    f"optimum" + (f"; for SGD the predicted floor is {predicted:.4e} (f* + η·f*·tr H/2B)"
                                  if predicted else "") + ". A smaller final η (decay) or a larger batch lowers it.")
        if label == "oscillating":
            return (f"Oscillating: the loss is still {ratio} and its last epoch jumps up and down (roughness "
                    f"{rough:.3f} per record against a trend of {trend:+.3f}) with the full gradient, where no "
                    f"minibatch noise can cause it: the steps overshoot.")
        target = tolerance(float(run.curves[0][0]), floor) if floor is not None else None
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
        if lr_end is not None and name in ("sgd",) + HEAVY_BALL and bounds.oscillates(lr_end, gamma,
                                                                                      self.curv.lambda_max) \
                and self._zigzag_bottleneck(lr_end, gamma):
            text += (f"The slowest mode is a zig-zag: at η = {_g(lr_end)} the error along the steepest direction "
                     f"flips sign each update (η·λ_max = {_g(lr_end * self.curv.lambda_max)} > 1) and shrinks less "
                     f"than along the flattest one: a smaller η would converge faster. ")
        if lr_end is not None and target is not None and name in ("sgd",) + HEAVY_BALL + ("nesterov",) \
                and self.curv.lambda_min > 0:
            eff = lr0 / (1 - gamma)
            rate = bounds.gd_rate(eff, self.curv.lambda_max, self.curv.lambda_min)
            steps = bounds.steps_to_tolerance(rate, final - floor, target)
            numbers["epochs_needed_at_constant_initial_lr"] = steps / self.updates_per_epoch
            text += (f"At η = {_g(lr0)} each update shrinks the error along the slowest direction by the factor "
                     f"{_g(rate)} (η{'/(1−γ)' if gamma else ''}·λ_min = {_g(eff * self.curv.lambda_min)}); kept "
                     f"constant, η = {_g(lr0)} would need about {_g(steps / self.updates_per_epoch)} more epochs.")
        return text.rstrip()

    def _zigzag_bottleneck(self, lr, gamma) -> bool:
        lam_max, lam_min = self.curv.lambda_max, self.curv.lambda_min
        top = np.abs(bounds.momentum_roots(lr, gamma, lam_max)).max()
        bottom = np.abs(bounds.momentum_roots(lr, gamma, lam_min)).max()
        return bool(top >= bottom)

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

