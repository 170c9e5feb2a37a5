"""``optimlab reproduce``: every experiment and figure of the lecture, its claims checked, as a report."""

from __future__ import annotations

import json
import sys

from optimlab.cli.common import defaults_of, integer


def register(commands) -> None:
    p = commands.add_parser("reproduce", help="run every experiment and figure of the lecture and check its claims",
                            description="Run the lecture's experiments and figures, check each claim, and write "
                                        "OUT/index.html (self-contained), OUT/results.json and one PNG per figure, "
                                        "listed in OUT/optimlab-manifest.json: a later run replaces only those "
                                        "files; --only into an existing report updates those entries and keeps "
                                        "the others. Exits 1 if a claim does not hold.")
    p.add_argument("--out", default="report", help="folder for the report (default: report/)")
    p.add_argument("--seed", type=integer, default=None, help="seed of the data, initial parameters and order "
                                                          "(default 1)")
    p.add_argument("--only", metavar="NAME[,NAME]", help="run only these (see --list)")
    p.add_argument("--list", action="store_true", help="name the experiments and figures with their claims")
    p.add_argument("--original-data", action="store_true",
                   help="also replay the 27 original runs from the inputs the lecture's MXNet code used")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(handler=run)


def run(args, out) -> int:
    from optimlab import lecture  # the lecture's figures (matplotlib) only when it is reproduced
    from optimlab.lecture.page import entries
    from optimlab.lecture.report import check_destination
    from optimlab.lecture.reproduction import select

    if args.list:
        for name in lecture.names():
            section, claim = lecture.describe(name)
            out(f"{name:<16} {section}: {claim}")
        return 0
    only = args.only.split(",") if args.only else None
    select(only)  # an unknown name fails before any work
    seed = args.seed if args.seed is not None else defaults_of(lecture.reproduce)["seed"]
    check_destination(args.out, seed=seed, only=only)
    # one line per experiment as it finishes, with its verdict: more telling than a bar, and never on stdout
    progress = None if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    report = lecture.reproduce(only=only, original_data=args.original_data, progress=progress, seed=seed)
    index = lecture.write_report(report, args.out, merge_with_existing=only is not None)
    held = len(entries(json.loads((index.parent / "results.json").read_text(encoding="utf-8"))))
    passed = sum(e.passed for e in report.entries)
    out(f"{passed} of {len(report.entries)} claims hold"
        + (f"; on the original inputs {sum(v.passed for v in report.replay_verdicts.values())} of "
           f"{len(report.replay_verdicts)}" if report.replay_verdicts else "")
        + f" (seed {report.seed}, {report.seconds:.1f} s). Report: {index}"
        + (f" ({held} entries: {held - len(report.entries)} kept from the earlier report)"
           if held > len(report.entries) else ""))
    if report.failures:
        print(f"optimlab: claims that do not hold: {', '.join(report.failures)}", file=sys.stderr)
        return 1
    return 0

