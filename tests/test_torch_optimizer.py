"""optimlab.torch.make: a real torch.optim.Optimizer running optimlab's update rules: torch.optim parity, param
groups, closures, state_dict resume, schedulers, and per-configuration hyperparameters for stacked models."""

import copy
import subprocess
import sys

import numpy as np
import parity
import pytest

torch = pytest.importorskip("torch")
import optimlab.torch as otorch  # noqa: E402  (after the skip: this room needs torch)

RTOL = 1e-12  # as tests/test_conventions.py: the same float64 recurrence in another association order


def dropin_trajectory(name, hyper, schedule, steps=parity.STEPS):
    p = torch.nn.Parameter(torch.tensor(parity.X0, dtype=torch.float64))
    opt = otorch.make(name, [p], **hyper)
    sched = schedule(opt) if schedule else None
    xs = []
    for t in range(steps):
        p.grad = torch.tensor(parity.gradient(p.detach().numpy(), t), dtype=torch.float64)
        opt.step()
        if sched:
            sched.step()
        xs.append(p.detach().numpy().copy())
    return np.array(xs)


@pytest.mark.parametrize("case", parity.TORCH_CASES, ids=[c[0] for c in parity.TORCH_CASES])
def test_dropin_follows_torch_optim(case):
    _, name, hyper, make_torch, schedule = case
    theirs, _ = parity.torch_trajectory(torch, make_torch, schedule)
    ours = dropin_trajectory(name, hyper, schedule)
    assert parity.max_rel_diff(ours, theirs) <= RTOL


def test_is_a_torch_optimizer_and_imports_no_torch_below():
    p = torch.nn.Parameter(torch.zeros(3))
    assert isinstance(otorch.make("adam", [p]), torch.optim.Optimizer)
    code = "import sys, optimlab; optimlab.optim.make('adam'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()


def _data(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(32, 4, generator=g, dtype=torch.float64), torch.randn(32, 1, generator=g, dtype=torch.float64)


def _train(model, opt, steps=15, sched=None):
    x, y = _data()
    losses = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss
        losses.append(opt.step(closure).item())
        if sched:
            sched.step()
    return losses


def test_param_groups_with_their_own_hyperparameters_and_add_param_group():
    a, b = _model(), _model()
    first, second = list(a[0].parameters()), list(a[2].parameters())
    opt = otorch.make("momentum", [{"params": first, "lr": 0.1}], momentum=0.5)
    opt.add_param_group({"params": second, "lr": 0.01, "momentum": 0.9})
    _train(a, opt)
    ref = torch.optim.SGD([{"params": b[0].parameters(), "lr": 0.1, "momentum": 0.5},
                           {"params": b[2].parameters(), "lr": 0.01, "momentum": 0.9}])
    _train(b, ref)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=RTOL, atol=0)


def test_closure_loss_is_returned_and_zero_grad_clears():
    model = _model()
    opt = otorch.make("adam", model.parameters(), lr=0.01)
    losses = _train(model, opt, steps=30)
    assert losses[-1] < losses[0]
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("name, hyper", [("adam", {"lr": 0.01, "amsgrad": True}),
                                         ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
                                         ("adagrad", {"lr": 0.1, "lr_decay": 0.01}),
                                         ("adadelta", {"lr": 0.5})])
def test_resume_from_state_dict_is_bit_identical(name, hyper):
    straight = _model()
    opt = otorch.make(name, straight.parameters(), **hyper)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    _train(straight, opt, steps=10, sched=sched)
    saved = {"model": {k: v.clone() for k, v in straight.state_dict().items()},
             "opt": opt.state_dict(), "sched": sched.state_dict()}
    import copy
    saved = copy.deepcopy(saved)
    _train(straight, opt, steps=10, sched=sched)

    resumed = _model(seed=5)  # other weights, overwritten by the checkpoint
    resumed.load_state_dict(saved["model"])
    opt2 = otorch.make(name, resumed.parameters(), **hyper)
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=4, gamma=0.5)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    _train(resumed, opt2, steps=10, sched=sched2)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)  # bit for bit


