"""optimlab reproduce: every claim of the lecture, on several seeds; the report; the replay of the original runs."""

import json

import numpy as np
import pytest

from optimlab import lecture
from optimlab.cli import main
from optimlab.lecture import original
from optimlab.lecture import report as report_module
from optimlab.lecture.experiments import BY_NAME, EXPERIMENTS

REQUIRED = ["name", "optimizer", "hyperparameters", "batch_size", "epochs", "claim", "passed", "losses", "epochs_axis",
            "epoch_losses", "final_loss", "optimal_loss", "w", "b", "diverged", "diverged_at"]


@pytest.fixture(scope="module")
def default_report():
    return lecture.reproduce(seed=1)


def test_every_claim_holds_on_the_default_seed(default_report):
    assert [e.name for e in default_report.entries] == lecture.names()
    failed = {e.name: e.verdict.measured for e in default_report.entries if not e.passed}
    assert failed == {}
    assert len(default_report.entries) == 19


@pytest.mark.parametrize("seed", [2, 3, 7, 12])
def test_every_claim_holds_on_other_seeds(seed):
    report = lecture.reproduce(seed=seed)
    failed = {e.name: e.verdict.measured for e in report.entries if not e.passed}
    assert failed == {}


def test_claims_can_fail():
    # a predicate that cannot fail is a defect: feed each experiment's check a run of a different experiment
    problem = original.problem()
    crawl = BY_NAME["lr-too-small"].run(problem)
    blowup = BY_NAME["lr-too-large"].run(problem)
    good = BY_NAME["minibatch"].run(problem)
    assert not BY_NAME["minibatch"].check(crawl, {}).passed
    assert not BY_NAME["lr-too-large"].check(good, {}).passed
    assert not BY_NAME["lr-too-small"].check(good, {}).passed
    assert not BY_NAME["momentum-0.99"].check(good, {}).passed
    assert not BY_NAME["adam"].check(blowup, {}).passed
    assert not BY_NAME["rmsprop-0.9"].check(good, {}).passed  # converged but not noisy
    assert not BY_NAME["rmsprop-0.999"].check(crawl, {"rmsprop-0.9": good}).passed
    assert not BY_NAME["momentum-small-lr"].check(crawl, {"lr-too-small": crawl}).passed
    assert not BY_NAME["momentum-0.9"].check(good, {"minibatch": good}).passed  # not faster than itself


def test_the_lecture_numbers_themselves(default_report):
    by = {e.name: e for e in default_report.entries}
    assert by["lr-too-large"].run.diverged and by["lr-too-large"].run.diverged_at < 1000
    assert by["momentum-ema"].verdict.numbers["weights_sum"] == pytest.approx(1 - 0.95 ** 20, abs=1e-12)
    assert by["quartic-start"].verdict.numbers["measured_boundary"] == pytest.approx(1 / np.sqrt(0.1), rel=0.01)
    assert by["taylor-x2"].verdict.numbers["measured_threshold"] == pytest.approx(1.0, abs=0.001)


def test_replay_gives_the_numbers_the_original_code_printed():
    run = original.replay("post__sgd_bs1_lr0.1")
    # The lecture's first call printed "Batch size 1, Learning rate 0.100000, Epoch 1, loss 5.0055e-05": its last
    # record in epoch 1, taken after 991 of the 1000 examples (batch 1, period 10: i·1 % 10 == 0 for i = 990).
    # optimlab's epoch loss is the loss at the epoch's end (1000 examples); the lecture's value is checked digit
    # for digit at its own exact position on the curve.
    lecture_last = int(np.flatnonzero(run.examples_seen == 991)[0])
    assert run.epochs_axis[lecture_last] == 0.991
    assert f"{run.losses[lecture_last]:.4e}" == "5.0055e-05"
    assert run.examples_seen[lecture_last + 1] == 1000 and run.epoch_losses[0] == run.losses[lecture_last + 1]
    assert original.printed_losses(run)[0] == run.losses[lecture_last]  # what the report's replay table shows
    assert original.printed_losses(run)[1] == run.losses[int(np.flatnonzero(run.examples_seen == 1991)[0])]
    gd = original.replay("post__gd_bs1000_lr0.999")  # one sample per epoch, at its end: both readings agree
    np.testing.assert_array_equal(original.printed_losses(gd), gd.epoch_losses)
    assert len(original.records()) == 27


REPLAYED = [e for e in EXPERIMENTS if e.original]


