"""Bad input, as data: each case is rejected before any work with a message naming the value and its range, and
the CLI turns it into one line on stderr and exit status 2."""

import subprocess
import sys

import numpy as np
import pytest

import optimlab
from optimlab.cli import main

PROBLEM = optimlab.problems.make("linear-regression", seed=1)


def train_with(opt=("sgd", {}), sched=None, **kwargs):
    schedule = optimlab.schedules.make(sched[0], **sched[1]) if sched else None
    return optimlab.train(PROBLEM, optimlab.optim.make(opt[0], **opt[1]), schedule=schedule, **kwargs)


# (what, call, message regex, CLI arguments or None when the case has no CLI form)
CASES = [
    ("lr <= 0", lambda: optimlab.optim.make("sgd", lr=-1.0), r"lr must be > 0, got -1\.0", "--lr -1"),
    ("lr = 0", lambda: optimlab.optim.make("adam", lr=0), r"lr must be > 0, got 0\.0", "--optimizer adam --lr 0"),
    ("lr nan", lambda: optimlab.optim.make("sgd", lr=float("nan")), r"lr must be a finite number, got nan",
     "--lr nan"),
    ("lr inf in a list", lambda: optimlab.optim.make("sgd", lr=[0.1, float("inf")]),
     r"lr\[1\] must be a finite number, got inf", "--lr 0.1,inf"),
    ("momentum = 1", lambda: optimlab.optim.make("momentum", momentum=1.0), r"momentum must be in \[0, 1\), got 1\.0",
     "--optimizer momentum --momentum 1"),
    ("momentum < 0", lambda: optimlab.optim.make("nesterov", momentum=-0.1),
     r"momentum must be in \[0, 1\), got -0\.1", "--optimizer nesterov --momentum -0.1"),
    ("gamma > 1", lambda: optimlab.optim.make("rmsprop", gamma=1.5), r"gamma must be in \[0, 1\), got 1\.5",
     "--optimizer rmsprop --gamma 1.5"),
    ("rho = 1", lambda: optimlab.optim.make("adadelta", rho=1), r"rho must be in \[0, 1\), got 1\.0",
     "--optimizer adadelta --rho 1"),
    ("beta1 = 1", lambda: optimlab.optim.make("adam", beta1=1.0), r"beta1 must be in \[0, 1\), got 1\.0",
     "--optimizer adam --beta1 1"),
    ("beta2 in list", lambda: optimlab.optim.make("adam", beta2=[0.9, 1.2]),
     r"beta2\[1\] must be in \[0, 1\), got 1\.2", "--optimizer adam --beta2 0.9,1.2"),
    ("eps <= 0", lambda: optimlab.optim.make("adagrad", eps=0.0), r"eps must be > 0, got 0\.0",
     "--optimizer adagrad --eps 0"),
    ("weight decay < 0", lambda: optimlab.optim.make("adamw", weight_decay=-1),
     r"weight_decay must be >= 0, got -1\.0", "--optimizer adamw --weight-decay -1"),
    ("unknown optimizer", lambda: optimlab.optim.make("lion"), r"unknown optimizer 'lion'; choose one of: sgd",
     "--optimizer lion"),
    ("hyperparameter not taken", lambda: optimlab.optim.make("sgd", momentum=0.9),
     r"sgd takes no hyperparameter 'momentum'; it takes: lr", "--momentum 0.9"),
    ("lr for adadelta", lambda: optimlab.optim.make("adadelta", lr=0.1),
     r"adadelta takes no hyperparameter 'lr'; it takes: rho, eps", "--optimizer adadelta --lr 0.1"),
    ("lists of different lengths", lambda: optimlab.optim.make("momentum", lr=[0.1, 0.2], momentum=[0.1, 0.2, 0.3]),
     r"same length.*lr has 2, momentum has 3", "--optimizer momentum --lr 0.1,0.2 --momentum 0.1,0.2,0.3"),
    ("2-D hyperparameter", lambda: optimlab.optim.make("sgd", lr=[[0.1]]), r"lr must be a number or a non-empty 1-D",
     None),
    ("string hyperparameter", lambda: optimlab.optim.make("sgd", lr="fast"), r"lr must be a number.*'fast'",
     "--lr fast"),
    ("batch size < 1", lambda: train_with(batch_size=0), r"batch_size must be an integer in \[1, 1000\], got 0",
     "--batch-size 0"),
    ("batch size > n", lambda: train_with(batch_size=1001), r"batch_size must be an integer in \[1, 1000\], got 1001",
     "--batch-size 1001"),
    ("fractional batch size", lambda: train_with(batch_size=2.5), r"batch_size must be an integer, got 2\.5",
     "--batch-size 2.5"),
    ("epochs < 1", lambda: train_with(epochs=0), r"epochs must be an integer >= 1, got 0", "--epochs 0"),
    ("period not a multiple", lambda: train_with(batch_size=10, period=15),
     r"period must be a multiple of batch_size=10, got 15", "--batch-size 10 --period 15"),
    ("period < 1", lambda: train_with(period=0), r"period must be an integer >= 1, got 0", "--period 0"),
    ("negative seed", lambda: train_with(seed=-3), r"seed must be an integer >= 0, got -3", "--seed -3"),
    ("init scale <= 0", lambda: train_with(init_scale=0.0), r"init_scale must be > 0, got 0\.0", "--init-scale 0"),
    ("schedule for adadelta", lambda: train_with(opt=("adadelta", {}), sched=("lecture", {})),
     r"adadelta has no learning rate, so the schedule must be constant", "--optimizer adadelta --decay-after 2"),
    ("unknown schedule", lambda: optimlab.schedules.make("triangle"), r"unknown schedule 'triangle'",
     "--schedule triangle"),
    ("decay factor <= 0", lambda: optimlab.schedules.make("lecture", factor=-0.1), r"factor must be > 0, got -0\.1",
     "--decay-factor -0.1"),
    ("decay after < 0", lambda: optimlab.schedules.make("lecture", after=-1), r"after must be an integer >= 0, got -1",
     "--decay-after -1"),
    ("schedule/optimizer K mismatch", lambda: train_with(opt=("sgd", {"lr": [0.1, 0.2]}),
                                                         sched=("lecture", {"factor": [0.1, 0.2, 0.3]})),
     r"optimizer has 2, schedule has 3", "--lr 0.1,0.2 --decay-factor 0.1,0.2,0.3"),
    ("unknown problem", lambda: optimlab.problems.make("mnist"), r"unknown problem 'mnist'", "--problem mnist"),
    ("init of the wrong shape", lambda: train_with(init=[1.0, 2.0]), r"init must have shape \(3,\) or \(1, 3\)", None),
    ("order not a permutation", lambda: train_with(epochs=1, order=np.zeros((1, 1000), dtype=int)),
     r"order\[0\] must be a permutation of 0..999", None),
    ("X and y disagree", lambda: optimlab.problems.from_arrays(np.ones((5, 2)), np.ones(4)),
     r"y must have one value per example, shape \(5,\), got \(4,\)", None),
    ("data file missing", lambda: optimlab.problems.load_arrays("no-such.npz"), r"data file 'no-such.npz' does not "
     r"exist", "--data no-such.npz"),
]


@pytest.mark.parametrize("what,call,message,cli", CASES, ids=[c[0] for c in CASES])
def test_api_rejects_with_a_clear_message(what, call, message, cli):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("what,call,message,cli", [c for c in CASES if c[3]], ids=[c[0] for c in CASES if c[3]])
def test_cli_exits_2_with_one_line(what, call, message, cli, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = main(["train", *cli.split(), "--plot", "out.png"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("optimlab")
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out.png").exists()  # nothing half-written
    assert list(tmp_path.iterdir()) == []


def test_at_least_twenty_cases():
    assert len(CASES) >= 20 and len([c for c in CASES if c[3]]) >= 20


def test_cli_bad_input_in_a_real_process_prints_no_traceback():
    done = subprocess.run([sys.executable, "-m", "optimlab", "train", "--lr", "-1"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == "optimlab: error: lr must be > 0, got -1.0"
