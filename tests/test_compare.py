"""optimlab compare: the same budget per optimizer, the best and the defaults on 10 seeds, an exact, rerunnable
report that never writes into a folder it does not own."""

from __future__ import annotations

import json
import re
import shlex

import numpy as np
import pytest

import optimlab
from optimlab.cli import main

pytest.importorskip("matplotlib")

ARGS = ["--optimizers", "sgd,momentum,adadelta", "--points", "5", "--lr-range", "1e-3:1", "--epochs", "2",
        "--momentum", "0.5,0.9", "--quiet"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "report"
    assert main(["compare", "--out", str(out)] + ARGS) == 0
    return out, json.loads((out / "results.json").read_text())


def test_report_files_and_budget(report):
    out, result = report
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".optimlab-compare.json", "index.html", "results.json", "curves.png", "sensitivity.png",
         "time_to_target.png"])
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = result["results"]
    # the same η grid for every optimizer with one; momentum's γ crossed with it; Adadelta's ε instead of η
    assert r["sgd"]["grid"]["lr"] == pytest.approx(np.geomspace(1e-3, 1, 5).tolist())
    assert r["momentum"]["budget"] == 10 and sorted(set(r["momentum"]["grid"]["momentum"])) == [0.5, 0.9]
    assert list(r["adadelta"]["grid"]) == ["eps"] and r["adadelta"]["budget"] == 5
    assert result["rerun_seeds"] == list(range(100, 110))
    html = (out / "index.html").read_text()
    assert "optimlab train" in html and "time_to_target.png" in html


def test_best_is_the_argmin_of_separate_runs_and_reruns_are_exact(report):
    _, result = report
    problem = optimlab.problems.make("linear-regression")
    lrs = np.geomspace(1e-3, 1, 5)
    finals = [optimlab.train(problem, optimlab.optim.make("sgd", lr=lr), epochs=2, seed=1).final_loss for lr in lrs]
    sgd = result["results"]["sgd"]
    np.testing.assert_allclose(sgd["scores"], finals, rtol=1e-10)
    assert sgd["best"]["hyperparams"]["lr"] == pytest.approx(lrs[int(np.argmin(finals))])
    assert sgd["default"]["hyperparams"] == {"lr": optimlab.optim.defaults("sgd")["lr"]}
    assert result["results"]["momentum"]["default"]["hyperparams"] == optimlab.optim.defaults("momentum")
    for seed in (100, 109):  # as `optimlab train --seed s`: the seed draws the lecture's data and the run
        run = optimlab.train(optimlab.problems.make("linear-regression", seed=seed),
                             optimlab.optim.make("sgd", lr=sgd["best"]["hyperparams"]["lr"]), epochs=2, seed=seed)
        assert sgd["best"]["final_losses"][seed - 100] == pytest.approx(run.final_loss, rel=1e-10)
    assert len(sgd["best"]["final_losses"]) == 10 and len(sgd["best"]["commands"]) == 10


def test_time_to_target_is_the_first_record_of_the_median_curve_below_it(report):
    _, result = report
    target = result["target"]
    f_star = optimlab.problems.make("linear-regression").optimal_loss
    start = np.median([r["best"]["median_curve"][0] for r in result["results"].values()])
    assert target == pytest.approx(f_star + 1e-3 * (start - f_star))
    for r in result["results"].values():
        best = r["best"]
        median = np.median(np.array(best["curves"], dtype=float), axis=0)
        first = np.flatnonzero(median <= target)[0]
        assert best["epochs_to_target"] == pytest.approx(best["epochs_axis"][first])


def test_a_rerun_command_gives_the_reported_loss(report, capsys):
    _, result = report
    momentum = result["results"]["momentum"]["best"]
    argv = shlex.split(momentum["commands"][3])[1:]  # seed 103
    assert argv[argv.index("--seed") + 1] == "103"
    assert main(argv + ["--json"]) == 0
    rerun = json.loads(capsys.readouterr().out)
    assert rerun["final_loss"] == pytest.approx(momentum["final_losses"][3], rel=1e-12)


def test_refuses_a_folder_with_files_it_does_not_own_and_rewrites_its_own(report, tmp_path, capsys):
    mine = tmp_path / "notes.txt"
    mine.write_text("keep me")
    assert main(["compare", "--out", str(tmp_path)] + ARGS) == 2
    assert "holds files optimlab did not write (notes.txt)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"] and mine.read_text() == "keep me"
    out, _ = report  # its own folder: rewritten in place
    assert main(["compare", "--out", str(out), "--optimizers", "sgd", "--points", "3", "--epochs", "1",
                 "--quiet"]) == 0
    assert list(json.loads((out / "results.json").read_text())["results"]) == ["sgd"]


BAD = [
    (["--seeds", "5"], "seeds must be an integer >= 10, got 5"),
    (["--lr", "0.1"], "compare tunes η itself"),
    (["--lr-range", "1e-3"], "--lr-range must look like LOW:HIGH"),
    (["--lr-range", "1:0.1"], "lr_range must have low < high"),
    (["--lr-range=-1:1"], r"lr_range\[0\] must be > 0"),
    (["--optimizers", "sgd,lbfgs"], "unknown optimizer 'lbfgs'"),
    (["--points", "1"], "points must be an integer >= 2, got 1"),
    (["--tune-seeds", "0"], "tune_seeds must hold at least one seed"),
    (["--problem", "quadratic-2d"], r"batch_size must be an integer in \[1, 1\], got 10"),
    (["--momentum", "1.5"], r"momentum\[\d+\] must be in \[0, 1\)"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_compare_arguments(tmp_path, capsys, argv, message):
    assert main(["compare", "--out", str(tmp_path / "r"), "--quiet"] + argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err), err
    assert not (tmp_path / "r").exists()


def test_any_registered_problem_and_its_flags_in_the_commands(tmp_path, capsys):
    out = tmp_path / "q"
    assert main(["compare", "--problem", "quadratic-2d", "--batch-size", "1", "--epochs", "30", "--optimizers",
                 "sgd,nesterov", "--points", "4", "--lr-range", "0.01:1", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    result = json.loads((out / "results.json").read_text())
    # f = 0.1·x₁² + 2·x₂²: GD is stable for η < 2/λ_max = 0.5, so of 0.01, 0.046, 0.22, 1 the best is 0.22
    assert result["results"]["sgd"]["best"]["hyperparams"] == {"lr": pytest.approx(0.01 ** (1 / 3))}
    command = result["results"]["nesterov"]["best"]["commands"][0]
    assert command.startswith("optimlab train --problem quadratic-2d --optimizer nesterov --lr ")
    assert main(shlex.split(command)[1:] + ["--json"]) == 0
    rerun = json.loads(capsys.readouterr().out)
    assert rerun["final_loss"] == pytest.approx(result["results"]["nesterov"]["best"]["final_losses"][0],
                                                rel=1e-12, abs=1e-300)
