"""The command line, called in-process: what a user sees and gets."""

import json
import re

import numpy as np

import optimlab
from optimlab.cli import main

LECTURE_CALL = "train --optimizer sgd --batch-size 1 --lr 0.1 --epochs 5 --period 10 --decay-after 2 --decay-factor 0.1"
LINE = re.compile(r"^Batch size 1, Learning rate (\d+\.\d{6}), Epoch (\d), loss (\d\.\d{4}e[+-]\d\d)$")


def call(capsys, args):
    status = main(args.split())
    out = capsys.readouterr()
    return status, out.out, out.err


def test_train_prints_the_lecture_lines_and_writes_the_figure(capsys, tmp_path):
    status, out, err = call(capsys, f"{LECTURE_CALL} --plot {tmp_path / 'loss.png'}")
    assert status == 0 and err == ""
    epochs = [LINE.match(line) for line in out.splitlines() if line.startswith("Batch size")]
    assert all(epochs) and len(epochs) == 5
    assert [m.group(1) for m in epochs] == ["0.100000", "0.100000", "0.010000", "0.001000", "0.000100"]
    # the printed numbers are the API's
    run = optimlab.train(optimlab.problems.make("linear-regression", seed=1), optimlab.optim.make("sgd", lr=0.1),
                         batch_size=1, epochs=5, period=10, schedule=optimlab.schedules.make("lecture"))
    assert [float(m.group(3)) for m in epochs] == [float(f"{x:.4e}") for x in run.epoch_losses]
    assert re.search(r"^w: \[ ?1\.99\d\d -3\.40\d\d\] b: 4\.\d{4}$", out, re.M)
    png = (tmp_path / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_json_has_every_field(capsys):
    status, out, _ = call(capsys, f"{LECTURE_CALL} --json")
    data = json.loads(out)
    for key in ["optimizer", "hyperparameters", "batch_size", "epochs", "period", "seed", "losses", "epochs_axis",
                "final_loss", "optimal_loss", "w", "b", "diverged", "diverged_at", "seconds"]:
        assert key in data, key
    assert status == 0 and data["hyperparameters"] == {"lr": 0.1} and len(data["losses"]) == 506  # 1 + 5 × 101
    assert data["final_loss"] < 1.1 * data["optimal_loss"] and data["diverged"] is False
    assert data["provenance"]["versions"]["numpy"] == np.__version__


def test_lists_train_configurations_together(capsys):
    status, out, _ = call(capsys, "train --lr 0.01,0.1,3 --epochs 3 --json")
    data = json.loads(out)
    assert status == 0
    assert [h["lr"] for h in data["hyperparameters"]] == [0.01, 0.1, 3.0]
    assert data["diverged"] == [False, False, True] and data["diverged_at"][2] > 0
    assert len(data["losses"]) == 3 and len(data["w"]) == 3 and data["final_loss"][2] is not None


def test_grid_crosses_lists(capsys):
    status, out, _ = call(capsys, "train --optimizer momentum --lr 0.1,0.2 --momentum 0,0.9 --grid --epochs 1 --json")
    pairs = [(h["lr"], h["momentum"]) for h in json.loads(out)["hyperparameters"]]
    assert pairs == [(0.1, 0.0), (0.1, 0.9), (0.2, 0.0), (0.2, 0.9)]


def test_diverged_run_exits_0_and_says_where(capsys):
    status, out, _ = call(capsys, "train --lr 3 --decay-after 2")
    assert status == 0
    assert re.search(r"diverged after \d+ examples", out)


def test_optimizers_lists_rules_defaults_and_ranges(capsys):
    status, out, _ = call(capsys, "optimizers")
    assert status == 0
    for name in optimlab.optim.OPTIMIZERS:
        assert re.search(rf"^{name}: ", out, re.M)
    assert "v := γ v + η g" in out and "x := x − η v̂ / (√ŝ + ε)" in out
    assert re.search(r"--beta2\s+β2\s+default 0\.999\s+in \[0, 1\)", out)
    status, out, _ = call(capsys, "optimizers adagrad --json")
    info = json.loads(out)[0]
    assert info["hyperparameters"]["eps"] == {"symbol": "ε", "default": 1e-7, "range": "> 0",
                                              "meaning": "numerical-stability term"}


def test_other_problems_and_user_data(capsys, tmp_path):
    status, out, _ = call(capsys, "train --problem quadratic-2d --batch-size 1 --epochs 20 --lr 0.4 --json")
    assert status == 0 and json.loads(out)["x"] is not None
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    np.savez(tmp_path / "mine.npz", X=X, y=X @ [1.0, -1.0] + 0.5)
    status, out, _ = call(capsys, f"train --data {tmp_path / 'mine.npz'} --batch-size 4 --epochs 30 --json")
    data = json.loads(out)
    assert status == 0 and abs(data["b"] - 0.5) < 1e-3


def test_catalog_commands(capsys):
    assert call(capsys, "schedules")[1].count("\n") >= 6
    assert "quadratic-2d" in call(capsys, "problems")[1]
