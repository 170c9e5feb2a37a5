"""The axes of a stability map: a name (a hyperparameter of the optimizer, ``batch_size`` or ``seed``) and values.

Written on the command line as ``NAME=LOW:HIGH[:log]:N`` (N values evenly spaced, in log if asked) or
``NAME=v1,v2,...``, e.g. ``lr=1e-3:10:log:100``, ``momentum=0:0.99:100``, ``batch_size=1,10,100,1000``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimlab import checks, optim

LOOP_AXES = ("batch_size", "seed")  # axes that change the loop, not the optimizer: one train() call per value


@dataclass(frozen=True)
class Axis:
    """One axis: ``name`` and its ``values`` (1-D float array; integers for batch_size and seed); ``log`` says the
    values are spaced in log, so a figure draws the axis on a log scale."""

    name: str
    values: np.ndarray
    log: bool = False

    @property
    def loop(self) -> bool:
        return self.name in LOOP_AXES

    def to_dict(self) -> dict:
        values = [int(v) for v in self.values] if self.loop else [float(v) for v in self.values]
        return {"name": self.name, "values": values, "log": self.log}


def parse(text: str) -> Axis:
    """``lr=1e-3:10:log:100`` -> Axis("lr", 100 values from 1e-3 to 10 in log); ``seed=1,2,3`` -> listed values."""
    usage = f"an axis is NAME=LOW:HIGH[:log]:N or NAME=v1,v2,..., got {text!r}"
    name, sep, spec = str(text).partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name or not spec:
        raise ValueError(usage)
    parts = spec.split(":")
    log = len(parts) == 4 and parts[2] == "log"
    if ":" in spec and (len(parts) not in (3, 4) or (len(parts) == 4 and not log)):
        raise ValueError(usage)
    try:
        if ":" not in spec:
            return Axis(name, np.array([float(v) for v in spec.split(",")]))
        low, high, count = float(parts[0]), float(parts[1]), float(parts[-1])
    except ValueError:
        raise ValueError(usage) from None
    count = checks.check_int(f"the number of {name} values", count, minimum=1)
    if log and (low <= 0 or high <= 0):
        raise ValueError(f"a log axis needs LOW > 0 and HIGH > 0, got {name}={spec}")
    return Axis(name, np.geomspace(low, high, count) if log else np.linspace(low, high, count), log)


def as_axis(axis) -> Axis:
    """An :class:`Axis`, a (name, values) pair or a string spec."""
    if isinstance(axis, Axis):
        return axis
    if isinstance(axis, str):
        return parse(axis)
    try:
        name, values = axis
    except (TypeError, ValueError):
        raise ValueError(f"an axis is (name, values) or 'NAME=LOW:HIGH[:log]:N', got {axis!r}") from None
    values = np.atleast_1d(np.asarray(values, dtype=float))
    positive = values.size > 1 and np.all(values > 0)
    log = bool(positive and np.allclose(np.diff(np.log(values)), np.log(values[1] / values[0]), rtol=1e-6)
               and not np.allclose(np.diff(values), values[1] - values[0], rtol=1e-6))
    return Axis(str(name), values, log)


def check(axis: Axis, optimizer: str, n_examples: int) -> Axis:
    """Validate an axis against the optimizer and the problem before any work (ranges from the registry)."""
    allowed = list(optim.defaults(optimizer)) + list(LOOP_AXES)
    if axis.name not in allowed:
        raise ValueError(f"axis {axis.name!r} is not a hyperparameter of {optimizer} nor a loop setting; "
                         f"choose one of: {', '.join(allowed)}")
    if axis.values.ndim != 1 or axis.values.size == 0:
        raise ValueError(f"axis {axis.name} needs at least one value")
    if axis.name == "batch_size":
        values = [checks.check_int("batch_size", v.item(), minimum=1, maximum=n_examples) for v in axis.values]
        return Axis(axis.name, np.array(values), axis.log)
    if axis.name == "seed":
        return Axis(axis.name, np.array([checks.check_int("seed", v.item(), minimum=0) for v in axis.values]), axis.log)
    optim.make(optimizer, **{axis.name: axis.values})  # the hyperparameter's range, entry by entry
    return axis
