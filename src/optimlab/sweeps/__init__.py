"""Sweeps that lose nothing: declared in TOML, run in vectorized chunks, stored in SQLite, resumed after a crash,
spread over Dask workers; Optuna search (``tune``) and a fair comparison of optimizers (``compare``).

    spec = optimlab.sweeps.spec.load("spec.toml")
    optimlab.sweeps.run(spec, "store/")          # resumes: stored chunks are skipped
    df = optimlab.sweeps.load("store/")          # a pandas DataFrame, one row per configuration

pandas, Dask and Optuna are imported inside the functions that need them (the ``sweeps`` extra).
"""

from optimlab.sweeps.results import load, summary
from optimlab.sweeps.runner import run
from optimlab.sweeps.spec import Spec, validate

__all__ = ["Spec", "load", "run", "summary", "validate"]
