"""``optimlab lr-find``: the learning-rate range test, classic and vectorized, against the curvature bounds."""

from __future__ import annotations

import json

from optimlab import files, plots
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
    test.add_argument("--start-lr", type=float, default=None, help=f"smallest η (default {D['start_lr']:g})")
    test.add_argument("--end-lr", type=float, default=None, help=f"largest η (default {D['end_lr']:g})")
    test.add_argument("--steps", type=int, default=None, help=f"updates of the classic run (default {D['steps']})")
    test.add_argument("--points", dest="points", type=int, default=None,
                      help=f"fixed learning rates of the vectorized test (default {D['grid']})")
    test.add_argument("--grid-epochs", type=int, default=None,
                      help=f"epochs of each fixed-η run (default {D['grid_epochs']})")
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
    problem, opt, _, kwargs = common.build(args)
    if args.plot:
        files.check_output_file(args.plot, files.FIGURE_FORMATS)
    hyper = common.given(args, opt.hyperparams)
    options = common.given(args, ["start_lr", "end_lr", "steps", "grid_epochs", "seeds"])
    if args.points is not None:
        options["grid"] = args.points
    options.update({k: kwargs[k] for k in ("batch_size", "seed") if k in kwargs})
    result = lr_range_test(problem, opt.name, hyper, **options)
    if args.plot:
        files.save_figure(plots.range_test(result), args.plot)
    if args.json:
        out(json.dumps(result.to_dict()))
        return 0
    out(f"Learning-rate range test: {result.optimizer}, batch {result.batch_size}, on {problem.name}")
    out("  classic (one run, η growing): " + ", ".join(f"{k} η = {v:.3g}" for k, v in result.suggestions.items()))
    g = result.grid_suggestions
    out(f"  fixed-η grid over {result.grid_losses.shape[0]} seeds: best median final loss at η = {g['best']:.3g}"
        + (f", largest η stable in every seed {g['largest_stable']:.3g}" if g["largest_stable"] else ""))
    marks = ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in result.bounds.items())
    out(f"  curvature: {marks}" + (f"\n  figure written to {args.plot}" if args.plot else ""))
    return 0
