"""``optimlab train``: the lecture's training loop for one or many configurations."""

from __future__ import annotations

import json

from optimlab import files, train
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
    common.add_quiet(out)
    p.set_defaults(handler=run)


def check_outputs(args) -> None:
    """Every output target, checked before any work."""
    if args.plot:
        files.check_output_file(args.plot, files.FIGURE_FORMATS, "--plot")
    if args.save:
        files.check_output_file(args.save, (".json",), "--save")
    if args.plot and args.save and files.same_file(args.plot, args.save):
        raise ValueError(f"--plot and --save name the same file {args.save!r}")


def run(args, out) -> int:
    check_outputs(args)
    problem, opt, schedule, kwargs = common.build(args)
    with common.progress(args, "train", unit="epoch") as progress:
        result = common.call(train, problem, opt, schedule=schedule, progress=progress, **kwargs)
    outputs = {}
    if args.save:
        outputs[args.save] = json.dumps(result.to_dict())
    if args.plot:
        from optimlab import plots  # matplotlib only when a figure is drawn

        outputs[args.plot] = files.figure_bytes(plots.loss_curves(result), args.plot)
    files.write_all(outputs)  # all or nothing
    if args.json:
        out(json.dumps(result.to_dict()))
    else:
        out("\n".join(epoch_lines(result)).rstrip())
        out(f"({result.num_configs} configuration{'s' if result.num_configs > 1 else ''} in {result.seconds:.3f} s"
            + (f"; figure written to {args.plot}" if args.plot else "")
            + (f"; run saved to {args.save}" if args.save else "") + ")")
    return 0
