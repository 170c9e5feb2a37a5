"""The playground's JSON API: the same numbers as the CLI and as independent references, the CLI's one-line
errors as 4xx answers, and a server that keeps serving."""

import json
import math
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
with warnings.catch_warnings():  # starlette asks for httpx2 in the future; httpx is what it runs on today
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from optimlab import optim  # noqa: E402
from optimlab.cli import main  # noqa: E402
from optimlab.playground import api, app  # noqa: E402

SRC = Path(__file__).parents[1] / "src"


@pytest.fixture(scope="module")
def client():
    return TestClient(app.create_app())


def cli_json(capsys, args: str) -> dict:
    assert main(args.split()) == 0
    return json.loads(capsys.readouterr().out)


def without_timing(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "seconds"}


# The same settings, written as an API request and as optimlab train flags.
SAME_SETTINGS = [
    ({}, ""),
    ({"optimizer": "momentum", "hyperparameters": {"lr": 0.2, "momentum": 0.9},
      "schedule": {"name": "lecture", "after": 2, "factor": 0.1}, "seed": 3},
     "--optimizer momentum --lr 0.2 --momentum 0.9 --decay-after 2 --decay-factor 0.1 --seed 3"),
    ({"optimizer": "adam", "hyperparameters": {"lr": [0.01, 0.1, 1.0]}, "batch_size": 100, "epochs": 3},
     "--optimizer adam --lr 0.01,0.1,1 --batch-size 100 --epochs 3"),
    ({"hyperparameters": {"lr": [0.1, 3.0]}, "batch_size": 1, "epochs": 2, "period": 50},
     "--lr 0.1,3 --batch-size 1 --epochs 2 --period 50"),
    ({"problem": "rosenbrock", "optimizer": "nesterov", "hyperparameters": {"lr": 0.001}, "epochs": 50,
      "batch_size": 1},
     "--problem rosenbrock --optimizer nesterov --lr 0.001 --epochs 50 --batch-size 1"),
    ({"optimizer": "momentum", "hyperparameters": {"lr": [0.1, 0.2], "momentum": [0.0, 0.9]}, "grid": True,
      "epochs": 1}, "--optimizer momentum --lr 0.1,0.2 --momentum 0,0.9 --grid --epochs 1"),
]


@pytest.mark.parametrize("request_body, flags", SAME_SETTINGS)
def test_train_answers_what_the_cli_prints(client, capsys, request_body, flags):
    expected = cli_json(capsys, f"train --json {flags}")
    r = client.post("/api/train", json=request_body)
    assert r.status_code == 200, r.text
    assert without_timing(r.json()) == without_timing(expected)  # every key, every number, to the last digit


def test_the_view_runs_the_same_training_as_the_cli(client, capsys):
    body = {"problem": "linear-regression", "batch_size": 10, "epochs": 5, "seed": 2,
            "schedule": {"name": "lecture"},
            "runs": [{"optimizer": "sgd", "hyperparameters": {"lr": 0.2}},
                     {"optimizer": "momentum", "hyperparameters": {"lr": 0.002, "momentum": 0.9}}]}
    v = client.post("/api/view", json=body).json()
    for run, flags in zip(v["runs"], ["--lr 0.2", "--optimizer momentum --lr 0.002 --momentum 0.9"]):
        expected = cli_json(capsys, f"train --json {flags} --batch-size 10 --epochs 5 --seed 2 --schedule lecture")
        assert run["losses"] == expected["losses"]
        assert run["final_loss"] == expected["final_loss"]
        assert run["params"] == expected["params"]
        # the copied command line gives the same run again
        assert run["command"]["cli"].startswith("optimlab train ")
        again = cli_json(capsys, run["command"]["cli"].removeprefix("optimlab ") + " --json")
        assert again["final_loss"] == run["final_loss"]


def test_the_copied_python_lines_reproduce_the_picture(client):
    body = {"problem": "quadratic", "condition": 50, "epochs": 30,
            "runs": [{"optimizer": "momentum", "hyperparameters": {"lr": 0.5, "momentum": 0.7}}]}
    v = client.post("/api/view", json=body).json()
    run = v["runs"][0]
    assert run["command"]["cli"] is None  # no CLI problem has a chosen κ, and the note says so
    scope = {}
    exec(run["command"]["python"], scope)
    assert scope["run"].final_loss == run["final_loss"]
    assert scope["problem"].Q.tolist() == [[4 / 50, 0.0], [0.0, 4.0]]


def heavy_ball(Q, x0, lr, gamma, steps):
    """A plain loop of the lecture's momentum on ½xᵀQx: v := γv + η Qx; x := x − v."""
    x, v = np.array(x0, dtype=float), np.zeros(len(x0))
    for _ in range(steps):
        v = gamma * v + lr * (Q @ x)
        x = x - v
    return x


