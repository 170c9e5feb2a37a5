"""The report's page, drawn from its data: ``index.html`` is rendered from the ``results.json`` document and the
figures' PNG bytes, so a report updated with ``--only`` is redrawn from every entry it holds, old and new."""

from __future__ import annotations

import base64
import html

from optimlab.lecture.reproduction import ORDER, SECTION_SUMMARIES

GENERATOR = "optimlab reproduce"

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
    values = values if isinstance(values, list) else [values]
    return "[" + ", ".join("—" if v is None else f"{v:.4f}" for v in values) + "]"


def _hyper(h: dict) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in h.items())


def _run_table(item: dict) -> str:
    b = item.get("b")
    rows = [("optimizer", f"{item['optimizer']} ({_hyper(item['hyperparameters'])})"),
            ("batch size, epochs, record every", f"{item['batch_size']}, {item['epochs']}, {item['period']} examples"),
            ("learning-rate schedule", item["schedule"]),
            ("final loss / optimum", f"{_fmt(item['final_loss'])} / {_fmt(item['optimal_loss'])}"),
            ("w, b", f"{_vector(item['w'])}, {'—' if b is None else format(b, '.4f')}"),
            ("diverged", f"after {item['diverged_at']} examples" if item["diverged"] else "no"),
            ("loss printed per epoch", " ".join(_fmt(x) for x in item["epoch_losses"]))]
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def entries(doc: dict) -> list[dict]:
    """Every experiment and figure of a results document, in the lecture's order."""
    items = doc["experiments"] + doc["figures"]
    return sorted(items, key=lambda item: ORDER.index(item["name"]) if item["name"] in ORDER else len(ORDER))


def page(doc: dict, images: dict[str, bytes]) -> str:
    """The self-contained page of results document ``doc``; ``images`` maps each entry's name to its PNG."""
    items = entries(doc)
    n_pass = sum(item["passed"] for item in items)
    replayed = [item["original_data"] for item in doc["experiments"] if item.get("original_data")]
    v = doc["versions"]
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
        f"<p class='summary'>{_badge(not doc['failures'])} <b>{n_pass} of {len(items)} claims hold</b>"
        + (f" (and {sum(r['passed'] for r in replayed)} of {len(replayed)} on the lecture's original inputs)"
           if replayed else "")
        + f" · seed {doc['seed']} · least-squares optimum {_fmt(doc.get('optimal_loss'))} · runs computed in "
        f"{doc['seconds']:.1f} s · "
        f"optimlab {_e(v.get('optimlab'))}, numpy {_e(v.get('numpy'))}, matplotlib {_e(v.get('matplotlib'))}, "
        f"Python {_e(v.get('python'))}</p>",
    ]
    if doc["failures"]:
        parts.append(f"<p><b>Claims that do not hold:</b> {_e(', '.join(doc['failures']))}</p>")
    parts.append("<nav><ol>" + "".join(f"<li>{_badge(e['passed'])}<a href='#{e['name']}'>{_e(e['name'])}</a></li>"
                                       for e in items) + "</ol></nav>")
    section = None
    for e in items:
        if e["section"] != section:
            section = e["section"]
            parts.append(f"<h2>{_e(section)}</h2>")
            if section in SECTION_SUMMARIES:
                parts.append(f"<p>{_e(SECTION_SUMMARIES[section])}</p>")
        image = base64.b64encode(images[e["name"]]).decode("ascii")
        parts.append(f"<h3 id='{e['name']}'>{_badge(e['passed'])}{_e(e['name'])}</h3>")
        parts.append(f"<p class='claim'><b>The lecture's claim:</b> {_e(e['claim'])}.</p>")
        parts.append(f"<figure><img alt='{_e(e['name'])}: figure' src='data:image/png;base64,{image}'></figure>")
        parts.append(f"<p class='measured'><b>Measured:</b> {_e(e['measured'])}.</p>")
        if "optimizer" in e:
            parts.append(_run_table(e))
            if e.get("original_data"):
                rv = e["original_data"]
                parts.append(f"<p class='measured'>{_badge(rv['passed'])}<b>On the lecture's original inputs</b> "
                             f"(<code>{_e(rv['key'])}</code>): {_e(rv['measured'])}.</p>")
        if e.get("note"):
            parts.append(f"<p class='note'><b>Why:</b> {_e(e['note'])}</p>")
        if e.get("diagnosis"):
            d = e["diagnosis"]
            parts.append(f"<details><summary><b>optimlab explain:</b> {_e(str(d['diagnosis']).replace('_', ' '))}"
                         f"</summary><p class='note'>{_e(d['explanation'])}</p></details>")
    if doc.get("original_runs"):
        parts.append(_replays(doc["original_runs"]))
    parts.append(f"<p class='muted'>Generated by <code>{GENERATOR}</code> with seed {doc['seed']}: the data, "
                 "the initial parameters (w ~ N(0, 1), b = 0) and the example order are all drawn from it. "
                 "results.json holds every curve and number shown here.</p></body></html>")
    return "\n".join(parts)


def _replays(replays: list[dict]) -> str:
    rows = []
    for r in replays:
        losses = " ".join(_fmt(x) for x in r["epoch_losses"])
        rows.append(f"<tr><td><code>{_e(r['key'])}</code><br><span class='muted'>{_e(r['role'])}</span></td>"
                    f"<td>{_e(r['optimizer'])} ({_e(_hyper(r['hyperparameters']))}), batch {r['batch_size']}, "
                    f"{_e(r['schedule'])}</td><td class='num'>{_e(losses)}</td>"
                    f"<td>{_e(_vector(r['w']))}, {_fmt(r['b'], '.4f')}</td>"
                    f"<td>{'after ' + str(r['diverged_at']) + ' examples' if r['diverged'] else 'no'}</td></tr>")
    return ("<h2>The original runs, replayed</h2><p>Each record of the lecture's original runs, replayed from the "
            "data, initial parameters and minibatch order its MXNet code used, with the conventions the record "
            "states. The original computed in float32, optimlab in float64: expect agreement to about 4 "
            "significant digits; the original's overflowing runs print inf/nan where optimlab reports the "
            "divergence.</p><table><tr><th>record</th><th>configuration</th><th>loss printed per epoch</th>"
            "<th>w, b</th><th>diverged</th></tr>" + "".join(rows) + "</table>")
