"""``optimlab train``: the lecture's training loop for one or many configurations."""

from __future__ import annotations

import json

from optimlab import files, plots, train
from optimlab.cli import common
from optimlab.text import epoch_lines


def register(commands) -> None:
    p = commands.add_parser("train", help="train configurations and report each epoch, as the lecture does",
                            description="Train one configuration, or several at once (give any hyperparameter "
                                        "as a comma-separated list), and print the lecture's epoch lines.")
    common.add_run_arguments(p)
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    out.add_argument("--plot", metavar="FILE", help="save the semilog loss-versus-epoch figure (.png, .pdf, .svg)")
    out.add_argument("--save", metavar="FILE", help="also save the result as JSON (for optimlab explain --from)")
    p.set_defaults(handler=run)


def run(args, out) -> int:
    problem, opt, schedule, kwargs = common.build(args)
    if args.plot:
        files.check_output_file(args.plot, files.FIGURE_FORMATS)
    if args.save:
        files.check_output_file(args.save, (".json",))
    result = train(problem, opt, schedule=schedule, **kwargs)
    if args.save:
        files.write_atomic(args.save, json.dumps(result.to_dict()))
    if args.plot:
        files.save_figure(plots.loss_curves(result), args.plot)
    if args.json:
        out(json.dumps(result.to_dict()))
    else:
        out("\n".join(epoch_lines(result)).rstrip())
        out(f"({result.num_configs} configuration{'s' if result.num_configs > 1 else ''} in {result.seconds:.3f} s"
            + (f"; figure written to {args.plot})" if args.plot else ")"))
    return 0
