"""Each schedule's closed form at chosen points."""

import numpy as np
import pytest

import optimlab


def factors(sched, epochs, step=0):
    return [float(sched(e, step)) for e in epochs]


def test_lecture_schedule_runs_the_lecture_epochs():
    s = optimlab.schedules.make("lecture", after=2, factor=0.1)
    np.testing.assert_allclose(factors(s, range(1, 6)), [1, 1, 0.1, 0.01, 0.001], rtol=1e-15)


def test_step_and_exponential():
    np.testing.assert_allclose(factors(optimlab.schedules.make("step", every=2, factor=0.5), range(1, 7)),
                               [1, 1, 0.5, 0.5, 0.25, 0.25])
    np.testing.assert_allclose(factors(optimlab.schedules.make("exponential", factor=0.9), range(1, 4)),
                               [1, 0.9, 0.81])


def test_cosine_and_warmup_over_steps():
    cos = optimlab.schedules.make("cosine", steps=4, floor=0.2)
    np.testing.assert_allclose(cos(1, np.arange(6)), 0.2 + 0.8 * 0.5 * (1 + np.cos(np.pi * np.minimum(np.arange(6),
                                                                                              4) / 4)))
    assert cos(1, 2) == pytest.approx(0.6) and cos(1, 10) == pytest.approx(0.2)
    warm = optimlab.schedules.make("warmup", steps=4)
    np.testing.assert_allclose(warm(1, np.arange(6)), [0.25, 0.5, 0.75, 1, 1, 1])
    assert float(optimlab.schedules.make("constant")(7, 123)) == 1.0


def test_name_is_inferred_from_settings():
    assert optimlab.schedules.make().name == "constant"
    assert optimlab.schedules.make(after=3).name == "lecture"
    assert optimlab.schedules.make(every=2).name == "step"


def test_list_settings_give_one_factor_per_configuration():
    s = optimlab.schedules.make("lecture", factor=[0.1, 0.5])
    assert s.num_configs == 2
    np.testing.assert_allclose(s(4, 0), [0.01, 0.25])