def test_stacked_models_with_per_configuration_hyperparameters_equal_separate_trainings():
    from torch.func import functional_call, stack_module_state
    lrs, momenta = [0.3, 0.1, 0.03], [0.0, 0.5, 0.9]
    models = [_model(seed=k) for k in range(3)]
    separate = [_model(seed=k) for k in range(3)]
    params, buffers = stack_module_state(models)
    stacked = {k: torch.nn.Parameter(v.detach().clone()) for k, v in params.items()}
    opt = otorch.make("momentum", stacked.values(), lr=lrs, momentum=torch.tensor(momenta, dtype=torch.float64))
    base = _model()
    x, y = _data()

    def loss_one(p, b):
        return ((functional_call(base, (p, b), (x,)) - y) ** 2).mean()

    for _ in range(20):
        opt.zero_grad()
        torch.vmap(loss_one)(stacked, buffers).sum().backward()  # sum: each model's gradient is its own loss's
        opt.step()
    for k, model in enumerate(separate):
        _train(model, torch.optim.SGD(model.parameters(), lr=lrs[k], momentum=momenta[k]), steps=20)
        for name, p in model.named_parameters():
            # vmap batches the matrix products, so sums may be taken in another order: a few ulps
            torch.testing.assert_close(stacked[name][k], p, rtol=1e-12, atol=1e-14)
    assert not torch.allclose(stacked["0.weight"][0], stacked["0.weight"][2])


SCHEDULES = [  # (name, scheduler of an optimizer; max_lr: OneCycleLR's peak, per configuration or of one model)
    ("StepLR", lambda o, _: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
    ("CosineAnnealingLR", lambda o, _: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=0.001)),
    ("OneCycleLR", lambda o, peak: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=peak, total_steps=20,
                                                                       cycle_momentum=False)),
    ("LinearLR then ExponentialLR", lambda o, _: torch.optim.lr_scheduler.SequentialLR(
        o, [torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5),
            torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)], milestones=[5])),
]
LRS, MOMENTA, PEAKS = [0.3, 0.1, 0.03], [0.0, 0.5, 0.9], [0.5, 0.2, 0.05]


class Stacked:
    """Three models stacked for a vmapped ensemble, one optimlab optimizer with per-configuration η and γ."""

    def __init__(self, schedule):
        from torch.func import stack_module_state
        params, self.buffers = stack_module_state([_model(seed=k) for k in range(3)])
        self.params = {k: torch.nn.Parameter(v.detach().clone()) for k, v in params.items()}
        self.opt = otorch.make("momentum", self.params.values(), lr=LRS, momentum=MOMENTA)
        self.sched = schedule(self.opt, np.array(PEAKS))  # an array: one group, a peak per configuration
        self.base, (self.x, self.y) = _model(), _data()

    def train(self, steps):
        from torch.func import functional_call

        def loss_one(p, b):
            return ((functional_call(self.base, (p, b), (self.x,)) - self.y) ** 2).mean()

        for _ in range(steps):
            self.opt.zero_grad()
            torch.vmap(loss_one)(self.params, self.buffers).sum().backward()
            self.opt.step()
            self.sched.step()


@pytest.mark.parametrize("schedule", [s[1] for s in SCHEDULES], ids=[s[0] for s in SCHEDULES])
def test_a_scheduler_drives_every_configurations_own_lr(schedule):
    """K stacked models, each with its own η, one torch scheduler: equal to K separate torch.optim trainings, each
    with the same scheduler on its own η (OneCycleLR: its own peak)."""
    ensemble = Stacked(schedule)
    ensemble.train(20)
    for k in range(3):
        model = _model(seed=k)
        ref = torch.optim.SGD(model.parameters(), lr=LRS[k], momentum=MOMENTA[k])
        _train(model, ref, steps=20, sched=schedule(ref, PEAKS[k]))
        for name, p in model.named_parameters():
            # vmap batches the matrix products, so sums may be taken in another order: a few ulps
            torch.testing.assert_close(ensemble.params[name][k], p, rtol=1e-12, atol=1e-14)


def test_per_configuration_lr_with_a_scheduler_resumes_bit_for_bit():
    import io
    schedule = SCHEDULES[1][1]
    straight = Stacked(schedule)
    straight.train(20)
    first = Stacked(schedule)
    first.train(10)
    checkpoint = io.BytesIO()
    torch.save({"params": {k: v.detach() for k, v in first.params.items()}, "opt": first.opt.state_dict()},
               checkpoint)
    sched_state = copy.deepcopy(first.sched.state_dict())  # holds NumPy arrays: torch.load(weights_only=False)
    checkpoint.seek(0)
    saved = torch.load(checkpoint)  # the default weights_only=True: the optimizer's η is saved as a list
    assert saved["opt"]["param_groups"][0]["lr"] == pytest.approx(list(first.opt.param_groups[0]["lr"]), abs=0)
    resumed = Stacked(schedule)
    with torch.no_grad():
        for k, v in resumed.params.items():
            v.copy_(saved["params"][k])
    resumed.opt.load_state_dict(saved["opt"])
    resumed.sched.load_state_dict(sched_state)
    assert isinstance(resumed.opt.param_groups[0]["lr"], np.ndarray)
    resumed.train(10)
    for k, v in straight.params.items():
        assert torch.equal(v, resumed.params[k])


