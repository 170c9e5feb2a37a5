"""optimlab translate: the printed constructor, run by the test itself, follows optimlab's optimizer where the
translation is exact; where it is not, the missing convention is named and the difference is real."""

import importlib.util
import json

import numpy as np
import parity
import pytest

import optimlab
from optimlab.cli import main
from optimlab.translate import translate

# (optimizer, source convention, hyperparameters) that torch.optim expresses exactly
TORCH_EXACT = [
    ("sgd", "lecture", {"lr": 0.05, "weight_decay": 0.1}),
    ("momentum", "lecture", {"lr": 0.05}),
    ("nesterov", "torch", {"lr": 0.05, "weight_decay": 0.01}),
    ("adagrad", "torch", {"lr": 0.5, "lr_decay": 0.01, "initial_accumulator": 0.1}),
    ("rmsprop", "torch", {"lr": 0.01, "centered": True, "momentum": 0.9}),
    ("adam", "lecture", {"lr": 0.05, "amsgrad": True}),
    ("adam", "lecture", {"lr": 0.05, "weight_decay": 0.1, "decoupled": True}),  # -> AdamW
    ("adamw", "lecture", {"lr": 0.05}),
    ("adadelta", "lecture", {"rho": 0.9}),
]


def _printed_torch_run(code, lrs):
    """Evaluate the printed constructor and run it on parity's gradients (the test's own loop, not verify.py)."""
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.tensor(parity.X0, dtype=torch.float64))
    opt = eval(code, {"torch": torch, "params": [p]})  # noqa: S307  (our own output, the point of the test)
    xs = []
    for t in range(parity.STEPS):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[t]
        p.grad = torch.tensor(parity.gradient(p.detach().numpy(), t), dtype=torch.float64)
        opt.step()
        xs.append(p.detach().numpy().copy())
    return np.array(xs)


@pytest.mark.parametrize("name, source, hyper", TORCH_EXACT, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in
                                                                   enumerate(TORCH_EXACT)])
def test_exact_torch_translations_run_as_printed(name, source, hyper):
    pytest.importorskip("torch")
    t = translate(name, "torch", source=source, **hyper)
    assert t.exact and t.missing == [] and t.verified and t.max_rel_diff <= 1e-12
    ours = parity.optimlab_trajectory(optimlab.optim.make(name, convention=source, **hyper), None)
    assert parity.max_rel_diff(ours, _printed_torch_run(t.code, None)) <= 1e-12


# (optimizer, source, hyperparameters, schedule, what the missing sentence says)
NOT_EXACT = [
    ("rmsprop", "lecture", {"eps": 0.01}, None, "no option for ε inside the root"),
    ("adagrad", "lecture", {"eps": 0.1}, None, "no option for ε inside the root"),
    ("momentum", "lecture", {}, "lecture", "no option for η inside it; the two differ once a schedule changes η"),
    ("nesterov", "lecture", {}, "cosine", "no option for η inside it"),
    ("momentum", "lecture", {"weight_decay": 0.1, "decoupled": True}, None, "no decoupled weight decay"),
    ("adam", "keras", {"lr": 0.05, "eps": 0.1}, None, "no option for the other placement"),
]


@pytest.mark.parametrize("name, source, hyper, schedule, says", NOT_EXACT, ids=[c[0] + "-" + c[4][:20] for c in
                                                                               NOT_EXACT])
def test_missing_conventions_are_named_and_the_difference_is_real(name, source, hyper, schedule, says):
    pytest.importorskip("torch")
    t = translate(name, "torch", source=source, schedule=schedule, **hyper)
    assert not t.exact and any(says in line for line in t.missing)
    assert t.verified and t.max_rel_diff > 1e-6  # the closest constructor really behaves differently


def test_same_momentum_with_a_constant_lr_is_exact_and_with_torch_conventions_scheduled_too():
    pytest.importorskip("torch")
    assert translate("momentum", "torch").exact
    t = translate("momentum", "torch", source="torch", schedule="lecture")
    assert t.exact and t.max_rel_diff <= 1e-12


