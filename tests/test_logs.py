"""Training logs from anywhere: reading (CSV, JSON records, JSON columns, bad logs as data) and diagnosis against
curves whose fate is known in closed form (gradient descent on a diagonal quadratic) or by construction, with the
labels of optimlab's own runs (one definition: :func:`optimlab.analysis.criteria.classify_curve`)."""

import json
import math

import numpy as np
import pytest

import optimlab
from optimlab import problems
from optimlab.analysis import criteria
from optimlab.analysis.log_diagnosis import diagnose_log
from optimlab.analysis.logs import from_columns, read_log
from optimlab.cli import main


def gd_quadratic(lr, lams=(1.0, 10.0), steps=300, x0=(1.0, 1.0)):
    """Gradient descent on f(x) = ½ Σ λ_i x_i², written out: x_i ← (1 − ηλ_i) x_i; f* = 0."""
    lams, x = np.array(lams), np.array(x0, dtype=float)
    losses = []
    for _ in range(steps + 1):
        losses.append(0.5 * float(np.sum(lams * x * x)))
        x = (1 - lr * lams) * x
    return np.array(losses)


def log_of(losses, lr, **extra):
    with np.errstate(over="ignore", invalid="ignore"):
        n = len(losses)
        return from_columns({"step": np.arange(n), "loss": losses, "lr": np.full(n, lr), **extra})


def test_gd_converges_below_two_over_lambda_max():
    losses = gd_quadratic(0.15)  # ηλ_max = 1.5 < 2: every mode contracts, the slowest by 0.85 per step
    d = diagnose_log(log_of(losses, 0.15, sharpness=np.full(len(losses), 10.0)), optimal_loss=0.0)
    assert d.diagnosis == "converged"
    assert d.numbers["edge_ratio_max"] == pytest.approx(0.75)  # λ_max/(2/η) = 10·0.15/2
    assert "crossed_at_step" not in d.numbers
    assert diagnose_log(log_of(losses, 0.15)).diagnosis == "converged"  # levelled off, without f*


def test_gd_diverges_above_two_over_lambda_max_and_says_when():
    with np.errstate(over="ignore"):
        losses = gd_quadratic(0.21)  # |1 − 2.1| = 1.1: the steep mode grows ×1.21 in loss per step
    expected = int(np.flatnonzero(losses > 1e4 * losses[0])[0])
    sharp = np.full(len(losses), np.nan)
    sharp[::10] = 10.0  # measured every 10 steps, as a monitor does
    d = diagnose_log(log_of(losses, 0.21, sharpness=sharp))
    assert d.diagnosis == "diverged"
    assert d.numbers["diverged_at_step"] == expected
    assert d.numbers["crossed_at_step"] == 0
    assert d.numbers["crossed_ratio"] == pytest.approx(1.05)
    assert d.numbers["max_stable_lr"] == pytest.approx(0.2)  # 2/λ_max
    assert "η·λ_max first exceeded 2 at step 0 (η·λ_max = 2.1)" in d.explanation
    assert "lower η below 0.2" in d.explanation


def test_nan_loss_is_a_diverged_run_and_gradient_growth_is_reported():
    losses = np.array([1.0, 0.9, 3.0, 50.0, np.nan, np.nan])
    d = diagnose_log(log_of(losses, 0.5, grad_norm=np.array([1.0, 1.1, 4.0, 30.0, np.nan, np.nan])))
    assert d.diagnosis == "diverged" and d.numbers["diverged_at_step"] == 4
    assert "the loss became nan at step 4" in d.explanation
    assert "gradient norm grew from 1 (step 0) to 30 (step 3)" in d.explanation
    assert "no sharpness column" in d.explanation


def test_too_slow_with_the_steps_needed_at_the_measured_rate():
    steps = np.arange(1001)
    d = diagnose_log(log_of(np.exp(-0.001 * steps), 0.01), optimal_loss=0.0)
    assert d.diagnosis == "too_slow"
    rate = -0.1 / math.log(10)  # log10 change per 100 steps
    assert d.numbers["late_change_per_100_steps"] == pytest.approx(rate)
    # from log10 L = −1/ln 10 down to log10(1e-9·L0) = −9 at that rate
    assert d.numbers["steps_needed_at_measured_rate"] == pytest.approx((-9 + 1 / math.log(10)) / rate * 100)


def test_noise_floor_and_zigzag():
    rng = np.random.default_rng(0)
    noisy = np.concatenate([np.geomspace(10, 1, 50), 1 + 0.5 * rng.random(200)])
    d = diagnose_log(log_of(noisy, 0.1))
    assert d.diagnosis == "noise_floor" and d.numbers["late_roughness"] > 0.02
    t = np.arange(200)
    zigzag = 2 - 0.001 * t + 0.3 * (-1.0) ** t
    # a log does not say whether its batches were full: by default a jittering loss is minibatch noise (as in an
    # optimlab run with minibatches), and the perfect alternation, which noise would not make, is pointed out
    d = diagnose_log(log_of(zigzag, 0.1))
    assert d.diagnosis == "noise_floor" and d.numbers["late_alternation"] == 1.0
    assert "alternate in sign in 100% of the last 20 records" in d.explanation and "stochastic=False" in d.explanation
    d = diagnose_log(log_of(zigzag, 0.1), stochastic=False)  # full batch: no noise can cause it
    assert d.diagnosis == "oscillating" and d.numbers["late_alternation"] == 1.0
    assert "goes up and down in 100% of the last 20 records" in d.explanation


