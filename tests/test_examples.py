"""The examples run as a user would run them (a subprocess) and print what they promise."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[1]


def test_digits_mlp(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    log = tmp_path / "run.csv"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "digits_mlp.py"), "--epochs", "8", "--log",
                           str(log)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    number = lambda pattern: float(re.search(pattern, out).group(1))  # noqa: E731
    # an MLP on digits reaches > 95% test accuracy within a few epochs (scikit-learn's MLPClassifier: ~97%)
    assert number(r"test accuracy ([0-9.]+)") > 0.95
    assert number(r"train loss ([0-9.]+)") < 0.1
    suggestion = number(r"lr_find: suggestion ([0-9.e-]+)")
    assert 1e-4 < suggestion < 1e-1  # Adam's range test on a small MLP lands in the usual decade around 1e-3
    ratio = number(r"\(ratio ([0-9.]+)\)")
    assert ratio < 1  # a run that trained well stayed under 38/η
    assert re.search(r"diagnosis (converged|noise_floor|too_slow):", out)
    assert log.is_file() and "optimlab explain --log says:" in out
