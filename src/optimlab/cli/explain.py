"""``optimlab explain``: run a configuration (or read a saved run) and say why it ended as it did."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from optimlab import problems, results, train
from optimlab.cli import common, explain_log
from optimlab.text import number


def register(commands) -> None:
    p = commands.add_parser("explain", help="diagnose a run: converged, noise floor, oscillating, diverged, too slow",
                            description="Run the configuration given by the same flags as `optimlab train` (or read "
                                        "a run saved with `optimlab train --save`), classify how it ended and "
                                        "explain why, with the curvature, the stability bound that applies and a "
                                        "recommended range for η.")
    common.add_run_arguments(p)
    p.add_argument("--from", dest="source", metavar="FILE", help="explain a run saved by optimlab train --save")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_quiet(p)
    explain_log.add_arguments(p)
    p.set_defaults(handler=run)


def _load(path) -> results.Run:
    shown, path = str(path), Path(path)
    if path.is_dir():
        raise ValueError(f"--from {shown!r} is a folder; give a run saved by optimlab train --save")
    if not path.is_file():
        raise ValueError(f"saved run {shown!r} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"--from {shown!r} is not a run saved by optimlab train --save (not JSON text: "
                         f"{getattr(e, 'msg', None) or type(e).__name__})") from None
    if not isinstance(data, dict) or "provenance" not in data:
        raise ValueError(f"--from {shown!r} is not a run saved by optimlab train --save")
    return results.from_dict(data, problems.from_description(data["provenance"].get("problem", {})))


def run(args, out) -> int:
    if args.log:
        return explain_log.run(args, out)
    if args.optimal_loss is not None:
        raise ValueError("--optimal-loss describes a training log: give it with --log (optimlab's own runs know "
                         "their optimum where it exists)")
    if args.source:
        extra = common.given_run_options(args)
        if extra:
            raise ValueError(f"--from reads a saved run as it was made: leave out {', '.join(extra)} (they "
                             f"describe a new run; give them without --from to run one)")
        result = _load(args.source)
    else:
        problem, opt, schedule, kwargs = common.build(args)
        with common.progress(args, "train", unit="epoch") as progress:
            result = common.call(train, problem, opt, schedule=schedule, progress=progress, **kwargs)
    from optimlab.analysis.diagnosis import explain  # the analysis (and its solvers) only when a run is explained

    with common.progress(args, "explain") as progress:
        diagnoses = common.call(explain, result, progress=progress)
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
        facts = [f"λ_max {number(d.curvature.lambda_max)}", f"λ_min {number(d.curvature.lambda_min)}",
                 f"κ {number(d.curvature.condition_number)}"]
        if d.lr_max_stable is not None:
            facts.append(f"largest stable η {number(d.lr_max_stable)}")
        if d.recommended_lr:
            facts.append(f"recommended η [{number(d.recommended_lr[0], 3)}, {number(d.recommended_lr[1], 3)}]")
        if d.recommended_momentum:
            facts.append(f"recommended γ [{number(d.recommended_momentum[0], 3)}, "
                         f"{number(d.recommended_momentum[1], 3)}]")
        out("  " + " · ".join(facts) + f"  (curvature: {d.curvature.method})")
        out("")
    return 0
