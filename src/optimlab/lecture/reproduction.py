"""Every experiment and figure of the lecture, in its order, each with its claim checked: :func:`reproduce`
returns a :class:`Report` (data); :mod:`optimlab.lecture.report` writes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from optimlab import checks, problems
from optimlab.analysis.diagnosis import Diagnosis, explain
from optimlab.lecture import figures, original, theory
from optimlab.lecture.experiments import BY_NAME, EXPERIMENTS, Experiment
from optimlab.lecture.verdicts import Verdict
from optimlab.provenance import versions
from optimlab.results import Run


@dataclass(frozen=True)
class Study:
    """A figure of the lecture that is not a training run of its own: computed by ``compute`` and drawn by ``draw``."""

    name: str
    section: str
    claim: str
    compute: Callable  # (problem, seed) -> (Verdict, data)
    draw: Callable  # (data, problem) -> Figure
    note: str = ""


STUDIES = {
    "taylor-x2": Study(
        "taylor-x2", "§3–4 The Taylor argument and the learning rate",
        "a step decreases f only while the second-order Taylor term stays small: on x², η < 2/f'' = 1; a small η "
        "undershoots (crawls), a large one zig-zags, and past the bound it diverges",
        lambda problem, seed: theory.taylor(), lambda data, problem: figures.taylor(data),
        "f(x − ηf'(x)) = f(x) − η f'(x)² + ½η² f'(x)² f''(x): the step helps while ½η f'' < 1."),
    "quartic-start": Study(
        "quartic-start", "§3–4 The Taylor argument and the learning rate",
        "the initial value matters: where the curvature grows with |x| (x⁴), the same η converges from a small start "
        "and diverges from a large one",
        lambda problem, seed: theory.quartic(), lambda data, problem: figures.quartic(data),
        "Gradient descent maps x to x(1 − 4ηx²): |x| shrinks iff 4ηx² < 2, so the boundary is |x₀| = 1/√(2η). "
        "Between the local Taylor bound (η·f''(x₀) < 2) and that boundary a run overshoots at first, lands where "
        "the curvature is smaller, and still converges."),
    "momentum-ravine": Study(
        "momentum-ravine", "§7 Momentum",
        "on a valley that is steep one way and flat the other, gradient descent is either too cautious on the flat "
        "axis or zig-zags off the steep one; momentum gets through",
        lambda problem, seed: theory.ravine(), lambda data, problem: figures.ravine(data),
        "The steep axis sets the bound η < 2/λ_max; the flat one then moves by only ηλ_min per step. Heavy-ball "
        "momentum is stable up to η < 2(1+γ)/λ_max and, with complex roots, contracts every axis at √γ."),
    "momentum-ema": Study(
        "momentum-ema", "§7 Momentum",
        "momentum is an exponential moving average: with γ = 0.95, t = 20 the weights are (1−γ)γ^(t−i), and the "
        "step η g is multiplied by 1/(1−γ)",
        lambda problem, seed: theory.ema(), lambda data, problem: figures.ema(data),
        "v := γv + ηg = γv + (1−γ)·ηg/(1−γ): an average of ηg/(1−γ) over about 1/(1−γ) recent steps."),
    "adaptive-steps": Study(
        "adaptive-steps", "§8–11 Adaptive steps",
        "Adagrad's per-coordinate step η/√(s+ε) decays for ever; RMSProp's leaky average lets it grow back; Adam's "
        "leaks slowly",
        lambda problem, seed: theory.adaptive_steps(problem, seed),
        lambda data, problem: figures.adaptive_steps(data, 2 / np.linalg.eigvalsh(problem.hessian()).max()),
        "A per-coordinate step above 2/λ_max is beyond the stability bound of plain gradient descent: that is why "
        "RMSProp with γ = 0.9 turns noisy late in training."),
    "comparison": Study(
        "comparison", "Every optimizer side by side",
        "with the lecture's settings every optimizer converges on the lecture's problem; they differ in speed and "
        "noise",
        lambda problem, seed: theory.comparison(problem, seed), lambda data, problem: figures.comparison(data),
        "AdamW's decoupled weight decay (λ = 0.01) pulls w and b towards 0, so it settles above the least-squares "
        "optimum: regularisation, not a failure to converge."),
}

# The lecture's order: its sections, and within them the runs and figures as they appear.
ORDER = ["taylor-x2", "quartic-start", "sgd-batch1", "gd-full-batch", "minibatch", "lr-too-large", "lr-too-small",
         "momentum-ravine", "momentum-ema", "momentum-0.9", "momentum-small-lr", "momentum-0.99", "adagrad",
         "rmsprop-0.9", "rmsprop-0.999", "adam", "adadelta", "adaptive-steps", "comparison"]
assert set(ORDER) == set(STUDIES) | set(BY_NAME)

SECTION_SUMMARIES = {
    "§3–4 The Taylor argument and the learning rate":
        "f(x − ηf') ≈ f(x) − η f'² holds only while the second-order term is small: a learning rate that is too "
        "large (for the curvature, or for where the run starts) makes the loss grow; one too small makes it crawl.",
    "§5–6 Gradient descent, SGD and minibatch SGD":
        "A minibatch gradient is an unbiased estimate of the full gradient. Batch 1 is SGD, batch n is gradient "
        "descent, and the lecture's runs decay η by 10× per epoch after epoch 2.",
    "§6.2 Tuning the learning rate": "Too large: NaN. Too small: after two epochs the loss has barely moved.",
    "§7 Momentum": "v := γv + ηg; x := x − v. An exponential moving average of the gradient with effective step "
                   "η/(1−γ): it speeds up a crawl, and with γ too close to 1 it flies off.",
    "§8 Adagrad": "s := s + g⊙g; x := x − η g/√(s+ε): a step per coordinate, shrinking as gradients accumulate.",
    "§9 RMSProp": "s := γs + (1−γ) g⊙g: Adagrad with a leaky average, so the step no longer decays for ever.",
    "§10 Adam": "Momentum and RMSProp together, with bias correction: x := x − η v̂/(√ŝ + ε).",
    "§11 Adadelta": "No learning rate: the step is √(Δx+ε)/√(s+ε) times g, the RMS of past updates over the RMS of "
                    "gradients.",
    "§8–11 Adaptive steps": "What the adaptive methods actually do with η, coordinate by coordinate.",
    "Every optimizer side by side": "All eight optimizers of optimlab on the lecture's problem.",
}


@dataclass
class Entry:
    """One experiment or figure of the report: its claim, the verdict, its run (experiments only) and figure."""

    name: str
    section: str
    claim: str
    verdict: Verdict
    note: str
    figure: object  # matplotlib Figure
    run: Run | None = None
    diagnosis: Diagnosis | None = None  # optimlab explain's reading of the run
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.verdict.passed


@dataclass
class Report:
    seed: int
    entries: list[Entry]
    replays: list = field(default_factory=list)
    replay_verdicts: dict = field(default_factory=dict)  # experiment name -> Verdict on the original data
    optimal_loss: float | None = None
    seconds: float = 0.0
    versions: dict = field(default_factory=versions)

    @property
    def failures(self) -> list[str]:
        failed = [e.name for e in self.entries if not e.passed]
        return failed + [f"{name} (original data)" for name, v in self.replay_verdicts.items() if not v.passed]


def names() -> list[str]:
    return list(ORDER)


def describe(name: str) -> tuple[str, str]:
    """(section, claim) of an experiment or figure."""
    item = BY_NAME.get(name) or STUDIES[name]
    return item.section, item.claim


def select(only) -> list[str]:
    """The names to run, in the lecture's order; an unknown name is a ValueError."""
    if not only:
        return list(ORDER)
    only = [only] if isinstance(only, str) else list(only)
    unknown = [n for n in only if n not in ORDER]
    if unknown:
        raise ValueError(f"unknown experiment {unknown[0]!r}; choose from: {', '.join(ORDER)}")
    return [n for n in ORDER if n in only]


