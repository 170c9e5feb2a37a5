"""A declared sweep: parse and validate a TOML spec, expand it into configurations and chunks.

A spec names a problem, an optimizer with its fixed hyperparameters, grid axes (crossed) and random axes (drawn by
a seeded sampler), the seeds, and the loop settings::

    name = "lr-momentum"                      # the sweep's name in its store
    seed = 0                                  # seeds the sampler of the random axes
    chunk_size = 64                           # configurations per vectorized train() call

    [problem]                                 # optimlab.problems.make(name, **options)
    name = "linear-regression"

    [optimizer]                               # optimlab.optim.make(name, **fixed hyperparameters)
    name = "momentum"

    [grid]                                    # crossed; a list, or a range {log|linear = [lo, hi], num = N}
    lr = {log = [1e-3, 1], num = 10}
    batch_size = [10, 100]                    # the loop's batch size may be an axis too

    [random]                                  # `samples` draws, each crossed with the grid
    samples = 8
    momentum = {uniform = [0.0, 0.99]}        # or {loguniform = [lo, hi]}

    [loop]
    seeds = [1, 2, 3]                         # or an integer n: seeds 1..n
    epochs = 5
    schedule = {name = "lecture", after = 2, factor = 0.1}

Configurations are ordered by (batch size, seed), then by the hyperparameter combinations; a chunk holds at most
``chunk_size`` configurations that share a batch size and a seed, because one ``optimlab.train`` call draws its
initial parameters and minibatch order from one seed and uses one batch size. So each configuration gives exactly
what ``optimlab.train(problem, optim.make(name, **its hyperparameters), seed=s, batch_size=B, ...)`` gives, on the
data of ``[problem]`` (whose own ``seed`` option, where it takes one, draws the data once for the whole sweep).

The sweep's identity is the SHA-256 of the validated spec in canonical JSON: the same declaration, however it is
written in TOML, is the same sweep; any change of a value is a new one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimlab import checks, optim, problems, schedules

TOP_KEYS = {"name", "seed", "chunk_size", "problem", "optimizer", "grid", "random", "loop"}
LOOP_KEYS = {"seeds", "epochs", "batch_size", "period", "init_scale", "schedule"}
DEFAULT_CHUNK = 64


@dataclass(frozen=True)
class Spec:
    """A validated sweep declaration (plain data, JSON-ready) and the configurations it expands to."""

    data: dict

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def id(self) -> str:
        """The first 16 hex digits of the SHA-256 of the canonical JSON of the spec."""
        text = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def combinations(self) -> list[dict[str, float]]:
        """The optimizer hyperparameters of each combination: the grid crossed with the random draws (fixed
        hyperparameters added), in a fixed order. The random draws come from ``seed`` alone."""
        grid = {k: v for k, v in self.data["grid"].items() if k != "batch_size"}
        rows = [dict(zip(grid, values)) for values in itertools.product(*grid.values())] or [{}]
        random = self.data["random"]
        if random:
            rng = np.random.default_rng(self.data["seed"])
            axes = {k: v for k, v in random.items() if k != "samples"}
            draws = [{k: _draw(rng, law) for k, law in axes.items()} for _ in range(random["samples"])]
            rows = [{**row, **draw} for row in rows for draw in draws]
        fixed = {k: v for k, v in self.data["optimizer"].items() if k != "name"}
        return [{**fixed, **row} for row in rows]

    def groups(self) -> list[tuple[int, int]]:
        """The (batch size, seed) pairs, in order."""
        sizes = self.data["grid"].get("batch_size") or [self.data["loop"]["batch_size"]]
        return [(int(b), int(s)) for b in sizes for s in self.data["loop"]["seeds"]]

    def chunks(self) -> list[dict]:
        """Every chunk: its index, batch size, seed, first configuration index and hyperparameter rows."""
        combos, size, out, first = self.combinations(), self.data["chunk_size"], [], 0
        for batch_size, seed in self.groups():
            for start in range(0, len(combos), size):
                rows = combos[start:start + size]
                out.append({"chunk": len(out), "batch_size": batch_size, "seed": seed, "first": first, "rows": rows})
                first += len(rows)
        return out

    @property
    def num_configs(self) -> int:
        return len(self.combinations()) * len(self.groups())


def _draw(rng, law: dict) -> float:
    (kind, (lo, hi)), = law.items()
    if kind == "uniform":
        return float(rng.uniform(lo, hi))
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _axis(name: str, value) -> list[float]:
    """A grid axis: a list of numbers, or {log = [lo, hi], num = N} / {linear = [lo, hi], num = N}."""
    if isinstance(value, dict):
        kinds = [k for k in value if k in ("log", "linear")]
        if len(kinds) != 1 or set(value) != {kinds[0], "num"}:
            raise ValueError(f"grid.{name} must be a list or {{log|linear = [lo, hi], num = N}}, got {value!r}")
        lo, hi = _bounds(f"grid.{name}.{kinds[0]}", value[kinds[0]], positive=kinds[0] == "log")
        num = checks.check_int(f"grid.{name}.num", value["num"], minimum=1)
        values = np.geomspace(lo, hi, num) if kinds[0] == "log" else np.linspace(lo, hi, num)
        return [float(v) for v in values]
    if not isinstance(value, list) or not value:
        raise ValueError(f"grid.{name} must be a non-empty list or a range table, got {value!r}")
    return [float(v) for v in checks.as_values(f"grid.{name}", value)]


def _bounds(name: str, value, positive: bool) -> tuple[float, float]:
    if not (isinstance(value, list) and len(value) == 2):
        raise ValueError(f"{name} must be [lo, hi], got {value!r}")
    lo, hi = (float(v) for v in checks.as_values(name, value))
    if not lo < hi or (positive and lo <= 0):
        raise ValueError(f"{name} must satisfy {'0 < ' if positive else ''}lo < hi, got [{lo}, {hi}]")
    return lo, hi


def _random_axes(random: dict) -> dict:
    if not random:
        return {}
    if "samples" not in random:
        raise ValueError("random needs samples = N (how many draws)")
    out = {"samples": checks.check_int("random.samples", random["samples"], minimum=1)}
    for name, law in random.items():
        if name == "samples":
            continue
        if not (isinstance(law, dict) and len(law) == 1 and next(iter(law)) in ("uniform", "loguniform")):
            raise ValueError(f"random.{name} must be {{uniform = [lo, hi]}} or {{loguniform = [lo, hi]}}, "
                             f"got {law!r}")
        kind = next(iter(law))
        out[name] = {kind: list(_bounds(f"random.{name}.{kind}", law[kind], positive=kind == "loguniform"))}
    return out


def _loop(loop: dict) -> dict:
    unknown = set(loop) - LOOP_KEYS
    if unknown:
        raise ValueError(f"loop takes no setting {sorted(unknown)[0]!r}; it takes: {', '.join(sorted(LOOP_KEYS))}")
    seeds = loop.get("seeds", [1])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = list(range(1, checks.check_int("loop.seeds", seeds, minimum=1) + 1))
    if not isinstance(seeds, list) or not seeds:
        raise ValueError(f"loop.seeds must be a positive integer n (seeds 1..n) or a list of seeds, got {seeds!r}")
    seeds = [checks.check_int("loop.seeds", s, minimum=0) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"loop.seeds must not repeat a seed, got {seeds}")
    out = {"seeds": seeds, "epochs": checks.check_int("loop.epochs", loop.get("epochs", 5), minimum=1),
           "batch_size": checks.check_int("loop.batch_size", loop.get("batch_size", 10), minimum=1),
           "init_scale": float(checks.check_range("loop.init_scale", loop.get("init_scale", 1.0), "positive"))}
    if loop.get("period") is not None:
        out["period"] = checks.check_int("loop.period", loop["period"], minimum=1)
    schedule = dict(loop.get("schedule") or {"name": "constant"})
    if not isinstance(schedule, dict) or "name" not in schedule:
        raise ValueError(f"loop.schedule must be a table with a name, got {schedule!r}")
    built = schedules.make(schedule.pop("name"), **schedule)  # validates name and settings
    if built.num_configs:
        raise ValueError("loop.schedule settings must be single numbers; sweep them as axes instead")
    out["schedule"] = {"name": built.name, **built.settings}
    return out


def validate(data: dict, name: str | None = None) -> Spec:
    """Check a spec (a dict as read from TOML) and return it normalized. Every error is one ``ValueError`` line
    naming the key, the value and what is allowed, raised before anything runs."""
    if not isinstance(data, dict):
        raise ValueError("a sweep spec must be a table")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise ValueError(f"spec takes no key {sorted(unknown)[0]!r}; it takes: {', '.join(sorted(TOP_KEYS))}")
    name = data.get("name", name)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"spec needs name = \"...\" (a non-empty string), got {name!r}")
    problem = dict(data.get("problem") or {"name": problems.DEFAULT_PROBLEM})
    if not isinstance(problem.get("name"), str):
        raise ValueError(f"[problem] needs name = one of: {', '.join(problems.PROBLEMS)}")
    problems.make(problem["name"], **{k: v for k, v in problem.items() if k != "name"})  # validates the options
    opt = dict(data.get("optimizer") or {})
    if not isinstance(opt.get("name"), str):
        raise ValueError(f"spec needs [optimizer] with name = one of: {', '.join(optim.OPTIMIZERS)}")
    for key, value in opt.items():
        if key != "name" and not isinstance(checks.as_values(f"optimizer.{key}", value), float):
            raise ValueError(f"optimizer.{key} must be one number; sweep several values as a grid axis")
    grid = {k: _axis(k, v) for k, v in (data.get("grid") or {}).items()}
    random = _random_axes(data.get("random") or {})
    axes = [k for k in grid if k != "batch_size"] + [k for k in random if k != "samples"]
    clash = sorted({k for k in axes if k in opt} | {k for k in grid if k in random})
    if clash:
        raise ValueError(f"hyperparameter {clash[0]!r} is given twice (fixed, grid or random); give it once")
    allowed = optim.defaults(opt["name"])
    for key in axes:
        if key not in allowed:
            raise ValueError(f"{opt['name']} takes no hyperparameter {key!r}; it takes: {', '.join(allowed)}")
    if "batch_size" in grid:
        grid["batch_size"] = [checks.check_int("grid.batch_size", b, minimum=1) for b in grid["batch_size"]]
    spec = Spec({
        "name": name.strip(),
        "seed": checks.check_int("seed", data.get("seed", 0), minimum=0),
        "chunk_size": checks.check_int("chunk_size", data.get("chunk_size", DEFAULT_CHUNK), minimum=1),
        "problem": problem,
        "optimizer": {k: (v if k == "name" else float(v)) for k, v in opt.items()},
        "grid": grid, "random": random, "loop": _loop(data.get("loop") or {}),
    })
    if "lr" not in allowed and spec.data["loop"]["schedule"]["name"] != "constant":
        raise ValueError(f"{opt['name']} has no learning rate, so loop.schedule must be constant, "
                         f"got {spec.data['loop']['schedule']['name']}")
    # every value must be one optim.make accepts: try the whole set of combinations once, before any work
    combos = spec.combinations()
    optim.make(opt["name"], **{k: [c[k] for c in combos] for k in combos[0]})
    return spec


def load(path) -> Spec:
    """Read and validate a TOML spec; the file's stem is the default name."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None
    return validate(data, name=path.stem)
