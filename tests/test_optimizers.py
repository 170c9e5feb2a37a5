"""Each optimizer against the lecture's formulas as a plain loop, against torch.optim where the conventions
match, and the identities the math promises. The optimizers under test are declared once, as a table."""

import numpy as np
import pytest
import reference

import optimlab

# name -> hyperparameters for a single run and a batch of K = 3 configurations (values chosen to exercise every
# term: no hyperparameter at 0 or at a value that would hide a misplaced symbol).
CASES = {
    "sgd": ({"lr": 0.1}, {"lr": [0.01, 0.1, 0.5]}),
    "momentum": ({"lr": 0.05, "momentum": 0.9}, {"lr": [0.05, 0.1, 0.2], "momentum": [0.0, 0.5, 0.99]}),
    "nesterov": ({"lr": 0.05, "momentum": 0.9}, {"lr": [0.05, 0.1, 0.2], "momentum": [0.0, 0.5, 0.99]}),
    "adagrad": ({"lr": 0.9, "eps": 1e-7}, {"lr": [0.1, 0.9, 2.0], "eps": [1e-7, 1e-3, 1.0]}),
    "rmsprop": ({"lr": 0.03, "gamma": 0.9}, {"lr": [0.03, 0.01, 0.1], "gamma": [0.0, 0.9, 0.999]}),
    "adam": ({"lr": 0.1}, {"lr": [0.1, 0.01, 0.3], "beta1": [0.0, 0.9, 0.5], "beta2": [0.999, 0.9, 0.0]}),
    "adamw": ({"lr": 0.1, "weight_decay": 0.1}, {"lr": [0.1, 0.01, 0.3], "weight_decay": [0.0, 0.01, 0.5]}),
    "adadelta": ({"rho": 0.999}, {"rho": [0.9, 0.99, 0.999], "eps": [1e-5, 1e-6, 1e-2]}),
}
STEPS, P = 50, 4
# Relative agreement with the plain loops. Both sides compute the same IEEE operations on float64, in a possibly
# different association order (numpy broadcasts vs scalar Python), so each step may differ by a few ulps; on fixed
# gradients nothing feeds back, and 50 steps leave errors near 1e-14, well inside 1e-12.
RTOL = 1e-12


def fixed_gradients(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(STEPS, P)) * np.array([1.0, 0.1, 10.0, 1e-3])  # coordinates of very different scale


def run_optimizer(opt, x0, grads):
    state = opt.init(x0)
    x = x0
    for g in grads:
        x, state = opt.update(x, np.broadcast_to(g, x.shape), state)
    return x


def expected(name, hyper, x0, grads):
    full = {**optimlab.optim.defaults(name), **hyper}
    return np.array(getattr(reference, name)(x0, grads, **full))


@pytest.mark.parametrize("name", CASES)
def test_single_run_matches_the_lecture_formulas(name):
    hyper, _ = CASES[name]
    x0, grads = np.array([1.0, -2.0, 0.5, 3.0]), fixed_gradients()
    got = run_optimizer(optimlab.optim.make(name, **hyper), x0, grads)
    np.testing.assert_allclose(got, expected(name, hyper, x0, grads), rtol=RTOL, atol=0)
    assert not np.allclose(got, x0)  # the optimizer moved


@pytest.mark.parametrize("name", CASES)
def test_batched_configurations_match_separate_loops(name):
    _, lists = CASES[name]
    x0 = np.array([[1.0, -2.0, 0.5, 3.0], [0.0, 1.0, -1.0, 2.0], [5.0, 5.0, -5.0, 0.1]])
    grads = fixed_gradients(1)
    got = run_optimizer(optimlab.optim.make(name, **lists), x0, grads)
    for k in range(3):
        hyper = {n: v[k] for n, v in lists.items()}
        np.testing.assert_allclose(got[k], expected(name, hyper, x0[k], grads), rtol=RTOL, atol=0)


@pytest.mark.parametrize("name", CASES)
def test_update_is_pure(name):
    opt = optimlab.optim.make(name, **CASES[name][0])
    x, g = np.ones(P), np.full(P, 0.5)
    state = opt.init(x)
    before = [np.copy(a) for a in state if isinstance(a, np.ndarray)]
    x1, state1 = opt.update(x, g, state)
    x2, state2 = opt.update(x, g, state)
    np.testing.assert_array_equal(x, np.ones(P))
    np.testing.assert_array_equal(g, np.full(P, 0.5))
    for a, b in zip([a for a in state if isinstance(a, np.ndarray)], before):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x1, x2)  # same inputs, same outputs


def test_momentum_with_zero_gamma_is_sgd():
    x0, grads = np.array([1.0, -2.0, 0.5, 3.0]), fixed_gradients(2)
    sgd = run_optimizer(optimlab.optim.make("sgd", lr=0.3), x0, grads)
    mom = run_optimizer(optimlab.optim.make("momentum", lr=0.3, momentum=0.0), x0, grads)
    np.testing.assert_array_equal(mom, sgd)  # v = 0·v + ηg = ηg exactly, so bit for bit


