"""Conventions as options: under convention="torch" every optimizer follows torch.optim step for step (float64,
schedules and weight decay included), under "optax" it follows optax; the same formula runs on NumPy arrays and on
torch tensors; presets only set options and explicit options override them."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import parity
import pytest

import optimlab

# Both sides evaluate the same recurrence in float64 with a different association order (e.g. torch's
# η/bc1 · m/(√v/√bc2 + ε) against η/(√(v/bc2) + ε) · m/bc1): a few ulps per step. The gradients depend on the
# iterate, but the quadratic is contractive at these step sizes, so the differences stay near 1e-15; 1e-12 is the
# issue's bound, not a loosened one.
RTOL = 1e-12


@pytest.mark.parametrize("case", parity.TORCH_CASES, ids=[c[0] for c in parity.TORCH_CASES])
def test_torch_convention_follows_torch_optim(case):
    torch = pytest.importorskip("torch")
    _, name, hyper, make_torch, schedule = case
    theirs, lrs = parity.torch_trajectory(torch, make_torch, schedule)
    ours = parity.optimlab_trajectory(optimlab.optim.make(name, convention="torch", **hyper), lrs)
    assert parity.max_rel_diff(ours, theirs) <= RTOL
    assert np.abs(theirs[-1] - parity.X0).max() > 1e-3  # it moved


# where the conventions differ: a schedule on momentum; ε large enough to matter in Adagrad and RMSProp
DIFFERENT = [
    ("momentum", {"lr": 0.05, "momentum": 0.9}, lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9), parity.step_lr),
    ("nesterov", {"lr": 0.05, "momentum": 0.9}, lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
     parity.cosine_lr),
    ("adagrad", {"lr": 0.5, "eps": 0.1}, lambda t, p: t.optim.Adagrad(p, lr=0.5, eps=0.1), None),
    ("rmsprop", {"lr": 0.01, "gamma": 0.99, "eps": 0.01}, lambda t, p: t.optim.RMSprop(p, lr=0.01, eps=0.01), None),
]


@pytest.mark.parametrize("name, hyper, make_torch, schedule", DIFFERENT, ids=[c[0] for c in DIFFERENT])
def test_lecture_convention_differs_from_torch(name, hyper, make_torch, schedule):
    # the converse: where the conventions differ, the lecture's formula does NOT follow torch, and the torch
    # convention does (so the parity above is a real check of the options, not of formulas that agree anyway)
    torch = pytest.importorskip("torch")
    theirs, lrs = parity.torch_trajectory(torch, make_torch, schedule)
    lecture = parity.optimlab_trajectory(optimlab.optim.make(name, **hyper), lrs)
    torch_like = parity.optimlab_trajectory(optimlab.optim.make(name, convention="torch", **hyper), lrs)
    assert parity.max_rel_diff(lecture, theirs) > 1e-4
    assert parity.max_rel_diff(torch_like, theirs) <= RTOL


# --- optax (a test extra; skipped where jax is not installed) -----------------------------------------------------
# (case id, optimlab name, hyperparameters under convention="optax"); optax's side is in tests/optax_runs.py
OPTAX_CASES = [
    ("sgd", "sgd", {"lr": 0.05}),
    ("sgd momentum+exp", "momentum", {"lr": 0.05, "momentum": 0.9}),
    ("sgd nesterov+cosine", "nesterov", {"lr": 0.05, "momentum": 0.9}),
    ("adagrad", "adagrad", {"lr": 0.5, "eps": 1e-7}),
    ("rmsprop", "rmsprop", {"lr": 0.01, "gamma": 0.9, "eps": 1e-8}),
    ("rmsprop centered+momentum+exp", "rmsprop", {"lr": 0.05, "gamma": 0.9, "momentum": 0.9, "centered": True}),
    ("adam+cosine", "adam", {"lr": 0.05}),
    ("adamw", "adamw", {"lr": 0.05, "weight_decay": 0.1}),
    ("adadelta", "adadelta", {"lr": 0.5, "rho": 0.9, "eps": 1e-6}),
]


@pytest.fixture(scope="module")
def optax_side():
    return run_optax_side()


def run_optax_side(translations=()):
    """optax's runs, in a subprocess: JAX's threads must not be in this process when a later test forks."""
    if importlib.util.find_spec("optax") is None or importlib.util.find_spec("jax") is None:
        pytest.skip("optax and jax are not installed (pip install 'optimlab[optax]')")
    script = Path(__file__).parent / "optax_runs.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(optimlab.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(script), json.dumps(list(translations))], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("case", OPTAX_CASES, ids=[c[0] for c in OPTAX_CASES])
def test_optax_convention_follows_optax(case, optax_side):
    case_id, name, hyper = case
    run = optax_side["trajectories"][case_id]
    ours = parity.optimlab_trajectory(optimlab.optim.make(name, convention="optax", **hyper), run["lrs"])
    assert parity.max_rel_diff(ours, np.array(run["xs"])) <= RTOL


# --- one formula, every array library -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(optimlab.optim.OPTIMIZERS))
@pytest.mark.parametrize("convention", ["lecture", "torch"])
def test_same_rule_runs_on_torch_tensors(name, convention):
    torch = pytest.importorskip("torch")
    lists = {"lr": [0.01, 0.1, 0.3]} if "lr" in optimlab.optim.defaults(name) else {"rho": [0.9, 0.99, 0.999]}
    opt = optimlab.optim.make(name, convention=convention, **lists)
    x = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0], [5.0, 5.0, -5.0]])
    xt, col = torch.tensor(x), torch.tensor(np.reshape(list(lists.values())[0], (-1, 1)))
    rule = optimlab.optim.OPTIMIZERS[name]
    tensor_opt = rule(**{next(iter(lists)): col}, **{k: v for k, v in opt.options.items()})
    s, st = opt.init(x), tensor_opt[0](xt)
    for t in range(20):
        g = np.sin(x * (t + 1))
        x, s = opt.update(x, g, s)
        xt, st = tensor_opt[1](xt, torch.sin(xt * (t + 1)), st)
        assert isinstance(xt, torch.Tensor)
    np.testing.assert_allclose(xt.numpy(), x, rtol=1e-13, atol=1e-15)


# --- presets and options ------------------------------------------------------------------------------------------
def test_presets_only_set_options_and_explicit_options_win():
    lecture, torch_like = optimlab.optim.make("rmsprop"), optimlab.optim.make("rmsprop", convention="torch")
    assert lecture.hyperparams == torch_like.hyperparams == {"lr": 0.03, "gamma": 0.9, "eps": 1e-8}
    assert lecture.options["eps_in_root"] is True and torch_like.options["eps_in_root"] is False
    mixed = optimlab.optim.make("rmsprop", convention="torch", eps_in_root=True)
    assert mixed.options["eps_in_root"] is True and mixed.options["lr_in_velocity"] is False
    assert optimlab.optim.make("adagrad", convention="keras").options["initial_accumulator"] == 0.1
    assert optimlab.optim.make("adam", convention="keras").options["eps_uncorrected"] is True


def test_lecture_defaults_leave_the_formula_unchanged():
    for name in optimlab.optim.OPTIMIZERS:
        opt = optimlab.optim.make(name)
        assert set(opt.hyperparams) == set(optimlab.optim.defaults(name))
        assert opt.convention == "lecture"


def test_keras_adam_puts_eps_on_the_uncorrected_root():
    # Keras: x −= η √(1−β2^t)/(1−β1^t) · v/(√s + ε), written out for two steps by hand
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-3
    opt = optimlab.optim.make("adam", convention="keras", lr=lr, eps=eps)
    x, v, s = np.array([1.0, -1.0]), np.zeros(2), np.zeros(2)
    ours, state = x.copy(), opt.init(x)
    for t, g in enumerate([np.array([0.3, -2.0]), np.array([0.1, 0.5])], start=1):
        v, s = b1 * v + (1 - b1) * g, b2 * s + (1 - b2) * g * g
        x = x - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * v / (np.sqrt(s) + eps)
        ours, state = opt.update(ours, g, state)
    np.testing.assert_allclose(ours, x, rtol=1e-14)


def test_registry_shows_every_option_with_its_meaning():
    d = optimlab.optim.describe("rmsprop")
    assert set(d["options"]) == {"eps_in_root", "centered", "momentum", "lr_in_velocity", "weight_decay",
                                 "decoupled"}
    assert d["options"]["eps_in_root"]["conventions"] == {"lecture": True, "torch": False, "optax": True,
                                                          "keras": True, "gluon": True}
    assert "√" in d["options"]["eps_in_root"]["meaning"]
    assert d["options"]["momentum"]["range"] == "in [0, 1)"
    assert optimlab.optim.describe("adadelta")["options"]["lr_multiplier"]["conventions"]["torch"] is True
