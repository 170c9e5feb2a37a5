"""What records and measurements cost, decided before any work: the cost-aware default period, the measurement
grids' period, the alternatives' budget (named in the text when it stops them), lr-find's band reused as the
measurement's coarse grid, and progress that advances epoch by epoch during long work."""

import numpy as np
import pytest

import optimlab
from optimlab import loop, problems
from optimlab.analysis import advice, budget
from optimlab.analysis.advice_text import describe_range
from optimlab.analysis.range_test import lr_range_test

LECTURE = problems.make("linear-regression", seed=1)


class Sized:
    """Only what the cost model reads: n, P and an optional evaluation subset."""

    def __init__(self, n, dim, eval_examples=None):
        self.n_examples, self.dim = n, dim
        self.eval_idx = None if eval_examples is None else np.arange(eval_examples)


def records_per_epoch(n, batch_size, period):
    return len(loop.record_plan(n, batch_size, period)[1])


@pytest.mark.parametrize("n,dim,eval_examples,batch_size,period,records", [
    (1000, 3, None, 10, 10, 100),  # the lecture: a record costs 3000 multiply-adds, 100 per epoch are free
    (1000, 3, None, 1, 10, 101),  # batch 1: every 10th update, and the epoch's last
    (1, 2, None, 1, 10, 1),  # a deterministic objective: one record per epoch, its end
    (1797, 2410, None, 10, 360, 6),  # the digits MLP: 5 passes over the data per epoch (+ the epoch's end)
    (1797, 2410, 200, 10, 40, 46),  # the same with a 200-example evaluation subset: 5·1797/200 ≈ 45 records
    (150, 15, None, 10, 10, 15),  # softmax regression on iris: free
])
def test_the_default_period_accounts_for_what_a_record_costs(n, dim, eval_examples, batch_size, period, records):
    assert loop.default_period(batch_size, n, dim, eval_examples) == period
    assert records_per_epoch(n, batch_size, period) == records
    # records cost at most RECORD_SHARE passes over the training set per epoch, or FREE_RECORD_WORK, give or take
    # the lecture's record after the first minibatch and the epoch's end
    n_eval = eval_examples or n
    allowed = max(loop.FREE_RECORD_WORK, loop.RECORD_SHARE * n * dim) / (n_eval * dim)
    assert loop.records_allowed(n, dim, eval_examples) == pytest.approx(allowed)
    assert records <= min(allowed, loop.MAX_RECORDS_PER_EPOCH) + 2


def test_the_default_period_without_the_problems_size_is_the_lectures_rule():
    assert [loop.default_period(b, 1000) for b in (1, 7, 10, 100)] == [10, 14, 10, 100]
    assert loop.default_period(10, 1797) == 20  # what the digits MLP used to record: 90 full losses per epoch
    run = optimlab.train(LECTURE, optimlab.optim.make("sgd"), epochs=1)
    assert run.period == 10  # reproduce depends on the lecture's period


def test_run_work_counts_gradients_and_records():
    # the lecture: 3·n·P per epoch for the gradients, n·P per record, 100 records per epoch
    assert loop.run_work(LECTURE, 25, 5, 10, 10) == 25 * 5 * 3 * (3 * 1000 + 100 * 1000)
    assert loop.run_work(LECTURE, 1, 1, 10, 1000) == 3 * (3 * 1000 + 2 * 1000)  # after update 0, and the end
    assert loop.run_work(LECTURE, 1, 1, 10, None) == loop.run_work(LECTURE, 1, 1, 10, 10)


def test_measurement_grids_sample_no_finer_than_the_cost_aware_period():
    mlp_sized = Sized(1797, 2410)
    mlp_sized.n_examples = 1797
    assert budget.measurement_loop(mlp_sized, {"batch_size": 10, "period": 10})["period"] == 900
    assert budget.measurement_loop(mlp_sized, {"batch_size": 10, "period": None})["period"] == 900
    assert budget.measurement_loop(mlp_sized, {"batch_size": 10, "period": 1800})["period"] == 1800
    assert budget.measurement_loop(LECTURE, {"batch_size": 10, "period": 10})["period"] == 10  # free: unchanged
    assert budget.measurement_loop(LECTURE, {"batch_size": 20, "period": 40})["period"] == 40


