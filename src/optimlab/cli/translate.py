"""``optimlab translate``: an optimizer's equivalent constructor in torch, optax, Keras or Gluon, proved by a run."""

from __future__ import annotations

import argparse
import json

from optimlab import checks, optim, schedules
from optimlab.cli.common import flag, numbers
from optimlab.translate import STEPS, translate
from optimlab.translate.libraries import TARGETS


def register(commands) -> None:
    p = commands.add_parser("translate", help="the same optimizer in torch, optax, Keras or Gluon, verified by a run",
                            description="Print the constructor that gives the same optimizer in another library, "
                                        "with the conventions mapped (ε in the root, η in the momentum buffer, "
                                        "weight decay, ...), and prove it where that library is installed: "
                                        f"{STEPS} steps of both on the same gradients, the largest relative "
                                        "difference printed. Where the library has no option for a convention, "
                                        "say which.")
    p.add_argument("optimizer", choices=list(optim.OPTIMIZERS))
    p.add_argument("--to", required=True, choices=list(TARGETS), help="the target library")
    p.add_argument("--from", dest="source", choices=list(optim.CONVENTIONS), default=optim.DEFAULT_CONVENTION,
                   help="whose conventions the given values follow (default: %(default)s)")
    values = p.add_argument_group("hyperparameters and options (optimlab's names; omitted ones take the defaults)")
    for name, hp in optim.HYPERPARAMETERS.items():
        values.add_argument(flag(name), type=numbers, default=None, metavar="X",
                            help=f"{hp.symbol}: {hp.meaning}, {checks.RANGES[hp.range]}")
    for name, f in optim.FLAGS.items():
        values.add_argument(flag(name), action=argparse.BooleanOptionalAction, default=None,
                            help=f"{f.true}; --no-{flag(name)[2:]}: {f.false}")
    p.add_argument("--schedule", choices=list(schedules.SCHEDULES), default=None,
                   help="η changes by this schedule during the check (epochs of 10 steps); default constant")
    p.add_argument("--json", action="store_true", help="print JSON (code, exact, missing, max_rel_diff, ...)")
    p.set_defaults(handler=run)


def run(args, out) -> int:
    given = {name: getattr(args, name) for name in [*optim.HYPERPARAMETERS, *optim.FLAGS]
             if getattr(args, name, None) is not None}
    result = translate(args.optimizer, args.to, source=args.source, schedule=args.schedule, **given)
    if args.json:
        out(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    out(f"{result.source} {result.optimizer} in {result.target}:")
    out("")
    out(f"    {result.code}")
    out("")
    if result.exact:
        out("Exact: every convention maps.")
    else:
        out("No exact equivalent (the closest constructor above):")
        for line in result.missing:
            out(f"  - {line}")
    out(f"Verified: {result.note}" if result.verified else result.note[0].upper() + result.note[1:])
    return 0
