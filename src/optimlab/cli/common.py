"""Turning strings into typed calls: the options shared by the commands that run a configuration."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import sys

from optimlab import checks, optim, problems, schedules
from optimlab.cli import problem_options
from optimlab.train import train

# A progress bar appears only once work has taken this long (seconds): shorter work stays silent.
PROGRESS_DELAY = 1.0
# The destinations of the options add_run_arguments adds (filled as it adds them): what `explain --from` refuses.
RUN_OPTIONS: list[str] = []


def defaults_of(function) -> dict:
    """A library function's keyword defaults, so that help texts never restate them."""
    return {p.name: p.default for p in inspect.signature(function).parameters.values()
            if p.default is not inspect.Parameter.empty}


def numbers(text: str):
    """``0.1`` -> 0.1 and ``0.01,0.1,1`` -> [0.01, 0.1, 1.0]: one value, or one per configuration."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or a comma-separated list of numbers, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def integer(text: str) -> int:
    """``12`` -> 12; anything else (``2.5``, ``1e8``, ``ten``) is refused in one line naming what was given."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = None
    hint = f" (write it out in digits: {int(value)})" if value is not None and value.is_integer() else ""
    raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}{hint}")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Problem, optimizer, hyperparameters, schedule and loop options; the flags come from the registries."""
    before = {a.dest for a in parser._actions}
    where = parser.add_argument_group("problem")
    where.add_argument("--problem", choices=list(problems.PROBLEMS), default=None,
                       help="a built-in problem (default: the lecture's linear regression)")
    where.add_argument("--data", metavar="FILE", help="your own data for linear regression: .npz with X and y, "
                                                       "or .csv whose last column is y")
    problem_options.add_arguments(parser)
    how = parser.add_argument_group("optimizer (any value may be a comma-separated list: one run per entry)")
    how.add_argument("--optimizer", choices=list(optim.OPTIMIZERS), default=None,
                     help=f"default: {optim.DEFAULT_OPTIMIZER}")
    for name, hp in optim.HYPERPARAMETERS.items():
        how.add_argument(flag(name), type=numbers, default=None, metavar="X",
                         help=f"{hp.symbol}: {hp.meaning}, {checks.RANGES[hp.range]}")
    how.add_argument("--grid", action="store_true", help="cross the lists instead of pairing them entry by entry")
    d = defaults_of(train)
    loop = parser.add_argument_group("training loop")
    loop.add_argument("--batch-size", type=integer, default=None,
                      help="examples per minibatch (default: 10, or n on a problem with fewer examples)")
    loop.add_argument("--epochs", type=integer, default=None, help=f"passes over the data (default {d['epochs']})")
    loop.add_argument("--period", type=integer, default=None,
                      help="record the full loss every PERIOD examples (a multiple of the batch size)")
    loop.add_argument("--seed", type=integer, default=None,
                      help=f"seed of the data, the initial parameters and the order (default {d['seed']})")
    loop.add_argument("--init-scale", type=float, default=None,
                      help=f"w ~ N(0, scale²) at the start (default {d['init_scale']:g})")
    sched = parser.add_argument_group("learning-rate schedule")
    sched.add_argument("--schedule", choices=list(schedules.SCHEDULES), default=None,
                       help="default: constant, or lecture when --decay-after/--decay-factor are given")
    for name, setting in schedules.SETTINGS.items():
        sched.add_argument(setting.flag, dest=f"schedule_{name}", type=numbers if setting.kind not in
                           ("int0", "int1") else integer, default=None, help=setting.meaning)
    RUN_OPTIONS[:] = [a.dest for a in parser._actions if a.dest not in before]
    # every option by its flag as written (--no-standardize stores standardize=False) and its default
    RUN_FLAGS.update({a.dest: max(a.option_strings, key=len) for a in parser._actions if a.dest not in before})
    RUN_DEFAULTS.update({a.dest: a.default for a in parser._actions if a.dest not in before})


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")


def given_run_options(args) -> list[str]:
    """The flags of add_run_arguments that the user gave, as written on the command line."""
    return [RUN_FLAGS[dest] for dest in RUN_OPTIONS if getattr(args, dest, None) != RUN_DEFAULTS[dest]]


RUN_FLAGS: dict[str, str] = {}  # dest -> flag, filled by add_run_arguments
RUN_DEFAULTS: dict = {}  # dest -> default, filled by add_run_arguments


@contextlib.contextmanager
def progress(args, what: str, unit: str = "it"):
    """A ``progress(done, total)`` callable drawing a tqdm bar on stderr, shown only once work has taken more than
    a second; None (no bar) under ``--quiet`` or ``--json``. tqdm is imported only when a bar may be drawn."""
    if getattr(args, "quiet", False) or getattr(args, "json", False):
        yield None
        return
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=what, unit=unit, file=sys.stderr, delay=PROGRESS_DELAY, leave=False,
                       dynamic_ncols=True)
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def call(function, *args, progress=None, **kwargs):
    """``function(*args, **kwargs)``, passing ``progress`` only where the function takes it."""
    if progress is not None and "progress" in inspect.signature(function).parameters:
        kwargs["progress"] = progress
    return function(*args, **kwargs)


def given(args, names) -> dict:
    """The options among ``names`` that the user gave (None means: leave it to the library's default)."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def build(args):
    """(problem, optimizer, schedule, keyword arguments of ``optimlab.train``) from parsed options."""
    data_options = problem_options.options(args)
    if args.data is not None and args.problem is not None:
        raise ValueError("give --problem or --data, not both")
    seed = given(args, ["seed"]).get("seed")
    if args.data is not None:
        problem = problems.load_arrays(args.data)
    else:
        problem = problems.make(args.problem or problems.DEFAULT_PROBLEM, seed=seed, **data_options)
    hyper = given(args, optim.HYPERPARAMETERS)
    if args.grid and hyper:
        hyper = optim.grid(**hyper)
    opt = optim.make(args.optimizer or optim.DEFAULT_OPTIMIZER, **hyper)
    settings = {name: getattr(args, f"schedule_{name}") for name in schedules.SETTINGS}
    schedule = schedules.make(args.schedule, **settings)
    kwargs = given(args, ["batch_size", "epochs", "period", "seed", "init_scale"])
    return problem, opt, schedule, kwargs
