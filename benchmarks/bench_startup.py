"""Start-up time of the command line (issue 7): `optimlab --help` against `python -c "import numpy"`, the floor any
numpy program pays, side by side in the same run. Each is a fresh process; the best of N is the run least
disturbed by the machine.

    PYTHONPATH=src python benchmarks/bench_startup.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from timing import best_of

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))


def timed(*args: str, repeats: int = 30) -> float:
    return best_of(repeats, lambda: subprocess.run([sys.executable, *args], env=ENV, stdout=subprocess.DEVNULL,
                                                   check=True))


def main() -> None:
    python = timed("-c", "pass")
    numpy = timed("-c", "import numpy")
    rows = [("python -c pass", python), ("python -c 'import numpy'", numpy),
            ("optimlab --help", timed("-m", "optimlab", "--help")),
            ("optimlab train --help", timed("-m", "optimlab", "train", "--help")),
            ("optimlab --version", timed("-m", "optimlab", "--version"))]
    for name, seconds in rows:
        print(f"{name:<26} {seconds:6.3f} s   {seconds / numpy:4.2f}x numpy's import")
    modules = subprocess.run([sys.executable, "-c", "import sys, contextlib, io\nfrom optimlab.cli import main\n"
                              "with contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
                              "print(sorted(m for m in ('matplotlib', 'scipy', 'tqdm', 'torch') if m in sys.modules))"],
                             env=ENV, capture_output=True, text=True, check=True).stdout.strip()
    print(f"heavy modules imported by --help: {modules}")


if __name__ == "__main__":
    main()
