"""``optimlab compare``: every optimizer tuned with the same budget, the best rerun on 10+ seeds, a report."""

from __future__ import annotations

import argparse
import json
import math

from optimlab import optim
from optimlab.cli import common
from optimlab.cli.sweep import problem_flags, remember_problem_flags


def register(commands) -> None:
    p = commands.add_parser("compare", help="compare optimizers fairly: same tuning budget, many seeds, a report",
                            description="Tune every optimizer with the same budget (a log grid of η; other "
                                        "hyperparameters at their defaults, or gridded with their usual flags, e.g. "
                                        "--momentum 0.5,0.9,0.99), rerun each best configuration and each default on "
                                        "--seeds seeds, and write DIR/index.html, results.json and figures.")
    common.add_run_arguments(p)
    c = p.add_argument_group("comparison")
    c.add_argument("--optimizers", metavar="A,B,...", default=None,
                   help=f"which optimizers (default: all: {','.join(optim.OPTIMIZERS)})")
    c.add_argument("--lr-range", metavar="LOW:HIGH", default="1e-4:10", help="the η grid's range (default 1e-4:10)")
    c.add_argument("--points", type=int, default=13, help="learning rates per optimizer (default 13)")
    c.add_argument("--tune-seeds", type=int, default=1, help="seeds of the tuning grid (default 1)")
    c.add_argument("--seeds", type=int, default=10, help="seeds of the reruns, at least 10 (default 10)")
    c.add_argument("--target", type=float, default=None,
                   help="loss to reach for time to target (default: the worst tuned median final loss)")
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", required=True, help="folder of the report (new, empty, or its own)")
    out.add_argument("--json", action="store_true", help="also print results.json's summary")
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    remember_problem_flags(p)
    p.set_defaults(handler=run)


def run(args, out) -> int:
    from optimlab.sweeps import report
    from optimlab.sweeps.compare import compare

    given = [f for f, v in (("--lr", args.lr), ("--optimizer", args.optimizer), ("--grid", args.grid or None))
             if v is not None]
    if given:
        raise ValueError(f"compare tunes η itself over --lr-range, runs --optimizers and grids every hyperparameter "
                         f"given: leave out {', '.join(given)}")
    try:
        lo, hi = (float(x) for x in args.lr_range.split(":"))
    except ValueError:
        raise ValueError(f"--lr-range must look like LOW:HIGH, got {args.lr_range!r}") from None
    grid = {k: v if isinstance(v, list) else [v] for k, v in common.given(args, optim.HYPERPARAMETERS).items()}
    names = None if args.optimizers is None else args.optimizers.split(",")
    if names is not None and not all(name.strip() for name in names):
        raise ValueError(f"--optimizers must name optimizers separated by commas (of: {', '.join(optim.OPTIMIZERS)}), "
                         f"got {args.optimizers!r}")
    if args.target is not None and not math.isfinite(args.target):
        raise ValueError(f"--target must be a finite loss, got {args.target}")
    # the problem, schedule and loop as every command builds them; the hyperparameters are compare's grid
    plain = {**vars(args), **dict.fromkeys(grid)}
    _, _, schedule, kwargs = common.build(argparse.Namespace(**plain))
    seed = kwargs.pop("seed", 1)

    def problem_for(s: int):
        """The problem as ``optimlab train --seed s`` builds it (new data where the problem draws them)."""
        return common.build(argparse.Namespace(**{**plain, "seed": s}))[0]

    report.check_folder(args.out)  # before any work
    with common.progress(args, "compare", unit="chunk") as progress:
        result = compare(problem_for, optimizers=names, lr_range=(lo, hi), points=args.points, grid=grid,
                         tune_seeds=range(seed, seed + args.tune_seeds), seeds=args.seeds,
                         loop={**kwargs, "schedule": schedule}, target=args.target,
                         problem_flags=problem_flags(args), progress=progress)
    report.write(result, args.out)
    summary = {name: {"best": r["best"]["hyperparams"], "median_final_loss": _median(r["best"]),
                      "default_median_final_loss": _median(r["default"]),
                      "epochs_to_target": r["best"]["epochs_to_target"]} for name, r in result["results"].items()}
    if args.json:
        out(json.dumps({"target": result["target"], "optimizers": summary, "out": args.out}))
        return 0
    out(f"{'optimizer':10} {'best configuration':34} {'median final':>13} {'at defaults':>13} {'epochs→target':>13}")
    for name, s in summary.items():
        conf = ", ".join(f"{k}={v:.3g}" for k, v in s["best"].items())
        e = "never" if s["epochs_to_target"] is None else f"{s['epochs_to_target']:.3g}"
        out(f"{name:10} {conf:34} {_fmt(s['median_final_loss']):>13} {_fmt(s['default_median_final_loss']):>13} "
            f"{e:>13}")
    out(f"target loss {result['target']:.6g}; report written to {args.out}/index.html")
    return 0


def _median(entry):
    import numpy as np

    m = float(np.median(np.where(np.isfinite(entry["final_losses"]), entry["final_losses"], np.inf)))
    return m if np.isfinite(m) else None


def _fmt(x):
    return "diverged" if x is None else f"{x:.5g}"
