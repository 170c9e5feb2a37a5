"""The lecture's arguments checked by runs on the objectives its figures use (§3–4, §7, §8–11).

Each function runs the optimizers through :func:`optimlab.train` (several configurations or starting points in one
vectorized call where it can), checks the lecture's claim against the closed form, and returns a Verdict and the
data its figure draws.
"""

from __future__ import annotations

import numpy as np

from optimlab import optim, problems, schedules
from optimlab.lecture.verdicts import GAP_CLOSED, Verdict, gap_left
from optimlab.train import train


def _iterates(problem, opt, x0, steps):
    """The iterates x_0..x_steps, (K, steps + 1, P), of a deterministic objective (one step per epoch)."""
    path = []
    run = train(problem, opt, batch_size=1, epochs=steps, init=x0,
                observe=lambda epoch, step, params, state, lr: path.append(params.copy()))
    start = np.broadcast_to(np.asarray(x0, dtype=float), path[0].shape)
    return np.concatenate([start[:, None], np.stack(path, axis=1)], axis=1), run


# -- §3–4: the Taylor argument on f(x) = x² ------------------------------------------------------------------------

TAYLOR_LRS = (0.05, 0.4, 0.9, 1.05)  # undershoot, well chosen, zig-zag that converges, zig-zag that diverges


def taylor(x0: float = 5.0, steps: int = 12) -> tuple[Verdict, dict]:
    """Gradient descent on f(x) = x², f'' = 2. f(x − ηf') = f(x) − η f'² + η² f'² f''/2 decreases iff η < 2/f'' = 1;
    each step multiplies x by (1 − 2η): η < 0.5 approaches monotonically, 0.5 < η < 1 zig-zags inwards, η > 1
    zig-zags outwards."""
    problem = problems.make("quadratic-1d")
    opt = optim.make("sgd", lr=list(TAYLOR_LRS))
    xs, run = _iterates(problem, opt, [[x0]] * len(TAYLOR_LRS), steps)
    x = xs[:, :, 0]
    factors = x[:, 1:] / x[:, :-1]
    expected = 1 - 2 * np.array(TAYLOR_LRS)
    small, good, zig, big = (abs(x[k, 10]) / x0 for k in range(4))
    # the threshold, measured: 2000 learning rates in one call, 50 steps each
    grid = np.linspace(0.5, 1.5, 2001)
    sweep = train(problem, optim.make("sgd", lr=grid), batch_size=1, epochs=50, init=[x0])
    grows = np.abs(sweep.final_params[:, 0]) > x0
    threshold = float(grid[np.argmax(grows)])
    zigzag = bool(np.all(np.sign(x[2, 1:]) != np.sign(x[2, :-1])) and np.all(np.sign(x[3, 1:]) != np.sign(x[3, :-1])))
    ok = (np.allclose(factors, expected[:, None], rtol=1e-12) and small > 0.3 and good < 1e-6 and zigzag
          and zig < 0.2 and big > 2 and abs(threshold - 1.0) < 0.01)
    measured = (f"after 10 steps |x| is {small:.0%} of its start at η = 0.05 (undershoot), {good:.1e} at η = 0.4, "
                f"{zig:.3f} at η = 0.9 (zig-zag inwards), {big:.2f}× at η = 1.05 (zig-zag outwards); each step "
                f"multiplies x by 1 − 2η exactly; over 2001 values of η the first to grow is η = {threshold:.4f} "
                f"(bound 2/f'' = 1)")
    left = {str(lr): float(v) for lr, v in zip(TAYLOR_LRS, x[:, 10] / x0)}
    return Verdict(ok, measured, {"share_left_after_10": left, "measured_threshold": threshold, "bound": 1.0}), \
        {"x": x, "lrs": TAYLOR_LRS, "x0": x0}


# -- §3: the start matters, on f(x) = x⁴ ---------------------------------------------------------------------------

QUARTIC_LR = 0.05


