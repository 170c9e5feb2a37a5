"""``optimlab lr-find``: the learning-rate range test, classic and vectorized, against the curvature bounds."""

from __future__ import annotations

import json
import textwrap

from optimlab import files, plots
from optimlab.analysis.advice_text import describe_range
from optimlab.analysis.range_test import lr_range_test
from optimlab.cli import common

D = common.defaults_of(lr_range_test)


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
    test.add_argument("--steps", type=int, default=None, help=f"updates of the classic run (default {D['steps']})")
    test.add_argument("--points", dest="points", type=int, default=None,
                      help=f"fixed learning rates of the vectorized test (default {D['grid']})")
    test.add_argument("--grid-epochs", type=int, default=None,
                      help="epochs of each fixed-η run (default: --epochs)")
    test.add_argument("--seeds", type=int, default=None, help=f"seeds for the band (default {D['seeds']})")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the curves and suggestions as JSON")
    out.add_argument("--plot", metavar="FILE", help="save the figure (.png, .pdf, .svg)")
    p.set_defaults(handler=run)


def run(args, out) -> int:
    if args.lr is not None:
        raise ValueError("lr-find searches the learning rate itself: leave out --lr")
    if args.grid or any(isinstance(getattr(args, n), list) for n in ("momentum", "gamma", "rho", "beta1", "beta2",
                                                                      "eps", "weight_decay")):
        raise ValueError("lr-find tests one configuration: give single values, not lists")
    problem, opt, schedule, kwargs = common.build(args)
    if args.plot:
        files.check_output_file(args.plot, files.FIGURE_FORMATS)
    hyper = common.given(args, opt.hyperparams)
    options = common.given(args, ["start_lr", "end_lr", "steps", "grid_epochs", "seeds"])
    if args.points is not None:
        options["grid"] = args.points
    options.update({k: kwargs[k] for k in ("batch_size", "seed", "epochs", "period", "init_scale") if k in kwargs})
    result = lr_range_test(problem, opt.name, hyper, schedule=schedule, **options)
    if args.plot:
        files.save_figure(plots.range_test(result), args.plot)
    if args.json:
        out(json.dumps(result.to_dict()))
        return 0
    edge = {k: f" (at the {v} end of the search range {result.grid[0]:.3g}–{result.grid[-1]:.3g})"
            for k, v in result.edges.items()}
    out(f"Learning-rate range test: {result.optimizer}, batch {result.batch_size}, on {problem.name}")
    out("  classic (one run, η growing): " + ", ".join(f"{k} η = {v:.3g}{edge.get(k, '')}"
                                                       for k, v in result.suggestions.items()))
    g = result.grid_suggestions
    out(f"  fixed-η grid over {result.grid_losses.shape[0]} seeds, {result.grid_epochs} epoch(s) each: best median "
        f"final loss at η = {g['best']:.3g}{edge.get('grid best', '')}"
        + (f"; largest η stable (ended below its start, did not diverge) in every seed {g['largest_stable']:.3g}"
           f"{edge.get('grid largest_stable', '')}" if g["largest_stable"] else "; no η stable in every seed"))
    out(textwrap.fill(describe_range(result.measured, "η", result.grid_epochs), width=110,
                      initial_indent="  ", subsequent_indent="    "))
    marks = ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in result.bounds.items())
    out(f"  curvature: {marks or 'none at the optimum (no bound on η from it)'}"
        + (f"\n  figure written to {args.plot}" if args.plot else ""))
    return 0
