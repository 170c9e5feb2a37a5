"""How long `optimlab reproduce` takes, end to end and by phase (the issue asks for the whole lecture, figures
included, in under 10 seconds on a 2-core machine).

    python benchmarks/bench_reproduce.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_of  # benchmarks/timing.py: run these scripts as python benchmarks/NAME.py

from optimlab import lecture
from optimlab.lecture.report import render_figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for extra in ([], ["--original-data"]):
            command = [sys.executable, "-m", "optimlab", "reproduce", "--quiet", "--out", str(Path(tmp) / "r"),
                       *extra]
            wall = best_of(args.repeats,
                           lambda command=command: subprocess.run(command, check=True, capture_output=True))
            print(f"optimlab reproduce {' '.join(extra):<16} end to end (new process): {wall:5.2f} s")
        report = lecture.reproduce()
        compute = best_of(args.repeats, lambda: lecture.reproduce())
        figures = [e.figure for e in report.entries]
        serial = best_of(args.repeats, lambda: render_figures(figures, workers=1))
        parallel = best_of(args.repeats, lambda: render_figures(figures))
        replay = best_of(args.repeats, lambda: lecture.reproduce(only=["minibatch"], original_data=True))
        print(f"  runs, checks and figure objects: {compute:5.2f} s")
        print(f"  drawing {len(figures)} PNGs: {serial:5.2f} s in one process, {parallel:5.2f} s in worker processes")
        print(f"  replaying the 27 original runs: {replay:5.2f} s")


if __name__ == "__main__":
    main()
