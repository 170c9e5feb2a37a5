"""The result of a training run, as data: curves, final parameters, status and provenance.

Printing, plotting and saving are separate functions over a :class:`Run`; nothing here computes a result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Run:
    """K configurations trained in lockstep. Arrays hold a leading configuration axis internally; the public
    properties drop it when the run was made with scalar hyperparameters (``single``), so ``run.losses`` is (T,)
    for one configuration and (K, T) for K.

    ``losses`` holds the mean loss over all examples at each record: one before training, the lecture's samples
    every ``period`` examples, and one at the end of every epoch (see :mod:`optimlab.train`). ``examples`` is the
    number of examples seen at each record and ``epochs_axis`` the same in epochs (examples / n): each record's
    exact position. After a configuration diverges its later records are NaN.
    """

    problem: Any
    optimizer: str
    hyperparams: list[dict[str, float]]  # one dict per configuration
    schedule: str
    batch_size: int
    epochs: int
    period: int
    seed: int
    curves: np.ndarray  # (K, T)
    epochs_axis: np.ndarray  # (T,): examples seen at each record / n
    final_params: np.ndarray  # (K, P)
    lr_by_epoch: np.ndarray  # (K, E): η used in each epoch (its first update), NaN when the optimizer has none
    diverged_mask: np.ndarray  # (K,)
    diverged_examples: list  # (K,) examples seen when divergence was detected, or None
    initial_params: np.ndarray  # (K, P)
    step_sizes: np.ndarray  # (K, P): the optimizer's per-coordinate step at the end (see Optimizer.step_size)
    optimal_loss: float | None
    seconds: float
    single: bool
    provenance: dict = field(default_factory=dict)
    examples: np.ndarray | None = None  # (T,) examples seen at each record; None: derived from epochs_axis

    @property
    def examples_seen(self) -> np.ndarray:
        """(T,) integers: examples seen at each record (the x axis in examples)."""
        if self.examples is not None:
            return np.asarray(self.examples)
        return np.rint(np.asarray(self.epochs_axis) * self.problem.n_examples).astype(np.int64)

    @property
    def epoch_ends(self) -> np.ndarray:
        """(E,) indices of the records that end each epoch (examples seen = epoch × n)."""
        n = self.problem.n_examples
        seen = self.examples_seen
        return np.array([int(np.flatnonzero(seen == e * n)[-1]) for e in range(1, self.epochs + 1)])

    # -- shape helpers ---------------------------------------------------------------------------------------
    def _out(self, per_config):
        return per_config[0] if self.single else per_config

    @property
    def num_configs(self) -> int:
        return self.curves.shape[0]

    def __getitem__(self, k: int) -> Run:
        """Configuration ``k`` as a single run."""
        k = range(self.num_configs)[k]
        return replace(self, hyperparams=[self.hyperparams[k]], curves=self.curves[k:k + 1],
                       final_params=self.final_params[k:k + 1], lr_by_epoch=self.lr_by_epoch[k:k + 1],
                       diverged_mask=self.diverged_mask[k:k + 1], diverged_examples=[self.diverged_examples[k]],
                       initial_params=self.initial_params[k:k + 1], step_sizes=self.step_sizes[k:k + 1],
                       single=True)

    # -- the contract ----------------------------------------------------------------------------------------
    @property
    def losses(self) -> np.ndarray:
        return self._out(self.curves)

    @property
    def params(self) -> np.ndarray:
        return self._out(self.final_params)

    @property
    def diverged(self):
        return self._out([bool(d) for d in self.diverged_mask])

    @property
    def diverged_at(self):
        return self._out(self.diverged_examples)

    @property
    def final_losses(self) -> np.ndarray:
        """(K,): the loss of the final parameters (the last record: the end of the last epoch); for a diverged
        configuration, whose parameters were frozen at the record that caught it, the loss that stopped it."""
        out = np.empty(self.num_configs)
        for k, curve in enumerate(self.curves):
            seen = np.flatnonzero(~np.isnan(curve))
            out[k] = curve[seen[-1]] if seen.size else np.nan
        return out

    @property
    def final_loss(self):
        return self._out(self.final_losses.tolist())

    @property
    def epoch_losses(self) -> np.ndarray:
        """The loss of the parameters at the end of each epoch (NaN after a divergence), whatever the period.
        (E,) or (K, E)."""
        return self._out(self.curves[:, self.epoch_ends])

    @property
    def lr_per_epoch(self) -> np.ndarray:
        return self._out(self.lr_by_epoch)

    @property
    def named_params(self) -> dict[str, np.ndarray]:
        """Final parameters under their usual names (``w`` and ``b`` for linear regression)."""
        return self.problem.split(self.params)

    def labels(self) -> list[str]:
        """One short label per configuration naming the hyperparameters that differ between them."""
        if self.num_configs == 1:
            return [", ".join(f"{k}={_fmt(v)}" for k, v in self.hyperparams[0].items())]
        varying = [k for k in self.hyperparams[0] if len({h[k] for h in self.hyperparams}) > 1]
        return [", ".join(f"{k}={_fmt(h[k])}" for k in varying) for h in self.hyperparams]

    def to_dict(self) -> dict:
        """A JSON-ready dictionary (non-finite numbers become None). Per-configuration fields are lists when the
        run has several configurations."""
        named = {k: jsonable(v) for k, v in self.named_params.items()}
        return {
            "problem": self.problem.name,
            "optimizer": self.optimizer,
            "hyperparameters": self._out(self.hyperparams),
            "schedule": self.schedule,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "period": self.period,
            "seed": self.seed,
            "losses": jsonable(self.losses),
            "epochs_axis": jsonable(self.epochs_axis),
            "examples_seen": jsonable(self.examples_seen),
            "epoch_losses": jsonable(self.epoch_losses),
            "lr_per_epoch": jsonable(self.lr_per_epoch),
            "final_loss": jsonable(self.final_loss),
            "optimal_loss": jsonable(self.optimal_loss),
            **named,
            "params": jsonable(self.params),
            "initial_params": jsonable(self._out(self.initial_params)),
            "step_sizes": jsonable(self._out(self.step_sizes)),
            "diverged": self.diverged,
            "diverged_at": self.diverged_at,
            "seconds": self.seconds,
            "provenance": self.provenance,
        }


def _array(values) -> np.ndarray:
    """A JSON list (None for non-finite) back to a float array."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def from_dict(data: dict, problem) -> Run:
    """Rebuild a :class:`Run` from :meth:`Run.to_dict` output (a saved result) and its problem."""
    try:
        single = isinstance(data["hyperparameters"], dict)

        def configs(key):
            value = data[key]
            return [value] if single else value

        curves = np.array([_array(c) for c in configs("losses")])
        return Run(problem=problem, optimizer=data["optimizer"], hyperparams=configs("hyperparameters"),
                   schedule=data["schedule"], batch_size=int(data["batch_size"]), epochs=int(data["epochs"]),
                   period=int(data["period"]), seed=int(data["seed"]), curves=curves,
                   epochs_axis=_array(data["epochs_axis"]),
                   final_params=np.array([_array(p) for p in configs("params")]),
                   lr_by_epoch=np.array([_array(p) for p in configs("lr_per_epoch")]),
                   diverged_mask=np.array(configs("diverged"), dtype=bool),
                   diverged_examples=list(configs("diverged_at")),
                   initial_params=np.array([_array(p) for p in configs("initial_params")]),
                   step_sizes=np.array([_array(p) for p in configs("step_sizes")]),
                   optimal_loss=data.get("optimal_loss"), seconds=float(data.get("seconds", 0.0)), single=single,
                   provenance=data.get("provenance", {}),
                   examples=None if data.get("examples_seen") is None else
                   np.asarray(data["examples_seen"], dtype=np.int64))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a saved optimlab run (from optimlab train --save): {e}") from None


def _fmt(v: float) -> str:
    return f"{v:g}"


def jsonable(x):
    """Nested lists and dicts of plain numbers, with NaN and ±inf as None (JSON has no such numbers)."""
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x
