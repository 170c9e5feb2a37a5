"""Logistic regression, softmax regression and the MLP on real data, against torch autograd (float64), finite
differences and scikit-learn's unpenalized fits."""

import json
import warnings

import numpy as np
import pytest
import torch

import optimlab
from optimlab.cli import main
from optimlab.problems import datasets

# (name, options): every model and loss, both activations, one and two hidden layers, a regression target
CASES = {
    "logistic-iris": ("logistic-regression", {"dataset": "iris"}),
    "logistic-digits": ("logistic-regression", {"dataset": "digits"}),
    "softmax-wine": ("softmax-regression", {"dataset": "wine"}),
    "mlp-tanh-ce-digits": ("mlp", {"dataset": "digits", "hidden": (8,)}),
    "mlp-relu-2-ce-iris": ("mlp", {"dataset": "iris", "hidden": (6, 5), "activation": "relu"}),
    "mlp-tanh-2-squared-wine": ("mlp", {"dataset": "wine", "hidden": (5, 4), "loss": "squared"}),
    "mlp-tanh-squared-diabetes": ("mlp", {"dataset": "diabetes", "hidden": (7,)}),
}
_BUILT = {}


def problem(case):
    if case not in _BUILT:
        name, options = CASES[case]
        _BUILT[case] = optimlab.problems.make(name, **options)
    return _BUILT[case]


