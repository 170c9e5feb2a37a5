"""Adaptive search of hyperparameters with Optuna: each trial is ONE vectorized train call over several seeds.

A trial draws hyperparameters from the sampler (TPE by default, CMA-ES on request), trains the configuration from
S initial points at once (K = S rows of one ``optimlab.train`` call; the initial parameters of row i are drawn
exactly as ``train(seed=seed + i)`` draws them, and all rows share the minibatch order of ``seed``, because one
train call walks one order), and its value is the mean over the S rows of the final loss. A diverged row counts
with the loss that stopped it (at least 10⁴ times its start), so a configuration that diverges from any start
ranks below every one that does not.

Pruning: after each epoch the mean loss over the rows is reported (``trial.report(value, epoch)``); Optuna's
MedianPruner stops a trial whose value is worse than the median of earlier trials at the same epoch, and the
train call is abandoned there.

Storage: in memory (nothing kept), ``sqlite:///FILE`` for ONE process, ``journal:FILE`` (Optuna's journal file,
safe for several processes on one machine or a shared file system) for ``workers > 1``, or an RDB URL
(``postgresql://...``, ``mysql://...``) for many machines. SQLite with several workers is refused: concurrent
writers to one SQLite file lock each other out. Any persistent study opens in optuna-dashboard
(``optuna-dashboard sqlite:///FILE``, or ``optuna-dashboard FILE`` for a journal file).
"""

from __future__ import annotations

import inspect
import json
import math
import os
from dataclasses import dataclass

import numpy as np

from optimlab import checks, optim, schedules
from optimlab.loop import default_batch_size
from optimlab.train import train

SAMPLERS = ("tpe", "cmaes", "random")


@dataclass(frozen=True)
class Axis:
    """A searched hyperparameter: values in [low, high], on a log scale when ``log``."""

    name: str
    low: float
    high: float
    log: bool

    @classmethod
    def parse(cls, text: str) -> Axis:
        """``lr=1e-4:10:log`` or ``momentum=0:0.99``."""
        name, sep, rest = text.partition("=")
        parts = rest.split(":")
        if not sep or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("log", "linear")):
            raise ValueError(f"search axis must look like NAME=LOW:HIGH or NAME=LOW:HIGH:log, got {text!r}")
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"search axis {name} needs numbers LOW:HIGH, got {rest!r}") from None
        log = len(parts) == 3 and parts[2] == "log"
        if not (math.isfinite(low) and math.isfinite(high) and low < high) or (log and low <= 0):
            raise ValueError(f"search axis {name} must have {'0 < ' if log else ''}LOW < HIGH, got {low}:{high}")
        return cls(name.strip(), low, high, log)


def storage_of(storage: str | None, workers: int):
    """An Optuna storage from ``storage`` (see the module docstring); refuses SQLite for several workers."""
    import optuna

    if storage is None:
        if workers > 1:
            raise ValueError("several workers need a shared storage: --storage journal:FILE or an RDB URL")
        return None
    if storage.startswith("sqlite:"):
        if workers > 1:
            raise ValueError("SQLite must not be used by several workers (they lock each other out): use "
                             "--storage journal:FILE on one machine or an RDB URL (postgresql://...) across machines")
        return storage
    if storage.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(storage.removeprefix("journal:")))
    if "://" in storage:
        return storage
    raise ValueError(f"storage must be sqlite:///FILE, journal:FILE or an RDB URL, got {storage!r}")


def _sampler(name: str, seed: int, axes: list[Axis]):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if len(axes) < 2:  # CMA-ES models a covariance: with one axis Optuna would quietly sample at random instead
        raise ValueError("sampler cmaes needs at least two searched hyperparameters; use tpe for one")
    return optuna.samplers.CmaEsSampler(seed=seed)


def evaluate(problem, optimizer: str, hyper: dict, *, seeds: int, seed: int, loop: dict, report=None) -> np.ndarray:
    """The final loss of ``hyper`` from ``seeds`` starting points in one train call (rows as in the module
    docstring). ``report(epoch, mean_loss)`` is called at the end of every epoch (for pruning)."""
    init_scale = loop.get("init_scale", 1.0)
    init = np.stack([problem.init_params(np.random.default_rng(np.random.SeedSequence(seed + i).spawn(2)[0]),
                                         init_scale) for i in range(seeds)])
    opt = optim.make(optimizer, **hyper)
    batch_size = loop.get("batch_size") or default_batch_size(problem.n_examples)  # train's default, min(10, n)
    updates = math.ceil(problem.n_examples / batch_size)

    def observe(epoch, step, params, state, lr):
        if report is not None and (step + 1) % updates == 0:
            with np.errstate(over="ignore", invalid="ignore"):
                report(epoch, _mean(problem.loss(params)))

    run = train(problem, opt, seed=seed, init=init, observe=observe, **loop)
    return run.final_losses


# A blown-up row (loss inf or NaN) counts as this loss: finite, so that Optuna keeps the trial and its samplers can
# rank it, and small enough that the mean over rows cannot overflow.
BLOWN_UP = 1e300


def _mean(losses) -> float:
    """Mean over rows of the loss, a non-finite or larger loss counting as BLOWN_UP."""
    losses = np.asarray(losses, dtype=float)
    return float(np.mean(np.where(np.isfinite(losses), np.minimum(losses, BLOWN_UP), BLOWN_UP)))


