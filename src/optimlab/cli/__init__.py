"""The command line: turns strings into typed calls and formats results. No math, defaults or validation here.

``main(argv) -> int`` returns the exit status, so tests call it in-process. Bad input ends with one line on stderr
and status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from optimlab.cli import catalog, explain, lrfind, reproduce, train
from optimlab.cli import translate as translate_command  # helper optim (issue 8)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2, as for every other bad input
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="optimlab", description="Understand, tune and trust gradient-descent optimizers.")
    commands = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for module in (train, explain, lrfind, reproduce, catalog, translate_command):
        module.register(commands)
    return p


def main(argv=None) -> int:
    if sys.stdout.encoding and sys.stdout.encoding.lower() not in ("utf-8", "utf8"):
        sys.stdout.reconfigure(errors="backslashreplace")

    def out(text: str) -> None:
        print(text, flush=True)

    try:
        args = parser().parse_args(argv)
        return args.handler(args, out)
    except _UsageError as e:
        print(e, file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"optimlab: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"optimlab: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("optimlab: interrupted", file=sys.stderr)
        return 130
