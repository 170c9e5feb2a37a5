"""Writing a :class:`~optimlab.lecture.reproduce.Report`: ``index.html`` (one self-contained page, figures
embedded), ``results.json`` and one PNG per figure, all at once or not at all.

The report is assembled in a temporary folder beside the destination and moved into place only when complete; an
existing destination is replaced only if it is empty or an earlier optimlab report.
"""

from __future__ import annotations

import base64
import html
import io
import json
import multiprocessing
import os
import pickle
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from optimlab.lecture.experiments import BY_NAME
from optimlab.lecture.original import settings as original_settings
from optimlab.lecture.reproduction import SECTION_SUMMARIES, Report
from optimlab.results import jsonable

GENERATOR = "optimlab reproduce"
OWN_FILES = ("index.html", "results.json")


def check_destination(out) -> Path:
    """Refuse, before any work, a destination that is a file or a folder holding something other than a report."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder for the report")
    if out.is_dir() and any(out.iterdir()):
        marker = out / "results.json"
        try:
            ours = json.loads(marker.read_text(encoding="utf-8")).get("generator") == GENERATOR
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise ValueError(f"--out {str(out)!r} already holds files that are not an optimlab report; "
                             f"give an empty or new folder")
    if not out.resolve().parent.is_dir():
        raise ValueError(f"the folder {str(out.resolve().parent)!r} for the report does not exist")
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
    if workers > 1 and sys.platform.startswith("linux"):  # fork is safe with Agg on Linux; elsewhere draw here
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_render, blobs))
    return [_render(b) for b in blobs]


def results(report: Report, pngs: dict[str, str]) -> dict:
    """The JSON document: every experiment and figure with its claim, verdict and numbers."""
    experiments, studies = [], []
    for entry in report.entries:
        common = {"name": entry.name, "section": entry.section, "claim": entry.claim, "passed": entry.passed,
                  "measured": entry.verdict.measured, "numbers": entry.verdict.numbers, "figure": pngs[entry.name],
                  "seconds": entry.seconds}
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
        "seconds": report.seconds, "versions": report.versions, "experiments": experiments, "figures": studies,
        "original_runs": replays,
    })


def write_report(report: Report, out, workers: int | None = None) -> Path:
    """Write the report to folder ``out`` (created or replaced as a whole); returns its index.html."""
    out = check_destination(out)
    parent = out.resolve().parent
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; the report is an ordinary folder
    try:
        pngs = {e.name: f"{e.name}.png" for e in report.entries}
        images = dict(zip(pngs, render_figures([e.figure for e in report.entries], workers)))
        for name, data in images.items():
            (staging / pngs[name]).write_bytes(data)
        doc = results(report, pngs)
        (staging / "results.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        (staging / "index.html").write_text(page(report, images), encoding="utf-8")
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
            os.replace(out, old / "report")
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / "index.html"


# -- the page ------------------------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1080px;margin:2em auto;padding:0 1.2em;
color:#1d1d1f;line-height:1.5;background:#fff}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.3em;border-bottom:2px solid #e5e5e5;padding-bottom:.25em;
margin-top:2.2em}h3{font-size:1.08em;margin:1.6em 0 .3em}
.lede{color:#444;margin-top:0}.summary{font-size:1.05em;padding:.7em 1em;border-radius:.5em;background:#f5f5f7}
.badge{display:inline-block;min-width:3.2em;text-align:center;padding:.05em .55em;border-radius:1em;font-weight:600;
font-size:.8em;vertical-align:.1em;margin-right:.4em}.pass{background:#dff3dc;color:#17621a}
.fail{background:#fde0de;color:#a3160f}.claim{border-left:3px solid #c7c7cc;padding-left:.8em;color:#333;margin:.4em 0}
.measured{margin:.4em 0}.note{color:#555;font-size:.95em}figure{margin:.8em 0}img{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0}td,th{padding:.25em .7em;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}th{background:#fafafa}td.num{font-variant-numeric:tabular-nums;text-align:right}
nav ol{columns:2;font-size:.92em}code{font-size:.92em}.muted{color:#777;font-size:.9em}
"""


def _e(text) -> str:
    return html.escape(str(text))


def _badge(passed: bool) -> str:
    return f'<span class="badge {"pass" if passed else "fail"}">{"pass" if passed else "FAIL"}</span>'


def _fmt(x, spec=".4e") -> str:
    return "—" if x is None else format(x, spec) if isinstance(x, float) else _e(x)


def _vector(values) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"