def test_a_log_gets_the_label_of_the_same_run_of_optimlab():
    """Every optimizer's run, written out as a log (step = examples seen), gets explain's label for the run, with
    the optimum given and withheld; together the runs cover every label."""
    problem = problems.make("linear-regression", seed=1)
    n = problem.n_examples
    cases = [("sgd", [1e-3, 1.0, 3.0], n), ("sgd", [0.03, 1.0], 10), ("momentum", [0.1, 1.0], n),
             ("adam", [0.01, 0.1, 1.0], 10), ("rmsprop", [0.01, 0.1], 10), ("adagrad", [0.1, 1.0], n)]
    seen = set()
    for name, lrs, batch in cases:
        with np.errstate(all="ignore"):
            run = optimlab.train(problem, optimlab.optim.make(name, lr=lrs), batch_size=batch, epochs=10)
        assert run.epochs_axis[-1] == 10  # a 10-epoch run: the log's tenths are the run's epochs
        for k, lr in enumerate(lrs):
            log = from_columns({"step": run.examples, "loss": run.curves[k], "lr": np.full(len(run.examples), lr)})
            for floor in (run.optimal_loss, None):
                own = criteria.classify_curve(run.curves[k], run.epochs_axis, float(run.curves[k, 0]), floor,
                                              bool(run.diverged_mask[k]), stochastic=batch < n)
                assert diagnose_log(log, floor, stochastic=batch < n).diagnosis == own.label, (name, lr, floor)
                seen.add(own.label)
            assert criteria.classify_run(run, k).label == diagnose_log(log, run.optimal_loss,
                                                                       stochastic=batch < n).diagnosis
    assert seen == set(criteria.LABELS)


EPOCHS = np.linspace(0, 10, 101)


@pytest.mark.parametrize("rate,floor,label", [(1.0, None, "converged"), (0.4, None, "converged"),
                                              (0.35, None, "too_slow"), (0.4, 0.5, "too_slow")])
def test_levelled_off_is_converged_only_without_an_optimum(rate, floor, label):
    """1 + 10 e^{−cT} over 10 epochs: its last epoch falls by (e^{−9c} − e^{−10c})/(1 − e^{−10c}) of its total
    decrease: 7.8e-5 at c = 1 and 0.92% at c = 0.4 (levelled off, < 1%), 1.3% at c = 0.35 (still falling). With
    f* = 0.5 known, the gap decides: 1.18 is over twice f*, not converged however flat the curve."""
    losses = 1 + 10 * np.exp(-rate * EPOCHS)
    outcome = criteria.classify_curve(losses, EPOCHS, optimal_loss=floor, stochastic=False)
    assert outcome.label == label
    if floor is None:
        share = (math.exp(-9 * rate) - math.exp(-10 * rate)) / (1 - math.exp(-10 * rate))
        assert outcome.numbers["late_share_of_decrease"] == pytest.approx(share, rel=1e-9)
    # the same curve as a log of 100 steps: its last tenth is the last epoch, and the label is the same
    assert diagnose_log(log_of(losses, 0.1), floor, stochastic=False).diagnosis == label


def test_threshold_column_and_since():
    n = 100
    sharp = np.linspace(10, 50, n)  # progressive sharpening against Adam's 38/η at η = 1
    d = diagnose_log(log_of(np.geomspace(1, 0.1, n), 1.0, sharpness=sharp,
                            sharpness_threshold=np.full(n, 38.0)))
    first = int(np.flatnonzero(sharp > 38)[0])
    assert d.numbers["crossed_at_step"] == first and d.numbers["above_since_step"] == first
    assert d.numbers["max_stable_lr"] == pytest.approx(38 / 50)
    assert (f"The sharpness first exceeded its threshold at step {first} ({sharp[first]:.3g} against 38, "
            f"×{sharp[first] / 38:.3g})") in d.explanation


def test_read_csv_json_records_and_columns(tmp_path):
    rows = [(0, 2.0, 0.1), (10, 1.0, 0.1), (20, "nan", 0.1)]
    csv = tmp_path / "run.csv"
    csv.write_text("\ufeffglobal_step,train_loss,learning_rate,grad_norm\n"
                   + "".join(f"{s},{loss},{lr},\n" for s, loss, lr in rows))
    records = tmp_path / "records.json"
    records.write_text(json.dumps([{"step": s, "loss": None if loss == "nan" else loss, "lr": lr}
                                   for s, loss, lr in rows]))
    columns = tmp_path / "columns.json"
    columns.write_text(json.dumps({"step": [0, 10, 20], "loss": [2.0, 1.0, None], "lr": [0.1] * 3}))
    for path in (csv, records, columns):
        log = read_log(path)
        np.testing.assert_array_equal(log.step, [0, 10, 20])
        np.testing.assert_array_equal(log.loss[:2], [2.0, 1.0])
        assert np.isnan(log.loss[2])
    assert np.isnan(read_log(csv).grad_norm).all()


