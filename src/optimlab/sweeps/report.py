"""The comparison's report: DIR/index.html, results.json and three PNGs, drawn from :func:`compare`'s data.

The folder is optimlab's only when it is empty or holds just what a previous report wrote there, listed in its
manifest ``.optimlab-compare.json``: any other file makes the command refuse, before any work, so nothing of the
user's is overwritten or deleted. Each file is written whole or not at all (``files.write_atomic``).
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import numpy as np

from optimlab import files
from optimlab.results import jsonable

MANIFEST = ".optimlab-compare.json"
FILES = ("index.html", "results.json", "curves.png", "sensitivity.png", "time_to_target.png")


def check_folder(out) -> Path:
    """Refuse a folder holding files this report did not write (see the module docstring)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file, not a folder")
    if out.is_dir():
        manifest = out / MANIFEST
        owned = set(json.loads(manifest.read_text()).get("files", [])) & set(FILES) if manifest.is_file() else set()
        others = sorted(p.name for p in out.iterdir() if p.name != MANIFEST and p.name not in owned)
        if others:
            raise ValueError(f"--out {str(out)!r} holds files optimlab did not write ({others[0]}"
                             f"{', ...' if len(others) > 1 else ''}); choose an empty or new folder")
        return out
    if not out.parent.resolve().is_dir():
        raise ValueError(f"folder {str(out.parent)!r} for --out does not exist")
    return out


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _label(hyper: dict) -> str:
    return ", ".join(f"{k}={v:.3g}" for k, v in hyper.items())


def curves_figure(result):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    for i, (name, r) in enumerate(result["results"].items()):
        best = r["best"]
        x, curves = best["epochs_axis"], np.where(np.isnan(best["curves"]), np.inf, best["curves"])
        with np.errstate(invalid="ignore"):  # percentiles of +∞ (diverged seeds) are +∞ or NaN: not drawn
            lo, mid, hi = np.percentile(curves, [25, 50, 75], axis=0)
        color = f"C{i}"
        ax.plot(x, mid, color=color, label=f"{name} ({_label(best['hyperparams'])})")
        ax.fill_between(x, np.where(np.isfinite(lo), lo, np.nan), np.where(np.isfinite(hi), hi, np.nan),
                        color=color, alpha=0.2, linewidth=0)
        ax.plot(x, r["default"]["median_curve"], color=color, linestyle=":", linewidth=1)
    if result["optimal_loss"] is not None:
        ax.axhline(result["optimal_loss"], color="k", linewidth=0.8, label="optimum f*")
    ax.axhline(result["target"], color="grey", linestyle="--", linewidth=0.8, label="target")
    ax.set(yscale="log", xlabel="epoch", ylabel="loss (median over seeds, band 25–75 %)",
           title="best configurations (solid) and defaults (dotted)")
    ax.legend(fontsize=7)
    return fig


def sensitivity_figure(result):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    for i, (name, r) in enumerate(result["results"].items()):
        axis = "lr" if "lr" in r["grid"] else "eps"
        x, score = np.asarray(r["grid"][axis]), np.asarray(r["scores"])
        for n, value in enumerate(sorted(set(tuple((k, v) for k, v in zip(r["grid"], vals) if k != axis)
                                for vals in zip(*r["grid"].values())))):
            keep = np.array([all(r["grid"][k][j] == v for k, v in value) for j in range(len(x))])
            label = name + (f" {dict(value)}" if value else "") + (" (ε)" if axis == "eps" else "")
            ax.plot(x[keep], np.where(np.isfinite(score[keep]), score[keep], np.nan), marker=".",
                    color=f"C{i}", linestyle=("-", "--", ":", "-.")[n % 4], label=label, alpha=0.9)
            blown = keep & ~np.isfinite(score)
            if blown.any() and np.isfinite(score).any():  # diverged: marked at the height of the worst finite score
                ax.plot(x[blown], np.full(blown.sum(), score[np.isfinite(score)].max()), "x", color=f"C{i}")
    ax.set(xscale="log", yscale="log", xlabel="learning rate η (Adadelta: ε)",
           ylabel="final loss (median over tuning seeds)", title="learning-rate sensitivity (× = diverged)")
    ax.legend(fontsize=7)
    return fig


