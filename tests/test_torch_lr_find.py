"""optimlab.torch.lr_find: bit-identical restoration of model, optimizer and RNG; the classic test against a plain
loop written here; the bound 2(1+γ)/λ_max against least squares' closed form; the awkward cases as statements."""

import copy
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from optimlab.analysis.range_test import smooth, suggest_minimum, suggest_steepest, suggest_valley  # noqa: E402
from optimlab.torch import lr_find, plot_lr_find  # noqa: E402


def least_squares(n=64, d=5, batch=16):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.linspace(0.5, 2, d, dtype=torch.float64)
    y = X @ torch.randn(d, 1, generator=g, dtype=torch.float64) + 0.1 * torch.randn(n, 1, generator=g,
                                                                                    dtype=torch.float64)
    return X, y, [(X[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]


def linear(d=5, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(d, 1).double()


MSE = torch.nn.MSELoss()


def state_of(model, opt):
    return (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()), torch.get_rng_state(),
            np.random.get_state(), random.getstate(), model.training)


def equal(a, b):
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return a == b


def test_leaves_no_trace():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                                torch.nn.Dropout(0.2), torch.nn.Linear(16, 1)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # puts initial_lr in the groups
    _, _, batches = least_squares()
    for x, y in batches[:2]:
        opt.zero_grad()
        MSE(model(x), y).backward()
        opt.step()
        sched.step()
    model.eval()
    np.random.seed(7)
    random.seed(7)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*least_squares()[:2]), batch_size=16,
                                         shuffle=True)
    before = state_of(model, opt)
    result = lr_find(model, MSE, loader, opt, steps=20, seeds=2)
    after = state_of(model, opt)
    assert equal(before, after)  # parameters, buffers, optimizer state and param_groups, every RNG, the mode
    assert result.suggestion is not None
    assert opt.param_groups[0]["lr"] == 0.0125 and opt.param_groups[0]["initial_lr"] == 0.05


def test_classic_run_matches_a_plain_loop():
    _, _, batches = least_squares()
    model = linear()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    result = lr_find(model, MSE, batches, opt, start_lr=1e-4, end_lr=10.0, steps=40, seeds=2)
    # the same test written out: η grows geometrically, the loader is cycled, loss recorded before each update
    m = copy.deepcopy(model)
    lrs = np.geomspace(1e-4, 10.0, 40)
    losses = []
    for i, lr in enumerate(lrs):
        x, y = batches[i % len(batches)]
        loss = MSE(m(x), y)
        losses.append(float(loss.detach()))
        m.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in m.parameters():
                p -= lr * p.grad
        if i >= 5 and smooth(np.array(losses))[-1] > 4 * smooth(np.array(losses)).min():
            break
    n = len(losses)
    np.testing.assert_allclose(result.losses[0][:n], losses, rtol=1e-12)
    assert np.isnan(result.losses[0][n:]).all() and "passed 4× its minimum" in result.stopped[0]
    sm = smooth(np.array(losses))
    assert result.seed_suggestions[0] == {"steepest": suggest_steepest(lrs[:n], sm),
                                          "valley": suggest_valley(lrs[:n], sm),
                                          "minimum/10": suggest_minimum(lrs[:n], sm)}
    assert result.band[0] <= result.suggestion <= result.band[1]
    assert "The loader has only 4 batches, fewer than the 40 steps" in result.statement


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_bound_is_two_one_plus_gamma_over_lambda_max(momentum):
    X, y, batches = least_squares()
    model = linear()
    result = lr_find(model, MSE, batches, torch.optim.SGD(model.parameters(), lr=0.1, momentum=momentum),
                     steps=10, seeds=1)
    x0 = batches[0][0].numpy()
    A = np.hstack([x0, np.ones((len(x0), 1))])
    lam = np.linalg.eigvalsh(2 * A.T @ A / len(x0))[-1]  # MSE on the first batch: H = (2/n)AᵀA
    assert result.lambda_max == pytest.approx(lam, rel=1e-6)
    assert result.max_stable_lr == pytest.approx(2 * (1 + momentum) / lam, rel=1e-6)


def test_nan_and_negative_losses_are_statements():
    _, _, batches = least_squares()

    calls = []

    def nan_from_call_12(out, y):  # a loss that turns NaN partway, as an overflowing log-likelihood would
        calls.append(1)
        return MSE(out, y) * (float("nan") if len(calls) >= 12 else 1.0)

    model = linear()
    r = lr_find(model, nan_from_call_12, batches, torch.optim.SGD(model.parameters(), lr=0.1), start_lr=1e-4,
                end_lr=1.0, steps=40, seeds=1)
    assert r.stopped[0] == f"Stopped at step 11: the loss became nan at η = {np.geomspace(1e-4, 1, 40)[11]:.3g}."
    assert np.isfinite(r.losses[0][:11]).all() and np.isnan(r.losses[0][11:]).all()
    assert r.seed_suggestions[0] is not None  # eleven finite losses still give a curve to read
    model = linear()
    r = lr_find(model, lambda out, y: MSE(out, y) - 5.0, batches, torch.optim.SGD(model.parameters(), lr=0.1),
                start_lr=1e-4, end_lr=10.0, steps=40, seeds=1)
    assert "which has no logarithm" in r.statement
    assert r.suggestion is not None and 1e-4 <= r.suggestion <= 10.0


def test_already_trained_model_is_flat():
    X, y, batches = least_squares()
    model = linear()
    A = torch.cat([X, torch.ones(len(X), 1, dtype=torch.float64)], 1)
    w = torch.linalg.lstsq(A, y).solution
    with torch.no_grad():
        model.weight.copy_(w[:-1].T)
        model.bias.copy_(w[-1])
    full = [(X, y)] * 3  # the full batch, where the gradient at the optimum is zero
    r = lr_find(model, MSE, full, torch.optim.SGD(model.parameters(), lr=0.1), start_lr=1e-6, end_lr=1e-2,
                steps=20, seeds=1)
    assert r.suggestion is None and r.band is None
    assert "Flat: the smoothed loss never fell 1% below its start" in r.statement
    assert "No suggestion." in r.statement


def test_short_one_shot_loader():
    _, _, batches = least_squares()
    model = linear()
    r = lr_find(model, MSE, (b for b in batches), torch.optim.SGD(model.parameters(), lr=0.1), steps=10, seeds=1)
    assert "The loader ran out after 4 batches (a one-shot iterator): the test stopped at step 4" in r.statement
    assert "Only 4 finite losses (fewer than 5): nothing to read." in r.statement and r.suggestion is None


@pytest.mark.parametrize("kwargs,message", [
    (dict(start_lr=0.0), "start_lr must be > 0, got 0.0"),
    (dict(start_lr=1.0, end_lr=0.5), "end_lr must be > start_lr=1, got 0.5"),
    (dict(steps=3), "steps must be an integer >= 5, got 3"),
    (dict(seeds=0), "seeds must be an integer >= 1, got 0"),
    (dict(loader=[]), "loader yielded no batches"),
])
def test_bad_input(kwargs, message):
    model = linear()
    loader = kwargs.pop("loader", least_squares()[2])
    with pytest.raises(ValueError, match=message):
        lr_find(model, MSE, loader, torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


def test_figure():
    import matplotlib
    matplotlib.use("Agg")
    model = linear()
    r = lr_find(model, MSE, least_squares()[2], torch.optim.SGD(model.parameters(), lr=0.1), steps=20, seeds=2)
    fig = plot_lr_find(r)
    assert fig.axes[0].get_xscale() == "log"
    assert r.to_dict()["suggestion"] == r.suggestion