def _check_experiments(runs: dict[str, Run]) -> dict[str, Verdict]:
    return {name: BY_NAME[name].check(run, {c: runs[c] for c in BY_NAME[name].compare})
            for name, run in runs.items() if all(c in runs for c in BY_NAME[name].compare)}


def _needed(selected: list[str]) -> list[str]:
    """The selected experiments and those their claims compare with, in the lecture's order."""
    wanted = {n for n in selected if n in BY_NAME}
    wanted |= {c for n in list(wanted) for c in BY_NAME[n].compare}
    return [n for n in ORDER if n in wanted]


def reproduce(seed: int = 1, only=None, original_data: bool = False, progress=None) -> Report:
    """Run the selected experiments and figures (all by default) on the lecture's data drawn from ``seed``.

    ``progress(text)`` is called as each item finishes. With ``original_data`` every record of the lecture's
    original runs is replayed as well, and each claim is checked again on the replays.
    """
    seed = checks.check_int("seed", seed, minimum=0)
    selected = select(only)
    start = time.perf_counter()
    problem = problems.make("linear-regression", seed=seed)
    say = progress or (lambda text: None)
    runs: dict[str, Run] = {}
    seconds: dict[str, float] = {}
    for name in _needed(selected):
        t = time.perf_counter()
        runs[name] = BY_NAME[name].run(problem, seed=seed)
        seconds[name] = time.perf_counter() - t
    verdicts = _check_experiments(runs)
    entries = []
    for i, name in enumerate(selected, start=1):
        t = time.perf_counter()
        if name in BY_NAME:
            e: Experiment = BY_NAME[name]
            others = {c: runs[c] for c in e.compare}
            title = f"{name}: {e.optimizer} " + ", ".join(f"{k}={v:g}" for k, v in e.hyperparams.items()) + \
                    f", batch {e.batch_size}" + (", lecture decay" if e.decay else "")
            entry = Entry(name, e.section, e.claim, verdicts[name], e.note,
                          figures.experiment(runs[name], others, title), runs[name],
                          explain(runs[name], measure=False))  # the label and why; no ranges: measuring them
            # would double the report's runs (2.3 s more on 19 experiments); `optimlab explain` gives them
            entry.seconds = seconds[name] + time.perf_counter() - t
        else:
            s = STUDIES[name]
            verdict, data = s.compute(problem, seed)
            entry = Entry(name, s.section, s.claim, verdict, s.note, s.draw(data, problem))
            entry.seconds = time.perf_counter() - t
        entries.append(entry)
        say(f"[{i:2d}/{len(selected)}] {name:<16} " + (f"pass  ({entry.seconds:.2f} s)" if entry.passed else
                                                          f"FAIL  {entry.verdict.measured}"))
    report = Report(seed=seed, entries=entries, optimal_loss=problem.optimal_loss)
    if original_data:
        report.replays = original.replay_all(progress=say)
        by_key = {r.key: r.run for r in report.replays}
        replayed = {e.name: by_key[e.original] for e in EXPERIMENTS if e.name in _needed(selected) and e.original}
        report.replay_verdicts = _check_experiments(replayed)
        for name, verdict in report.replay_verdicts.items():
            say(f"original data: {name:<16} " + ("pass" if verdict.passed else f"FAIL  {verdict.measured}"))
    report.seconds = time.perf_counter() - start
    return report
