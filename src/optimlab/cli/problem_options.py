"""The flags of the data problems (logistic and softmax regression, the MLP): strings to ``problems.make`` options.

``cli/common.py`` calls :func:`add_arguments` from ``add_run_arguments`` and :func:`options` from ``build``; the
library checks every value (the problem's constructor raises ``ValueError`` naming it and its range).
"""

from __future__ import annotations

import argparse

from optimlab import problems
from optimlab.problems import datasets, mlp


def widths(text: str) -> tuple[int, ...]:
    """``32`` -> (32,), ``64,32`` -> (64, 32)."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected one or two layer widths like 32 or 64,32, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(f"data problems ({', '.join(problems.DATA_PROBLEMS)})")
    group.add_argument("--dataset", metavar="NAME", default=None,
                       help=f"{', '.join(datasets.BUNDLED)} (scikit-learn's, offline); or give your file with --data")
    group.add_argument("--hidden", type=widths, default=None, metavar="N[,N]",
                       help="mlp: widths of one or two hidden layers (default 32)")
    group.add_argument("--activation", choices=mlp.ACTIVATIONS, default=None, help="mlp: hidden activation")
    group.add_argument("--loss", choices=mlp.LOSSES, default=None,
                       help="mlp: cross-entropy (default on classes) or squared")
    group.add_argument("--no-standardize", dest="standardize", action="store_false", default=None,
                       help="keep the features as they are (default: mean 0, std 1 each)")
    group.add_argument("--eval-examples", type=int, default=None, metavar="N",
                       help="record the loss on a fixed, seeded subset of N examples (gradients still use all)")


def options(args) -> dict:
    """The data-problem options the user gave, for ``problems.make``. With a data problem, ``--data FILE`` is its
    data set: it is moved into ``dataset`` (and cleared from ``args``, so that ``build`` reads no second source)."""
    given = {name: getattr(args, name) for name in ("dataset", "hidden", "activation", "loss", "standardize",
                                                    "eval_examples") if getattr(args, name, None) is not None}
    if args.problem in problems.DATA_PROBLEMS and getattr(args, "data", None) is not None:
        if "dataset" in given:
            raise ValueError("give --dataset or --data, not both")
        given["dataset"], args.data = args.data, None
    if given and args.problem not in problems.DATA_PROBLEMS:
        first = next(iter(given))
        flag = "--no-standardize" if first == "standardize" else "--" + first.replace("_", "-")
        raise ValueError(f"{flag} applies to the data problems ({', '.join(problems.DATA_PROBLEMS)}), "
                         f"not to {args.problem or problems.DEFAULT_PROBLEM}")
    return given
