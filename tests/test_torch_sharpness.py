"""optimlab.torch.sharpness against the eigenvalues of the full Hessian (torch.autograd.functional.hessian, then
numpy's eigvalsh) on small float64 models, with the preconditioner written out here from torch's update rules."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.func import functional_call  # noqa: E402

from optimlab.torch import critical_sharpness, sharpness  # noqa: E402

EXACT = 1e-9  # Lanczos to tol 1e-10 in float64 against a dense eigensolver: agreement to ~1e-12 is typical


def mlp(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).to(dtype)


def data(seed=1, n=40, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=g, dtype=dtype)
    y = torch.randint(0, 3, (n,), generator=g)
    return [(X[:25], y[:25]), (X[25:], y[25:])]  # unequal batches: the loss is weighted by batch size


LOSS = torch.nn.CrossEntropyLoss()


def full_hessian(model, batches, loss_fn=LOSS):
    names = [n for n, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]
    total = sum(len(b[0]) for b in batches)

    def f(flat):
        d, i = {}, 0
        for name, p in zip(names, params):
            d[name] = flat[i:i + p.numel()].view_as(p)
            i += p.numel()
        return sum(len(x) / total * loss_fn(functional_call(model, d, (x,)), y) for x, y in batches)

    flat = torch.cat([p.detach().reshape(-1) for p in params])
    H = torch.autograd.functional.hessian(f, flat).numpy()
    g = torch.autograd.functional.jacobian(f, flat).numpy()
    return 0.5 * (H + H.T), g


def train_steps(model, opt, batches, steps=3):
    for _ in range(steps):
        opt.zero_grad()
        LOSS(model(batches[0][0]), batches[0][1]).backward()
        opt.step()


def test_hessian_top_eigenvalues_match_dense():
    model, batches = mlp(), data()
    H, _ = full_hessian(model, batches)
    ev = np.sort(np.linalg.eigvalsh(H))[::-1]
    s = sharpness(model, LOSS, batches, k=3, tol=1e-10)
    assert s.kind == "hessian" and s.threshold is None
    np.testing.assert_allclose(s.eigenvalues, ev[:3], rtol=EXACT)
    assert abs(s.lambda_max - ev[0]) / ev[0] < EXACT
    assert s.hvps > 0 and s.gradient_evaluations == 2 and s.seconds > 0


def test_single_batch_and_dense_path_on_a_tiny_model():
    torch.manual_seed(3)
    model = torch.nn.Linear(2, 1).double()  # 3 parameters: below Lanczos's working size, built densely
    X = torch.randn(30, 2, dtype=torch.float64)
    y = torch.randn(30, 1, dtype=torch.float64)
    mse = torch.nn.MSELoss()
    H, _ = full_hessian(model, [(X, y)], mse)
    s = sharpness(model, mse, (X, y))
    assert s.hvps == 3
    assert abs(s.lambda_max - np.linalg.eigvalsh(H)[-1]) < 1e-12 * np.linalg.eigvalsh(H)[-1]
    # least squares: H = (2/n)·[X 1]ᵀ[X 1], independent of the weights
    A = np.hstack([X.numpy(), np.ones((30, 1))])
    assert s.lambda_max == pytest.approx(np.linalg.eigvalsh(2 * A.T @ A / 30)[-1], rel=1e-12)


def adam_P(opt, p, group):
    st = opt.state[p]
    v = st["max_exp_avg_sq"] if group["amsgrad"] else st["exp_avg_sq"]
    return (torch.sqrt(v / (1 - group["betas"][1] ** float(st["step"]))) + group["eps"]).reshape(-1)


def rmsprop_P(opt, p, group):
    st = opt.state[p]
    s = st["square_avg"] - (st["grad_avg"] ** 2 if group["centered"] else 0)
    return (torch.sqrt(s) + group["eps"]).reshape(-1)


def adagrad_P(opt, p, group):
    return (torch.sqrt(opt.state[p]["sum"]) + group["eps"]).reshape(-1)


# optimizer, kwargs, its P (None: 1), c, coupled weight decay in H, η of the next step
CASES = [
    ("sgd", torch.optim.SGD, dict(lr=0.1), None, 2.0, 0.0),
    ("momentum", torch.optim.SGD, dict(lr=0.1, momentum=0.9), None, 3.8, 0.0),
    ("dampened", torch.optim.SGD, dict(lr=0.1, momentum=0.5, dampening=0.5), None, 6.0, 0.0),
    ("nesterov", torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), None, 3.8 / 2.8, 0.0),
    ("sgd_l2", torch.optim.SGD, dict(lr=0.1, weight_decay=0.3), None, 2.0, 0.3),
    ("adam", torch.optim.Adam, dict(lr=0.01), adam_P, 38.0, 0.0),
    ("adam_l2", torch.optim.Adam, dict(lr=0.01, weight_decay=0.2), adam_P, 38.0, 0.2),
    ("adamw", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.2), adam_P, 38.0, 0.0),
    ("amsgrad", torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True), adam_P, 18.0, 0.0),
    ("rmsprop", torch.optim.RMSprop, dict(lr=0.01), rmsprop_P, 2.0, 0.0),
    ("rmsprop_cm", torch.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5), rmsprop_P, 3.0, 0.0),
    ("adagrad", torch.optim.Adagrad, dict(lr=0.1, initial_accumulator_value=0.1), adagrad_P, 2.0, 0.0),
]


@pytest.mark.parametrize("name,cls,kwargs,P_of,c,wd", CASES, ids=[c[0] for c in CASES])
def test_preconditioned_sharpness_matches_dense(name, cls, kwargs, P_of, c, wd):
    model, batches = mlp(), data()
    opt = cls(model.parameters(), **kwargs)
    train_steps(model, opt, batches)
    H, _ = full_hessian(model, batches)
    H = H + wd * np.eye(len(H))
    group = opt.param_groups[0]
    if P_of is None:
        ref = np.linalg.eigvalsh(H)[-1]
    else:
        P = torch.cat([P_of(opt, p, group) for p in model.parameters()]).numpy()
        r = 1 / np.sqrt(P)
        ref = np.linalg.eigvalsh(r[:, None] * H * r[None, :])[-1]
    s = sharpness(model, LOSS, batches, optimizer=opt, tol=1e-10)
    assert abs(s.lambda_max - ref) / abs(ref) < EXACT
    assert s.kind == ("hessian" if P_of is None else "preconditioned")
    assert s.bound == pytest.approx(c, rel=1e-12)
    assert s.threshold == pytest.approx(c / kwargs["lr"], rel=1e-12)
    assert s.ratio == pytest.approx(ref * kwargs["lr"] / c, rel=EXACT)


def test_adagrad_lr_decay_uses_the_next_steps_rate():
    model, batches = mlp(), data()
    opt = torch.optim.Adagrad(model.parameters(), lr=0.1, lr_decay=0.5)
    train_steps(model, opt, batches, steps=4)
    s = sharpness(model, LOSS, batches, optimizer=opt)
    assert s.lr == pytest.approx(0.1 / (1 + 4 * 0.5))  # torch: η/(1 + (t − 1)·decay) at the 5th step


def test_groups_with_different_lr_report_the_normalized_edge():
    model, batches = mlp(), data()
    first, second = list(model.parameters())[:2], list(model.parameters())[2:]
    opt = torch.optim.SGD([{"params": first, "lr": 0.1}, {"params": second, "lr": 0.4}])
    H, _ = full_hessian(model, batches)
    eta = np.concatenate([np.full(p.numel(), 0.1) for p in first] + [np.full(p.numel(), 0.4) for p in second])
    r = np.sqrt(eta / 2)
    s = sharpness(model, LOSS, batches, optimizer=opt, tol=1e-10)
    assert s.lr is None and s.threshold == 1.0
    assert s.lambda_max == pytest.approx(np.linalg.eigvalsh(r[:, None] * H * r[None, :])[-1], rel=EXACT)


def quadratic():
    torch.manual_seed(5)
    model = torch.nn.Linear(6, 1).double()
    X = torch.randn(50, 6, dtype=torch.float64) * torch.linspace(0.3, 3, 6, dtype=torch.float64)
    y = torch.randn(50, 1, dtype=torch.float64)
    return model, (X, y), torch.nn.MSELoss()


def test_critical_sharpness_is_the_curvature_along_the_gradient_on_a_quadratic():
    model, batch, mse = quadratic()
    H, g = full_hessian(model, [batch], mse)
    c = critical_sharpness(model, mse, batch, rtol=1e-9)
    assert c.direction == "gradient"
    assert c.critical_sharpness == pytest.approx(g @ H @ g / (g @ g), rel=1e-8)  # 2/η_c = gᵀHg/gᵀg
    assert c.critical_sharpness <= np.linalg.eigvalsh(H)[-1]


def test_critical_sharpness_along_a_momentum_update():
    model, batch, mse = quadratic()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        mse(model(batch[0]), batch[1]).backward()
        opt.step()
    H, g = full_hessian(model, [batch], mse)
    buf = torch.cat([opt.state[p]["momentum_buffer"].reshape(-1) for p in model.parameters()]).numpy()
    d = 0.9 * buf + g  # torch's next update is −η(γ·buf + g)
    c = critical_sharpness(model, mse, batch, optimizer=opt, rtol=1e-9)
    assert c.direction == "update"
    # L(θ − ηd) − L(θ) = −η gᵀd + ½η² dᵀHd: it rises past η_c = 2gᵀd/dᵀHd
    assert c.critical_lr == pytest.approx(2 * (g @ d) / (d @ H @ d), rel=1e-8)
    assert c.ratio == pytest.approx(0.01 / c.critical_lr)


def snapshot(model, opt):
    return ([t.detach().clone() for t in model.state_dict().values()],
            [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            copy.deepcopy(opt.state_dict()), torch.get_rng_state())


def same(a, b):
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def test_no_trace_and_dropout_is_the_same_in_every_pass():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.Tanh(),
                                torch.nn.Dropout(0.3), torch.nn.Linear(8, 3)).double()
    batches = data()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    train_steps(model, opt, batches, steps=2)
    LOSS(model(batches[0][0]), batches[0][1]).backward()  # leave a gradient lying there
    before = snapshot(model, opt)
    a = sharpness(model, LOSS, batches, optimizer=opt, tol=1e-10)
    b = sharpness(model, LOSS, batches, optimizer=opt, tol=1e-10)
    critical_sharpness(model, LOSS, batches, optimizer=opt)
    assert same(before, snapshot(model, opt))
    assert a.lambda_max == pytest.approx(b.lambda_max, rel=1e-9)  # the loss is one function of θ: same masks


@pytest.mark.parametrize("kwargs,message", [
    (dict(k=0), "k must be an integer >= 1, got 0"),
    (dict(tol=0.0), "tol must be > 0, got 0.0"),
    (dict(k=1000), "k must be <= the number of parameters 75, got 1000"),
    (dict(batches=[]), "batches must hold at least one"),
    (dict(optimizer="adam_fresh"), "Adam has no 'exp_avg_sq' state yet"),
    (dict(optimizer="lr0"), "lr must be > 0 to have a stability threshold, got 0.0"),
])
def test_bad_input(kwargs, message):
    model, batches = mlp(), data()
    if kwargs.get("optimizer") == "adam_fresh":
        kwargs["optimizer"] = torch.optim.Adam(model.parameters())
    elif kwargs.get("optimizer") == "lr0":
        kwargs["optimizer"] = torch.optim.SGD(model.parameters(), lr=0.0)
    kwargs.setdefault("batches", batches)
    with pytest.raises(ValueError, match=message):
        sharpness(model, LOSS, **kwargs)


def test_critical_sharpness_bad_rtol():
    model, batches = mlp(), data()
    with pytest.raises(ValueError, match=r"rtol must be in \(0, 1\), got 2"):
        critical_sharpness(model, LOSS, batches, rtol=2)


import optimlab.torch as ot  # noqa: E402

DROPIN = [  # optimlab's name and hyperparameters under convention="torch", and the torch.optim twin
    ("adam", dict(lr=0.01), torch.optim.Adam, dict(lr=0.01)),
    ("adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1), torch.optim.Adam,
     dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("adamw", dict(lr=0.01), torch.optim.AdamW, dict(lr=0.01)),
    ("rmsprop", dict(lr=0.01, gamma=0.99, momentum=0.5, centered=True), torch.optim.RMSprop,
     dict(lr=0.01, momentum=0.5, centered=True)),
    ("adagrad", dict(lr=0.1, lr_decay=0.5, eps=1e-10), torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.5)),
    ("momentum", dict(lr=0.1, momentum=0.9), torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
]


@pytest.mark.skipif(not hasattr(ot, "make"), reason="optimlab.torch.make (branch optim) not merged yet")
@pytest.mark.parametrize("name,kwargs,cls,torch_kwargs", DROPIN, ids=[f"{c[0]}{i}" for i, c in enumerate(DROPIN)])
def test_dropin_optimizers_read_like_their_torch_twins(name, kwargs, cls, torch_kwargs):
    """optimlab's drop-ins follow torch.optim step for step under convention="torch", so after the same steps the
    preconditioned sharpness read through their own step_size equals the one read from torch's state names."""
    out = []
    for build in (lambda m: ot.make(name, m.parameters(), convention="torch", **kwargs),
                  lambda m: cls(m.parameters(), **torch_kwargs)):
        model, batches = mlp(), data()
        opt = build(model)
        train_steps(model, opt, batches)
        out.append(sharpness(model, LOSS, batches, optimizer=opt, tol=1e-10))
    mine, twin = out
    assert mine.lambda_max == pytest.approx(twin.lambda_max, rel=1e-9)
    assert (mine.threshold, mine.lr, mine.kind) == pytest.approx((twin.threshold, twin.lr, twin.kind))
