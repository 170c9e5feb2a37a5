"""optimlab tune: Optuna finds a good η against a dense grid, resumes a stored study, prunes, refuses SQLite for
several workers."""

from __future__ import annotations

import json

import numpy as np
import pytest

import optimlab
from optimlab.cli import main

optuna = pytest.importorskip("optuna")
from optimlab.sweeps.tune import Axis, evaluate, tune  # noqa: E402

# Full-batch GD for 3 epochs: the minibatch order plays no part, so a trial's rows are exactly train(seed=1, 2, 3)
# and the landscape is sharp: the excess loss f − f* spans eight decades over η in [1e-3, 3].
LOOP = {"batch_size": 1000, "epochs": 3}


@pytest.fixture(scope="module")
def problem():
    return optimlab.problems.make("linear-regression")


def mean_final(problem, lr, seeds=(1, 2, 3)):
    """Mean final loss over seeds, each a separate plain train call (the reference, independent of tune)."""
    return np.mean([optimlab.train(problem, optimlab.optim.make("sgd", lr=lr), seed=s, **LOOP).final_losses
                    for s in seeds], axis=0)


def test_a_trial_is_the_mean_of_separate_runs_from_each_seed(problem):
    losses = evaluate(problem, "sgd", {"lr": 0.5}, seeds=3, seed=1, loop=LOOP)
    np.testing.assert_allclose(np.mean(losses), mean_final(problem, 0.5), rtol=1e-12)


def test_tpe_finds_an_eta_as_good_as_a_dense_grid(problem):
    lrs = np.geomspace(1e-3, 3, 400)
    grid = mean_final(problem, lrs)
    best = int(np.nanargmin(grid))
    f_star = problem.optimal_loss
    result = tune(problem, "sgd", [Axis.parse("lr=1e-3:3:log")], trials=40, seeds=3, seed=1, loop=LOOP)
    tuned_lr = result["best_params"]["lr"]
    tuned = mean_final(problem, tuned_lr)
    # the grid's best η is 2/(λ_max + λ_min) = 0.995 on these data (the fastest fixed step); the median η of the
    # grid is 10⁸ times worse in excess loss, so "within 5× of the best excess" is a sharp test of the search
    assert lrs[best] == pytest.approx(2 / (1.0547 + 0.9616), rel=0.01)
    assert (np.nanmedian(grid) - f_star) > 1e6 * (grid[best] - f_star)
    assert tuned - f_star <= 5 * (grid[best] - f_star), (tuned_lr, lrs[best])
    assert result["best_value"] == pytest.approx(tuned, rel=1e-12)
    assert result["pruned"] > 0 and result["complete"] + result["pruned"] == 40  # pruning happened


def test_a_stored_study_resumes_and_refuses_other_settings(problem, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = tune(problem, "sgd", [Axis.parse("lr=1e-3:3:log")], trials=8, seed=1, loop=LOOP, storage=storage)
    again = tune(problem, "sgd", [Axis.parse("lr=1e-3:3:log")], trials=12, seed=1, loop=LOOP, storage=storage)
    assert (first["trials"], again["trials"]) == (8, 12)
    assert again["history"][:8] == first["history"]  # the first eight trials are the stored ones, unchanged
    same = tune(problem, "sgd", [Axis.parse("lr=1e-3:3:log")], trials=12, seed=1, loop=LOOP, storage=storage)
    assert same["history"] == again["history"]  # already complete: nothing runs
    with pytest.raises(ValueError, match="was made with other settings"):
        tune(problem, "sgd", [Axis.parse("lr=1e-3:3:log")], trials=12, seed=2, loop=LOOP, storage=storage)
    args = ["tune", "--search", "lr=1e-3:3:log", "--batch-size", "1000", "--epochs", "3", "--trials", "12",
            "--storage", storage, "--json", "--quiet"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["history"] == again["history"]


def test_several_workers_share_a_journal_file(problem, tmp_path):
    result = tune(problem, "momentum", [Axis.parse("lr=1e-3:1:log"), Axis.parse("momentum=0:0.99")], trials=12,
                  loop=LOOP, storage=f"journal:{tmp_path / 'journal.log'}", workers=2, sampler="cmaes")
    # MaxTrialsCallback is checked after each trial: the other worker may finish one trial past the target
    assert 12 <= result["trials"] <= 13
    history = result["history"]
    assert len({t["pid"] for t in history}) == 2  # both worker processes wrote trials into the one study
    best = min((t for t in history if t["state"] == "COMPLETE"), key=lambda t: t["value"])
    again = np.mean(evaluate(problem, "momentum", best["params"], seeds=3, seed=1, loop=LOOP))
    assert result["best_value"] == best["value"] == pytest.approx(again, rel=1e-12)


BAD = [  # command-line arguments -> the one-line error
    (["--search", "lr=1:0.1:log"], "search axis lr must have 0 < LOW < HIGH, got 1.0:0.1"),
    (["--search", "lr=0:1:log"], "search axis lr must have 0 < LOW < HIGH"),
    (["--search", "lr"], "search axis must look like NAME=LOW:HIGH"),
    (["--search", "beta1=0:0.9"], "sgd takes no hyperparameter 'beta1'"),
    (["--search", "lr=-1:1"], r"lr\[0\] must be > 0, got -1.0"),
    ([], "give at least one hyperparameter to search"),
    (["--search", "lr=1e-3:1:log", "--sampler", "cmaes"], "sampler cmaes needs at least two"),
    (["--search", "lr=1e-3:1:log", "--sampler", "cmaes", "--storage", "journal:j.log"], "sampler cmaes needs"),
    (["--search", "lr=1e-3:1:log", "--trials", "0"], "trials must be an integer >= 1, got 0"),
    (["--search", "lr=1e-3:1:log", "--workers", "2", "--storage", "sqlite:///x.db"],
     "SQLite must not be used by several workers"),
    (["--search", "lr=1e-3:1:log", "--workers", "2"], "several workers need a shared storage"),
    (["--search", "lr=1e-3:1:log", "--storage", "x.db"], "storage must be sqlite:///FILE, journal:FILE or an RDB"),
    (["--search", "lr=1e-3:1:log", "--lr", "0.1"], "lr is both searched and fixed"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_tune_arguments(tmp_path, monkeypatch, capsys, argv, message):
    import re

    monkeypatch.chdir(tmp_path)
    assert main(["tune", "--quiet"] + argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err), err
    assert list(tmp_path.iterdir()) == []  # refused before any storage was created
