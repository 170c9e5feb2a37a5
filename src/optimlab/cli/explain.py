"""``optimlab explain``: run a configuration (or read a saved run) and say why it ended as it did."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from optimlab import problems, results, train
from optimlab.analysis.diagnosis import explain
from optimlab.cli import common, explain_log


def register(commands) -> None:
    p = commands.add_parser("explain", help="diagnose a run: converged, noise floor, oscillating, diverged, too slow",
                            description="Run the configuration given by the same flags as `optimlab train` (or read "
                                        "a run saved with `optimlab train --save`), classify how it ended and "
                                        "explain why, with the curvature, the stability bound that applies and a "
                                        "recommended range for η.")
    common.add_run_arguments(p)
    p.add_argument("--from", dest="source", metavar="FILE", help="explain a run saved by optimlab train --save")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    explain_log.add_arguments(p)
    p.set_defaults(handler=run)


def _load(path) -> results.Run:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"saved run {str(path)!r} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a JSON file: {e}") from None
    if not isinstance(data, dict) or "provenance" not in data:
        raise ValueError(f"{path} is not a run saved by optimlab train --save")
    return results.from_dict(data, problems.from_description(data["provenance"].get("problem", {})))


def run(args, out) -> int:
    if args.log:
        return explain_log.run(args, out)
    if args.source:
        result = _load(args.source)
    else:
        problem, opt, schedule, kwargs = common.build(args)
        result = train(problem, opt, schedule=schedule, **kwargs)
    diagnoses = explain(result)
    many = isinstance(diagnoses, list)
    items = diagnoses if many else [diagnoses]
    if args.json:
        docs = [d.to_dict() for d in items]
        out(json.dumps(docs if many else docs[0]))
        return 0
    labels = result.labels()
    for k, d in enumerate(items):
        head = f"{result.optimizer} {labels[k]}, batch {result.batch_size}, {result.epochs} epochs"
        out(f"{f'[{k + 1}/{len(items)}] ' if many else ''}{head}: {d.diagnosis.upper()}")
        out(textwrap.fill(d.explanation, width=110, initial_indent="  ", subsequent_indent="  "))
        facts = [f"λ_max {d.curvature.lambda_max:.4g}", f"λ_min {d.curvature.lambda_min:.4g}",
                 f"κ {d.curvature.condition_number:.4g}"]
        if d.lr_max_stable is not None:
            facts.append(f"largest stable η {d.lr_max_stable:.4g}")
        if d.recommended_lr:
            facts.append(f"recommended η [{d.recommended_lr[0]:.3g}, {d.recommended_lr[1]:.3g}]")
        if d.recommended_momentum:
            facts.append(f"γ ≤ {d.recommended_momentum[1]:.3g}")
        out("  " + " · ".join(facts) + f"  (curvature: {d.curvature.method})")
        out("")
    return 0
