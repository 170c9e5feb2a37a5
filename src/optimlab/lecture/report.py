"""Writing a :class:`~optimlab.lecture.reproduce.Report` into a folder: ``index.html`` (one self-contained page,
figures embedded), ``results.json``, one PNG per figure, and ``optimlab-manifest.json``, the list of the files the
report wrote.

Nothing of the user's is touched: a report is written only into a new or empty folder or over an earlier report,
and then it replaces or deletes only the files that report's manifest lists; anything else in the folder (notes,
other folders) stays. Every file is staged in full before any is renamed into place (:func:`optimlab.files.write_all`),
so a failure leaves the earlier report as it was. A report made with ``only`` into an existing report of the same
seed updates those entries and keeps the others: results.json keeps every entry and index.html is redrawn from all.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from optimlab import files
from optimlab.lecture.experiments import BY_NAME
from optimlab.lecture.page import GENERATOR, entries, page
from optimlab.lecture.reproduction import Report
from optimlab.results import jsonable

MANIFEST = "optimlab-manifest.json"


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def own_files(out) -> list[str] | None:
    """The files an earlier report in ``out`` wrote (from its manifest; for a report older than manifests, from its
    results.json), or None when ``out`` holds no optimlab report."""
    out = Path(out)
    manifest = _read_json(out / MANIFEST)
    if isinstance(manifest, dict) and manifest.get("generator") == GENERATOR:
        names = [str(name) for name in manifest.get("files", [])]
        return [name for name in names if "/" not in name and "\\" not in name and name not in ("..", ".")]
    doc = _read_json(out / "results.json")
    if isinstance(doc, dict) and doc.get("generator") == GENERATOR:
        figures = [e.get("figure") for e in doc.get("experiments", []) + doc.get("figures", [])]
        return ["index.html", "results.json"] + [f for f in figures if isinstance(f, str) and "/" not in f]
    return None


def check_destination(out, seed: int | None = None, only=None) -> Path:
    """Refuse, before any work, a destination that is a file, a folder that cannot be written, a folder holding
    something other than an optimlab report, or (with ``only``) a report made with another seed."""
    shown, out = str(out), Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {shown!r} is a file; give a folder for the report")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise ValueError(f"--out {shown!r}: the folder is not writable")
        if any(out.iterdir()) and own_files(out) is None:
            raise ValueError(f"--out {shown!r} already holds files that are not an optimlab report; give an empty "
                             f"or new folder")
        if only and seed is not None and own_files(out) is not None:
            doc = _read_json(out / "results.json") or {}
            if doc.get("seed") not in (None, seed):
                raise ValueError(f"--out {shown!r} holds a report made with seed {doc['seed']}; --only with seed "
                                 f"{seed} would mix seeds in one report: give --seed {doc['seed']} or another --out")
    else:
        parent = out.absolute().parent
        if not parent.is_dir():
            raise ValueError(f"--out {shown!r}: the folder {str(parent)!r} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ValueError(f"--out {shown!r}: the folder {str(parent)!r} is not writable")
    return out


def _render(figure_blob: bytes) -> bytes:
    figure = pickle.loads(figure_blob)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def render_figures(figures: list, workers: int | None = None) -> list[bytes]:
    """PNG bytes of each figure. Drawing dominates the report's time, so with several cores the figures are drawn
    in worker processes (forked, so they start with matplotlib already loaded)."""
    blobs = [pickle.dumps(f) for f in figures]
    workers = min(len(blobs), os.cpu_count() or 1) if workers is None else workers
    # fork is safe with Agg on Linux; elsewhere, or once JAX has started its threads (a fork then can deadlock), the
    # figures are drawn here
    if workers > 1 and sys.platform.startswith("linux") and "jax" not in sys.modules:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_render, blobs))
    return [_render(b) for b in blobs]


def results(report: Report, pngs: dict[str, str]) -> dict:
    """The JSON document: every experiment and figure with its claim, verdict and numbers."""
    experiments, studies = [], []
    for entry in report.entries:
        common = {"name": entry.name, "section": entry.section, "claim": entry.claim, "passed": entry.passed,
                  "measured": entry.verdict.measured, "numbers": entry.verdict.numbers, "figure": pngs[entry.name],
                  "note": entry.note, "seconds": entry.seconds}
        if entry.run is None:
            studies.append(common)
            continue
        run = entry.run.to_dict()
        experiments.append({**common, **{k: run[k] for k in (
            "optimizer", "hyperparameters", "batch_size", "epochs", "period", "schedule", "losses", "epochs_axis",
            "epoch_losses", "final_loss", "optimal_loss", "w", "b", "diverged", "diverged_at")}})
        experiments[-1]["diagnosis"] = entry.diagnosis.to_dict()
        if entry.name in report.replay_verdicts:
            v = report.replay_verdicts[entry.name]
            experiments[-1]["original_data"] = {"key": BY_NAME[entry.name].original, "passed": v.passed,
                                                "measured": v.measured}
    replays = []
    for r in report.replays:
        run = r.run.to_dict()
        replays.append({"key": r.key, "role": r.role, **{k: run[k] for k in (
            "optimizer", "hyperparameters", "batch_size", "epochs", "period", "schedule", "epoch_losses", "losses",
            "epochs_axis", "final_loss", "optimal_loss", "w", "b", "diverged", "diverged_at")}})
    return jsonable({
        "generator": GENERATOR, "seed": report.seed, "passed": not report.failures, "failures": report.failures,
        "optimal_loss": report.optimal_loss, "seconds": report.seconds, "versions": report.versions,
        "experiments": experiments, "figures": studies,
        "original_runs": replays,
    })


def merge(old: dict, new: dict) -> dict:
    """The results document of an earlier report ``old`` updated with the entries of ``new`` (same seed): every
    entry of either, the new one where both have it; the verdict summary recomputed over all of them."""
    doc = dict(new)
    for key in ("experiments", "figures"):
        fresh = {e["name"] for e in new[key]}
        doc[key] = [e for e in old.get(key, []) if e["name"] not in fresh] + new[key]
        doc[key] = [e for e in entries({"experiments": doc[key], "figures": []})]
    if not new.get("original_runs"):
        doc["original_runs"] = old.get("original_runs", [])
    failures = [e["name"] for e in entries(doc) if not e["passed"]]
    failures += [f"{e['name']} (original data)" for e in doc["experiments"]
                 if e.get("original_data") and not e["original_data"]["passed"]]
    doc["failures"], doc["passed"] = failures, not failures
    return doc


def write_report(report: Report, out, workers: int | None = None, merge_with_existing: bool = True) -> Path:
    """Write the report to folder ``out`` and return its index.html. Over an earlier report, entries it holds that
    ``report`` does not are kept (``merge_with_existing``; an earlier report of another seed is then refused rather
    than mixed) and only files of the earlier report's manifest are replaced or deleted."""
    out = check_destination(out)
    earlier = own_files(out) if out.is_dir() else None
    pngs = {e.name: f"{e.name}.png" for e in report.entries}
    images = dict(zip(pngs, render_figures([e.figure for e in report.entries], workers)))
    doc = results(report, pngs)
    kept_images = {}
    if earlier is not None and merge_with_existing:
        old = _read_json(out / "results.json")
        if isinstance(old, dict) and old.get("seed") not in (None, report.seed):
            raise ValueError(f"{str(out)!r} holds a report made with seed {old['seed']}; adding entries of seed "
                             f"{report.seed} would mix seeds: write to another folder, or replace it with "
                             f"merge_with_existing=False")
        if isinstance(old, dict):
            doc = merge(old, doc)
            for item in entries(doc):
                if item["name"] not in images:
                    try:
                        kept_images[item["name"]] = (out / item["figure"]).read_bytes()
                    except OSError:
                        raise ValueError(f"the report in {str(out)!r} lacks its figure {item['figure']!r}, so "
                                         f"entries cannot be kept: write the whole report again") from None
    doc = jsonable(doc)
    mine = sorted({"index.html", "results.json", MANIFEST, *(item["figure"] for item in entries(doc))})
    outputs = {out / name: data for name, data in ((pngs[n], images[n]) for n in images)}
    outputs[out / "results.json"] = json.dumps(doc, ensure_ascii=False, indent=1)
    outputs[out / "index.html"] = page(doc, {**kept_images, **images})
    outputs[out / MANIFEST] = json.dumps({"generator": GENERATOR, "files": mine}, indent=1)
    created = not out.exists()
    out.mkdir(parents=False, exist_ok=True)
    try:
        files.write_all(outputs)
    except BaseException:
        if created:
            out.rmdir()
        raise
    for name in set(earlier or []) - set(mine):  # the earlier report's own files that this one no longer has
        (out / name).unlink(missing_ok=True)
    return out / "index.html"
