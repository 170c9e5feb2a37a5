"""The problems against closed forms and finite differences."""

import numpy as np
import pytest

import optimlab
from optimlab.problems import Quadratic, Quartic, Rosenbrock

PROBLEMS = {
    "linear-regression": optimlab.problems.make("linear-regression", seed=3),
    "quadratic-1d": optimlab.problems.make("quadratic-1d"),
    "quadratic-2d": optimlab.problems.make("quadratic-2d"),
    "quartic": Quartic(),
    "rosenbrock": Rosenbrock(),
}


def test_lecture_data_matches_its_description():
    p = optimlab.problems.make("linear-regression", seed=1)
    assert p.X.shape == (1000, 2) and p.param_names == ("w1", "w2", "b")
    # features ~ N(0, 1): sample mean within 4 standard errors (4/√1000 ≈ 0.13) of 0, std within 0.1 of 1
    assert np.all(np.abs(p.X.mean(axis=0)) < 0.13) and np.all(np.abs(p.X.std(axis=0) - 1) < 0.1)
    # the least-squares fit recovers w = [2, -3.4], b = 4.2 to within the noise (0.01/√1000 per coefficient ≈ 3e-4)
    np.testing.assert_allclose(p.optimum, [2, -3.4, 4.2], atol=2e-3)
    # the optimal loss is the noise variance / 2 ≈ 0.01²/2 = 5e-5, give or take the sampling of 1000 draws
    assert 3.5e-5 < p.optimal_loss < 6.5e-5
    assert optimlab.problems.make("linear-regression", seed=1).X.tolist() == p.X.tolist()  # seeded
    assert not np.array_equal(optimlab.problems.make("linear-regression", seed=2).X, p.X)


def test_linear_regression_optimum_solves_the_normal_equations():
    p = PROBLEMS["linear-regression"]
    np.testing.assert_allclose(p.A.T @ (p.A @ p.optimum - p.y), 0, atol=1e-10)
    direct = np.mean((p.A @ p.optimum - p.y) ** 2) / 2
    assert p.optimal_loss == pytest.approx(direct, rel=1e-14)


def test_full_loss_identity_equals_the_direct_mean():
    p = PROBLEMS["linear-regression"]
    rng = np.random.default_rng(0)
    thetas = p.optimum + rng.normal(size=(5, 3)) * np.array([[1e-4], [1e-2], [1], [10], [1e3]])
    direct = np.mean((thetas @ p.A.T - p.y) ** 2, axis=1) / 2
    # the direct mean loses ~1e-16·(residual²) to cancellation; relative 1e-9 covers the point nearest the optimum
    np.testing.assert_allclose(p.loss(thetas), direct, rtol=1e-9)
    np.testing.assert_allclose(p.loss(thetas), p.loss(thetas, idx=np.arange(1000)), rtol=1e-9)


@pytest.mark.parametrize("name", PROBLEMS)
def test_gradient_matches_central_differences(name):
    p = PROBLEMS[name]
    rng = np.random.default_rng(1)
    x = rng.normal(size=p.dim) * 0.5
    idx = np.arange(min(7, p.n_examples))
    h = 1e-6
    for batch in (None, idx):
        fd = np.array([(p.loss(x + h * e, batch) - p.loss(x - h * e, batch)) / (2 * h) for e in np.eye(p.dim)])
        # central differences err by O(h²·f''') ≈ 1e-12 plus rounding O(ε·f/h) ≈ 1e-9
        np.testing.assert_allclose(p.grad(x, batch), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", PROBLEMS)
def test_hessian_matches_differences_of_gradients(name):
    p = PROBLEMS[name]
    x = np.random.default_rng(2).normal(size=p.dim) * 0.5
    h = 1e-6
    fd = np.array([(p.grad(x + h * e) - p.grad(x - h * e)) / (2 * h) for e in np.eye(p.dim)])
    np.testing.assert_allclose(p.hessian(x), fd, rtol=1e-6, atol=1e-6)
    v = np.arange(1.0, p.dim + 1)
    np.testing.assert_allclose(p.hvp(x, v), p.hessian(x) @ v, rtol=1e-12)


def test_batched_params_give_one_value_per_configuration():
    for p in PROBLEMS.values():
        x = np.random.default_rng(3).normal(size=(4, p.dim))
        assert p.loss(x).shape == (4,)
        assert p.grad(x).shape == (4, p.dim)
        np.testing.assert_allclose(p.loss(x)[2], p.loss(x[2]), rtol=1e-14)


def test_lecture_quadratics():
    q1, q2 = PROBLEMS["quadratic-1d"], PROBLEMS["quadratic-2d"]
    assert q1.loss(np.array([3.0])) == 9.0
    assert q2.loss(np.array([1.0, 1.0])) == pytest.approx(0.1 + 2.0)
    np.testing.assert_array_equal(np.diag(q2.hessian()), [0.2, 4.0])


def test_user_arrays_and_files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ [1.0, 2.0, 3.0] - 1.0
    p = optimlab.problems.from_arrays(X, y)
    np.testing.assert_allclose(p.optimum, [1, 2, 3, -1], atol=1e-12)
    assert p.optimal_loss < 1e-25
    np.savez(tmp_path / "d.npz", X=X, y=y)
    np.testing.assert_allclose(optimlab.problems.load_arrays(tmp_path / "d.npz").optimum, p.optimum)
    np.savetxt(tmp_path / "d.csv", np.c_[X, y], delimiter=",", header="a,b,c,y", comments="")
    np.testing.assert_allclose(optimlab.problems.load_arrays(tmp_path / "d.csv").optimum, p.optimum, atol=1e-10)


def test_init_params_follow_the_lecture():
    p = PROBLEMS["linear-regression"]
    x = p.init_params(np.random.default_rng(0), scale=2.0)
    assert x[-1] == 0.0 and x.shape == (3,)
    many = np.array([p.init_params(np.random.default_rng(s)) for s in range(2000)])
    assert abs(many[:, 0].std() - 1) < 0.05  # N(0, 1): the std of 2000 draws is 1 ± 0.016


def test_quadratic_rejects_asymmetric_matrices():
    with pytest.raises(ValueError, match="symmetric"):
        Quadratic([[1.0, 2.0], [0.0, 1.0]])