def test_rmsprop_s_equals_adam_s_when_beta2_is_gamma():
    grads = fixed_gradients(3)
    rms = optimlab.optim.make("rmsprop", gamma=0.95)
    adam = optimlab.optim.make("adam", beta2=0.95)
    x = np.zeros(P)
    s_rms, s_adam = rms.init(x), adam.init(x)
    for g in grads:
        _, s_rms = rms.update(x, g, s_rms)
        _, s_adam = adam.update(x, g, s_adam)
        np.testing.assert_array_equal(s_rms.s, s_adam.s)
    assert s_adam.t == STEPS


def test_adam_first_step_is_lr_times_sign():
    # with v̂ = g and ŝ = g² after one update, the step is η g/(|g| + ε): η·sign(g) up to ε/|g|
    opt = optimlab.optim.make("adam", lr=0.1)
    x, _ = opt.update(np.zeros(3), np.array([2.0, -0.5, 1e-3]), opt.init(np.zeros(3)))
    np.testing.assert_allclose(x, -0.1 * np.sign([2.0, -0.5, 1e-3]), rtol=1e-5)


def test_schedule_lr_overrides_configured_lr():
    opt = optimlab.optim.make("momentum", lr=0.2, momentum=0.5)
    x, g = np.zeros(2), np.ones(2)
    x1, s1 = opt.update(x, g, opt.init(x), lr=0.02)
    np.testing.assert_allclose(s1.v, 0.02 * g)
    x2, _ = opt.update(x1, g, s1, lr=0.002)
    np.testing.assert_allclose(s1.v * 0.5 + 0.002 * g, x1 - x2)


def test_params_must_carry_the_configuration_axis():
    opt = optimlab.optim.make("sgd", lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"3 configurations, so params must have shape \(3, P\)"):
        opt.init(np.zeros(3))


def test_registry_describes_every_optimizer():
    for name in optimlab.optim.OPTIMIZERS:
        d = optimlab.optim.describe(name)
        assert d["rule"] and "x" in d["rule"]
        assert set(d["hyperparameters"]) == set(optimlab.optim.defaults(name))
    assert optimlab.optim.defaults("adam") == {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert optimlab.optim.defaults("adagrad")["eps"] == 1e-7
    assert optimlab.optim.defaults("rmsprop")["eps"] == 1e-8
    assert optimlab.optim.defaults("adadelta") == {"rho": 0.999, "eps": 1e-5}


def test_grid_crosses_lists():
    g = optimlab.optim.grid(lr=[0.1, 0.2], momentum=[0.0, 0.5, 0.9])
    assert g["lr"].tolist() == [0.1] * 3 + [0.2] * 3
    assert g["momentum"].tolist() == [0.0, 0.5, 0.9] * 2


# --- torch.optim, where its conventions match ours ----------------------------------------------------------------
# momentum and nesterov match torch's SGD only for a constant η (torch keeps η outside the buffer); Adam and AdamW
# match exactly; Adadelta matches torch with lr=1. Adagrad and RMSProp put ε outside the root in torch: not compared.
TORCH = {
    "sgd": (lambda t, p: t.optim.SGD(p, lr=0.1), {"lr": 0.1}),
    "momentum": (lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9), {"lr": 0.05, "momentum": 0.9}),
    "nesterov": (lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True), {"lr": 0.05, "momentum": 0.9}),
    "adam": (lambda t, p: t.optim.Adam(p, lr=0.1, betas=(0.9, 0.999), eps=1e-8), {"lr": 0.1}),
    "adamw": (lambda t, p: t.optim.AdamW(p, lr=0.1, weight_decay=0.1), {"lr": 0.1, "weight_decay": 0.1}),
    "adadelta": (lambda t, p: t.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-5), {"rho": 0.9}),
}


@pytest.mark.parametrize("name", TORCH)
def test_matches_torch_optim(name):
    torch = pytest.importorskip("torch")
    make_torch, hyper = TORCH[name]
    x0, grads = np.array([1.0, -2.0, 0.5, 3.0]), fixed_gradients(4)
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    topt = make_torch(torch, [p])
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    got = run_optimizer(optimlab.optim.make(name, **hyper), x0, grads)
    # torch evaluates the same formulas in another order (e.g. Adam's step as (η/bc1)·m/(√v/√bc2 + ε)): a few ulps
    # per step, no feedback on fixed gradients, so 1e-12 relative is still an order of magnitude of headroom.
    np.testing.assert_allclose(got, p.detach().numpy(), rtol=1e-12, atol=1e-14)


# --- update() refuses bad inputs (issue 7, item 5), as data -------------------------------------------------------
def _step(name, params, grads, state_from=None, init_with=None, **kwargs):
    opt = optimlab.optim.make(name)
    other = optimlab.optim.make(state_from) if state_from else opt
    state = other.init(np.asarray(init_with if init_with is not None else params, dtype=float))
    return opt.update(np.asarray(params, dtype=float), np.asarray(grads, dtype=float), state, **kwargs)


