"""Stability maps against the theory: full-batch boundaries, the heavy-ball rate, and the plain training loop."""

import json

import numpy as np
import pytest

import optimlab
from optimlab.analysis import bounds
from optimlab.analysis.stability import hessian_second_moment, mean_square_max_lr
from optimlab.cli import main
from optimlab.maps import parse, stability_map
from optimlab.maps.theory import heavy_ball_rate

LECTURE = optimlab.problems.make("linear-regression", seed=1)


def test_full_batch_gradient_descent_agrees_with_two_over_lambda_max():
    """60 learning rates × 5 seeds (starting points), 200 full-gradient steps. Theory: stable iff η < 2/λ_max.
    Every cell matches (measured); the computation is deterministic, so any mismatch is a change of behaviour. A
    mismatch could only sit next to 2/λ_max, where the error grows by |1 − ηλ_max| ≈ 1 per step."""
    m = stability_map(LECTURE, "sgd", x=("lr", np.geomspace(0.05, 5, 60)), y=("seed", [1, 2, 3, 4, 5]),
                      batch_size=LECTURE.n_examples, epochs=200)
    boundary = bounds.gd_max_lr(m.theory["lambda_max"])
    predicted = np.broadcast_to(m.x.values >= boundary, (5, 60))
    np.testing.assert_array_equal(np.asarray(m.theory["unstable"]), predicted)
    agree = m.agreement()
    assert agree["cells"] == 300 and agree["matching"] == 300
    assert m.diverged[:, m.x.values > 1.2 * boundary].all() and not m.diverged[:, m.x.values < boundary].any()


def test_heavy_ball_boundary_and_rate_on_a_quadratic():
    """f = 0.1 x₁² + 2 x₂² (λ = 0.2, 4), heavy ball, 40 × 40 cells, 300 steps from (1, 1)."""
    problem = optimlab.problems.make("quadratic-2d")
    lrs, gammas = np.geomspace(0.01, 2, 40), np.linspace(0, 0.95, 40)
    m = stability_map(problem, "momentum", x=("lr", lrs), y=("momentum", gammas), batch_size=1, epochs=300,
                      init=[1.0, 1.0])
    # the boundary drawn is analysis.bounds' 2(1 + γ)/λ_max
    line = next(line for line in m.theory["lines"] if line["name"] == "2(1+γ)/λ_max")
    np.testing.assert_allclose(line["x"], [bounds.momentum_max_lr(4.0, g) for g in gammas], rtol=1e-12)
    # the batched rate is bounds.momentum_rate, cell by cell
    rate = np.asarray(m.theory["rate"])
    for i, j in [(0, 0), (5, 30), (20, 10), (39, 39), (33, 21)]:
        assert rate[i, j] == pytest.approx(bounds.momentum_rate(lrs[j], gammas[i], 4.0, 0.2), rel=1e-9)
    assert heavy_ball_rate(0.5, 0.0, 4.0, 0.2) == pytest.approx(bounds.gd_rate(0.5, 4.0, 0.2), rel=1e-12)
    # Polyak's optimum, and the runs agree with the theory's verdict in every cell but those on the boundary
    eta, gamma, r = bounds.optimal_momentum(4.0, 0.2)
    assert m.theory["optimum"] == {"lr": eta, "momentum": gamma, "rate": r}
    agree = m.agreement()
    assert agree["matching"] == agree["cells"] == 1600  # measured: every cell
    # where stable, the final gap follows the predicted rate: gap ≈ c·rate^(2t), so log(gap) rises with the rate
    stable = (rate < 0.97) & ~m.diverged & (m.gap > 1e-250)
    order = np.corrcoef(np.argsort(np.argsort(np.log(m.gap[stable]))), np.argsort(np.argsort(rate[stable])))
    assert order[0, 1] > 0.95


