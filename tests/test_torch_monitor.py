"""StabilityMonitor on runs whose fate is known: gradient descent on least squares (H = (2/n)AᵀA, closed form)
above and below 2/λ_max, a monitored run bit-identical to an unmonitored one, stalls, the budget, its table."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from optimlab.analysis.log_diagnosis import diagnose_log  # noqa: E402
from optimlab.analysis.logs import read_log  # noqa: E402
from optimlab.torch import StabilityMonitor  # noqa: E402


def least_squares(seed=0, n=60, d=10):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.linspace(0.2, 2.0, d, dtype=torch.float64)
    y = torch.randn(n, 1, generator=g, dtype=torch.float64)
    A = np.hstack([X.numpy(), np.ones((n, 1))])
    H = 2 * A.T @ A / n  # Hessian of MSELoss (mean of squared residuals) in (w, b)
    return X, y, A, H


def run_gd(lr, steps, **monitor_kwargs):
    X, y, _, _ = least_squares()
    torch.manual_seed(0)
    model = torch.nn.Linear(X.shape[1], 1).double()
    w0 = np.concatenate([model.weight.detach().numpy().ravel(), model.bias.detach().numpy()])
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    mse = torch.nn.MSELoss()
    monitor = StabilityMonitor(model, opt, mse, budget=None, tol=1e-10, **monitor_kwargs)
    for _ in range(steps):
        opt.zero_grad()
        loss = mse(model(X), y)
        loss.backward()
        monitor.step(loss, (X, y))
        opt.step()
    return monitor, w0


def numpy_gd_losses(lr, steps, w0):
    """The same run written out: w ← w − η·(2/n)Aᵀ(Aw − y)."""
    X, y, A, _ = least_squares()
    w, out = w0.copy(), []
    y = y.numpy().ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            r = A @ w - y
            out.append(float(np.mean(r * r)))
            w = w - lr * 2 * A.T @ r / len(y)
    return np.array(out)


def test_gd_above_two_over_lambda_max_diverges_and_is_explained():
    _, _, _, H = least_squares()
    lam = np.linalg.eigvalsh(H)[-1]
    lr = 2.4 / lam
    monitor, w0 = run_gd(lr, 120, every=1, sharpness_every=5)
    losses = numpy_gd_losses(lr, 120, w0)
    expected = int(np.flatnonzero(~np.isfinite(losses) | (losses > 1e4 * losses[0]))[0])
    np.testing.assert_allclose([r["loss"] for r in monitor.log[:expected]], losses[:expected], rtol=1e-9)
    assert monitor.status == "diverged" and monitor.diverged_at == expected
    rows = [r for r in monitor.log if math.isfinite(r["sharpness"])]
    assert [r["step"] for r in rows] == list(range(0, expected, 5))  # no Lanczos once diverged
    for r in rows:
        assert r["sharpness"] == pytest.approx(lam, rel=1e-9)  # least squares: H does not move
        assert r["sharpness_threshold"] == pytest.approx(2 / lr) and r["sharpness_ratio"] == pytest.approx(1.2)
    d = monitor.explain()
    assert d.diagnosis == "diverged"
    assert d.numbers["crossed_at_step"] == 0 and d.numbers["max_stable_lr"] == pytest.approx(2 / lam, rel=1e-9)
    assert f"lower η below {2 / lam:.3g}" in d.explanation
    assert "its threshold is c/η with c = 2: 2 for gradient descent" in d.explanation
    # the critical step along −g at the start: η_c = 2gᵀg/gᵀHg, bracketed to 5%
    X, y, A, _ = least_squares()
    g = 2 * A.T @ (A @ w0 - y.numpy().ravel()) / len(y)
    eta_c = 2 * (g @ g) / (g @ H @ g)
    assert eta_c <= monitor.log[0]["critical_lr"] <= 1.05 * eta_c


def test_gd_below_two_over_lambda_max_stays_under_its_threshold():
    _, _, _, H = least_squares()
    lam = np.linalg.eigvalsh(H)[-1]
    monitor, _ = run_gd(1.5 / lam, 60, every=4, sharpness_every=20)
    assert monitor.status == "running"
    assert [r["step"] for r in monitor.log if math.isfinite(r["critical_lr"])] == list(range(0, 60, 4))
    d = monitor.explain()
    assert d.numbers["edge_ratio_max"] == pytest.approx(0.75, rel=1e-9)
    assert "crossed_at_step" not in d.numbers
    assert all(r["critical_sharpness"] <= lam * 1.0001 for r in monitor.log if math.isfinite(r["critical_lr"]))


def mlp_run(monitored, steps=25):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(16, 3)).double()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    lf = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(2)
    X, y = torch.randn(64, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (64,), generator=g)
    monitor = StabilityMonitor(model, opt, lf, every=3, sharpness_every=10, budget=None) if monitored else None
    for _ in range(steps):
        i = torch.randint(0, 64, (16,))
        opt.zero_grad()
        loss = lf(model(X[i]), y[i])
        loss.backward()
        if monitor:
            monitor.step(loss, (X[i], y[i]))
        opt.step()
    return model, opt, monitor


def test_a_monitored_run_is_bit_identical_to_an_unmonitored_one():
    model, opt, monitor = mlp_run(True)
    after = torch.get_rng_state()
    plain, plain_opt, _ = mlp_run(False)
    assert torch.equal(after, torch.get_rng_state())  # the monitor drew no random numbers of the run's
    for a, b in zip(model.parameters(), plain.parameters()):
        assert torch.equal(a, b)
    for p, q in zip(model.parameters(), plain.parameters()):
        assert torch.equal(opt.state[p]["exp_avg_sq"], plain_opt.state[q]["exp_avg_sq"])
    # Adam has no second moment before its first step: Lanczos waits one step, then keeps its interval
    assert [r["step"] for r in monitor.log if math.isfinite(r["sharpness"])] == [1, 11, 21]
    assert all(r["sharpness_threshold"] == pytest.approx(3800) for r in monitor.log if math.isfinite(r["sharpness"]))
    assert any("exp_avg_sq" in note for note in monitor.notes)


def test_stall_and_budget():
    monitor, _ = run_gd(1e-12, 30, stall_window=20)
    assert monitor.status == "stalled"
    assert "No new best loss for 29 steps (best" in monitor.explain().explanation
    X, y, _, _ = least_squares()
    model = torch.nn.Linear(X.shape[1], 1).double()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    mse = torch.nn.MSELoss()
    monitor = StabilityMonitor(model, opt, mse, every=2, sharpness_every=5, budget=0.01)
    for _ in range(30):
        opt.zero_grad()
        loss = mse(model(X), y)
        loss.backward()
        monitor.step(loss, (X, y))
        opt.step()
    # a dozen forward passes against one cheap step, at 1% budget: both intervals widen, and say so
    assert monitor.every > 2 and monitor.sharpness_every > 5
    assert any("every widened from 2 to" in n for n in monitor.notes)


def test_log_is_a_table_explain_log_reads(tmp_path):
    pd = pytest.importorskip("pandas")
    _, _, _, H = least_squares()
    monitor, _ = run_gd(2.4 / np.linalg.eigvalsh(H)[-1], 60, every=2, sharpness_every=5)
    frame = monitor.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 60
    assert {"step", "loss", "lr", "grad_norm", "sharpness", "sharpness_threshold", "critical_sharpness"} <= \
        set(frame.columns)
    path = tmp_path / "monitor.csv"
    frame.to_csv(path, index=False)
    assert diagnose_log(read_log(path)).to_dict() == diagnose_log(monitor.training_log()).to_dict()
    import matplotlib
    matplotlib.use("Agg")
    fig = monitor.figure()
    assert len(fig.axes) == 2


@pytest.mark.parametrize("kwargs,message", [
    (dict(every=0), "every must be an integer >= 1, got 0"),
    (dict(sharpness_every=1.5), "sharpness_every must be an integer >= 1, got 1.5"),
    (dict(budget=2.0), r"budget must be in \(0, 1\] or None \(no limit\), got 2.0"),
    (dict(divergence_factor=1.0), "divergence_factor must be > 1, got 1.0"),
    (dict(tol=0.0), r"tol must be in \(0, 1\), got 0.0"),
])
def test_bad_input(kwargs, message):
    model = torch.nn.Linear(2, 1)
    with pytest.raises(ValueError, match=message):
        StabilityMonitor(model, torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


def test_explain_needs_two_steps():
    model = torch.nn.Linear(2, 1)
    monitor = StabilityMonitor(model, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="the monitor needs at least 2 steps to explain a run, got 0"):
        monitor.explain()
