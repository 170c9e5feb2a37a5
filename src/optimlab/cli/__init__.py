"""The command line: turns strings into typed calls and formats results. No math, defaults or validation here.

``main(argv) -> int`` returns the exit status, so tests call it in-process. Bad input ends with one line on stderr
and status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from optimlab.cli import catalog, compare, explain, lrfind, playground, reproduce, sweep, train, tune
from optimlab.cli import map as map_command
from optimlab.cli import translate as translate_command


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # argparse reads only -1 and -0.5 as negative numbers; -1e-8, -0.1,0.2 and -inf would be taken for flags and
        # end in "expected one argument". No flag of optimlab starts with a digit, so these are values.
        self._negative_number_matcher = re.compile(r"^-(\d|\.\d)[\d.,eE+-]*$|^-(inf|nan)$", re.IGNORECASE)

    def error(self, message):  # one line, status 2, as for every other bad input
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


class _Version(argparse.Action):
    """--version, reading the installed version only when asked (importlib.metadata costs start-up time)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print optimlab's version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from optimlab import __version__

        print(f"optimlab {__version__}")
        parser.exit()


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="optimlab", description="Understand, tune and trust gradient-descent optimizers.")
    p.add_argument("--version", action=_Version)
    commands = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for module in (train, explain, lrfind, reproduce, catalog, translate_command, map_command, sweep, tune, compare,
                   playground):
        module.register(commands)
    return p


def main(argv=None) -> int:
    if sys.stdout.encoding and sys.stdout.encoding.lower() not in ("utf-8", "utf8"):
        sys.stdout.reconfigure(errors="backslashreplace")

    def out(text: str) -> None:
        print(text, flush=True)

    try:
        try:
            args = parser().parse_args(argv)
        except SystemExit as e:  # --help and --version print and stop: a status, not an exception, for callers
            return e.code if isinstance(e.code, int) else 0
        return args.handler(args, out)
    except _UsageError as e:
        print(e, file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"optimlab: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silence_stdout()  # the reader (e.g. `| head -1`) has gone: stop quietly, as other command-line tools do
        return 141
    except MemoryError:
        print("optimlab: error: not enough memory for this run; give fewer configurations, epochs or points",
              file=sys.stderr)
        return 2
    except OSError as e:
        print(f"optimlab: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("optimlab: interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not report the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured in tests)
        pass