def tune(problem, optimizer: str, axes: list[Axis], *, fixed: dict | None = None, trials: int = 30,
         seeds: int = 3, seed: int = 1, loop: dict | None = None, sampler: str = "tpe", storage: str | None = None,
         study_name: str | None = None, workers: int = 1, prune: bool = True, progress=None) -> dict:
    """Search ``axes`` of ``optimizer`` on ``problem`` until the study holds ``trials`` finished trials (so that
    rerunning a stored study resumes it). ``loop`` holds train's keywords (batch_size, epochs, schedule, ...).
    Returns the best hyperparameters, their value, and every trial's parameters, value and state."""
    import optuna

    fixed = dict(fixed or {})
    # train's defaults written out, so that the same loop given with or without its defaults is the same study
    loop = {**{k: p.default for k, p in inspect.signature(train).parameters.items()
               if k in ("batch_size", "epochs", "init_scale")}, "schedule": schedules.make("constant"),
            **{k: v for k, v in (loop or {}).items() if v is not None}}
    trials = checks.check_int("trials", trials, minimum=1)
    seeds = checks.check_int("seeds", seeds, minimum=1)
    workers = checks.check_int("workers", workers, minimum=1)
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    allowed = optim.defaults(optimizer)
    for axis in axes:
        if axis.name not in allowed:
            raise ValueError(f"{optimizer} takes no hyperparameter {axis.name!r}; it takes: {', '.join(allowed)}")
        if axis.name in fixed:
            raise ValueError(f"{axis.name} is both searched and fixed; give it once")
        optim.make(optimizer, **fixed, **{axis.name: [axis.low, axis.high]})  # the range must be allowed
    if not axes:
        raise ValueError("give at least one hyperparameter to search, e.g. --search lr=1e-4:10:log")
    _sampler(sampler, seed, axes)  # refuses cmaes on one axis before any storage is touched
    settings = {"problem": problem.describe(), "optimizer": optimizer, "fixed": fixed, "seeds": seeds,
                "seed": seed, "axes": [a.__dict__ for a in axes],
                "loop": {k: v.describe() if k == "schedule" else v for k, v in loop.items()}}
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def open_study(worker: int = 0):
        """The study, opened afresh in each worker process (its own storage connection and journal identity),
        each worker's sampler seeded differently so that they do not propose the same points."""
        return optuna.create_study(study_name=study_name or f"{problem.name}-{optimizer}",
                                   storage=storage_of(storage, workers), direction="minimize",
                                   sampler=_sampler(sampler, seed + worker, axes), load_if_exists=True,
                                   pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
                                   if prune else optuna.pruners.NopPruner())

    study = open_study()
    stored = study.user_attrs.get("optimlab")
    if stored is not None and stored != json.loads(json.dumps(settings)):
        raise ValueError(f"study {study.study_name!r} in this storage was made with other settings; "
                         f"give another --study-name")
    study.set_user_attr("optimlab", settings)

    def objective(trial):
        trial.set_user_attr("pid", os.getpid())  # which worker process ran it
        hyper = {**fixed, **{a.name: trial.suggest_float(a.name, a.low, a.high, log=a.log) for a in axes}}

        def report(epoch, value):
            trial.report(value, epoch)
            # after the last epoch the trial is complete: pruning it then would only throw its result away
            if epoch < loop["epochs"] and trial.should_prune():
                raise optuna.TrialPruned()

        return _mean(evaluate(problem, optimizer, hyper, seeds=seeds, seed=seed, loop=loop, report=report))

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    stop = optuna.study.MaxTrialsCallback(trials, states=finished)
    callbacks = [stop] + ([lambda s, t: progress(len(s.get_trials(states=finished)), trials)] if progress else [])
    if len(study.get_trials(states=finished)) < trials:
        if workers == 1:
            study.optimize(objective, n_trials=trials, callbacks=callbacks)
        else:
            _optimize_in_processes(open_study, objective, trials, stop, workers)
    return _result(study, finished)


def _optimize_in_processes(open_study, objective, trials, stop, workers) -> None:
    """``workers`` forked processes, each opening the stored study itself (journal file or RDB) and optimizing it
    until it holds ``trials`` finished trials."""
    import multiprocessing

    def work(worker: int) -> None:
        open_study(worker).optimize(objective, n_trials=trials, callbacks=[stop])

    context = multiprocessing.get_context("fork")  # the objective is a closure: forked, never pickled
    processes = [context.Process(target=work, args=(i + 1,)) for i in range(workers)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    if any(p.exitcode for p in processes):
        raise RuntimeError(f"a tune worker failed (exit codes {[p.exitcode for p in processes]})")


def _result(study, finished) -> dict:
    import optuna

    done = study.get_trials(states=finished)
    complete = [t for t in done if t.state == optuna.trial.TrialState.COMPLETE]
    best = study.best_trial if complete else None
    return {
        "study": study.study_name,
        "best_params": best.params if best else None,
        "best_value": best.value if best else None,
        "trials": len(done), "complete": len(complete), "pruned": len(done) - len(complete),
        "history": [{"number": t.number, "params": t.params, "value": t.value, "state": t.state.name,
                     "epochs": len(t.intermediate_values), "pid": t.user_attrs.get("pid")} for t in done],
        "settings": study.user_attrs.get("optimlab"),
    }
