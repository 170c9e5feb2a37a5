"""``optimlab explain --log FILE``: diagnose a training log written by any framework (step, loss, lr; optional
grad_norm, sharpness, sharpness_threshold). Formatting only: reading and diagnosis live in optimlab.analysis."""

from __future__ import annotations

import json
import textwrap

from optimlab.analysis.log_diagnosis import diagnose_log
from optimlab.analysis.logs import read_log
from optimlab.cli import common


def add_arguments(parser) -> None:
    group = parser.add_argument_group("a training log from any framework")
    group.add_argument("--log", metavar="FILE", help="explain a .csv or .json training log with columns step, loss, "
                                                     "lr (optional: grad_norm, sharpness, sharpness_threshold)")
    group.add_argument("--optimal-loss", type=float, default=None, metavar="F",
                       help="the loss at the optimum, if known: with it, converged means within 10%% of it")


def run(args, out) -> int:
    if args.source:
        raise ValueError("give --log or --from, not both")
    extra = common.given_run_options(args)
    if extra:
        raise ValueError(f"--log reads a training log as it was written: leave out {', '.join(extra)} (they "
                         f"describe a new run; give them without --log to run one)")
    log = read_log(args.log)
    d = diagnose_log(log, optimal_loss=args.optimal_loss)
    if args.json:
        out(json.dumps(d.to_dict()))
        return 0
    out(f"{log.source}: {len(log)} records, steps {log.step[0]:g} to {log.step[-1]:g}: {d.diagnosis.upper()}")
    out(textwrap.fill(d.explanation, width=110, initial_indent="  ", subsequent_indent="  "))
    return 0
