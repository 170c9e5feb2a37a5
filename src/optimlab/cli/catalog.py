"""``optimlab optimizers``, ``optimlab schedules``, ``optimlab problems``: what the registries hold."""

from __future__ import annotations

import json

from optimlab import checks, optim, problems, schedules
from optimlab.cli.common import flag


def register(commands) -> None:
    p = commands.add_parser("optimizers", help="each optimizer's update rule, hyperparameters, defaults, ranges")
    p.add_argument("name", nargs="?", choices=list(optim.OPTIMIZERS), help="show only this one")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=show_optimizers)
    p = commands.add_parser("schedules", help="the learning-rate schedules and their settings")
    p.set_defaults(handler=show_schedules)
    p = commands.add_parser("problems", help="the built-in problems")
    p.set_defaults(handler=show_problems)


def show_optimizers(args, out) -> int:
    names = [args.name] if args.name else list(optim.OPTIMIZERS)
    info = [optim.describe(n) for n in names]
    if args.json:
        out(json.dumps(info, ensure_ascii=False))
        return 0
    for d in info:
        out(f"{d['name']}: {d['summary']}")
        for line in d["rule"].splitlines():
            out(f"    {line}")
        for key, h in d["hyperparameters"].items():
            out(f"  {flag(key):<15} {h['symbol']:<3} default {h['default']:<8g} {h['range']:<10} {h['meaning']}")
        show_options(d, out)  # the convention options (issue 8)
        out("")
    return 0


def show_options(d: dict, out) -> None:
    """Each convention option: its lecture default, its value under every named convention, and its meaning."""
    if not d.get("options"):
        return
    out("  options (convention presets: " + ", ".join(next(iter(d["options"].values()))["conventions"]) + "):")
    for key, o in d["options"].items():
        presets = "/".join("T" if v is True else "F" if v is False else f"{v:g}" for v in o["conventions"].values())
        out(f"  {key:<20} {presets:<14} {o['meaning']}")


def show_schedules(args, out) -> int:
    for name, formula in schedules.SCHEDULES.items():
        out(f"{name}: {formula.__doc__.strip().splitlines()[0]}")
        for key, default in schedules.defaults(name).items():
            s = schedules.SETTINGS[key]
            allowed = {"int0": "integer >= 0", "int1": "integer >= 1"}.get(s.kind) or checks.RANGES.get(s.kind)
            out(f"  {s.flag:<17} default {default:<8g} {allowed:<13} {s.meaning}")
    return 0


def show_problems(args, out) -> int:
    for name in problems.PROBLEMS:
        out(f"{name:<18} {problems.DESCRIPTIONS[name]}")
    return 0
