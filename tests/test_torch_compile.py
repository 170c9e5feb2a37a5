"""optimlab.torch.make(..., compile=True): the same formulas through torch.compile follow torch.optim step for step,
compile once per rule (a schedule's new η and the growing step count reuse the kernel), never fall back to eager
silently, and update parameters and state in place.

torch.compile's CPU backend compiles C++: CI installs g++ where it is missing (.ci/run)."""

import contextlib
import shutil

import numpy as np
import parity
import pytest

torch = pytest.importorskip("torch")
import optimlab.torch as otorch  # noqa: E402  (after the skip: this room needs torch)

if not (shutil.which("c++") or shutil.which("g++")):
    pytest.skip("torch.compile on CPU needs a C++ compiler (CI installs g++)", allow_module_level=True)

from torch._dynamo import config as dynamo_config  # noqa: E402
from torch._dynamo.utils import counters  # noqa: E402

# one case per optimizer, each with a schedule or weight decay, so that η changes between compiled steps
CASES = [c for c in parity.TORCH_CASES if c[0] in (
    "sgd+wd+StepLR", "momentum+wd+Cosine", "nesterov+StepLR", "adagrad+decay+s0+wd+StepLR",
    "rmsprop centered+momentum+wd+StepLR", "adam amsgrad+wd+StepLR", "adamw+Cosine", "adadelta lr+wd+StepLR")]


def graphs() -> int:
    return counters["stats"]["unique_graphs"]


def test_every_optimizer_has_a_case():
    from optimlab.optim import OPTIMIZERS
    assert sorted(c[1] for c in CASES) == sorted(OPTIMIZERS)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_compiled_rule_follows_torch_optim_and_compiles_at_most_twice(case):
    _, name, hyper, make_torch, schedule = case
    theirs, _ = parity.torch_trajectory(torch, make_torch, schedule)
    p = torch.nn.Parameter(torch.tensor(parity.X0, dtype=torch.float64))
    opt = otorch.make(name, [p], compile=True, **hyper)
    sched = schedule(opt)
    before, xs = graphs(), []
    with dynamo_config.patch(fail_on_recompile_limit_hit=True), contextlib.ExitStack() as later:
        for t in range(parity.STEPS):
            p.grad = torch.tensor(parity.gradient(p.detach().numpy(), t), dtype=torch.float64)
            if t == 2:  # from here on: a new η every few steps and a new t every step, and no new graph
                later.enter_context(dynamo_config.patch(error_on_recompile=True))
            opt.step()
            sched.step()
            xs.append(p.detach().numpy().copy())
    # the first step compiles with t = 1 as a constant, the second with t symbolic; nothing after
    assert 1 <= graphs() - before <= 2
    assert parity.max_rel_diff(np.array(xs), theirs) <= 1e-12


def test_a_group_of_many_shapes_is_one_graph_and_many_groups_stay_compiled():
    # 12 parameters of different ranks and sizes: in one group, one compiled function (2 graphs: t constant, then
    # symbolic); in 12 groups of their own lr, 12 functions, more than dynamo's limit of 8 recompilations of one
    # code object, which a shared code object would hit and then run eagerly without a word
    g = torch.Generator().manual_seed(0)
    shapes = [(k + 1,) * (1 + k % 3) for k in range(12)]
    start = [torch.randn(s, generator=g) for s in shapes]
    grads = [[torch.randn(s, generator=g) for s in shapes] for _ in range(4)]

    def run(compile, groups):
        params = [torch.nn.Parameter(x.clone()) for x in start]
        spec = [{"params": [p], "lr": 0.01 * (k + 1)} for k, p in enumerate(params)] if groups else params
        opt = otorch.make("adam", spec, lr=0.01, compile=compile)
        before = graphs()
        with dynamo_config.patch(fail_on_recompile_limit_hit=True):
            for step in grads:
                for p, grad in zip(params, step):
                    p.grad = grad.clone()
                opt.step()
        return params, graphs() - before

    for groups, expected in ((False, range(1, 3)), (True, range(12, 25))):
        eager, _ = run(False, groups)
        compiled, made = run(True, groups)
        assert made in expected
        for a, b in zip(compiled, eager):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)  # float32: kernels may reassociate


def test_compiled_step_writes_parameters_and_state_in_place():
    p = torch.nn.Parameter(torch.randn(1000))
    opt = otorch.make("adam", [p], lr=1e-3, compile=True)
    p.grad = torch.randn(1000)
    opt.step()
    addresses = (p.data_ptr(), opt.state[p]["v"].data_ptr(), opt.state[p]["s"].data_ptr())
    before = p.detach().clone()
    for _ in range(3):
        opt.step()
    assert (p.data_ptr(), opt.state[p]["v"].data_ptr(), opt.state[p]["s"].data_ptr()) == addresses
    assert opt.state[p]["t"] == 4
    assert not torch.equal(p.detach(), before)


def test_without_a_cpp_compiler_the_compiled_cpu_step_says_so(monkeypatch):
    import optimlab.torch.optimizer as dropin
    monkeypatch.setattr(dropin, "_cpp_compiler", lambda: None)
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3)
    opt = otorch.make("sgd", [p], lr=0.1, compile=True)
    with pytest.raises(RuntimeError, match=r"compile=True on CPU tensors needs a C\+\+ compiler.*compile=False"):
        opt.step()
    torch.testing.assert_close(p.detach(), torch.ones(3))  # nothing moved