BAD = [
    ("missing.csv", None, "log '.*missing.csv' does not exist"),
    ("run.txt", "step,loss,lr\n0,1,1\n", "log must be a .csv or .json file, got 'run.txt'"),
    ("a.csv", "", "a.csv is empty"),
    ("a.csv", "step,loss\n0,1\n1,2\n", "a.csv has no 'lr' column \\(it has: step, loss\\); required: step, loss, lr"),
    ("a.csv", "step,loss,lr\n0,1,0.1\n1,abc,0.1\n", "a.csv: loss in record 2 is not a number: 'abc'"),
    ("a.csv", "step,loss,lr\n0,1,0.1\n0,2,0.1\n", "a.csv: step must increase, record 1 has 0 after 0"),
    ("a.csv", "step,loss,lr\n0,1,0.1\n1,2,-1\n", "a.csv: lr must be > 0, got -1 at step 1"),
    ("a.csv", "step,loss,lr\n0,1,0.1\n", "a.csv must have at least 2 records, got 1"),
    ("a.csv", "step,loss,lr\n0,1,0.1\n1,2\n", "a.csv line 3: 2 fields, the header has 3"),
    ("a.json", "{not json", "a.json is not valid JSON"),
    ("a.json", "[1, 2]", "a.json must hold a list of records or a table of columns"),
    ("a.json", '{"step": [0, 1], "loss": [1, 2], "lr": [0.1]}', "column 'lr' has 1 values, 'step' has 2"),
    ("a.json", '{"step": [0, 1], "loss": [1, true], "lr": [0.1, 0.1]}', "loss in record 2 is not a number: True"),
]


@pytest.mark.parametrize("name,text,message", BAD, ids=[f"{i}" for i in range(len(BAD))])
def test_bad_logs(tmp_path, capsys, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_log(path)
    assert main(["explain", "--log", str(path)]) == 2  # one line on stderr, no traceback
    err = capsys.readouterr().err
    assert err.startswith("optimlab: error: ") and err.count("\n") == 1


def test_explain_log_cli(tmp_path, capsys):
    with np.errstate(over="ignore"):
        losses = gd_quadratic(0.21, steps=100)
    path = tmp_path / "run.csv"
    path.write_text("step,loss,lr,sharpness\n" + "".join(f"{i},{float(v)!r},0.21,10\n" for i, v in enumerate(losses)))
    assert main(["explain", "--log", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # unwrap the paragraph
    assert "DIVERGED" in out and "η·λ_max first exceeded 2 at step 0" in out
    assert main(["explain", "--log", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["diagnosis"] == "diverged" and doc["numbers"]["max_stable_lr"] == pytest.approx(0.2)


@pytest.mark.parametrize("lr,label", [(0.5, "converged"), (0.01, "too_slow")])
def test_explain_without_an_optimum_calls_a_levelled_off_run_converged(lr, label):
    """f(x) = 1 + ½(x1² + 2·x2²) from the user's callables, f* withheld: gradient descent at η = 0.5 shrinks the gap
    ×0.25 per step along x1 (and zeroes x2 at once): the gap is 1.5 at step 0, then 0.5·0.25^t. One step per epoch,
    so the late window is its last 5 steps (criteria.MIN_WINDOW), which moved by 0.5(0.25⁵ − 0.25¹⁰) of the total
    decrease 1.5 − 0.5·0.25¹⁰ (3.3e-4), levelled off: converged; at η = 0.01 it still falls: too slow. optimlab's
    explain and a log of the same run agree."""
    lams = np.array([1.0, 2.0])
    problem = problems.functions.FunctionProblem(lambda x: 1 + 0.5 * (lams * x * x).sum(-1), lambda x: lams * x, 2,
                                                 hvp=lambda x, v: lams * v)
    run = optimlab.train(problem, optimlab.optim.make("sgd", lr=lr), epochs=10, init=np.array([1.0, 1.0]))
    d = optimlab.explain(run, measure=False)
    assert d.diagnosis == label
    if label == "converged":
        assert d.numbers["late_share_of_decrease"] == pytest.approx(
            0.5 * (0.25 ** 5 - 0.25 ** 10) / (1.5 - 0.5 * 0.25 ** 10), rel=1e-9)
        assert "levelled off" in d.explanation
    log = from_columns({"step": run.examples, "loss": run.curves[0], "lr": np.full(len(run.examples), lr)})
    assert diagnose_log(log, stochastic=False).diagnosis == label