OPTAX_EXACT = [
    ("adam", "lecture", {"lr": 0.05}),
    ("adagrad", "optax", {"lr": 0.5}),
    ("rmsprop", "torch", {"lr": 0.01, "momentum": 0.9, "centered": True}),  # constant η: buffer placement agrees
    ("nesterov", "torch", {"lr": 0.05}),
    ("adamw", "lecture", {"lr": 0.05, "weight_decay": 0.1}),
    ("sgd", "torch", {"lr": 0.05, "weight_decay": 0.1}),  # optax.chain(add_decayed_weights, sgd)
]


def test_exact_optax_translations():
    # run in a subprocess (tests/optax_runs.py): JAX's threads must not stay in this process, which later forks
    from test_conventions import run_optax_side
    for t, (name, source, _) in zip(run_optax_side(OPTAX_EXACT)["translations"], OPTAX_EXACT):
        assert (t["optimizer"], t["source"]) == (name, source)
        assert t["exact"] and t["verified"] and t["max_rel_diff"] <= 1e-12, t
        assert t["code"].startswith(("optax.", "optax.chain("))


def test_gluon_is_not_claimed_verified(monkeypatch):
    t = translate("adam", "gluon")
    assert not t.verified and t.max_rel_diff is None
    if importlib.util.find_spec("mxnet") is None:
        assert t.note == "not verified: mxnet is not installed"
    import optimlab.translate as translate_module
    monkeypatch.setattr(translate_module, "keras_backend", lambda: None)  # the mappings alone, below
    assert translate("rmsprop", "keras").exact  # ε inside the root, as the lecture
    assert not translate("adam", "keras").exact  # Keras's Adam puts ε on √s


# (optimizer, source convention, hyperparameters, schedule) that Keras 3 expresses exactly
KERAS_EXACT = [
    ("sgd", "keras", {"lr": 0.05, "weight_decay": 0.1}, None),
    ("momentum", "lecture", {"lr": 0.05}, "lecture"),  # Keras keeps η inside the velocity, as the lecture
    ("nesterov", "keras", {"lr": 0.05, "momentum": 0.8}, "cosine"),
    ("adagrad", "keras", {"lr": 0.5, "initial_accumulator": 0.3}, None),
    ("rmsprop", "keras", {"lr": 0.01, "centered": True, "momentum": 0.9}, "cosine"),
    ("adam", "keras", {"lr": 0.05, "amsgrad": True}, "cosine"),
    ("adamw", "keras", {"lr": 0.05, "weight_decay": 0.1}, None),
    ("adadelta", "keras", {"lr": 0.5, "rho": 0.9}, None),
]
KERAS_LOOP = """
import json, sys
import keras
keras.config.set_floatx("float64")
cases, out = json.load(sys.stdin), []
for case in cases:
    opt = eval(case["code"], {"keras": keras})
    x = keras.Variable(case["x0"], dtype="float64")
    xs = []
    for t, g in enumerate(case["grads"]):
        if case["lrs"] is not None:
            opt.learning_rate = case["lrs"][t]
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), x)])
        xs.append(keras.ops.convert_to_numpy(x).tolist())
    out.append(xs)
json.dump(out, sys.stdout)
"""