def test_the_view_trajectories_follow_the_formula(client):
    v = client.post("/api/view", json={"problem": "quadratic-2d", "epochs": 15, "runs": [
        {"optimizer": "momentum", "hyperparameters": {"lr": 0.6, "momentum": 0.5}},
        {"optimizer": "sgd", "hyperparameters": {"lr": 0.4}}]}).json()
    Q = np.diag([0.2, 4.0])
    for run, gamma in zip(v["runs"], [0.5, 0.0]):
        path = np.array(run["path"])
        assert path.shape == (16, 2)
        lr = run["hyperparameters"]["lr"]
        for t in (0, 1, 7, 15):
            np.testing.assert_allclose(path[t], heavy_ball(Q, [-5.0, -2.0], lr, gamma, t), rtol=1e-12, atol=1e-15)
    assert v["runs"][1]["bound"]["lr"] == 0.5  # 2/λ_max on λ = 0.2, 4
    assert v["runs"][0]["bound"]["lr"] == pytest.approx(2 * 1.5 / 4)
    assert v["problem"]["curvature"]["condition_number"] == pytest.approx(20)


def test_the_stability_map_matches_the_closed_form(client):
    lrs = np.geomspace(0.05, 3.0, 30)
    gammas = [0.0, 0.3, 0.6, 0.9]
    m = client.post("/api/map", json={"problem": "quadratic-2d", "optimizer": "momentum", "epochs": 400,
                                      "x": {"name": "lr", "values": lrs.tolist()},
                                      "y": {"name": "momentum", "values": gammas}}).json()
    Q = np.diag([0.2, 4.0])
    gap = np.array(m["gap"], dtype=float)
    for i, g in enumerate(gammas):
        bound = 2 * (1 + g) / 4.0
        assert m["boundary"]["x"][i] == pytest.approx(bound)
        for j, lr in enumerate(lrs):
            if lr < bound * 0.98:  # stable side: the gap left is the plain loop's
                x = heavy_ball(Q, [-5.0, -2.0], lr, g, 400)
                ref = 0.5 * x @ Q @ x / (0.5 * np.array([-5.0, -2.0]) @ Q @ np.array([-5.0, -2.0]))
                assert not m["diverged"][i][j]
                assert gap[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-300)
            elif lr > bound * 1.02:  # unstable side: the run is caught diverging
                assert m["diverged"][i][j] and math.isnan(gap[i, j])


def test_the_batch_size_map_draws_the_mean_square_boundary(client):
    m = client.post("/api/map", json={"problem": "linear-regression", "optimizer": "sgd", "epochs": 2,
                                      "x": {"name": "lr", "values": [0.1, 0.3, 1.0, 1.7, 3.0]},
                                      "y": {"name": "batch_size", "values": [1, 10, 1000]}}).json()
    # optimlab.analysis.stability on the lecture's data (README): 0.42 at batch 1, 1.44 at 10, 1.90 at 1000
    assert [round(b, 2) for b in m["boundary"]["x"]] == [0.42, 1.44, 1.9]
    # full batch, two steps: the gap shrinks for η up to 1.7 < 1.90 and grows at η = 3 (too few steps to reach
    # the 10⁴× that declares divergence); at batch 1, η = 3 is caught diverging and η = 0.1 is not
    full = np.array(m["gap"][2], dtype=float)
    assert (full[:4] < 1).all() and full[4] > 1
    assert m["diverged"][0][4] and not m["diverged"][0][0]


def test_registry_serves_every_slider_from_the_registry(client):
    reg = client.get("/api/registry").json()
    assert list(reg["optimizers"]) == list(optim.OPTIMIZERS)
    for name, d in reg["optimizers"].items():
        assert d == {**optim.describe(name), "sliders": d["sliders"]}
        for key, spec in d["sliders"].items():
            assert spec["default"] == optim.defaults(name)[key]
            assert spec["min"] <= spec["default"] <= spec["max"]
    assert [e["name"] for e in reg["experiments"]][:3] == ["sgd-batch1", "gd-full-batch", "minibatch"]


def test_taylor_on_x2_and_x4_against_closed_forms(client):
    t = client.post("/api/taylor", json={"function": "x2", "lr": 0.9, "start": 5.0, "steps": 10}).json()
    np.testing.assert_allclose(t["x"], 5.0 * (1 - 2 * 0.9) ** np.arange(11), rtol=1e-12)  # x ← (1 − 2η)x
    assert t["taylor_max_lr"] == 1.0  # 2/f'' with f'' = 2
    q = client.post("/api/taylor", json={"function": "x4", "lr": 0.05, "start": 3.0}).json()
    assert q["boundary"] == pytest.approx(1 / math.sqrt(2 * 0.05))
    assert abs(q["measured_boundary"] / q["boundary"] - 1) < 0.01
    x = 3.0
    for xt in q["x"][1:4]:
        x = x * (1 - 4 * 0.05 * x * x)  # gradient descent on x⁴: x ← x(1 − 4ηx²)
        assert xt == pytest.approx(x, rel=1e-12)