def quartic(lr: float = QUARTIC_LR, steps: int = 1000) -> tuple[Verdict, dict]:
    """Gradient descent on f(x) = x⁴: x ↦ x(1 − 4ηx²). The step shrinks |x| iff 4ηx² < 2, so a fixed η converges
    from |x₀| < 1/√(2η) and diverges beyond: the boundary is where the local curvature 12x² makes η·f'' = 6 (the
    Taylor bound η·f''(x₀) < 2 alone is stricter, |x₀| < 1/√(6η): starts between the two overshoot at first but
    reach flatter ground and converge)."""
    problem = problems.Quartic()
    starts = np.round(np.arange(0.01, 6.0, 0.01), 2)
    run = train(problem, optim.make("sgd", lr=lr), batch_size=1, epochs=steps, init=starts[:, None])
    # x⁴ flattens towards 0, so convergence there is slow (x_t ~ 1/√(8ηt)): "converges" = not diverged and |x|
    # smaller than at the start after the run; every start beyond the boundary is caught diverging
    converged = ~run.diverged_mask & (np.abs(run.final_params[:, 0]) < starts)
    first_bad = int(np.argmax(~converged))
    measured_boundary = float((starts[first_bad - 1] + starts[first_bad]) / 2)
    theory, taylor_bound = 1 / np.sqrt(2 * lr), 1 / np.sqrt(6 * lr)
    tidy = bool(np.all(converged[:first_bad]) and np.all(run.diverged_mask[first_bad:]))
    examples, _ = _iterates(problem, optim.make("sgd", lr=lr), [[1.5], [3.0], [3.3]], 12)
    ok = tidy and abs(measured_boundary / theory - 1) < 0.01
    measured = (f"with η = {lr}, every start up to |x₀| = {starts[first_bad - 1]:.2f} converges and every start from "
                f"{starts[first_bad]:.2f} diverges: measured boundary {measured_boundary:.3f}, theory 1/√(2η) = "
                f"{theory:.3f} ({abs(measured_boundary / theory - 1):.2%} apart); the Taylor bound at the start, "
                f"η·f''(x₀) < 2, would say {taylor_bound:.3f}")
    return Verdict(ok, measured, {"lr": lr, "measured_boundary": measured_boundary, "theory_boundary": float(theory),
                                  "taylor_bound_at_start": float(taylor_bound)}), \
        {"starts": starts, "converged": converged, "lr": lr, "boundary": theory, "taylor_bound": taylor_bound,
         "measured": measured_boundary, "paths": examples[:, :, 0]}


# -- §7: the steep-and-flat valley 0.1·x₁² + 2·x₂² ----------------------------------------------------------------

RAVINE_START = (-5.0, -2.0)
RAVINE_RUNS = {"GD η = 0.4": ("sgd", {"lr": 0.4}), "GD η = 0.6": ("sgd", {"lr": 0.6}),
               "momentum η = 0.6, γ = 0.5": ("momentum", {"lr": 0.6, "momentum": 0.5})}


def ravine(steps: int = 20) -> tuple[Verdict, dict]:
    """On f = 0.1·x₁² + 2·x₂² (curvatures 0.2 and 4), gradient descent is stable only for η < 2/4 = 0.5, where the
    flat axis shrinks by just 1 − 0.2η per step; heavy-ball momentum is stable for η < 2(1 + γ)/4 and moves both
    axes at rate √γ when its roots are complex."""
    problem = problems.make("quadratic-2d")
    paths, runs = {}, {}
    for label, (name, hyper) in RAVINE_RUNS.items():
        xs, runs[label] = _iterates(problem, optim.make(name, **hyper), list(RAVINE_START), steps)
        paths[label] = xs[0]
    cautious, wild, heavy = paths.values()
    flat_left = abs(cautious[-1, 0] / RAVINE_START[0])
    wild_run = runs["GD η = 0.6"]
    steep_growth = abs(wild[-1, 1] / RAVINE_START[1])
    heavy_left = float(np.linalg.norm(heavy[-1]) / np.linalg.norm(RAVINE_START))
    bound_gd, bound_momentum = 2 / 4.0, 2 * (1 + 0.5) / 4.0
    ok = flat_left > 0.1 and wild_run.diverged and heavy_left < 0.01
    measured = (f"after {steps} steps GD at η = 0.4 still has {flat_left:.0%} of the flat coordinate left; at η = 0.6 "
                f"(> 2/λ_max = {bound_gd}) the steep coordinate zig-zags outwards, ×1.4 per step, and the run "
                f"diverges after {wild_run.diverged_at} steps (|x₂| {steep_growth:.0f}× its start); momentum at "
                f"η = 0.6, γ = 0.5 (stable up to {bound_momentum}) is at {heavy_left:.1e} of its starting distance")
    return Verdict(ok, measured, {"flat_left_gd_0.4": flat_left, "steep_growth_gd_0.6": steep_growth,
                                  "distance_left_momentum": heavy_left, "bound_gd": bound_gd,
                                  "bound_momentum_gamma_0.5": bound_momentum}), \
        {"paths": paths, "start": RAVINE_START}


# -- §7: momentum as an exponential moving average -----------------------------------------------------------------

