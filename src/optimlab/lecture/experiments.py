"""The lecture's twelve training experiments as data (and one beyond them), each with its claim as a predicate over
the runs.

Values are the lecture's; where it shows no call, the 2017 tutorial's (``data/original_runs.json`` has them all).
``original`` names the record of ``original_runs.json`` that each experiment replays with ``--original-data``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from optimlab import optim, schedules
from optimlab.lecture.verdicts import Verdict, converges, examples_to_reach, roughness
from optimlab.results import Run
from optimlab.train import train


@dataclass(frozen=True)
class Experiment:
    name: str
    section: str
    optimizer: str
    hyperparams: dict
    batch_size: int
    epochs: int
    decay: bool  # the lecture's ×0.1 per epoch after epoch 2 (SGD and momentum); the adaptive methods have none
    claim: str
    check: Callable[[Run, dict], Verdict]  # (this run, the other runs by name) -> Verdict
    original: str | None  # key in original_runs.json (None: an experiment beyond the lecture's calls)
    period: int | None = None
    compare: tuple[str, ...] = field(default=())  # experiments the check compares with
    note: str = ""  # what the outcome means, in the lecture's terms

    def schedule(self) -> schedules.Schedule:
        return schedules.make("lecture", after=2, factor=0.1) if self.decay else schedules.make("constant")

    def run(self, problem, seed: int = 1, init=None, order=None) -> Run:
        """Train this experiment; ``init`` and ``order`` replay given inputs through the same code path."""
        return train(problem, optim.make(self.optimizer, **self.hyperparams), batch_size=self.batch_size,
                     epochs=self.epochs, period=self.period, schedule=self.schedule(), seed=seed, init=init,
                     order=order)


def _converges(tolerance):
    return lambda run, others: converges(run, tolerance)


def _overshoots(run, others):
    if not run.diverged:
        return Verdict(False, f"did not diverge: final loss {run.final_loss:.4e}")
    return Verdict(True, f"the loss grew from {run.losses[0]:.3g} to {run.final_loss:.3g} (past 10⁴ times its "
                         f"start, on its way to inf/NaN) after {run.diverged_at} examples; the run was stopped there",
                   {"diverged_at": run.diverged_at, "loss_at_divergence": run.final_loss})


def _undershoots(run, others):
    # "Barely fallen": after two epochs still above 20% of the start (seeds 1-20: 42-46%), where η = 0.2 is at the
    # optimum within the first epoch.
    after_two = float(run.epoch_losses[1])
    share = after_two / run.losses[0]
    ok = not run.diverged and share > 0.2
    return Verdict(ok, f"after two epochs the loss is {after_two:.3g}: {share:.0%} of its start and "
                       f"{after_two / run.optimal_loss:.2g}× the optimum", {"share_of_start_after_two_epochs": share})


def _momentum_faster(run, others):
    sgd = others["minibatch"]
    base = converges(run, 0.01)
    # Momentum's first update equals SGD's; from the second on v adds γ·v: compare after the third minibatch.
    early, early_sgd = float(run.losses[3]), float(sgd.losses[3])
    level = 2 * run.optimal_loss
    reach, reach_sgd = examples_to_reach(run, level), examples_to_reach(sgd, level)
    ok = base.passed and early < early_sgd
    return Verdict(ok, f"{base.measured}. After 3 updates its loss is {early:.3g} against plain SGD's "
                       f"{early_sgd:.3g} at the same η; it first comes within 2× the optimum after {reach} examples, "
                       f"plain SGD after {reach_sgd}",
                   {**base.numbers, "loss_after_3_updates": early, "sgd_loss_after_3_updates": early_sgd,
                    "examples_to_2x_optimum": reach, "sgd_examples_to_2x_optimum": reach_sgd})


def _rescues_crawl(run, others):
    # seeds 1-20: momentum ends 1e4 to 3e4 times below plain SGD at η = 0.002; claimed: at least 10 times
    sgd = others["lr-too-small"]
    ratio = sgd.final_loss / run.final_loss
    ok = not run.diverged and ratio > 10
    return Verdict(ok, f"final loss {run.final_loss:.3g} against plain SGD's {sgd.final_loss:.3g} at the same η: "
                       f"{ratio:.3g}× lower", {"sgd_over_momentum_final_loss": ratio})


def _flies_off(run, others):
    # Seeds 1-20: the run ends 8 to 1700 times above its start; "far above" is set at 5 times.
    end = run.final_loss / run.losses[0]
    peak = np.nanmax(run.losses) / run.losses[0]
    ok = run.diverged or end > 5
    return Verdict(ok, f"the loss ends at {run.final_loss:.3g}, {end:.3g}× its start {run.losses[0]:.3g} "
                       f"(peak {peak:.3g}×)" + (f"; diverged after {run.diverged_at} examples" if run.diverged else ""),
                   {"end_over_start": end, "peak_over_start": peak})


def _noisy(run, others):
    # Median |Δlog10 loss| over the last epoch: 0.18-0.25 for γ = 0.9 on seeds 1-20, 0.002-0.011 for γ = 0.999.
    base = converges(run, 0.1)
    r = roughness(run)
    return Verdict(base.passed and r > 0.05, f"{base.measured}; late-curve roughness {r:.3f} (median |Δlog₁₀ loss| "
                                             f"per record over the last epoch; noisy above 0.05)",
                   {**base.numbers, "roughness": r})


def _smoother(run, others):
    base = converges(run, 0.01)
    r, r_other = roughness(run), roughness(others["rmsprop-0.9"])
    return Verdict(base.passed and r < r_other / 5, f"{base.measured}; late-curve roughness {r:.4f} against "
                                                    f"{r_other:.3f} for γ = 0.9 ({r_other / r:.0f}× smoother)",
                   {**base.numbers, "roughness": r, "roughness_gamma_0.9": r_other})


SECTION_SGD = "§5–6 Gradient descent, SGD and minibatch SGD"
SECTION_LR = "§6.2 Tuning the learning rate"
SECTION_MOMENTUM = "§7 Momentum"

EXPERIMENTS = [
    Experiment("sgd-batch1", SECTION_SGD, "sgd", {"lr": 0.1}, 1, 5, True,
               "batch size 1 is SGD: the loss falls fast in the first two epochs, settles once η decays, and w, b "
               "end near the truth", _converges(0.01), "post__sgd_bs1_lr0.1", period=10,
               note="Each update uses one example's gradient, an unbiased but noisy estimate of the full gradient: "
                    "the curve jitters until η decays after epoch 2."),
    Experiment("gd-full-batch", SECTION_SGD, "sgd", {"lr": 0.999}, 1000, 5, True,
               "batch size 1000 is full-batch gradient descent: it converges, fast in two epochs, slowly after η "
               "decays", _converges(0.1), "post__gd_bs1000_lr0.999", period=1000,
               note="One exact-gradient step per epoch. The Hessian of this problem is close to the identity, so "
                    "η ≈ 1 is nearly Newton's step: two steps reach the neighbourhood of the optimum, and the "
                    "decayed η of epochs 3-5 moves it little further."),
    Experiment("minibatch", SECTION_SGD, "sgd", {"lr": 0.2}, 10, 5, True,
               "minibatch SGD (batch 10) converges", _converges(0.01), "post__minibatch_bs10_lr0.2",
               note="Averaging 10 examples cuts the gradient noise tenfold in variance at a tenth of the updates."),
    Experiment("lr-too-large", SECTION_LR, "sgd", {"lr": 3.0}, 10, 5, True,
               "η too large overshoots: the loss grows to inf/NaN", _overshoots, "post__minibatch_bs10_lr3",
               note="The second-order Taylor term η²·g·H·g/2 outweighs the first-order decrease η·|g|²: each step "
                    "lands further out on the other side of the valley."),
    Experiment("lr-too-small", SECTION_LR, "sgd", {"lr": 0.002}, 10, 5, True,
               "η too small undershoots: after two epochs the loss has barely fallen", _undershoots,
               "post__minibatch_bs10_lr0.002",
               note="Each step shrinks the distance to the optimum by only ηλ ≈ 0.2%; the decay after epoch 2 then "
                    "freezes the run far from the optimum."),
    Experiment("momentum-0.9", SECTION_MOMENTUM, "momentum", {"lr": 0.2, "momentum": 0.9}, 10, 5, True,
               "momentum γ = 0.9 converges, faster than plain SGD at the same η: its effective step is η/(1−γ) = 10η",
               _momentum_faster, "post__momentum_gluon_mom0.9", compare=("minibatch",),
               note="The first updates descend faster than plain SGD's, as the lecture says. On this well-conditioned "
                    "problem (curvature ≈ 1) the effective step 10η = 2 is, however, already at the edge of "
                    "stability, so the velocity overshoots and oscillates (|z| = √γ ≈ 0.95 per update against "
                    "SGD's 0.8): plain SGD at η = 0.2 reaches the floor first. Momentum pays where η is too small "
                    "or the valley is long and flat (the contour figure above)."),
    Experiment("momentum-small-lr", SECTION_MOMENTUM, "momentum", {"lr": 0.002, "momentum": 0.9}, 10, 5, True,
               "where η is too small (the undershoot above), momentum's effective step η/(1−γ) = 10η speeds the crawl "
               "up (beyond the lecture: its argument, measured)", _rescues_crawl, None, compare=("lr-too-small",),
               note="The lecture's 'momentum accelerates an undershoot': the same η = 0.002 that leaves plain SGD far "
                    "from the optimum moves ten times as far per update once v has built up."),
    Experiment("momentum-0.99", SECTION_MOMENTUM, "momentum", {"lr": 0.2, "momentum": 0.99}, 10, 5, True,
               "γ = 0.99 makes the effective step η/(1−γ) = 100η: training flies off and ends far above its start",
               _flies_off, "post__momentum_gluon_mom0.99",
               note="With γ = 0.99 the velocity remembers about 100 minibatch gradients; their noise accumulates and "
                    "the oscillation decays only by √γ ≈ 0.995 per update, so the loss climbs instead of falling."),
    Experiment("adagrad", "§8 Adagrad", "adagrad", {"lr": 0.9}, 10, 3, False,
               "Adagrad (η = 0.9) converges with a per-coordinate step η/√(s+ε) that only shrinks", _converges(0.01),
               "post__adagrad_lr0.9",
               note="s sums every squared gradient, so the step decays for ever: fine here, a handicap when the "
                    "early gradients are large and the optimum still far."),
    Experiment("rmsprop-0.9", "§9 RMSProp", "rmsprop", {"lr": 0.03, "gamma": 0.9}, 10, 3, False,
               "RMSProp with γ = 0.9 converges, with a noisy late curve", _noisy, "post__rmsprop_gamma0.9",
               note="A leaky average of about 10 squared gradients: as the gradients shrink near the optimum the "
                    "step η/√s grows back to ≈ 2, at the stability bound 2/λ_max ≈ 1.9, and the loss jitters."),
    Experiment("rmsprop-0.999", "§9 RMSProp", "rmsprop", {"lr": 0.03, "gamma": 0.999}, 10, 3, False,
               "with γ = 0.999 the late curve is smoother than with γ = 0.9", _smoother, "post__rmsprop_gamma0.999",
               compare=("rmsprop-0.9",),
               note="Averaging about 1000 squared gradients keeps the memory of the larger early gradients, so "
                    "the step stays small late in training."),
    Experiment("adam", "§10 Adam", "adam", {"lr": 0.1}, 10, 3, False,
               "Adam (η = 0.1) converges", _converges(0.01), "post__adam_lr0.1",
               note="Momentum on the direction, RMSProp on the scale, and bias correction so that the first steps "
                    "are not shrunk by the zero start of v and s."),
    Experiment("adadelta", "§11 Adadelta", "adadelta", {"rho": 0.999}, 10, 3, False,
               "Adadelta (ρ = 0.999) converges without any learning rate", _converges(0.1),
               "post__adadelta_rho0.999",
               note="The step √(Δx+ε)/√(s+ε) carries its own units: it starts at √ε/|g| and grows with the RMS of "
                    "the updates it has made."),
]

BY_NAME = {e.name: e for e in EXPERIMENTS}