def test_ema_weights_and_the_momentum_factor(client):
    e = client.post("/api/ema", json={"gamma": 0.8, "t": 12}).json()
    np.testing.assert_allclose(e["weights"], [(1 - 0.8) * 0.8 ** (12 - i) for i in range(1, 13)], rtol=1e-12)
    assert e["weights_sum"] == pytest.approx(1 - 0.8 ** 12)
    assert e["factor_measured"] == pytest.approx(1 / (1 - 0.8), rel=1e-9)


def test_a_preset_claim_holds_at_its_settings_and_fails_elsewhere(client):
    ok = client.post("/api/verdict", json={"experiment": "lr-too-large"}).json()
    assert ok["passed"] and ok["diverged"]
    tame = client.post("/api/verdict", json={"experiment": "lr-too-large", "hyperparameters": {"lr": 0.1}}).json()
    assert not tame["passed"] and "did not diverge" in tame["measured"]


# (endpoint, request body, status, message, the optimlab flags that give the same message or None)
BAD_REQUESTS = [
    ("train", {"hyperparameters": {"lr": -1}}, 400, "lr must be > 0, got -1.0", "train --lr -1"),
    ("train", {"optimizer": "momentum", "hyperparameters": {"momentum": 1.5}}, 400,
     "momentum must be in [0, 1), got 1.5", "train --optimizer momentum --momentum 1.5"),
    ("train", {"optimizer": "sgd", "hyperparameters": {"momentum": 0.9}}, 400,
     "sgd takes no hyperparameter 'momentum'; it takes: lr (options: weight_decay, decoupled)", "train --momentum 0.9"),
    ("train", {"optimizer": "lbfgs"}, 400,
     "unknown optimizer 'lbfgs'; choose one of: sgd, momentum, adagrad, rmsprop, adam, adadelta, nesterov, adamw",
     None),
    ("train", {"batch_size": 0}, 400, "batch_size must be an integer in [1, 1000], got 0", "train --batch-size 0"),
    ("train", {"epochs": 10 ** 9}, 400, "epochs must be an integer in [1, 200], got 1000000000", None),
    ("train", {"hyperparameters": {"lr": [0.1] * 1001}}, 400,
     "1001 configurations asked; the playground runs at most 1000 per request", None),
    ("train", {"schedule": {"name": "lecture", "factor": -2}}, 400, "factor must be > 0, got -2.0",
     "train --decay-factor -2"),
    ("train", {"lr": 0.1}, 400, "unknown field 'lr'; the request takes: " + ", ".join(api.TRAIN_FIELDS), None),
    ("train", [1, 2], 400, "the request must be a JSON object, got list", None),
    ("view", {"problem": "moon", "runs": [{"optimizer": "sgd"}]}, 400,
     "unknown problem 'moon'; choose one of: quadratic-2d, quadratic, rosenbrock, linear-regression, quadratic-1d, "
     "quartic, logistic-regression, softmax-regression, mlp", None),
    ("view", {"problem": "quartic", "runs": [{"optimizer": "sgd"}]}, 400,
     "the view draws a plane of parameters; quartic has 1 (its picture is /api/taylor)", None),
    ("view", {"runs": [{"optimizer": "sgd"}] * 9}, 400, "runs holds 9 optimizers; the playground shows at most 8",
     None),
    ("view", {"problem": "quadratic", "condition": 0.5, "runs": [{"optimizer": "sgd"}]}, 400,
     "condition must be a number >= 1, got 0.5", None),
    ("view", {"runs": [{"optimizer": "sgd"}], "start": [1e9, 0]}, 400,
     "start must lie within ±1e6, got [1000000000.0, 0]", None),
    ("map", {"x": {"name": "lr", "values": [0.1] * 64}, "y": {"name": "momentum", "values": [0.5] * 64}}, 400,
     "64×64 = 4096 cells asked; a map has at most 1000", None),
    ("map", {"x": {"name": "lr", "values": [0.1, 0.2]}, "y": {"name": "speed", "values": [1, 2]}}, 400,
     "y axis must be a hyperparameter or batch_size, got 'speed'", None),
    ("verdict", {"experiment": "nope"}, 400, None, None),
    ("verdict", {"experiment": "lr-too-small", "epochs": 1}, 400, None, None),  # its claim reads epoch 2
    ("taylor", {"function": "x3"}, 400, "function must be x2 or x4, got 'x3'", None),
    ("ema", {"gamma": 1.0}, 400, "gamma must be in [0, 1), got 1.0", None),
]


