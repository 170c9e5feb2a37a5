"""“Copy as command”: the ``optimlab train`` line and the Python lines that reproduce a picture of the playground.

Flags come from the registries (the CLI builds its flags from the same tables), values are written with ``repr``
so that the numbers are the page's to the last digit.
"""

from __future__ import annotations

from optimlab import schedules
from optimlab.playground import requests


def train_defaults() -> dict:
    """train()'s numeric keyword defaults (the page's sliders start there)."""
    return {k: v for k, v in requests.TRAIN_DEFAULTS.items() if isinstance(v, (int, float))}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def lines(body: dict, prob, opt, sched: schedules.Schedule, kwargs: dict, init) -> dict:
    """{"cli": ..., "python": ..., "note": ...} for one optimizer of a view."""
    hyper = {k: v for k, v in opt.hyperparams.items()}
    cli = ["optimlab", "train"]
    registered = prob.name != requests.QUADRATIC
    if registered:
        cli += ["--problem", prob.name]
    cli += ["--optimizer", opt.name] + [f"{_flag(k)} {v!r}" for k, v in hyper.items()]
    if sched.name != "constant":
        cli += ["--schedule", sched.name] + [f"{schedules.SETTINGS[k].flag} {v!r}" for k, v in sched.settings.items()]
    cli += [f"{_flag(k)} {v!r}" for k, v in kwargs.items()]
    if prob.name == requests.QUADRATIC:
        q = prob.Q.tolist()
        make_problem = f"problem = optimlab.problems.Quadratic({q!r}, name={requests.QUADRATIC!r})"
    elif prob.n_examples > 1:
        make_problem = f"problem = optimlab.problems.make({prob.name!r}, seed={kwargs.get('seed', 1)!r})"
    else:
        make_problem = f"problem = optimlab.problems.make({prob.name!r})"
    args = ", ".join(f"{k}={v!r}" for k, v in hyper.items())
    sched_args = ", ".join(f"{k}={v!r}" for k, v in sched.settings.items())
    loop = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    python = ["import optimlab", make_problem, f"opt = optimlab.optim.make({opt.name!r}, {args})",
              f"schedule = optimlab.schedules.make({sched.name!r}{', ' + sched_args if sched_args else ''})",
              "run = optimlab.train(problem, opt, schedule=schedule" + (f", {loop}" if loop else "")
              + (f", init={list(init)!r}" if init is not None else "") + ")"]
    if not registered:
        note = "optimlab train has no problem with a chosen condition number: the Python lines reproduce it"
    elif init is not None:
        note = (f"the picture starts at {list(init)!r}; optimlab train draws the start from --seed, so the Python "
                f"lines reproduce the picture exactly and the command line the same run from another start")
    else:
        note = "both reproduce the picture exactly"
    return {"cli": " ".join(cli) if registered else None, "python": "\n".join(python), "note": note}