def test_cells_equal_separate_training_runs():
    """Chunks of 5 configurations, a seed axis and a batch-size axis give exactly what train() gives per cell."""
    m = stability_map(LECTURE, "momentum", x=("lr", [0.01, 0.1, 0.5, 3.0]), y=("momentum", [0.0, 0.5, 0.9]),
                      epochs=2, seed=4, chunk=5)
    for i, g in enumerate([0.0, 0.5, 0.9]):
        for j, lr in enumerate([0.01, 0.1, 0.5, 3.0]):
            run = optimlab.train(LECTURE, optimlab.optim.make("momentum", lr=lr, momentum=g), epochs=2, seed=4,
                                 period=1000)
            assert m.diverged[i, j] == run.diverged
            if not run.diverged:
                # equal up to the order of BLAS sums over K rows versus one
                assert m.final_loss[i, j] == pytest.approx(LECTURE.loss(run.params), rel=1e-12)
    m = stability_map(LECTURE, "sgd", x=("batch_size", [1, 100]), y=("seed", [2, 3]), lr=0.05, epochs=1)
    run = optimlab.train(LECTURE, optimlab.optim.make("sgd", lr=0.05), batch_size=100, epochs=1, seed=3, period=1000)
    assert m.final_loss[1, 1] == pytest.approx(LECTURE.loss(run.params), rel=1e-12)


def test_minibatch_maps_draw_the_mean_square_bound():
    m = stability_map(LECTURE, "momentum", x=("lr", np.geomspace(0.1, 5, 8)), y=("momentum", [0.0, 0.5, 0.9]),
                      batch_size=10, epochs=1)
    line = next(line for line in m.theory["lines"] if line["name"].startswith("mean-square"))
    H, HH = hessian_second_moment(LECTURE, 10, LECTURE.optimum)
    assert line["x"][1] == pytest.approx(mean_square_max_lr(H, HH, 0.5), rel=1e-12)
    assert line["x"][0] < bounds.gd_max_lr(m.theory["lambda_max"])  # minibatches are unstable earlier
    assert m.theory["unstable"] is None and m.agreement() is None  # no exact per-cell verdict for minibatches


def test_data_problems_get_lambda_max_from_lanczos():
    problem = optimlab.problems.make("mlp", dataset="iris", hidden=(5,))
    m = stability_map(problem, "sgd", x=("lr", [0.1, 1.0]), y=("seed", [1]), epochs=1, batch_size=30)
    start = optimlab.train(problem, optimlab.optim.make("sgd", lr=0.1), epochs=1).initial_params[0]
    dense = np.linalg.eigvalsh(problem.hessian(start))[-1]  # the base class builds H column by column from hvp
    assert m.theory["lambda_max"] == pytest.approx(dense, rel=1e-6) and m.theory["point"] == "start"


@pytest.mark.parametrize("text, name, values", [
    ("lr=1e-3:10:log:5", "lr", np.geomspace(1e-3, 10, 5)),
    ("momentum=0:0.99:4", "momentum", np.linspace(0, 0.99, 4)),
    ("batch-size=1,10,100", "batch_size", [1, 10, 100]),
])
def test_axis_specs(text, name, values):
    axis = parse(text)
    assert axis.name == name and np.allclose(axis.values, values) and axis.log == ("log" in text)


@pytest.mark.parametrize("x, y, fixed, message", [
    ("lr=1:2:3", "beta1=0:0.9:3", {}, "axis 'beta1' is not a hyperparameter of momentum"),
    ("lr=1:2:3", "lr=1,2", {}, "the two axes must differ, both are lr"),
    ("lr=1:2:log", "momentum=0,0.5", {}, r"an axis is NAME=LOW:HIGH\[:log\]:N"),
    ("lr=0:2:log:3", "momentum=0,0.5", {}, "a log axis needs LOW > 0"),
    ("lr=-1,1", "momentum=0,0.5", {}, r"lr\[0\] must be > 0, got -1.0"),
    ("lr=1:2:0", "momentum=0,0.5", {}, "the number of lr values must be an integer >= 1, got 0"),
    ("lr=1,2", "batch_size=1,2000", {}, r"batch_size must be an integer in \[1, 1000\], got 2000"),
    ("lr=1,2", "momentum=0,0.5", {"momentum": 0.9}, "momentum is an axis; do not also fix it"),
    ("lr=1,2", "seed=1,2", {"momentum": [0.5, 0.9]}, "momentum must be a single number on a map"),
])
def test_bad_maps_are_refused_before_any_work(x, y, fixed, message):
    with pytest.raises(ValueError, match=message):
        stability_map(LECTURE, "momentum", x=x, y=y, **fixed)


