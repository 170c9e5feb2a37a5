"""``optimlab map``: a stability map of two settings, with the theory drawn on it."""

from __future__ import annotations

import json

import numpy as np

from optimlab import files, optim
from optimlab.cli import common
from optimlab.maps import parse, stability_map
from optimlab.text import number


def register(commands) -> None:
    p = commands.add_parser("map", help="stability map: final loss over a grid of two settings, with the theory",
                            description="Train every cell of a grid of two settings (the optimizer's "
                                        "hyperparameters, batch_size, seed) in vectorized chunks and show the final "
                                        "loss against the optimum, with 2/λ_max, 2(1+γ)/λ_max, the mean-square "
                                        "minibatch bound and, on quadratics, the contraction rate drawn on top.")
    p.add_argument("--x", required=True, metavar="NAME=LOW:HIGH[:log]:N",
                   help="the horizontal axis, e.g. lr=1e-3:10:log:100, or NAME=v1,v2,...")
    p.add_argument("--y", required=True, metavar="NAME=LOW:HIGH[:log]:N", help="the vertical axis, e.g. "
                                                                                "momentum=0:0.99:100")
    common.add_run_arguments(p)
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print x, y, final_loss, diverged (rows = y) and theory")
    out.add_argument("--plot", metavar="FILE", help="save the heat map (.png, .pdf, .svg)")
    p.set_defaults(handler=run)


def run(args, out) -> int:
    x, y = parse(args.x), parse(args.y)
    for axis in (x, y):  # an axis replaces its flag; build() must not see a list for it
        if getattr(args, axis.name, None) is not None:
            raise ValueError(f"--{axis.name.replace('_', '-')} is given and is also an axis; give one of them")
    if args.grid:
        raise ValueError("--grid does not apply to map: the two axes are always crossed")
    problem, opt, schedule, kwargs = common.build(args)
    if args.plot:
        files.check_output_file(args.plot, files.FIGURE_FORMATS, "--plot")
    fixed = {k: v for k, v in common.given(args, optim.HYPERPARAMETERS).items()}
    if "period" in kwargs:
        raise ValueError("--period does not apply to map: a map records the loss once per epoch")
    result = stability_map(problem, opt.name, x, y, schedule=schedule, **kwargs, **fixed)
    if args.plot:
        from optimlab.maps.figure import draw

        files.save_figure(draw(result), args.plot)
    if args.json:
        out(json.dumps(result.to_dict()))
        return 0
    theory, agree = result.theory, result.agreement()
    cells = result.diverged.size
    out(f"{result.optimizer} on {problem.name}: {len(y.values)} × {len(x.values)} cells ({y.name} × {x.name}), "
        f"batch {result.settings['batch_size']}, {result.settings['epochs']} epochs, in {result.seconds:.2f} s")
    if fixed or schedule.name != "constant":
        out("  fixed: " + ", ".join([f"{k} {v:g}" for k, v in fixed.items()]
                                    + ([f"schedule {schedule.describe()}"] if schedule.name != "constant" else [])))
    out(f"  diverged: {int(result.diverged.sum())} of {cells} cells")
    best = _best_cell(result)
    if best is not None:
        (row, col), loss = best
        out(f"  lowest final loss: {number(loss)} at {x.name} {number(x.values[col])}, {y.name} "
            f"{number(y.values[row])}" + ("" if result.optimal_loss is None else
                                            f" (optimum {number(result.optimal_loss)})"))
    if theory:
        facts = [f"λ_max {theory['lambda_max']:.4g}"]
        if theory.get("lambda_min") is not None:
            facts.append(f"λ_min {theory['lambda_min']:.4g}")
        facts += [f"{line['name']}" for line in theory["lines"]]
        out("  theory: " + " · ".join(facts) + f"  (at the {theory['point']})")
        if theory.get("optimum"):
            out("  optimal: " + ", ".join(f"{k} {v:.4g}" for k, v in theory["optimum"].items()))
    if agree:
        out(f"  cells matching the theory's verdict (stable iff rate < 1): {agree['matching']} of {agree['cells']}")
    if args.plot:
        out(f"  figure written to {args.plot}")
    return 0


def _best_cell(result):
    """((row, col), final loss) of the cell with the lowest final loss that did not diverge; None if all did."""
    loss = np.where(result.diverged | ~np.isfinite(result.final_loss), np.inf, result.final_loss)
    if not np.isfinite(loss).any():
        return None
    row, col = np.unravel_index(int(np.argmin(loss)), loss.shape)
    return (int(row), int(col)), float(loss[row, col])