def test_a_negative_per_configuration_lr_is_refused_at_step():
    p = torch.nn.Parameter(torch.zeros(3, 2))
    p.grad = torch.ones(3, 2)
    opt = otorch.make("sgd", [p], lr=[0.1, 0.2, 0.3])
    opt.param_groups[0]["lr"] = opt.param_groups[0]["lr"] - 0.25
    with pytest.raises(ValueError, match=r"lr must be finite numbers >= 0, got -0\.15.* among"):
        opt.step()
    torch.testing.assert_close(p.detach(), torch.zeros(3, 2))  # nothing moved


ERRORS = [
    ("unknown optimizer", lambda p: otorch.make("lion", p), r"unknown optimizer 'lion'"),
    ("lr < 0", lambda p: otorch.make("adam", p, lr=-1.0), r"lr must be > 0, got -1\.0"),
    ("torch's name for beta", lambda p: otorch.make("adam", p, betas=(0.9, 0.99)),
     r"adam takes no hyperparameter 'betas'; it takes: lr, beta1, beta2, eps"),
    ("unknown convention", lambda p: otorch.make("sgd", p, convention="tf"), r"unknown convention 'tf'"),
    ("group with bad momentum", lambda p: otorch.make("momentum", [{"params": p, "momentum": 1.5}]),
     r"momentum must be in \[0, 1\), got 1\.5"),
    ("per-config lists of different lengths", lambda p: otorch.make("momentum", p, lr=[0.1, 0.2], momentum=[0.1]),
     r"same length"),
]


@pytest.mark.parametrize("what, call, message", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_is_refused_at_construction(what, call, message):
    with pytest.raises(ValueError, match=message):
        call([torch.nn.Parameter(torch.zeros(3))])


def test_per_configuration_value_needs_the_leading_axis():
    p = torch.nn.Parameter(torch.zeros(4, 2))
    p.grad = torch.ones(4, 2)
    with pytest.raises(ValueError, match=r"3 values \(one per configuration\).*leading axis of 3, got shape \(4, 2\)"):
        otorch.make("sgd", [p], lr=[0.1, 0.2, 0.3]).step()


def test_negative_lr_written_into_a_group_is_refused_at_step():
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.ones(3)
    opt = otorch.make("sgd", [p], lr=0.1)
    opt.param_groups[0]["lr"] = -0.5
    with pytest.raises(ValueError, match=r"lr must be a finite number >= 0, got -0\.5"):
        opt.step()
    torch.testing.assert_close(p.detach(), torch.zeros(3))  # nothing moved


@pytest.mark.parametrize("name, hyper", [("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
                                         ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
                                         ("adagrad", {"lr": 0.1, "lr_decay": 0.01}), ("nesterov", {"lr": 0.05})])
def test_large_cpu_parameters_updated_by_slices_give_the_same_bits(name, hyper):
    # a CPU parameter above Optimizer.chunk elements is updated slice by slice (for speed); the rules are
    # elementwise, so the result must be bit for bit the one of the whole tensor at once
    g = torch.Generator().manual_seed(3)
    start = torch.randn(5, 23, generator=g, dtype=torch.float64)
    grads = [torch.randn(5, 23, generator=g, dtype=torch.float64) for _ in range(6)]
    results = []
    for chunk in (7, 10_000):  # 115 elements: 17 slices (the last one short), or whole
        p = torch.nn.Parameter(start.clone())
        opt = otorch.make(name, [p], **hyper)
        opt.chunk = chunk
        for grad in grads:
            p.grad = grad.clone()
            opt.step()
        assert opt._sliced(p, (), uniform=True) is (chunk == 7)  # the sliced path is the one taken
        results.append(p.detach().clone())
    assert torch.equal(results[0], results[1])


def test_parameters_of_one_shape_class_but_other_sizes_and_layouts():
    # a small and a large weight of the same leading size, and a transposed (non-contiguous) one: the large one is
    # sliced, the others are not, and all follow torch.optim
    g = torch.Generator().manual_seed(4)
    shapes = [(8, 3), (8, 50), (50, 8)]
    ours = [torch.nn.Parameter(torch.randn(s, generator=g, dtype=torch.float64)) for s in shapes]
    ours[2] = torch.nn.Parameter(ours[2].detach().t())  # (8, 50), non-contiguous
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    opt, ref = otorch.make("adam", ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01)
    opt.chunk = 100
    for _ in range(5):
        for a, b in zip(ours, theirs):
            a.grad = torch.randn(a.shape, generator=g, dtype=torch.float64)
            b.grad = a.grad.clone()
        opt.step()
        ref.step()
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
