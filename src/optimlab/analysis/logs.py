"""Training logs from anywhere: a CSV or JSON table of step, loss, lr and optionally grad_norm, sharpness and
sharpness_threshold, as written by a PyTorch, JAX or Keras loop (or by :class:`optimlab.torch.StabilityMonitor`).

CSV: a header row naming the columns, then one row per record. JSON: a list of records
(``[{"step": 0, "loss": 2.3, "lr": 0.1}, ...]``) or a table of columns (``{"step": [...], "loss": [...], ...}``).
Common spellings are accepted (``learning_rate``, ``iteration``/``global_step``, ``train_loss``). Empty cells and
``nan`` are NaN: a loss that became NaN or inf is a diverged run, which is a result, not a bad log.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REQUIRED = ("step", "loss", "lr")
OPTIONAL = ("grad_norm", "sharpness", "sharpness_threshold")
ALIASES = {"iteration": "step", "iter": "step", "global_step": "step", "train_loss": "loss",
           "learning_rate": "lr", "grad-norm": "grad_norm", "gradient_norm": "grad_norm", "lambda_max": "sharpness"}


@dataclass
class TrainingLog:
    step: np.ndarray
    loss: np.ndarray
    lr: np.ndarray
    grad_norm: np.ndarray | None = None
    sharpness: np.ndarray | None = None
    sharpness_threshold: np.ndarray | None = None  # the bound the sharpness must stay under; default 2/lr (GD)
    source: str = ""

    def __len__(self) -> int:
        return len(self.step)


def from_columns(columns: dict, source: str = "log") -> TrainingLog:
    """Validate a table of columns (name -> sequence of numbers) into a :class:`TrainingLog`."""
    cols = {ALIASES.get(str(k).strip().lower(), str(k).strip().lower()): v for k, v in columns.items()}
    for name in REQUIRED:
        if name not in cols:
            raise ValueError(f"{source} has no {name!r} column (it has: {', '.join(map(str, columns)) or 'none'}); "
                             f"required: step, loss, lr")
    arrays = {name: _numbers(source, name, cols[name]) for name in REQUIRED + OPTIONAL if name in cols}
    n = len(arrays["step"])
    if n < 2:
        raise ValueError(f"{source} must have at least 2 records, got {n}")
    for name, values in arrays.items():
        if len(values) != n:
            raise ValueError(f"{source}: column {name!r} has {len(values)} values, 'step' has {n}")
    step = arrays["step"]
    if not np.isfinite(step).all():
        raise ValueError(f"{source}: step must be a number in every record, got {step[~np.isfinite(step)][0]}")
    back = np.flatnonzero(np.diff(step) <= 0)
    if back.size:
        i = int(back[0]) + 1
        raise ValueError(f"{source}: step must increase, record {i} has {step[i]:g} after {step[i - 1]:g}")
    lr = arrays["lr"]
    bad = np.flatnonzero(~(lr > 0))
    if bad.size:
        raise ValueError(f"{source}: lr must be > 0, got {lr[bad[0]]:g} at step {step[bad[0]]:g}")
    return TrainingLog(step, arrays["loss"], lr, arrays.get("grad_norm"), arrays.get("sharpness"),
                       arrays.get("sharpness_threshold"), source)


def read_log(path) -> TrainingLog:
    """Read a CSV or JSON training log; one-line ``ValueError`` for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"log {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValueError(f"log must be a .csv or .json file, got {path.name!r}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a spreadsheet's byte-order mark is not a column name
    except UnicodeDecodeError:
        raise ValueError(f"{path.name} is not a text file") from None
    return from_columns(_csv(text, path.name) if suffix == ".csv" else _json(text, path.name), path.name)


def _csv(text: str, name: str) -> dict:
    rows = [r for r in csv.reader(text.splitlines()) if any(cell.strip() for cell in r)]
    if not rows:
        raise ValueError(f"{name} is empty")
    header, body = rows[0], rows[1:]
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{name} line {i}: {len(row)} fields, the header has {len(header)}")
    return {h: [row[j] for row in body] for j, h in enumerate(header)}


def _json(text: str, name: str) -> dict:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name} is not valid JSON: {e}") from None
    if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
        return data
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        keys = list(dict.fromkeys(k for r in data for k in r))
        return {k: [r.get(k) for r in data] for k in keys}
    raise ValueError(f"{name} must hold a list of records or a table of columns (name: list of numbers)")


def _numbers(source: str, column: str, values) -> np.ndarray:
    out = np.empty(len(values))
    for i, v in enumerate(values):
        if v is None or (isinstance(v, str) and not v.strip()):
            out[i] = math.nan
            continue
        try:
            if isinstance(v, bool):
                raise TypeError
            out[i] = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{source}: {column} in record {i + 1} is not a number: {v!r}") from None
    return out