def time_figure(result):
    from matplotlib.figure import Figure

    names = list(result["results"])
    fig = Figure(figsize=(7, 0.4 * len(names) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    epochs = [r["best"]["epochs_to_target"] for r in result["results"].values()]
    ax.barh(names, [np.nan if e is None else e for e in epochs], color=[f"C{i}" for i in range(len(names))])
    ax.set(xlabel=f"epochs until the median loss reaches the target {result['target']:.4g}",
           title="time to target (best configurations)")
    ax.invert_yaxis()
    return fig


def _fmt(x, spec=".4g"):
    return "—" if x is None else format(x, spec)


def page(result) -> str:
    rows = []
    for name, r in result["results"].items():
        for kind in ("best", "default"):
            e = r[kind]
            finals = np.where(np.isfinite(e["final_losses"]), e["final_losses"], np.inf)
            with np.errstate(invalid="ignore"):
                q1, q2, q3 = (_fmt(float(q) if np.isfinite(q) else None, ".5g").replace("—", "diverged")
                              for q in np.percentile(finals, [25, 50, 75]))
            rows.append(f"<tr><td>{name}</td><td>{kind}</td><td>{html.escape(_label(e['hyperparams']))}</td>"
                        f"<td>{q2} [{q1}, {q3}]</td><td>{e['diverged']}/{len(finals)}</td>"
                        f"<td>{_fmt(e['epochs_to_target'])}</td><td>{_fmt(e['seconds_to_target'], '.3g')}</td>"
                        f"<td>{r['budget'] if kind == 'best' else ''}</td></tr>")
    commands = "\n".join(html.escape(e["commands"][0]) for r in result["results"].values()
                         for e in (r["best"], r["default"]))
    loop = result["loop"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>optimlab compare</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}td,th{{padding:2px 8px;text-align:left}}
pre{{background:#f4f4f4;padding:8px;overflow-x:auto;font-size:12px}}</style></head><body>
<h1>Optimizers compared on {html.escape(str(result['problem'].get('name')))}</h1>
<p>Budget per optimizer: a log grid of {result['points']} learning rates over [{result['lr_range'][0]:g},
{result['lr_range'][1]:g}] (Adadelta: ε), crossed with {html.escape(json.dumps(result['grid']))}, on tuning
seeds {result['tune_seeds']}; the best and the defaults rerun on seeds
{result['rerun_seeds'][0]}–{result['rerun_seeds'][-1]}.
Batch size {loop['batch_size']}, {loop['epochs']} epochs, schedule {html.escape(loop['schedule'])}.
Optimum f* = {_fmt(result['optimal_loss'], '.6g')}; target loss {result['target']:.6g}. Data SHA-256
{result['data_sha256'][:16]}…</p>
<table><tr><th>optimizer</th><th></th><th>configuration</th><th>final loss: median [25 %, 75 %]</th>
<th>diverged</th><th>epochs to target</th><th>seconds to target</th><th>configurations tried</th></tr>
{''.join(rows)}</table>
<h2>Loss curves</h2><img src="curves.png" width="100%">
<h2>Learning-rate sensitivity</h2><img src="sensitivity.png" width="100%">
<h2>Time to target</h2><img src="time_to_target.png">
<h2>Rerun any configuration (first rerun seed; results.json lists every seed's command)</h2><pre>{commands}</pre>
</body></html>"""


def write(result, out) -> list[Path]:
    """Write the report into ``out`` (checked with :func:`check_folder`); returns the files written."""
    out = check_folder(out)
    out.mkdir(exist_ok=True)
    contents = {"results.json": json.dumps(jsonable(result)), "curves.png": _png(curves_figure(result)),
                "sensitivity.png": _png(sensitivity_figure(result)), "time_to_target.png": _png(time_figure(result)),
                "index.html": page(result)}
    files.write_atomic(out / MANIFEST, json.dumps({"writer": "optimlab compare", "files": list(contents)}))
    return [files.write_atomic(out / name, data) for name, data in contents.items()]
