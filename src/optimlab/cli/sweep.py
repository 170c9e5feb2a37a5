"""``optimlab sweep run|show``: declared sweeps in vectorized chunks, stored in SQLite, resumable, on Dask."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from optimlab.cli import common


def remember_problem_flags(parser) -> None:
    """Keep, in the parsed arguments, every flag of the groups that choose the problem ("problem", and "data
    problems" where those exist): (dest, flag, the value a flag without argument sets), for :func:`problem_flags`."""
    flags = [(a.dest, a.option_strings[0], a.const if a.nargs == 0 else None)
             for g in parser._action_groups if "problem" in (g.title or "") for a in g._group_actions]
    parser.set_defaults(problem_options=flags)


def problem_flags(args) -> str:
    """The problem's flags as the user gave them, for the ``optimlab train`` commands that rerun a result."""
    parts = []
    for dest, flag, const in args.problem_options:
        value = getattr(args, dest, None)
        if value is None:
            continue
        if const is not None:  # a flag without argument (store_true/store_false): given when it set its value
            parts += [flag] if value == const else []
        else:
            parts += [flag, ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)]
    return shlex.join(parts)


def register(commands) -> None:
    p = commands.add_parser("sweep", help="run a declared sweep (TOML) into a resumable store; summarise it",
                            description="Sweeps declared in TOML (grid and random axes, seeds, loop settings), run "
                                        "in chunks of configurations, one vectorized train call each, stored in "
                                        "DIR/sweeps.sqlite one chunk per transaction. Rerunning resumes.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(p))
    r = actions.add_parser("run", help="run (or resume) the sweep of SPEC")
    r.add_argument("spec", metavar="SPEC", help="the sweep's TOML file")
    r.add_argument("--store", metavar="DIR", required=True, help="folder of the store (DIR/sweeps.sqlite)")
    where = r.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="run chunks on a local Dask cluster of N worker processes")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run chunks on an existing Dask cluster")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--json", action="store_true", help="print the outcome as JSON")
    r.set_defaults(handler=run)
    s = actions.add_parser("show", help="summarise a stored sweep: best configurations, diverged ones")
    s.add_argument("--store", metavar="DIR", required=True, help="folder of the store")
    s.add_argument("--sweep", metavar="NAME", default=None, help="name or id (default: the store's only sweep)")
    s.add_argument("--top", type=int, default=5, help="how many best configurations (default 5)")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(handler=show)


def run(args, out) -> int:
    from optimlab import sweeps
    from optimlab.sweeps import spec

    declared = spec.load(_spec_file(args.spec))
    with common.progress(args, f"sweep {declared.name}", unit="chunk") as progress:
        outcome = sweeps.run(declared, args.store, progress=progress, workers=args.workers,
                             scheduler=args.scheduler)
    if args.json:
        out(json.dumps(outcome))
    else:
        out(f"sweep {outcome['name']} ({outcome['sweep']}): {outcome['configs']} configurations in "
            f"{outcome['chunks']} chunks; {outcome['ran']} run now, {outcome['skipped']} already stored "
            f"({outcome['seconds']:.2f} s); store {args.store}")
    return 0


def _spec_file(path: str) -> Path:
    """The spec's path, refused in one line (exit 2) when it is missing, a folder or unreadable text."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"sweep spec {path!r} is a folder; give a .toml file")
    if not p.is_file():
        raise ValueError(f"sweep spec {path!r} does not exist")
    try:
        p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"sweep spec {path!r} is not UTF-8 text (a TOML file is)") from None
    return p


def _hyper(entry: dict) -> str:
    skip = {"config", "final_loss", "median_final_loss", "diverged_at", "seeds"}
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items()
                     if k not in skip)


def show(args, out) -> int:
    from optimlab import sweeps

    if args.top < 1:
        raise ValueError(f"top must be an integer >= 1, got {args.top}")
    s = sweeps.summary(args.store, args.sweep, top=args.top)
    if args.json:
        out(json.dumps(s))
        return 0
    out(f"sweep {s['name']} ({s['sweep']}): {s['optimizer']} on {s['problem'].get('name')}, "
        f"{s['stored']}/{s['num_configs']} configurations stored ({s['chunks_done']}/{s['chunks']} chunks)")
    if s["optimal_loss"] is not None:
        out(f"optimum of the problem: {s['optimal_loss']:.6g}")
    out("best configurations (final loss):")
    for e in s["best"]:
        out(f"  {e['final_loss']:.6g}  {_hyper(e)}")
    out("best over seeds (median final loss):")
    for e in s["best_over_seeds"]:
        loss = "diverged" if e["median_final_loss"] is None else f"{e['median_final_loss']:.6g}"
        out(f"  {loss}  {_hyper(e)}  ({e['seeds']} seeds)")
    out(f"diverged: {len(s['diverged'])}")
    for e in s["diverged"][:args.top * 4]:
        out(f"  {_hyper(e)}  at example {e['diverged_at']}")
    if len(s["diverged"]) > args.top * 4:
        out(f"  ... and {len(s['diverged']) - args.top * 4} more (--json lists them all)")
    return 0