@pytest.mark.parametrize("endpoint, body, status, message, flags", BAD_REQUESTS)
def test_bad_requests_get_the_cli_s_one_line_message(client, capsys, endpoint, body, status, message, flags):
    r = client.post(f"/api/{endpoint}", json=body)
    assert r.status_code == status
    error = r.json()["error"]
    assert "\n" not in error
    if message is not None:
        assert error == message
    if flags is not None:
        assert main(flags.split()) == 2
        assert capsys.readouterr().err.strip() == f"optimlab: error: {message}"


# Values of every JSON type, put in every field of every endpoint: each is a 400 with one line, never a 500.
WEIRD = [None, "x", 1.5, -3, [], [1], ["a"], [None], {}, {"a": 1}, True, 10 ** 30]
MINIMAL = {"train": {"optimizer": "momentum", "grid": True}, "view": {"runs": [{"optimizer": "sgd"}]},
           "verdict": {"experiment": "minibatch"},
           "map": {"x": {"name": "lr", "values": [0.1, 0.2]}, "y": {"name": "momentum", "values": [0.0, 0.5]}},
           "taylor": {}, "ema": {}}
FIELDS = {"train": api.TRAIN_FIELDS, "view": api.VIEW_FIELDS, "map": api.MAP_FIELDS,
          "verdict": ["experiment", "optimizer", "hyperparameters", "batch_size", "epochs", "seed", "schedule"],
          "taylor": ["function", "lr", "start", "steps"], "ema": ["gamma", "t"]}


@pytest.mark.parametrize("endpoint", list(FIELDS))
def test_no_value_in_any_field_makes_a_server_error(endpoint):
    client = TestClient(app.create_app(), raise_server_exceptions=False)
    nested = [("runs", [{"optimizer": "sgd", "hyperparameters": w}]) for w in WEIRD] + \
             [("schedule", {"name": "lecture", "after": w}) for w in WEIRD] + \
             [("x", {"name": "lr", "values": [w, 0.2]}) for w in WEIRD] + \
             [("x", {"name": w, "values": [0.1, 0.2]}) for w in WEIRD] + \
             [("schedule", {"name": w}) for w in WEIRD] + \
             [("hyperparameters", {"lr": [w, 0.1], "momentum": [0.0]}) for w in WEIRD]
    for key, value in [(k, w) for k in FIELDS[endpoint] for w in WEIRD] + nested:
        if key not in FIELDS[endpoint]:
            continue
        r = client.post(f"/api/{endpoint}", json={**MINIMAL[endpoint], key: value})
        assert r.status_code in (200, 400), (key, value, r.text)
        if r.status_code == 400:
            assert "\n" not in r.json()["error"]


def test_malformed_and_huge_bodies(client):
    r = client.post("/api/train", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"].startswith("the request body must be JSON")
    r = client.post("/api/train", content=b" " * (app.MAX_BODY + 1))
    assert r.status_code == 413


def test_the_server_keeps_serving_after_bad_requests(capsys):
    with app.running() as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            for endpoint, body, *_ in BAD_REQUESTS[:6]:
                assert http.post(f"/api/{endpoint}", json=body).status_code == 400
            # over a real socket, as curl sends it: the numbers optimlab train --json prints
            good = http.post("/api/train", content=b'{"epochs": 1, "hyperparameters": {"lr": [0.1, 3]}}')
            assert good.status_code == 200
            assert without_timing(good.json()) == without_timing(cli_json(capsys, "train --json --epochs 1 --lr 0.1,3"))
            assert http.get("/").status_code == 200
            assert "plotly.js" in http.get("/static/vendor/plotly-cartesian.min.js").text[:200]


def test_optimlab_playground_prints_its_url_and_stops_on_ctrl_c():
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-m", "optimlab", "playground", "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("optimlab playground: http://127.0.0.1:")
        url = line.split()[2]
        assert httpx.get(url + "api/registry", timeout=30).status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_a_bad_port_is_one_line_and_status_2(capsys):
    assert main(["playground", "--port", "70000", "--no-browser"]) == 2
    assert capsys.readouterr().err.strip() == "optimlab: error: port must be an integer in [0, 65535], got 70000"


def test_a_port_in_use_is_one_line(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["playground", "--port", str(port), "--no-browser"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"optimlab: error: cannot listen on 127.0.0.1:{port}: Address already in use; "
                   f"choose another --port (0 = a free one)")