def ema(gamma: float = 0.95, t: int = 20) -> tuple[Verdict, dict]:
    """y(t) = γ y(t−1) + (1 − γ) x(t) weighs x(i) by (1 − γ)γ^(t−i); the weights sum to 1 − γ^t → 1. Momentum's
    v := γ v + η g = γ v + (1 − γ)·(η g/(1 − γ)) is such an average of η g/(1 − γ), so under a steady gradient v
    tends to η g/(1 − γ): the step is multiplied by 1/(1 − γ)."""
    weights = (1 - gamma) * gamma ** (t - np.arange(1, t + 1))
    gammas = [0.5, 0.9, gamma, 0.99]
    opt = optim.make("momentum", lr=1.0, momentum=gammas)
    state = opt.init(np.zeros((len(gammas), 1)))
    ratio = []
    x = np.zeros((len(gammas), 1))
    for _ in range(3000):
        x, state = opt.update(x, np.ones_like(x), state)
        ratio.append(state.v[:, 0].copy())  # v / (η g) with η = g = 1
    ratio = np.array(ratio).T
    factors = 1 / (1 - np.array(gammas))
    after_t = ratio[gammas.index(gamma), t - 1]
    ok = (np.allclose(ratio[:, -1], factors, rtol=1e-9) and abs(weights.sum() - (1 - gamma ** t)) < 1e-12
          and abs(after_t - weights.sum() / (1 - gamma)) < 1e-9)
    measured = (f"γ = {gamma}, t = {t}: the weights (1−γ)γ^(t−i) run from {weights[0]:.4f} (i = 1) to "
                f"{weights[-1]:.4f} (i = t) and sum to {weights.sum():.4f} = 1 − γ^t; under a steady gradient v/(ηg) "
                f"reaches {', '.join(f'{r:.6g}' for r in ratio[:, -1])} for γ = {', '.join(map(str, gammas))}: "
                f"1/(1−γ) = {', '.join(f'{f:g}' for f in factors)}")
    return Verdict(bool(ok), measured, {"weights": weights.tolist(), "weights_sum": float(weights.sum()),
                                        "measured_factor": dict(zip(map(str, gammas), ratio[:, -1].tolist()))}), \
        {"weights": weights, "gamma": gamma, "t": t, "gammas": gammas, "ratio": ratio}


# -- §8–11: the per-coordinate step of the adaptive methods --------------------------------------------------------

ADAPTIVE = {"adagrad": {"lr": 0.9}, "rmsprop": {"lr": 0.03, "gamma": 0.9}, "adam": {"lr": 0.1}}


def adaptive_steps(problem, seed: int = 1, epochs: int = 3) -> tuple[Verdict, dict]:
    """The step each adaptive method applies per coordinate, η/√(s + ε) (Adam: η/(√ŝ + ε)), along a run on the
    lecture's problem: Adagrad's s only grows, so its step only shrinks; RMSProp's s is a leaky average, so its step
    grows back once the gradients shrink; Adam's ŝ leaks too, but with β₂ = 0.999 it remembers ~1000 updates."""
    curves, runs = {}, {}
    for name, hyper in ADAPTIVE.items():
        opt = optim.make(name, **hyper)
        steps = []
        runs[name] = train(problem, opt, batch_size=10, epochs=epochs, seed=seed,
                           observe=lambda e, i, p, state, lr, steps=steps, opt=opt:
                           steps.append(opt.step_size(state, lr)[0].copy()))
        curves[name] = np.array(steps)  # (updates, P)
    ada, rms, adam = curves["adagrad"], curves["rmsprop"], curves["adam"]
    monotone = bool(np.all(np.diff(ada, axis=0) <= 0))
    ada_fall = float(np.max(ada[-1] / ada[0]))
    rms_rise = float(np.min(rms[-1] / rms.min(axis=0)))
    adam_rise = float(np.min(adam[-1] / adam.min(axis=0)))
    # seeds 1-6: RMSProp ends 92-375× above its smallest step, Adam 3.6-8.6×
    ok = monotone and rms_rise > 10 and adam_rise > 2
    measured = (f"Adagrad's step never increases (it ends at ≤ {ada_fall:.0%} of its first value); RMSProp's ends "
                f"≥ {rms_rise:.0f}× above its minimum, at {rms[-1].min():.2f}–{rms[-1].max():.2f}, near the "
                f"stability bound 2/λ_max = {2 / np.linalg.eigvalsh(problem.hessian()).max():.2f}; Adam's ends "
                f"≥ {adam_rise:.1f}× above its minimum")
    return Verdict(ok, measured, {"adagrad_monotone": monotone, "adagrad_end_over_start": ada_fall,
                                  "rmsprop_end_over_min": rms_rise, "adam_end_over_min": adam_rise}), \
        {"curves": curves, "epochs": epochs, "names": problem.param_names}


# -- every optimizer on the lecture's problem ----------------------------------------------------------------------

def comparison(problem, seed: int = 1, epochs: int = 3) -> tuple[Verdict, dict]:
    """Every registered optimizer with its default (the lecture's) hyperparameters, batch 10; SGD, momentum and
    Nesterov with the lecture's decay, as the lecture runs them."""
    runs = {}
    for name in optim.OPTIMIZERS:
        decay = name in ("sgd", "momentum", "nesterov")
        sched = schedules.make("lecture", after=2, factor=0.1) if decay else None
        runs[name] = train(problem, optim.make(name), batch_size=10, epochs=epochs, schedule=sched, seed=seed)
    gaps = {name: gap_left(run) for name, run in runs.items()}
    ok = all(g < GAP_CLOSED for g in gaps.values()) and not any(r.diverged for r in runs.values())
    order = sorted(runs, key=lambda n: runs[n].final_loss)
    measured = "final loss / optimum: " + ", ".join(f"{n} {runs[n].final_loss / problem.optimal_loss:.2f}"
                                                    for n in order)
    return Verdict(ok, measured, {"ratio_to_optimum": {n: runs[n].final_loss / problem.optimal_loss for n in runs},
                                  "gap_left": gaps}), {"runs": runs}