def random_point(p, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([p.init_params(rng, 1.5) for _ in range(k)]) + 0.1 * rng.normal(size=(k, p.dim))


# -- an independent reference: the same models written in torch, differentiated by autograd --------------------
def torch_loss(p, theta, idx):
    X = torch.tensor(p.X[idx], dtype=torch.float64)
    if p.name == "logistic-regression":
        z = X @ theta[:-1] + theta[-1]
        y = torch.tensor(p.T[idx], dtype=torch.float64)
        return torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    if p.name == "softmax-regression":
        W = theta.reshape(X.shape[1] + 1, -1)
        return torch.nn.functional.cross_entropy(X @ W[:-1] + W[-1], torch.tensor(p.T[idx]))
    a, at = X, 0
    for layer, (fan_in, fan_out) in enumerate(p.shapes):
        W = theta[at:at + fan_in * fan_out].reshape(fan_in, fan_out)
        b = theta[at + fan_in * fan_out:at + fan_in * fan_out + fan_out]
        at += fan_in * fan_out + fan_out
        a = torch.nn.functional.linear(a, W.T, b)
        if layer < len(p.shapes) - 1:
            a = torch.tanh(a) if p.activation == "tanh" else torch.relu(a)
    T = torch.tensor(p.T[idx], dtype=torch.float64)
    if p.loss_kind == "cross-entropy":
        return torch.nn.functional.cross_entropy(a, T.argmax(dim=1))
    return 0.5 * ((a - T) ** 2).sum(dim=1).mean()


@pytest.mark.parametrize("case", CASES)
def test_loss_gradient_and_hvp_match_torch_autograd(case):
    p = problem(case)
    params = random_point(p)
    rng = np.random.default_rng(1)
    V = rng.normal(size=params.shape)
    idx = rng.choice(p.n_examples, size=min(40, p.n_examples), replace=False)
    loss, grad, hvp = p.loss(params, idx), p.grad(params, idx), p.hvp(params, V, idx)
    assert loss.shape == (3,) and grad.shape == hvp.shape == params.shape
    for k in range(3):
        theta = torch.tensor(params[k], requires_grad=True)
        f = torch_loss(p, theta, idx)
        (g,) = torch.autograd.grad(f, theta, create_graph=True)
        (hv,) = torch.autograd.grad(g @ torch.tensor(V[k]), theta)  # double backward: H v
        # float64 against float64: agreement to a few ulps of the values' scale
        assert loss[k] == pytest.approx(f.item(), rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(grad[k], g.detach().numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(hvp[k], hv.numpy(), rtol=1e-9, atol=1e-12)
        if p.name != "mlp":  # the closed-form Hessians of the convex problems
            np.testing.assert_allclose(p.hessian(params[k], idx) @ V[k], hv.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_gradient_and_hvp_match_finite_differences(case):
    """Directional derivatives along random unit vectors u: (f(x + hu) − f(x − hu))/2h = ∇f·u and
    (∇f(x + hu) − ∇f(x − hu))/2h = H u. h = 1e-5 makes the O(h²) truncation ~1e-10 and the rounding ~1e-11."""
    p = problem(case)
    x = random_point(p, k=1)[0]
    idx = np.arange(min(60, p.n_examples))
    rng = np.random.default_rng(2)
    for _ in range(3):
        u = rng.normal(size=p.dim)
        u /= np.linalg.norm(u)
        h = 1e-5
        slope = (p.loss(x + h * u, idx) - p.loss(x - h * u, idx)) / (2 * h)
        assert p.grad(x, idx) @ u == pytest.approx(slope, rel=1e-6, abs=1e-9)
        curve = (p.grad(x + h * u, idx) - p.grad(x - h * u, idx)) / (2 * h)
        np.testing.assert_allclose(p.hvp(x, u, idx), curve, rtol=1e-5, atol=1e-7)


def test_logistic_regression_optimum_matches_scikit_learn():
    """Iris (virginica vs the rest) and diabetes (y > median) are not separable, so the unpenalized optimum exists.
    Measured: loss differences 2e-17 (iris) and 3e-15 (diabetes), coefficient differences 6e-7 and 5e-7 with
    scikit-learn's lbfgs at tol 1e-12, whose own gradient stops at 2e-10 and 3e-8: the gap is scikit-learn's."""
    from sklearn.linear_model import LogisticRegression

    for name, coef_tol in (("iris", 2e-6), ("diabetes", 2e-6)):
        p = optimlab.problems.make("logistic-regression", dataset=name)
        assert not p.separable and p.optimum is not None
        assert np.max(np.abs(p.grad(p.optimum))) < 1e-9  # a stationary point of a convex function: the minimiser
        fit = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000).fit(p.X, p.T)
        theta = np.append(fit.coef_[0], fit.intercept_[0])
        assert p.loss(theta) - p.optimal_loss == pytest.approx(0, abs=1e-13)
        assert p.loss(theta) >= p.optimal_loss - 1e-15  # nobody does better than the optimum
        np.testing.assert_allclose(p.optimum, theta, atol=coef_tol, rtol=0)
    assert p.optimal_loss == pytest.approx(0.47395, abs=1e-5)  # diabetes, y > median: far from separable


@pytest.mark.parametrize("name, dataset, how", [
    ("logistic-regression", "wine", "every margin"),  # y > median: class 2 vs the rest, separable
    ("logistic-regression", "breast_cancer", "every margin"),
    ("logistic-regression", "digits", "linear program"),  # digits 5-9 vs 0-4: only quasi-separable
    ("softmax-regression", "iris", "linear program"),  # setosa apart, the other two overlap
    ("softmax-regression", "digits", "every margin"),
])
def test_separable_data_have_no_optimum(name, dataset, how):
    p = optimlab.problems.make(name, dataset=dataset)
    assert p.separable and p.optimum is None and p.optimal_loss is None and how in p.solution.how
    margins = p._margins() @ p.solution.point if name == "softmax-regression" else (2 * p.T - 1) * (p.A @
                                                                                                p.solution.point)
    # the certificate: every example strictly on its side; without one, the LP found a direction
    assert (margins.min() > 0) == ("margin" in how)


def test_softmax_optimum_matches_scikit_learn_on_overlapping_classes(tmp_path):
    """Three overlapping Gaussian classes: not separable, so the minimum is attained. scikit-learn's multinomial fit
    is one of the minimisers (they differ by a shift shared by all classes); centred over classes they agree."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)) + np.repeat([[0, 0], [1, 0], [0, 1]], 100, axis=0)
    y = np.repeat([0, 1, 2], 100)
    np.savez(tmp_path / "blobs.npz", X=X, y=y)
    p = optimlab.problems.make("softmax-regression", dataset=str(tmp_path / "blobs.npz"))
    assert not p.separable
    theta = p.split(p.optimum)
    np.testing.assert_allclose(theta["W"].sum(axis=-1), 0, atol=1e-10)  # the minimum-norm minimiser
    fit = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000).fit(p.X, p.T)
    sk = np.vstack([fit.coef_.T, fit.intercept_[None, :]])
    sk = sk - sk.mean(axis=1, keepdims=True)
    assert p.loss(sk.ravel()) - p.optimal_loss == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(p.optimum, sk.ravel(), atol=1e-5)
    lam = np.linalg.eigvalsh(p.hessian(p.optimum))
    assert np.sum(np.abs(lam) < 1e-12) == 3  # d + 1 flat directions: the shared shift of the classes


def test_eval_examples_records_a_fixed_subset_but_trains_on_all():
    p = optimlab.problems.make("mlp", dataset="digits", hidden=(8,), eval_examples=100)
    q = optimlab.problems.make("mlp", dataset="digits", hidden=(8,))
    x = random_point(q, k=2)
    assert p.eval_idx.shape == (100,) and np.array_equal(p.eval_idx, datasets.eval_subset(1797, 100))
    np.testing.assert_allclose(p.loss(x), q.loss(x, p.eval_idx), rtol=1e-14)
    np.testing.assert_allclose(p.grad(x), q.grad(x), rtol=1e-14)
    np.testing.assert_allclose(p.full_loss(x), q.loss(x), rtol=1e-14)
    assert p.describe()["eval_examples"] == 100
    log = optimlab.problems.make("logistic-regression", eval_examples=50)
    assert log.optimum is not None and log.optimal_loss is None  # the subset's floor is not the full optimum


def test_mlp_make_layout_and_glorot_init():
    p = optimlab.problems.make("mlp", dataset="digits", hidden=(32,))
    assert p.dim == 64 * 32 + 32 + 32 * 10 + 10 == 2410 and p.optimal_loss is None
    assert p.n_examples == 1797 and p.data.task == "classification"
    x = p.init_params(np.random.default_rng(0))
    parts = p.split(x)
    # Glorot: var 2/(64 + 32) for W1; the sample variance of 2048 draws is within 10% (4 standard errors ≈ 12%)
    assert parts["W1"].var() == pytest.approx(2 / 96, rel=0.12) and np.all(parts["b1"] == 0)
    relu = optimlab.problems.make("mlp", dataset="digits", hidden=(32,), activation="relu")
    assert relu.split(relu.init_params(np.random.default_rng(0)))["W1"].var() == pytest.approx(2 / 64, rel=0.12)
    # standardized features
    np.testing.assert_allclose(p.X.mean(axis=0), 0, atol=1e-12)
    assert set(np.round(p.X.std(axis=0), 12)) == {0.0, 1.0}  # digits has always-blank pixels: centred only
    raw = optimlab.problems.make("mlp", dataset="digits", standardize=False)
    assert raw.X.max() == 16.0


def test_describe_rebuilds_the_problem_and_checks_the_data():
    p = optimlab.problems.make("mlp", dataset="wine", hidden=(4, 3), activation="relu", eval_examples=50)
    d = json.loads(json.dumps(p.describe()))  # as saved in a run's JSON
    assert d["checksum"] == datasets.checksum(*datasets._bundled("wine")) and d["hidden"] == [4, 3]
    q = optimlab.problems.from_description(d)
    assert q.describe() == p.describe() and q.dim == p.dim
    with pytest.raises(ValueError, match="changed since the run was saved"):
        optimlab.problems.from_description({**d, "checksum": "0" * 64})


@pytest.mark.parametrize("name, options, message", [
    ("mlp", {"dataset": "mnist"}, "dataset must be one of iris, wine, breast_cancer, digits, diabetes"),
    ("mlp", {"hidden": (0,)}, "hidden must be an integer >= 1, got 0"),
    ("mlp", {"hidden": (4, 4, 4)}, "hidden must give one or two layer widths, got 3"),
    ("mlp", {"activation": "sigmoid"}, "activation must be one of tanh, relu, got 'sigmoid'"),
    ("mlp", {"loss": "hinge"}, "loss must be one of cross-entropy, squared, got 'hinge'"),
    ("mlp", {"dataset": "diabetes", "loss": "cross-entropy"}, "needs class labels"),
    ("softmax-regression", {"dataset": "diabetes"}, "needs class labels"),
    ("logistic-regression", {"eval_examples": 0}, "eval_examples must be an integer >= 1, got 0"),
    ("logistic-regression", {"hidden": (3,)}, "takes no option 'hidden'"),
])
def test_bad_options_are_refused_with_their_range(name, options, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        optimlab.problems.make(name, **options)


def test_training_the_digits_mlp_learns():
    p = optimlab.problems.make("mlp", dataset="digits", hidden=(16,), eval_examples=300)
    run = optimlab.train(p, optimlab.optim.make("sgd", lr=[0.05, 0.5]), batch_size=32, epochs=3, seed=0)
    start, end = run.losses[:, 0], run.final_losses
    assert np.all(start > 2.0) and np.all(end < 0.5 * start)  # ln 10 ≈ 2.3 at the start; learning halves it
    assert end[1] < end[0]  # the larger step is faster on this budget


def test_cli_runs_the_data_problems(capsys, tmp_path):
    argv = "train --problem mlp --dataset digits --hidden 16,8 --activation relu --epochs 1 --batch-size 64 " \
           "--eval-examples 200 --lr 0.1 --json"
    assert main(argv.split()) == 0
    out = json.loads(capsys.readouterr().out)
    problem = out["provenance"]["problem"]
    assert problem["hidden"] == [16, 8] and problem["activation"] == "relu" and problem["eval_examples"] == 200
    rebuilt = optimlab.problems.from_description(problem)
    assert rebuilt.dim == 64 * 16 + 16 + 16 * 8 + 8 + 8 * 10 + 10 and rebuilt.eval_idx.shape == (200,)
    assert out["final_loss"] == pytest.approx(float(rebuilt.loss(np.concatenate([
        np.ravel(out[k]) for k in ("W1", "b1", "W2", "b2", "W3", "b3")]))), rel=1e-12)
    np.savez(tmp_path / "d.npz", X=np.arange(40.0).reshape(20, 2) % 7, y=np.arange(20) % 2)
    assert main(["train", "--problem", "logistic-regression", "--data", str(tmp_path / "d.npz"), "--epochs", "1",
                 "--no-standardize", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["provenance"]["problem"]
    assert d["dataset"].endswith("d.npz") and d["standardize"] is False
    for argv, message in [("train --dataset iris", "--dataset applies to the data problems"),
                          ("train --problem mlp --hidden 0", "hidden must be an integer >= 1, got 0"),
                          ("train --problem mlp --hidden a", "expected one or two layer widths")]:
        assert main(argv.split()) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.count("\n") == 1, err


def test_no_unexpected_warnings_building_problems():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimlab.problems.make("softmax-regression", dataset="wine")


def test_explain_rebuilds_a_saved_data_problem(capsys, tmp_path):
    saved = tmp_path / "run.json"
    assert main(["train", "--problem", "logistic-regression", "--dataset", "diabetes", "--lr", "1", "--epochs", "2",
                 "--save", str(saved)]) == 0
    capsys.readouterr()
    assert main(["explain", "--from", str(saved), "--json"]) == 0
    out = capsys.readouterr().out
    problem = optimlab.problems.make("logistic-regression", dataset="diabetes")
    lam = np.linalg.eigvalsh(problem.hessian(problem.optimum))
    assert f"{lam[-1]:.6f}"[:6] in out  # the curvature of the rebuilt problem at its optimum: λ_max ≈ 0.531
    rebuilt = optimlab.problems.from_description(json.loads(saved.read_text())["provenance"]["problem"])
    assert np.array_equal(rebuilt.X, problem.X) and np.array_equal(rebuilt.optimum, problem.optimum)