# (what, call, message regex)
UPDATE_ERRORS = [
    ("(P,) grads against (K, P) params", lambda: _step("sgd", np.ones((4, 3)), np.ones(3)),
     r"grads must have the shape of params, \(4, 3\), got \(3,\)"),
    ("(4, P) grads against (P,) params", lambda: _step("adam", np.ones(3), np.ones((4, 3))),
     r"grads must have the shape of params, \(3,\), got \(4, 3\)"),
    ("transposed grads", lambda: _step("momentum", np.ones((2, 3)), np.ones((3, 2))),
     r"grads must have the shape of params, \(2, 3\), got \(3, 2\)"),
    ("grads as a list", lambda: optimlab.optim.make("sgd").update(np.ones(2), [1.0, 2.0], ()),
     r"grads must have the shape of params, \(2,\), got list"),
    ("adam's state to rmsprop", lambda: _step("rmsprop", np.ones(3), np.ones(3), state_from="adam"),
     r"state comes from adam or adamw, not from rmsprop"),
    ("momentum's state to nesterov", lambda: _step("nesterov", np.ones(3), np.ones(3), state_from="momentum"),
     r"state comes from momentum, not from nesterov: start it with this optimizer's init\(params\)"),
    ("adagrad's state to adadelta", lambda: _step("adadelta", np.ones(3), np.ones(3), state_from="adagrad"),
     r"state comes from adagrad, not from adadelta"),
    ("a tuple as state", lambda: optimlab.optim.make("adam").update(np.ones(2), np.ones(2), (0, 1, 2)),
     r"state is a tuple, not from adam"),
    ("state for other params", lambda: _step("adam", np.ones((2, 3)), np.ones((2, 3)), init_with=np.ones(3)),
     r"state was made for params of shape \(3,\), got params of shape \(2, 3\)"),
    ("negative lr", lambda: _step("sgd", np.ones(3), np.ones(3), lr=-0.1),
     r"lr \(this step's η\) must be a finite number >= 0, got -0\.1"),
    ("nan lr", lambda: _step("adam", np.ones(3), np.ones(3), lr=float("nan")), r"finite number >= 0, got nan"),
    ("inf lr", lambda: _step("momentum", np.ones(3), np.ones(3), lr=float("inf")), r"finite number >= 0, got inf"),
    ("negative lr for one configuration", lambda: _step("sgd", np.ones((2, 3)), np.ones((2, 3)),
                                                        lr=np.array([[0.1], [-2.0]])), r"got -2\.0"),
    ("inf lr for one configuration", lambda: _step("adagrad", np.ones((3, 2)), np.ones((3, 2)),
                                                   lr=np.array([[0.1], [np.inf], [0.3]])), r"got inf"),
    ("lr of shape (K, 1) against (P,) params", lambda: _step("sgd", np.ones(3), np.ones(3),
                                                              lr=np.array([[0.1], [0.2]])),
     r"lr of shape \(2, 1\) does not fit params of shape \(3,\)"),
    ("lr for lecture adadelta", lambda: _step("adadelta", np.ones(3), np.ones(3), lr=0.1),
     r"adadelta takes no learning rate here, got lr=0\.1"),
    ("unknown convention", lambda: optimlab.optim.make("adam", convention="jax"),
     r"unknown convention 'jax'; choose one of: lecture, torch, optax, keras"),
    ("flag not a bool", lambda: optimlab.optim.make("rmsprop", centered=1), r"centered must be True or False, got 1"),
    ("flag of another optimizer", lambda: optimlab.optim.make("sgd", amsgrad=True),
     r"sgd takes no hyperparameter 'amsgrad'; it takes: lr \(options: weight_decay, decoupled\)"),
    ("negative initial accumulator", lambda: optimlab.optim.make("adagrad", initial_accumulator=-1),
     r"initial_accumulator must be >= 0, got -1\.0"),
    ("rmsprop momentum = 1", lambda: optimlab.optim.make("rmsprop", momentum=1.0),
     r"momentum must be in \[0, 1\), got 1\.0"),
    ("adadelta lr without multiplier", lambda: optimlab.optim.make("adadelta", lr=0.5, lr_multiplier=False,
                                                                   convention="torch"),
     r"adadelta takes no hyperparameter 'lr'.*lr_multiplier=True"),
]


@pytest.mark.parametrize("what, call, message", UPDATE_ERRORS, ids=[c[0] for c in UPDATE_ERRORS])
def test_update_refuses_bad_input(what, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_zero_lr_is_allowed_and_moves_nothing():
    # a schedule may end at η = 0 (cosine annealing to 0): a step of size 0, not an error
    x = np.array([1.0, 2.0])
    new, _ = _step("adam", x, np.ones(2), lr=0.0)
    np.testing.assert_array_equal(new, x)
