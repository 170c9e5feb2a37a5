"""The drop-in optimizers, compiled and not, sharpness and lr_find on a CUDA device: the same numbers as
torch.optim on that device, and as optimlab on the CPU. These run only where CUDA is present (this project's CI
machine has no GPU; they are skipped there, with that reason)."""

import copy

import numpy as np
import parity
import pytest

torch = pytest.importorskip("torch")
import optimlab.torch as otorch  # noqa: E402  (after the skip: this room needs torch)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
CUDA = "cuda"


def trajectory(make, schedule, device):
    p = torch.nn.Parameter(torch.tensor(parity.X0, dtype=torch.float64, device=device))
    opt = make([p])
    sched = schedule(opt) if schedule else None
    xs = []
    for t in range(parity.STEPS):
        grad = parity.gradient(p.detach().cpu().numpy(), t)
        p.grad = torch.tensor(grad, dtype=torch.float64, device=device)
        opt.step()
        if sched:
            sched.step()
        xs.append(p.detach().cpu().numpy().copy())
    return np.array(xs)


@pytest.mark.parametrize("case", parity.TORCH_CASES, ids=[c[0] for c in parity.TORCH_CASES])
def test_dropin_on_cuda_follows_torch_optim_on_cuda(case):
    _, name, hyper, make_torch, schedule = case
    theirs = trajectory(lambda ps: make_torch(torch, ps), schedule, CUDA)
    ours = trajectory(lambda ps: otorch.make(name, ps, **hyper), schedule, CUDA)
    assert parity.max_rel_diff(ours, theirs) <= 1e-12


@pytest.mark.parametrize("name, make_torch", [
    ("adam", lambda ps: torch.optim.Adam(ps, lr=0.01, fused=True)),
    ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.05)),
])
def test_compiled_on_cuda_follows_torch_optim(name, make_torch):
    theirs = trajectory(make_torch, parity.step_lr, CUDA)
    ours = trajectory(lambda ps: otorch.make(name, ps, compile=True, **({"lr": 0.01} if name == "adam" else
                                                                         {"lr": 0.05})), parity.step_lr, CUDA)
    assert parity.max_rel_diff(ours, theirs) <= 1e-12


def test_stacked_per_configuration_values_on_cuda_equal_the_cpu():
    results = []
    for device in ("cpu", CUDA):
        g = torch.Generator().manual_seed(0)
        p = torch.nn.Parameter(torch.randn(3, 4, generator=g, dtype=torch.float64).to(device))
        opt = otorch.make("momentum", [p], lr=[0.3, 0.1, 0.03], momentum=[0.0, 0.5, 0.9])
        for _ in range(10):
            p.grad = (2 * p).detach()
            opt.step()
        results.append(p.detach().cpu())
    torch.testing.assert_close(results[1], results[0], rtol=1e-12, atol=0)


def _model(device):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.Tanh(), torch.nn.Linear(10, 1)).double().to(device)


def test_sharpness_on_cuda_equals_the_cpu():
    values = []
    for device in ("cpu", CUDA):
        model = _model(device)
        g = torch.Generator().manual_seed(1)
        x, y = torch.randn(32, 6, generator=g, dtype=torch.float64), torch.randn(32, 1, generator=g,
                                                                                 dtype=torch.float64)
        result = otorch.sharpness(model, torch.nn.MSELoss(), [(x.to(device), y.to(device))])
        values.append(result.lambda_max)
    assert values[1] == pytest.approx(values[0], rel=1e-10)


def test_lr_find_on_cuda_leaves_the_cuda_rng_as_it_was():
    model = _model(CUDA)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(2)
    batches = [(torch.randn(16, 6, generator=g, dtype=torch.float64).to(CUDA),
                torch.randn(16, 1, generator=g, dtype=torch.float64).to(CUDA)) for _ in range(4)]
    weights, opt_state = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
    cuda_rng, cpu_rng = torch.cuda.get_rng_state(), torch.get_rng_state()
    otorch.lr_find(model, torch.nn.MSELoss(), batches, optimizer=opt, steps=20)
    assert torch.equal(torch.cuda.get_rng_state(), cuda_rng) and torch.equal(torch.get_rng_state(), cpu_rng)
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k])
    assert opt.state_dict()["param_groups"] == opt_state["param_groups"]