def test_keras_translations_run_as_printed(tmp_path, monkeypatch):
    """Each printed Keras constructor, evaluated and run by this test's own loop in a child process (Keras 3, float64,
    its backend torch), follows optimlab's optimizer under the source convention to 1e-12, with η changing per
    step where a schedule is given."""
    if importlib.util.find_spec("keras") is None:  # not imported here: Keras fixes its backend at import
        pytest.skip("keras is not installed")
    pytest.importorskip("torch")
    import os
    import subprocess
    import sys

    from optimlab.translate import STEPS_PER_EPOCH
    cases, ours = [], []
    import optimlab.translate as translate_module
    monkeypatch.setattr(translate_module, "keras_backend", lambda: None)  # the code alone: this test runs it
    for name, source, hyper, schedule in KERAS_EXACT:
        t = translate(name, "keras", source=source, schedule=schedule, **hyper)
        assert t.exact and t.missing == [] and t.code.startswith("keras.optimizers."), t
        opt = optimlab.optim.make(name, convention=source, **hyper)
        sched = optimlab.schedules.make(schedule) if schedule else None
        lrs = None
        if sched is not None:
            lrs = [hyper["lr"] * float(np.asarray(sched(k // STEPS_PER_EPOCH + 1, k))) for k in range(parity.STEPS)]
        x, state, xs, grads = parity.X0.copy(), opt.init(parity.X0), [], []
        for k in range(parity.STEPS):  # the test's own loop on parity's gradients, not verify.py's
            g = parity.gradient(x, k)
            x, state = opt.update(x, g, state, **({"lr": lrs[k]} if lrs else {}))
            xs.append(x)
            grads.append(g.tolist())
        ours.append(np.array(xs))
        cases.append({"code": t.code, "x0": parity.X0.tolist(), "grads": grads, "lrs": lrs})
    env = {**os.environ, "KERAS_BACKEND": "torch", "KERAS_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", KERAS_LOOP], input=json.dumps(cases), capture_output=True,
                         text=True, env=env, check=True)
    for (name, source, _, schedule), mine, theirs in zip(KERAS_EXACT, ours, json.loads(out.stdout)):
        assert parity.max_rel_diff(mine, np.array(theirs)) <= 1e-12, (name, source, schedule)


def test_keras_verification_run_and_a_missing_convention(tmp_path, monkeypatch):
    """translate's own Keras run (a child process): exact where the conventions map, a real difference where one
    does not; and nothing written into a home that has no Keras configuration."""
    if importlib.util.find_spec("keras") is None:  # not imported here: Keras fixes its backend at import
        pytest.skip("keras is not installed")
    pytest.importorskip("torch")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    t = translate("rmsprop", "keras", source="keras", schedule="cosine", lr=0.01, centered=True, momentum=0.9)
    assert t.exact and t.verified and t.max_rel_diff <= 1e-12 and "on torch" in t.note
    t = translate("adam", "keras", source="lecture", lr=0.05, eps=0.1)  # ε on √ŝ: Keras puts it on √s
    assert not t.exact and any("no option for the other placement" in m for m in t.missing)
    assert t.verified and t.max_rel_diff > 1e-6
    assert not (tmp_path / ".keras").exists()  # no ~/.keras/keras.json left behind


def test_cli_json_gives_code_and_max_rel_diff(capsys):
    pytest.importorskip("torch")
    assert main(["translate", "adam", "--lr", "0.1", "--to", "torch", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["code"].startswith("torch.optim.Adam(params, lr=0.1, betas=(0.9, 0.999), eps=1e-08")
    assert data["exact"] is True and data["max_rel_diff"] <= 1e-12


def test_cli_text_names_what_has_no_equivalent(capsys):
    pytest.importorskip("torch")
    assert main(["translate", "momentum", "--to", "torch", "--schedule", "lecture"]) == 0
    text = capsys.readouterr().out
    assert "No exact equivalent" in text and "η inside it" in text and "Verified: 100 steps" in text


ERRORS = [
    (["translate", "adam", "--to", "jax"], r"invalid choice: 'jax'"),
    (["translate", "adam", "--to", "torch", "--lr", "0.1,0.2"], r"translate takes one value per hyperparameter"),
    (["translate", "adadelta", "--to", "torch", "--schedule", "lecture"],
     r"adadelta has no learning rate under the lecture convention, so the schedule must be constant"),
    (["translate", "sgd", "--to", "torch", "--amsgrad"], r"sgd takes no hyperparameter 'amsgrad'"),
    (["translate", "adam", "--to", "torch", "--from", "tf"], r"invalid choice: 'tf'"),
]


@pytest.mark.parametrize("argv, message", ERRORS, ids=[" ".join(e[0][1:]) for e in ERRORS])
def test_cli_errors_are_one_line_and_status_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    import re
    assert re.search(message, err)