def _run_table(entry) -> str:
    run = entry.run
    one = run.to_dict()
    rows = [("optimizer", f"{run.optimizer} ({', '.join(f'{k} = {v:g}' for k, v in run.hyperparams[0].items())})"),
            ("batch size, epochs, record every", f"{run.batch_size}, {run.epochs}, {run.period} examples"),
            ("learning-rate schedule", run.schedule),
            ("final loss / optimum", f"{_fmt(one['final_loss'])} / {_fmt(one['optimal_loss'])}"),
            ("w, b", f"{_vector(run.named_params['w'])}, {run.named_params['b']:.4f}"),
            ("diverged", f"after {run.diverged_at} examples" if run.diverged else "no"),
            ("loss printed per epoch", " ".join(_fmt(x) for x in one["epoch_losses"]))]
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def page(report: Report, images: dict[str, bytes]) -> str:
    n_pass = sum(e.passed for e in report.entries)
    total = len(report.entries)
    v = report.versions
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<title>optimlab: the mathematics behind hyperparameter tuning, reproduced</title>"
        f"<style>{STYLE}</style></head><body>",
        "<h1>The mathematics behind hyperparameter tuning, reproduced</h1>",
        "<p class='lede'>Every experiment and figure of the lecture (the Taylor argument for the learning rate; GD, "
        "SGD and minibatch SGD; decay; momentum; Adagrad, RMSProp, Adam, Adadelta), each with the lecture's claim "
        "checked by a run. Data: 1000 examples, features ~ N(0, 1), w = [2, −3.4], b = 4.2, noise 0.01; loss "
        "(ŷ − y)²/2 averaged over all examples, recorded as the lecture does.</p>",
        f"<p class='summary'>{_badge(not report.failures)} <b>{n_pass} of {total} claims hold</b>"
        + (f" (and {sum(x.passed for x in report.replay_verdicts.values())} of {len(report.replay_verdicts)} on "
           f"the lecture's original inputs)" if report.replay_verdicts else "")
        + f" · seed {report.seed} · least-squares optimum {report.optimal_loss:.4e} · runs computed in "
        f"{report.seconds:.1f} s · "
        f"optimlab {_e(v.get('optimlab'))}, numpy {_e(v.get('numpy'))}, matplotlib {_e(v.get('matplotlib'))}, "
        f"Python {_e(v.get('python'))}</p>",
    ]
    if report.failures:
        parts.append(f"<p><b>Claims that do not hold:</b> {_e(', '.join(report.failures))}</p>")
    parts.append("<nav><ol>" + "".join(f"<li>{_badge(e.passed)}<a href='#{e.name}'>{_e(e.name)}</a></li>"
                                       for e in report.entries) + "</ol></nav>")
    section = None
    for e in report.entries:
        if e.section != section:
            section = e.section
            parts.append(f"<h2>{_e(section)}</h2>")
            if section in SECTION_SUMMARIES:
                parts.append(f"<p>{_e(SECTION_SUMMARIES[section])}</p>")
        image = base64.b64encode(images[e.name]).decode("ascii")
        parts.append(f"<h3 id='{e.name}'>{_badge(e.passed)}{_e(e.name)}</h3>")
        parts.append(f"<p class='claim'><b>The lecture's claim:</b> {_e(e.claim)}.</p>")
        parts.append(f"<figure><img alt='{_e(e.name)}: figure' src='data:image/png;base64,{image}'></figure>")
        parts.append(f"<p class='measured'><b>Measured:</b> {_e(e.verdict.measured)}.</p>")
        if e.run is not None:
            parts.append(_run_table(e))
            if e.name in report.replay_verdicts:
                rv = report.replay_verdicts[e.name]
                parts.append(f"<p class='measured'>{_badge(rv.passed)}<b>On the lecture's original inputs</b> "
                             f"(<code>{_e(BY_NAME[e.name].original)}</code>): {_e(rv.measured)}.</p>")
        if e.note:
            parts.append(f"<p class='note'><b>Why:</b> {_e(e.note)}</p>")
        if e.diagnosis is not None:
            parts.append(f"<details><summary><b>optimlab explain:</b> {_e(e.diagnosis.diagnosis.replace('_', ' '))}"
                         f"</summary><p class='note'>{_e(e.diagnosis.explanation)}</p></details>")
    if report.replays:
        parts.append(_replays(report))
    parts.append(f"<p class='muted'>Generated by <code>{GENERATOR}</code> with seed {report.seed}: the data, "
                 "the initial parameters (w ~ N(0, 1), b = 0) and the example order are all drawn from it. "
                 "results.json holds every curve and number shown here.</p></body></html>")
    return "\n".join(parts)


def _replays(report: Report) -> str:
    rows = []
    for r in report.replays:
        s = original_settings(r.key)
        hyper = ", ".join(f"{k} = {v:g}" for k, v in s["hyperparams"].items())
        losses = " ".join(_fmt(float(x)) for x in r.run.epoch_losses)
        w = r.run.named_params
        rows.append(f"<tr><td><code>{_e(r.key)}</code><br><span class='muted'>{_e(r.role)}</span></td>"
                    f"<td>{_e(s['optimizer'])} ({_e(hyper)}), batch {s['batch_size']}, {_e(s['schedule'].name)}"
                    f"</td><td class='num'>{_e(losses)}</td><td>{_e(_vector(w['w']))}, {float(w['b']):.4f}</td>"
                    f"<td>{'after ' + str(r.run.diverged_at) + ' examples' if r.run.diverged else 'no'}</td></tr>")
    return ("<h2>The original runs, replayed</h2><p>Each record of the lecture's original runs, replayed from the "
            "data, initial parameters and minibatch order its MXNet code used, with the conventions the record "
            "states. The original computed in float32, optimlab in float64: expect agreement to about 4 "
            "significant digits; the original's overflowing runs print inf/nan where optimlab reports the "
            "divergence.</p><table><tr><th>record</th><th>configuration</th><th>loss printed per epoch</th>"
            "<th>w, b</th><th>diverged</th></tr>" + "".join(rows) + "</table>")
