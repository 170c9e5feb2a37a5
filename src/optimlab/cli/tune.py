"""``optimlab tune``: Optuna search of hyperparameters, each trial one vectorized train call over several seeds."""

from __future__ import annotations

import json

from optimlab import optim
from optimlab.cli import common
from optimlab.cli.sweep import problem_flags, remember_problem_flags
from optimlab.loop import default_batch_size


def register(commands) -> None:
    p = commands.add_parser("tune", help="search hyperparameters with Optuna (TPE or CMA-ES, with pruning)",
                            description="Search hyperparameters with Optuna. Each trial trains the configuration "
                                        "from --seeds starting points in one vectorized call and reports the mean "
                                        "loss after every epoch, so that poor trials are pruned early. Fixed "
                                        "hyperparameters are given with their usual flags (--momentum 0.9).")
    common.add_run_arguments(p)
    s = p.add_argument_group("search")
    s.add_argument("--search", action="append", default=[], metavar="NAME=LOW:HIGH[:log]",
                   help="a hyperparameter to search, e.g. lr=1e-4:10:log (repeat for several)")
    s.add_argument("--trials", type=int, default=30, help="finished trials the study should hold (default 30)")
    s.add_argument("--seeds", type=int, default=3, help="starting points per trial (default 3)")
    s.add_argument("--sampler", choices=["tpe", "cmaes", "random"], default="tpe", help="default: tpe")
    s.add_argument("--no-prune", action="store_true", help="run every trial to the end (no MedianPruner)")
    s.add_argument("--storage", metavar="URL", help="sqlite:///FILE (one process), journal:FILE (several "
                                                   "processes), or an RDB URL (many machines)")
    s.add_argument("--study-name", metavar="NAME", help="default: PROBLEM-OPTIMIZER")
    s.add_argument("--workers", type=int, default=1, help="processes optimizing the study together (default 1)")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the result and every trial as JSON")
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    remember_problem_flags(p)
    p.set_defaults(handler=run)


def run(args, out) -> int:
    from optimlab.sweeps.tune import Axis, tune

    axes = [Axis.parse(text) for text in args.search]
    fixed = common.given(args, optim.HYPERPARAMETERS)
    if args.grid:
        raise ValueError("--grid does not apply to tune: it searches ranges (--search NAME=LOW:HIGH)")
    for name, value in fixed.items():
        if isinstance(value, list):
            raise ValueError(f"{common.flag(name)} takes one value in tune (search a range with --search "
                             f"{name}=LOW:HIGH), got {value}")
    flags = problem_flags(args)  # before build, which may move --data into a data problem's options
    problem, opt, schedule, kwargs = common.build(args)
    seed = kwargs.pop("seed", 1)
    # train's default batch size for this problem, written out: the study's pruning counts updates per epoch by it
    loop = {"batch_size": default_batch_size(problem.n_examples), **kwargs, "schedule": schedule}
    with common.progress(args, "tune", unit="trial") as progress:
        result = tune(problem, opt.name, axes, fixed=fixed, trials=args.trials, seeds=args.seeds, seed=seed,
                      loop=loop, sampler=args.sampler, storage=args.storage,
                      study_name=args.study_name, workers=args.workers, prune=not args.no_prune,
                      progress=progress)
    if args.json:
        out(json.dumps(result))
        return 0
    out(f"study {result['study']}: {result['trials']} trials ({result['complete']} complete, "
        f"{result['pruned']} pruned)")
    if result["best_params"] is None:
        out("no trial completed")
        return 0
    best = ", ".join(f"{k}={v:.4g}" for k, v in result["best_params"].items())
    out(f"best: {best}: mean final loss over {args.seeds} seeds {result['best_value']:.6g}"
        + (f" (optimum {problem.optimal_loss:.6g})" if problem.optimal_loss is not None else ""))
    hyper = " ".join(f"{common.flag(k)} {v:.6g}" for k, v in {**fixed, **result["best_params"]}.items())
    loop = " ".join(f"{common.flag(k)} {v}" for k, v in kwargs.items())
    out(f"try it: optimlab train {flags} --optimizer {opt.name} {hyper} {loop}".replace("  ", " ").rstrip()
        + ("" if schedule.name == "constant" else f"  (schedule {schedule.describe()})"))
    return 0
