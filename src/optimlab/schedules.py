"""Learning-rate schedules: closed-form factors of the epoch and the step, one formula each.

A schedule returns the factor by which the base η is multiplied for an update: η_t = η · factor(epoch, step),
where ``epoch`` counts from 1 and ``step`` counts updates from 0 over the whole run. Every formula broadcasts, so
``step`` may be an array and a float setting may be a list (one value per configuration).

    sched = optimlab.schedules.make("lecture", after=2, factor=0.1)
    sched(epoch=3, step=0)   # 0.1
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from optimlab import checks


def constant(epoch, step):
    """η_t = η."""
    return np.ones_like(np.asarray(step, dtype=float))


def lecture(epoch, step, after=2, factor=0.1):
    """The lecture's decay: η for the first ``after`` epochs, then one more factor at the start of each epoch.

    η_t = η · factor^max(0, epoch − after); after=2, factor=0.1 runs epochs 1..5 at η, η, 0.1η, 0.01η, 0.001η.
    """
    return factor ** np.maximum(0, epoch - after) * np.ones_like(np.asarray(step, dtype=float))


def step(epoch, step, every=1, factor=0.1):
    """Step decay (torch's StepLR per epoch): η_t = η · factor^⌊(epoch − 1) / every⌋."""
    return factor ** ((epoch - 1) // every) * np.ones_like(np.asarray(step, dtype=float))


def exponential(epoch, step, factor=0.9):
    """Exponential decay per epoch (torch's ExponentialLR): η_t = η · factor^(epoch − 1)."""
    return factor ** (epoch - 1) * np.ones_like(np.asarray(step, dtype=float))


def cosine(epoch, step, steps=1000, floor=0.0):
    """Cosine annealing over ``steps`` updates, then flat:
    η_t = η · (floor + (1 − floor)·½(1 + cos(π·min(t, steps)/steps)))."""
    t = np.minimum(np.asarray(step, dtype=float), steps)
    return floor + (1.0 - floor) * 0.5 * (1.0 + np.cos(np.pi * t / steps))


def warmup(epoch, step, steps=100):
    """Linear warm-up over the first ``steps`` updates, then constant: η_t = η · min(1, (t + 1)/steps)."""
    return np.minimum(1.0, (np.asarray(step, dtype=float) + 1.0) / steps)


def ramp(epoch, step, steps=100, ratio=1e8):
    """Exponential ramp for a learning-rate range test: η_t = η · ratio^(min(t, steps − 1)/(steps − 1)), from η at
    the first update to η·ratio at update ``steps``."""
    t = np.minimum(np.asarray(step, dtype=float), steps - 1)
    return ratio ** (t / max(steps - 1, 1))


SCHEDULES = {f.__name__: f for f in (constant, lecture, step, exponential, cosine, warmup, ramp)}


class Setting(NamedTuple):
    kind: str  # a key of checks.RANGES, or "int0" (integer >= 0) / "int1" (integer >= 1)
    flag: str  # the CLI flag
    meaning: str


# The largest integer setting (epochs or updates): every count up to 2**53 is exact in float64 and its differences
# with an epoch or step stay far inside int64, where numpy computes the formulas. A larger one (the CLI reads any
# number of digits) would end in numpy's OverflowError; no run has that many epochs or updates anyway.
MAX_COUNT = 2**53

SETTINGS = {
    "after": Setting("int0", "--decay-after", "epochs run at the initial η before the decay starts"),
    "factor": Setting("positive", "--decay-factor", "multiplier applied at each decay"),
    "every": Setting("int1", "--decay-every", "epochs between two decays"),
    "steps": Setting("int1", "--schedule-steps", "length of the cosine, warm-up or ramp, in updates"),
    "floor": Setting("unit", "--decay-floor", "final factor of the cosine"),
    "ratio": Setting("positive", "--ramp-ratio", "how many times η grows over a ramp"),
}


class Schedule(NamedTuple):
    """A configured schedule; call it as ``schedule(epoch, step)`` to get the factor on η."""

    name: str
    settings: dict[str, Any]
    num_configs: int | None
    formula: Callable

    def __call__(self, epoch, step):
        return self.formula(epoch, step, **self.settings)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v.tolist() if isinstance(v, np.ndarray) else v}" for k, v in self.settings.items())
        return f"{self.name}({args})"


def defaults(name: str) -> dict[str, Any]:
    """The settings of schedule ``name`` with their defaults (from its signature)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
    params = list(inspect.signature(SCHEDULES[name]).parameters.values())[2:]
    return {p.name: p.default for p in params}


def make(name: str | None = None, **settings) -> Schedule:
    """Validate the settings of schedule ``name`` and return it. Unknown names or settings and out-of-range values
    raise ``ValueError`` naming the value and its allowed range.

    Settings given as None are left at their defaults. Without a name, the first schedule of :data:`SCHEDULES`
    that takes every given setting is chosen: none gives ``constant``; ``after`` or ``factor`` give ``lecture``.
    """
    settings = {key: v for key, v in settings.items() if v is not None}
    if name is None:
        name = next((n for n in SCHEDULES if set(settings) <= set(defaults(n))), None)
        if name is None:
            raise ValueError(f"no schedule takes all of the settings {', '.join(settings)}")
    allowed = defaults(name)
    for key in settings:
        if key not in allowed:
            takes = ", ".join(allowed) if allowed else "nothing"
            raise ValueError(f"schedule {name} takes no setting {key!r}; it takes: {takes}")
    values = {}
    for key, default in allowed.items():
        given = settings.get(key)
        value = default if given is None else given
        kind = SETTINGS[key].kind
        if kind in ("int0", "int1"):
            values[key] = checks.check_int(key, value, minimum=int(kind[-1]))
            if values[key] > MAX_COUNT:
                raise ValueError(f"{key} must be an integer <= 2**53 = {MAX_COUNT}, got {values[key]}")
        else:
            values[key] = checks.check_range(key, value, kind)
    return Schedule(name, values, checks.num_configs(values), SCHEDULES[name])