def test_cli_map_json_and_plot(capsys, tmp_path):
    argv = ["map", "--optimizer", "momentum", "--x", "lr=1e-2:5:log:12", "--y", "momentum=0:0.9:4",
            "--batch-size", "1000", "--epochs", "50", "--json", "--plot", str(tmp_path / "map.png")]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["x"]["name"] == "lr" and len(data["x"]["values"]) == 12 and data["y"]["name"] == "momentum"
    assert np.shape(data["final_loss"]) == np.shape(data["diverged"]) == (4, 12)  # rows = y
    assert data["diverged"][0][-1] is True and data["diverged"][0][0] is False and data["final_loss"][0][-1] is None
    assert [line["name"] for line in data["theory"]["lines"]] == ["2/λ_max", "2(1+γ)/λ_max"]
    assert data["agreement"]["cells"] == 48
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["map", "--x", "lr=1,2", "--y", "momentum=0,1"]) == 2  # sgd has no momentum
    assert "not a hyperparameter of sgd" in capsys.readouterr().err
    assert main(["map", "--optimizer", "momentum", "--x", "lr=1,2", "--y", "seed=1,2", "--lr", "0.1"]) == 2
    assert "--lr is given and is also an axis" in capsys.readouterr().err


def test_colour_scale_is_clipped_at_the_start_and_progress_is_reported():
    from optimlab.maps.figure import colour_limits

    calls = []
    m = stability_map(LECTURE, "sgd", x=("lr", [0.01, 0.5, 1.9, 2.05]), y=("seed", [1, 2]), batch_size=1000,
                      epochs=30, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 8), (8, 8)]  # one train() call per seed
    low, high = colour_limits(m)
    # η = 2.05 > 2/λ_max ≈ 1.896 grows by |1 − ηλ_max| ≈ 1.16 per step: 30 steps end above the start but below the
    # divergence factor; the top of the scale stays the largest starting gap, not that cell's loss
    assert not m.diverged[:, 3].any() and np.all(m.gap[:, 3] > m.start_loss[:, 3] - m.optimal_loss)
    assert high == pytest.approx(np.max(m.start_loss - m.optimal_loss), rel=1e-12)
    # the bottom: the smallest gap, here 2e-17 at η = 0.5, floored 12 decades below the top (figure.SPAN)
    assert np.nanmin(m.gap[m.gap > 0]) < high / 1e12 and low == pytest.approx(high / 1e12, rel=1e-12)
    assert m.grew[:, 3].all() and not m.grew[:, :3].any()


def test_convex_non_quadratic_problems_get_local_bounds_only():
    """Logistic regression's Hessian changes with θ: the bounds at the optimum are drawn, but no rate map and no
    per-cell verdict (they would be exact only on a quadratic)."""
    problem = optimlab.problems.make("logistic-regression", dataset="diabetes")
    m = stability_map(problem, "momentum", x=("lr", [1.0, 100.0]), y=("momentum", [0.0, 0.9]),
                      batch_size=problem.n_examples, epochs=20)
    lam = np.linalg.eigvalsh(problem.hessian(problem.optimum))[-1]
    assert m.theory["lambda_max"] == pytest.approx(lam, rel=1e-12) and m.theory["point"] == "optimum"
    assert m.theory["lines"][1]["x"] == pytest.approx([2 / lam, 2 * 1.9 / lam], rel=1e-12)
    assert m.theory["rate"] is None and m.theory["unstable"] is None and m.theory["optimum"] is None
    assert m.optimal_loss == problem.optimal_loss and np.all(m.gap[~m.diverged] >= 0)
