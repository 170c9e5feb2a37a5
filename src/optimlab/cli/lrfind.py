"""``optimlab lr-find``: the learning-rate range test, classic and vectorized, against the curvature bounds."""

from __future__ import annotations

import inspect
import json
import textwrap

from optimlab import files, schedules
from optimlab.analysis.advice_text import describe_range
from optimlab.analysis.range_test import lr_range_test
from optimlab.cli import common
from optimlab.text import number

D = common.defaults_of(lr_range_test)
# Loop options of `train` that the range test may not take (yet): why each is refused when given.
NOT_USED = {
    "period": "its runs record the loss as their measurement needs (every update in the classic run, a few times "
              "per epoch on the grid), and what it prints does not depend on a sampling period",
}


def register(commands) -> None:
    p = commands.add_parser("lr-find", help="learning-rate range test: classic and vectorized over seeds",
                            description="Run the classic range test (one run, η growing exponentially; "
                                        "suggestions: steepest, valley, minimum/10) and optimlab's own (K fixed "
                                        "learning rates in one vectorized run per seed, drawn as a band), and mark "
                                        "the curvature bounds on η.")
    common.add_run_arguments(p)
    test = p.add_argument_group("range test")
    test.add_argument("--start-lr", type=float, default=None,
                      help="smallest η (default: 1e-5 times the problem's scale, 2/λ_max or the distance to travel)")
    test.add_argument("--end-lr", type=float, default=None, help="largest η (default: 10 times that scale)")
    test.add_argument("--steps", type=common.integer, default=None,
                      help=f"updates of the classic run (default {D['steps']})")
    test.add_argument("--points", dest="points", type=common.integer, default=None,
                      help=f"fixed learning rates of the vectorized test (default {D['grid']})")
    test.add_argument("--grid-epochs", type=common.integer, default=None,
                      help="epochs of each fixed-η run (default: --epochs)")
    test.add_argument("--seeds", type=common.integer, default=None,
                      help=f"seeds for the band (default {D['seeds']})")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the curves and suggestions as JSON")
    out.add_argument("--plot", metavar="FILE", help="save the figure (.png, .pdf, .svg)")
    common.add_quiet(out)
    p.set_defaults(handler=run)


def _loop_options(args, schedule) -> dict:
    """The loop options given, passed where lr_range_test takes them and refused (naming the flag) where not."""
    accepted = inspect.signature(lr_range_test).parameters
    options = common.given(args, ["batch_size", "seed", "epochs", "period", "init_scale"])
    schedule_flags = {"--schedule"} | {s.flag for s in schedules.SETTINGS.values()}
    scheduled = [f for f in common.given_run_options(args) if f in schedule_flags]
    if scheduled:
        options["schedule"] = schedule
    for name in list(options):
        if name not in accepted or name in NOT_USED:
            shown = ", ".join(scheduled) if name == "schedule" else common.flag(name)
            raise ValueError(f"lr-find does not use {shown}: {NOT_USED[name]}")
    return options


def run(args, out) -> int:
    if args.lr is not None:
        raise ValueError("lr-find searches the learning rate itself: leave out --lr")
    if args.grid:
        raise ValueError("lr-find tests one configuration: leave out --grid")
    listed = [common.flag(n) for n in common.optim.HYPERPARAMETERS if isinstance(getattr(args, n), list)]
    if listed:
        raise ValueError(f"lr-find tests one configuration: give {', '.join(listed)} a single value, not a list")
    if args.plot:
        files.check_output_file(args.plot, files.FIGURE_FORMATS, "--plot")
    problem, opt, schedule, _ = common.build(args)
    hyper = common.given(args, opt.hyperparams)
    options = common.given(args, ["start_lr", "end_lr", "steps", "grid_epochs", "seeds"])
    if args.points is not None:
        options["grid"] = args.points
    options.update(_loop_options(args, schedule))
    with common.progress(args, "lr-find", unit="run") as progress:
        result = common.call(lr_range_test, problem, opt.name, hyper, progress=progress, **options)
    if args.plot:
        from optimlab import plots  # matplotlib only when a figure is drawn

        files.write_atomic(args.plot, files.figure_bytes(plots.range_test(result), args.plot))
    if args.json:
        out(json.dumps(result.to_dict()))
        return 0
    edge = {k: f" (at the {v} end of the search range {number(result.grid[0], 3)}–{number(result.grid[-1], 3)})"
            for k, v in result.edges.items()}
    out(f"Learning-rate range test: {result.optimizer}, batch {result.batch_size}, on {problem.name}")
    out("  classic (one run, η growing): " + ", ".join(f"{k} η = {number(v, 3)}{edge.get(k, '')}"
                                                       for k, v in result.suggestions.items()))
    g = result.grid_suggestions
    out(f"  fixed-η grid over {result.grid_losses.shape[0]} seeds, {result.grid_epochs} epoch(s) each: best median "
        f"final loss at η = {number(g['best'], 3)}{edge.get('grid best', '')}"
        + (f"; largest η stable (ended below its start, did not diverge) in every seed "
           f"{number(g['largest_stable'], 3)}{edge.get('grid largest_stable', '')}" if g["largest_stable"]
           else "; no η stable in every seed"))
    out(textwrap.fill(describe_range(result.measured, "η", result.grid_epochs), width=110,
                      initial_indent="  ", subsequent_indent="    "))
    marks = ", ".join(f"{k.replace('_', ' ')} {number(v)}" for k, v in result.bounds.items())
    out(f"  curvature: {marks or 'none at the optimum (no bound on η from it)'}"
        + (f"\n  figure written to {args.plot}" if args.plot else ""))
    return 0