@pytest.mark.parametrize("experiment", REPLAYED, ids=[e.name for e in REPLAYED])
def test_replay_and_normal_path_agree_on_identical_inputs(experiment):
    init, order = original.given_inputs(experiment.original)
    problem = original.problem()
    normal = experiment.run(problem, init=init, order=order)
    replayed = original.replay(experiment.original, problem)
    np.testing.assert_array_equal(normal.losses, replayed.losses)
    np.testing.assert_array_equal(normal.params, replayed.params)
    assert normal.diverged == replayed.diverged and normal.diverged_at == replayed.diverged_at


def test_original_runs_replay_with_their_stated_conventions():
    s = original.settings("post__momentum_gluon_mom0.99")
    assert s["optimizer"] == "momentum" and s["hyperparams"] == {"lr": 0.2, "momentum": 0.99}
    assert s["schedule"].name == "lecture" and s["period"] == 10
    assert original.settings("post__adam_lr0.1")["schedule"].name == "constant"
    gd = original.replay("post__gd_bs1000_lr0.999")
    assert gd.losses.shape == (6,)  # one point before training and one per epoch
    assert original.replay("tutorial__tutorial_minibatch_bs10_lr5").diverged


def test_report_is_complete_and_self_contained(tmp_path, default_report):
    index = lecture.write_report(default_report, tmp_path / "report", workers=1)
    out = index.parent
    page = index.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 19 and "<img" in page
    for name in lecture.names():
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert f"id='{name}'" in page
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["seed"] == 1 and doc["passed"] is True and doc["versions"]["numpy"] == np.__version__
    assert len(doc["experiments"]) == 13 and len(doc["figures"]) == 6
    for item in doc["experiments"]:
        for key in REQUIRED:
            assert key in item, (item["name"], key)
    big = next(e for e in doc["experiments"] if e["name"] == "lr-too-large")
    assert big["diverged"] is True and big["losses"][-1] is None  # NaN after divergence is null in JSON
    assert big["diagnosis"]["diagnosis"] == "diverged" and "optimlab explain" in page


def test_report_is_written_completely_or_not_at_all(tmp_path, default_report, monkeypatch):
    out = tmp_path / "report"

    def broken(figures, workers=None):
        raise OSError("disk full")

    monkeypatch.setattr(report_module, "render_figures", broken)
    with pytest.raises(OSError):
        lecture.write_report(default_report, out)
    assert list(tmp_path.iterdir()) == []  # no report, no staging folder
    monkeypatch.undo()
    lecture.write_report(default_report, out, workers=1)
    before = sorted(p.name for p in out.iterdir())
    monkeypatch.setattr(report_module, "render_figures", broken)
    with pytest.raises(OSError):
        lecture.write_report(default_report, out)
    assert sorted(p.name for p in out.iterdir()) == before  # the earlier report is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_cli_reproduce(tmp_path, capsys):
    status = main(["reproduce", "--out", str(tmp_path / "r"), "--only", "minibatch,lr-too-large", "--seed", "5"])
    out = capsys.readouterr()
    assert status == 0 and "2 of 2 claims hold" in out.out
    assert "[ 1/2] minibatch" in out.err and "[ 2/2] lr-too-large" in out.err  # progress as it goes
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert [e["name"] for e in doc["experiments"]] == ["minibatch", "lr-too-large"] and doc["seed"] == 5


def test_cli_reproduce_refuses_bad_input_before_work(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["reproduce", "--out", str(tmp_path / "mine")]) == 2
    assert "not an optimlab report" in capsys.readouterr().err
    assert main(["reproduce", "--only", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["reproduce", "--list"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 19


def test_cli_reproduce_exits_1_when_a_claim_fails(tmp_path, capsys, monkeypatch):
    from optimlab.lecture import experiments
    from optimlab.lecture.verdicts import Verdict

    failing = experiments.BY_NAME["adam"].__class__(**{**experiments.BY_NAME["adam"].__dict__,
                                                        "check": lambda run, others: Verdict(False, "forced")})
    monkeypatch.setitem(experiments.BY_NAME, "adam", failing)
    status = main(["reproduce", "--out", str(tmp_path / "r"), "--only", "adam", "--quiet"])
    assert status == 1
    assert "claims that do not hold: adam" in capsys.readouterr().err
    assert (tmp_path / "r" / "index.html").exists()  # the report still tells the story
