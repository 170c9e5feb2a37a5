"""Defaults that work on every problem, one definition of the labels, recommendations that were measured, sizes
refused before allocation, progress reported."""

import contextlib
import io
import math

import numpy as np
import pytest

import optimlab
from optimlab import memory, problems
from optimlab.analysis import advice, criteria
from optimlab.analysis.range_test import lr_range_test
from optimlab.cli import main

PROBLEMS = list(problems.PROBLEMS)  # every registered problem: each must work with default flags
# the ranges below are counted and re-run on the problems of issue 7 (the count is asserted)
LECTURE_PROBLEMS = ["linear-regression", "quadratic-1d", "quadratic-2d", "quartic", "rosenbrock"]
OPTIMIZERS = list(optimlab.optim.OPTIMIZERS)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    """A small user data set: 40 examples, 3 features, a header row."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -2.0, 0.5] + 3.0 + 0.1 * rng.normal(size=40)
    path = tmp_path_factory.mktemp("data") / "mine.csv"
    np.savetxt(path, np.c_[X, y], delimiter=",", header="a,b,c,y", comments="")
    return path


def call(args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    return status, out.getvalue(), err.getvalue()


# -- every problem × optimizer × command with default flags ------------------------------------------------------

@pytest.mark.parametrize("command", ["train", "explain", "lr-find"])
def test_every_problem_and_optimizer_works_with_default_flags(command, data_file):
    # measured on the 2-core machine, loaded (load average ~7, OPENBLAS_NUM_THREADS=1), for all 72 cases each with
    # defaults: train 12 s, explain 172 s, lr-find 912 s wall; the digits MLP is nearly all of it (lr-find on it
    # ~19 s CPU per optimizer, explain ~10 s). Before the cost-aware periods lr-find on the MLP alone took over 438 s
    # CPU per optimizer.
    for where in [["--problem", name] for name in PROBLEMS] + [["--data", str(data_file)]]:
        for name in OPTIMIZERS:
            status, out, err = call([command, "--optimizer", name, *where])
            if command == "lr-find" and name == "adadelta":  # no η to search: refused in one line, before work
                assert status == 2 and err.strip() == "optimlab: error: adadelta has no learning rate to search"
                continue
            assert status == 0, (command, where, name, err)
            assert "Traceback" not in err and out.strip(), (command, where, name)
            flat = " ".join(out.split())  # the explanation is wrapped at 110 columns
            if "recommended η [" in flat:  # explain's summary line: a range only with its measurement
                assert "Measured: η from" in flat or "Measured: η = " in flat


def ranges_of(diagnosis):
    return [r for r in (diagnosis.lr_range, diagnosis.momentum_range) if r is not None and r.found]


def test_every_recommended_range_was_run_and_its_middle_reaches_the_goal(data_file):
    """Every range explain and lr-find give on the built-in problems (and a user's data) with default flags:
    low ≤ high, and its geometric middle, re-run here with the same flags, ends converged or noise_floor."""
    cases = [(problems.make(name), name) for name in LECTURE_PROBLEMS] + [(problems.load_arrays(data_file), "data")]
    ranges, verified, none = 0, 0, 0
    for problem, label in cases:
        for name in OPTIMIZERS:
            run = optimlab.train(problem, optimlab.optim.make(name))
            d = optimlab.explain(run)
            found = ranges_of(d)
            if "lr" in optimlab.optim.defaults(name):
                found.append(lr_range_test(problem, name).measured)
            for r in found:
                if not r.found:
                    none += 1
                    assert r.alternative is not None  # says what would work, or that nothing cheap did
                    continue
                ranges += 1
                assert r.low <= r.high and r.search[0] <= r.low and r.high <= r.search[1] + 1e-12
                # explain's ranges use the run's flags, lr-find's the same defaults: batch min(10, n), 5 epochs,
                # constant η, the user's seed first; the other hyperparameters at their defaults
                fixed = {k: v for k, v in run.hyperparams[0].items() if k != r.parameter}
                again = optimlab.train(problem, optimlab.optim.make(name, **{**fixed, r.parameter: r.middle}),
                                       batch_size=run.batch_size, epochs=run.epochs, seed=r.seeds[0])
                outcome = criteria.classify_run(again)
                assert outcome.reached_goal, (label, name, r.parameter, r.low, r.high, outcome)
                assert r.middle == pytest.approx(advice.middle_of(r.parameter, r.low, r.high), rel=1e-12)
                verified += 1
    print(f"\nrecommended ranges: {ranges}, verified: {verified}; searches without a range: {none}")
    assert verified == ranges >= 36  # measured: 36 ranges, all verified


def test_range_on_x_squared_matches_the_closed_form():
    """x² with gradient descent: x_t = (1 − 2η)^t x₀, so after 5 steps the loss is (1 − 2η)^10 of its start, and it
    is "converged" (within 1e-9 of the start's gap) iff |1 − 2η| ≤ 10^-0.9, i.e. η in [0.437, 0.563]."""
    q = problems.make("quadratic-1d")
    run = optimlab.train(q, optimlab.optim.make("sgd", lr=0.5), epochs=5)
    d = optimlab.explain(run)
    assert d.diagnosis == "converged"
    edge = 10 ** -0.9 / 2
    low, high = d.recommended_lr
    # the fine grid steps by a factor of about 1.05: each end within one step inside the exact interval
    assert 0.5 - edge <= low <= (0.5 - edge) * 1.05 and (0.5 + edge) / 1.05 <= high <= 0.5 + edge
    assert "no stable η" not in d.explanation and "reached the goal" in d.explanation  # the x² case
    assert d.lr_range.theory["bound"] == 1.0 and d.lr_range.theory["agrees"] is True


def test_no_range_without_reaching_the_goal_and_what_would():
    """quadratic-2d (curvatures 0.2 and 4) in 5 full-gradient steps cannot reach 1e-9 of its start at any η: at the
    best η* = 2/4.2 the error shrinks by 19/21 per step, so about 104 steps are needed: 320 epochs do, 80 do not.
    After t steps the loss is a closed form, 0.1·x₁²(1 − 0.2η)^2t + 2·x₂²(1 − 4η)^2t."""
    q = problems.make("quadratic-2d")
    run = optimlab.train(q, optimlab.optim.make("sgd"))
    d = optimlab.explain(run)
    r = d.lr_range
    assert not r.found and d.recommended_lr is None
    assert r.alternative["change"] == "epochs" and r.alternative["epochs"] == 320
    x1, x2 = run.initial_params[0]

    def gap_after(eta, t):
        return 0.1 * x1 ** 2 * (1 - 0.2 * eta) ** (2 * t) + 2 * x2 ** 2 * (1 - 4 * eta) ** (2 * t)

    start = gap_after(0.0, 0)
    for eta in (r.alternative["low"], r.alternative["high"]):
        assert gap_after(eta, 320) <= 1e-9 * start < gap_after(eta, 80)
    assert all(gap_after(eta, 5) > 1e-9 * start for eta in np.geomspace(1e-3, 0.5, 2000))
    assert "no η in" in d.explanation and "With 320 epochs" in d.explanation


def test_goal_loss_without_an_optimum():
    # a quarter of the best run's decrease counted in decades: best·(start/best)^0.25
    assert criteria.goal_loss(2.59, 0.0083) == pytest.approx(0.0083 * (2.59 / 0.0083) ** 0.25, rel=1e-15)
    assert criteria.goal_loss(10.0, 0.1) == pytest.approx(0.1 * 100 ** 0.25)  # 2 decades down: half a decade slack
    assert criteria.goal_loss(1.0, -3.0) == pytest.approx(-3.0 + 0.25 * 4.0)  # losses ≤ 0: the linear decrease
    assert criteria.goal_loss(1.0, 2.0) == 2.0  # nothing went below the start: no slack
    jittery = criteria.Outcome("noise_floor", {"final_loss": 0.22})
    assert jittery.reached_goal and criteria.reaches_goal(jittery) and not criteria.reaches_goal(jittery, 0.125)


def test_without_an_optimum_a_floor_far_above_the_best_loss_is_no_goal():
    """The digits MLP has no known f*. Plain SGD from η = 1.9 to 6 stops improving and jitters (noise_floor) at
    losses from 0.27 to 2.1 (start 2.59), far above the best final loss of the search (0.008 at η = 0.6). Counted
    as goals, they made the recommended range [0.128, 6.24]; near the best loss alone counts now, and every
    measured value inside the range, and its verified middle, end at or below the goal loss."""
    mlp = problems.make("mlp", dataset="digits")
    assert mlp.optimal_loss is None
    loop = {"batch_size": 10, "epochs": 5, "period": None, "schedule": optimlab.schedules.make("constant"),
            "init_scale": 1.0}
    r = advice.measure_range(mlp, "sgd", {}, "lr", (1.88e-5, 18.8), loop=loop, seed=1)
    from optimlab.train import initial_params  # the module (optimlab.train is also the function's name)
    start = mlp.loss(initial_params(mlp, 1))
    assert r.goal_loss == pytest.approx(criteria.goal_loss(start, r.best_loss), rel=1e-12)
    assert r.best_loss < 0.01 and r.goal_loss < 0.04
    high = criteria.classify_run(optimlab.train(mlp, optimlab.optim.make("sgd", lr=5.95), **loop, seed=1))
    assert high.label == "noise_floor" and high.numbers["final_loss"] > 1.5  # a "goal" by its label alone
    assert r.found and 0.1 < r.low < r.high < 1.9
    inside = r.grid[(r.grid >= r.low) & (r.grid <= r.high)]
    again = optimlab.train(mlp, optimlab.optim.make("sgd", lr=inside), **loop, seed=1)
    assert np.all(again.final_losses <= r.goal_loss)
    assert r.middle_outcome["reached_goal"] and r.middle_outcome["final_loss"] <= r.goal_loss


def test_a_range_at_the_edge_of_the_search_is_flagged():
    problem = problems.make("linear-regression", seed=1)
    r = lr_range_test(problem, "sgd", start_lr=1e-2, end_lr=0.3, seeds=2, grid=8)
    assert r.measured.found and r.measured.edges == ["high"] and r.measured.high == pytest.approx(0.3)
    assert r.edges.get("grid best") == "high" or r.grid_suggestions["best"] < 0.3


def test_largest_stable_means_below_the_start_and_not_diverged_in_every_seed():
    problem = problems.make("linear-regression", seed=1)
    r = lr_range_test(problem, "sgd", seeds=3, grid=12)
    eta = r.grid_suggestions["largest_stable"]
    k = int(np.flatnonzero(r.grid == eta)[0])
    for s in range(3):
        run = optimlab.train(problem, optimlab.optim.make("sgd", lr=eta), seed=1 + s)
        assert not run.diverged and run.final_loss < run.losses[0]
    beyond = r.grid[k + 1]
    assert any(lab[k + 1] == "diverged" or not criteria.classify_run(
        optimlab.train(problem, optimlab.optim.make("sgd", lr=beyond), seed=1 + s)).stable
        for s, lab in enumerate(r.grid_labels))


def test_measurements_use_the_runs_own_loop_settings():
    problem = problems.make("linear-regression", seed=1)
    sched = optimlab.schedules.make("lecture", after=1, factor=[0.1, 0.5])
    run = optimlab.train(problem, optimlab.optim.make("sgd", lr=[0.1, 0.2]), batch_size=20, epochs=3, period=40,
                         schedule=sched, seed=3, init_scale=2.0)
    for k, factor in enumerate([0.1, 0.5]):
        loop = advice.loop_of(run, k)
        assert loop["schedule"].describe() == f"lecture(after=1, factor={factor})"
        assert (loop["batch_size"], loop["epochs"], loop["period"], loop["init_scale"]) == (20, 3, 40, 2.0)
        again = optimlab.train(problem, optimlab.optim.make("sgd", lr=run.hyperparams[k]["lr"]), **loop, seed=3)
        # the same run, up to the few ulps BLAS gives a (2, P) product against a (1, P) one
        np.testing.assert_allclose(again.losses, run.losses[k], rtol=1e-12)


# -- one definition of the labels --------------------------------------------------------------------------------

T = np.linspace(0, 5, 51)
CURVES = [  # (name, losses, optimal loss, diverged, stochastic, expected label)
    ("at the optimum", 1.0 + 10 * np.exp(-3 * T), 1.0, False, True, "converged"),
    ("quadratic to 1e-9 of its start", 10 * np.exp(-6 * T), 0.0, False, False, "converged"),
    ("jitters above the optimum", np.r_[10, 2 + 0.5 * (-1) ** np.arange(50)], 1.0, False, True, "noise_floor"),
    ("jitters with the full gradient", np.r_[10, 2 + 0.5 * (-1) ** np.arange(50)], 1.0, False, False,
     "oscillating"),
    ("bounded above its start", 10 + 2 * (-1) ** np.arange(51), 1.0, False, True, "oscillating"),
    ("rising past its start", 10 * np.exp(0.2 * T), 1.0, False, True, "diverged"),
    ("stopped by the trainer", np.r_[10, 20, 1e6, [np.nan] * 48], 1.0, True, True, "diverged"),
    ("not finite", np.r_[10, 20, np.inf, [np.nan] * 48], 1.0, False, True, "diverged"),
    ("falling smoothly, far from the optimum", 10 * np.exp(-0.2 * T), 0.0, False, True, "too_slow"),
    ("no known optimum", 10 * np.exp(-0.2 * T), None, False, True, "too_slow"),
]


@pytest.mark.parametrize("name,losses,floor,diverged,stochastic,label", CURVES, ids=[c[0] for c in CURVES])
def test_classify_curve(name, losses, floor, diverged, stochastic, label):
    outcome = criteria.classify_curve(losses, T, losses[0], floor, diverged, stochastic=stochastic)
    assert outcome.label == label
    assert outcome.stable == (label != "diverged" and outcome.numbers["final_loss"] < losses[0])


def test_explain_uses_the_same_criteria_for_every_optimizer():
    problem = problems.make("linear-regression", seed=1)
    for name in OPTIMIZERS:
        run = optimlab.train(problem, optimlab.optim.make(name), epochs=3)
        assert optimlab.explain(run, measure=False).diagnosis == criteria.classify_run(run).label


# -- sizes refused before allocation; progress --------------------------------------------------------------------

REFUSED = [  # (what, call, message)
    ("train epochs=1e8", lambda p: optimlab.train(p, optimlab.optim.make("sgd"), epochs=10 ** 8),
     r"epochs=100000000 with 1 configuration and 100 records per epoch would need 150 GiB for the loss records; "
     r"at most .* GiB allowed"),
    ("train 1e6 configurations", lambda p: optimlab.train(p, optimlab.optim.make("sgd", lr=np.full(10 ** 6, 0.1)),
                                                          epochs=100),
     r"would need .* GiB for the loss records"),
    ("range test points=1e9", lambda p: lr_range_test(p, grid=10 ** 9),
     r"points=1000000000 × 500 updates would need 3.81 TiB for the fixed-η runs"),  # 1e9 × (500 + 5 + 6·3) floats
    ("range test steps=1e9", lambda p: lr_range_test(p, steps=10 ** 9),
     r"steps=1000000000 would need 22.4 GiB for the classic range test's records"),
]


@pytest.mark.parametrize("what,action,message", REFUSED, ids=[r[0] for r in REFUSED])
def test_sizes_that_would_not_fit_are_refused_before_allocation(what, action, message, monkeypatch):
    monkeypatch.setattr(memory, "allowed_bytes", lambda: 8 * 2 ** 30)  # the same limit on every machine
    with pytest.raises(ValueError, match=message):
        action(problems.make("linear-regression", seed=1))


def test_memory_estimate():
    assert memory.float_array_bytes(1, 10 ** 8 * 100 + 1) == pytest.approx(8.0 * (10 ** 10 + 1))
    assert memory.gib(80 * 10 ** 9) == "74.5 GiB" and memory.gib(2 ** 20) == "1 MiB" and memory.gib(2 ** 42) == "4 TiB"
    assert memory.allowed_bytes() > 0


def test_progress_is_reported():
    problem = problems.make("linear-regression", seed=1)
    calls = []
    optimlab.train(problem, optimlab.optim.make("sgd"), epochs=3, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    lr_range_test(problem, "sgd", seeds=2, grid=5, progress=lambda d, t: calls.append((d, t)))
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1] and len(calls) >= 5
    calls.clear()
    optimlab.explain(optimlab.train(problem, optimlab.optim.make("sgd", lr=[0.1, 0.2]), epochs=2),
                     progress=lambda d, t: calls.append((d, t)))
    # two configurations, each: 4 measurement steps (coarse, fine, verification and alternatives), then itself
    assert calls[-1] == (10, 10) and [d for d, _ in calls] == sorted(d for d, _ in calls) and (5, 10) in calls
    assert math.isfinite(optimlab.train(problem, optimlab.optim.make("sgd"), epochs=1).final_loss)
