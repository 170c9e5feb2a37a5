"""Replaying the lecture's original runs from the inputs its MXNet code used (``data/``: the data, initial
parameters and minibatch orders of all 27 records of ``original_runs.json``).

A replay goes through :func:`optimlab.train` like every other run, with the record's optimizer, hyperparameters,
decay rule and curve period, and its data, initial parameters and example order passed in. The original computed in
float32; optimlab computes in float64, which agrees with it to about 4 significant digits (see the README of the
data).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from optimlab import optim, problems, schedules
from optimlab.results import Run
from optimlab.train import train

# original_runs.json's optimizer names -> optimlab's. Both momentum variants are the lecture's η-inside-the-buffer
# form: gluon's v := γv − ηg/B; x := x + v is the same recurrence with the sign of v flipped.
OPTIMIZER_NAMES = {"sgd": "sgd", "momentum_gluon": "momentum", "momentum_scratch": "momentum", "adagrad": "adagrad",
                   "rmsprop": "rmsprop", "adam": "adam", "adadelta": "adadelta"}
HYPERPARAMETER_NAMES = {"lr": "lr", "mom": "momentum", "gamma": "gamma", "rho": "rho", "beta1": "beta1",
                        "beta2": "beta2", "eps": "eps"}
LOOP_SETTINGS = ("batch_size", "epochs", "period")
IGNORED = ("wd", "rescale_grad")  # weight decay 0; rescale_grad = 1/batch_size is our mean gradient


@dataclass(frozen=True)
class Replay:
    key: str
    role: str
    run: Run


def _data_file(name: str):
    return resources.files("optimlab.lecture").joinpath("data").joinpath(name)


@functools.lru_cache(maxsize=1)
def records() -> dict:
    """The 27 records of original_runs.json, by key."""
    with _data_file("original_runs.json").open(encoding="utf-8") as f:
        return json.load(f)["experiments"]


@functools.lru_cache(maxsize=1)
def inputs() -> dict[str, np.ndarray]:
    with _data_file("original_inputs.npz").open("rb") as f, np.load(f) as data:
        return {name: data[name] for name in data.files}


def problem() -> problems.LinearRegression:
    """The original data (float32 in the file, float64 here) as a linear-regression problem."""
    data = inputs()
    return problems.from_arrays(data["X"], data["y"],
                                source={"data": "the lecture's original MXNet inputs (original_inputs.npz)"})


def settings(key: str) -> dict:
    """The optimizer, hyperparameters, loop settings and schedule that record ``key`` states."""
    record = records()[key]
    given = dict(record["hyperparameters"])
    loop = {name: given.pop(name) for name in LOOP_SETTINGS}
    for name in IGNORED:
        given.pop(name, None)
    hyper = {HYPERPARAMETER_NAMES[name]: value for name, value in given.items()}
    decay = record["lr_decay"]["applied"]
    return {"optimizer": OPTIMIZER_NAMES[record["optimizer"]], "hyperparams": hyper, **loop,
            "schedule": schedules.make("lecture", after=2, factor=0.1) if decay else schedules.make("constant")}


def given_inputs(key: str) -> tuple[np.ndarray, np.ndarray]:
    """The initial parameters [w, b] and the (epochs, n) example order that record ``key`` used."""
    data = inputs()
    init = np.append(data[f"{key}/w0"].ravel(), data[f"{key}/b0"]).astype(np.float64)
    return init, data[f"{key}/order"].astype(np.int64)


def replay(key: str, on=None) -> Run:
    """Run record ``key`` again from its own inputs (``on``: the problem, to share one across replays)."""
    if key not in records():
        raise ValueError(f"unknown original run {key!r}; choose one of: {', '.join(records())}")
    s = settings(key)
    init, order = given_inputs(key)
    return train(on or problem(), optim.make(s["optimizer"], **s["hyperparams"]), batch_size=s["batch_size"],
                 epochs=s["epochs"], period=s["period"], schedule=s["schedule"], init=init, order=order)


def printed_losses(run: Run) -> np.ndarray:
    """What the lecture's code printed per epoch: its last sample of each epoch (the loss after minibatch i for the
    last i with i·batch_size % period == 0), not the loss at the epoch's end that ``run.epoch_losses`` holds.
    With batch 1 and period 10 that is after 991 of 1000 examples. (E,) or (K, E), as ``epoch_losses``."""
    n, b = run.problem.n_examples, run.batch_size
    last = max(i for i in range(-(-n // b)) if i * b % run.period == 0)
    at = [(e - 1) * n + min((last + 1) * b, n) for e in range(1, run.epochs + 1)]
    index = np.searchsorted(run.examples_seen, at)
    return run.losses[..., index]


def replay_all(progress=None) -> list[Replay]:
    """Every record, in the file's order."""
    shared = problem()
    out = []
    for i, key in enumerate(records(), start=1):
        run = replay(key, shared)
        out.append(Replay(key, records()[key]["role"], run))
        if progress:
            progress(f"[{i:2d}/{len(records())}] replay {key}: losses printed per epoch "
                     + " ".join(f"{x:.4e}" for x in printed_losses(run)))
    return out