def quadratic_2d_range(**loop_settings):
    """quadratic-2d with gradient descent in 5 epochs reaches the goal at no η; 320 epochs do (test_advice)."""
    q = problems.make("quadratic-2d")
    return advice.measure_range(q, "sgd", {}, "lr", (1e-3, 1.0),
                                loop={"batch_size": 1, "epochs": 5, "period": None, "schedule": None,
                                      "init_scale": 1.0, **loop_settings}, seed=1)


def test_alternatives_beyond_the_budget_are_skipped_and_named(monkeypatch):
    free = quadratic_2d_range()
    assert not free.found and free.alternative["change"] == "epochs" and free.alternative["epochs"] == 320
    # a budget that pays for 20 epochs on the coarse grid, not for 80 more: n = 1, P = 2, one record per epoch
    assert budget.work(problems.make("quadratic-2d"), advice.POINTS, {"batch_size": 1, "epochs": 20}) == \
        advice.POINTS * 20 * 2 * (3 + 1)
    monkeypatch.setattr(budget, "ALTERNATIVES_FREE_WORK", advice.POINTS * 20 * 2 * 4)
    monkeypatch.setattr(budget, "ALTERNATIVES_SHARE", 0)
    r = quadratic_2d_range()
    assert r.alternative["change"] is None and r.alternative["tried"] == [("epochs", 20)]
    assert r.alternative["skipped"] == [("epochs", 80), ("epochs", 320)]
    text = " ".join(describe_range(r, "η", 5).split())
    assert "Nor did 20 epochs" in text and "Not measured: 80 epochs, 320 epochs (beyond this call's budget of 4e+03" \
        in text


def test_the_alternatives_run_only_where_more_epochs_could_help():
    """η from 3 to 30 on x² (curvature 2): every step multiplies the error by |1 − 2η| ≥ 5, so every run ends above
    its start; more epochs of the same cannot help, and none are run."""
    q = problems.make("quadratic-1d")
    r = advice.measure_range(q, "sgd", {}, "lr", (3.0, 30.0), seed=1,
                             loop={"batch_size": 1, "epochs": 5, "period": None, "schedule": None, "init_scale": 1.0})
    assert not r.found and r.alternative["ended_below_start"] == 0 and r.alternative["tried"] == []
    assert "ended below its start" in describe_range(r, "η", 5)


def test_lr_find_measures_on_its_band():
    r = lr_range_test(LECTURE, "sgd", seeds=2, grid=12)
    assert np.isin(r.grid, r.measured.grid).all()  # the band's η are the measurement's coarse grid
    band = np.array(r.grid_labels)
    for k, eta in enumerate(r.grid):
        assert r.measured.labels[int(np.flatnonzero(r.measured.grid == eta)[0])] == list(band[:, k])
    fine = len(r.measured.grid) - len(r.grid)
    assert r.measured.configurations == 2 * (len(r.grid) + fine) + 1  # band and fine grid per seed, the middle


def test_progress_advances_epoch_by_epoch_during_long_runs(monkeypatch):
    monkeypatch.setattr(budget, "LONG_RUN_WORK", 0)  # every run counts as long here
    calls = []
    run = optimlab.train(LECTURE, optimlab.optim.make("sgd", lr=0.1), epochs=2)
    optimlab.explain(run, progress=lambda d, t: calls.append((d, t)))
    done = [d for d, _ in calls]
    total = 1 + advice.measurement_steps(LECTURE, advice.loop_of(run), 1)
    assert calls[-1] == (total, total) and done == sorted(done)
    assert done[:4] == [1, 2, 3, 4]  # the coarse grid's two epochs, then the fine grid's
    # the same with short runs: one step per run, as before
    monkeypatch.setattr(budget, "LONG_RUN_WORK", float("inf"))
    assert advice.measurement_steps(LECTURE, advice.loop_of(run), 1) == advice.measurement_runs(1)
