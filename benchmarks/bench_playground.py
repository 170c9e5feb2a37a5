"""The playground's server compute per update, side by side with the bare library call that does the same training.

    python benchmarks/bench_playground.py [--repeats 7]

For each request the page sends when a slider moves: the time of the API function (optimlab.playground.api:
validation, training, bounds, contours, JSON-ready conversion), of the same request over HTTP to a uvicorn server
in this process (json encoding, Starlette routing, the socket), and of the bare ``optimlab.train`` call(s) that do
the same training, as the reference. The target (issue 10): at most 100 ms of server compute per update for up to
1000 configurations. Every timing is the best of ``--repeats`` (the least disturbed by the rest of the machine).
"""

from __future__ import annotations

import argparse

import httpx
import numpy as np
from timing import best_of  # benchmarks/timing.py: run these scripts as python benchmarks/NAME.py

import optimlab
from optimlab.playground import api, app, requests

LRS = np.geomspace(2e-4, 20, 40).tolist()
GAMMAS = (1 - np.logspace(0, -3, 25)).tolist()
BATCHES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
RAVINE = [{"optimizer": "sgd", "hyperparameters": {"lr": 0.4}}, {"optimizer": "sgd", "hyperparameters": {"lr": 0.6}},
          {"optimizer": "momentum", "hyperparameters": {"lr": 0.6, "momentum": 0.5}}]
LECTURE = optimlab.schedules.make("lecture")


def bare_view(body):
    prob = requests.problem(body["problem"], body.get("seed"))
    init = requests.STARTS.get(body["problem"])
    for line in body["runs"]:
        optimlab.train(prob, optimlab.optim.make(line["optimizer"], **line["hyperparameters"]), init=init,
                       batch_size=body.get("batch_size", 1), epochs=body["epochs"],
                       schedule=LECTURE if body.get("schedule") else None)


def bare_map(body):
    prob = requests.problem(body["problem"], body.get("seed"))
    init = requests.STARTS.get(body["problem"])
    sched = LECTURE if body.get("schedule") else None
    if body["y"]["name"] == "batch_size":
        for b in body["y"]["values"]:
            optimlab.train(prob, optimlab.optim.make(body["optimizer"], lr=LRS), batch_size=b, epochs=body["epochs"],
                           schedule=sched)
        return
    cells = optimlab.optim.grid(momentum=GAMMAS, lr=LRS)
    optimlab.train(prob, optimlab.optim.make(body["optimizer"], **cells), init=init,
                   batch_size=body.get("batch_size", 1), epochs=body["epochs"], schedule=sched)


CASES = [
    ("view: the ravine, 3 optimizers × 20 steps", "view", api.view,
     {"problem": "quadratic-2d", "runs": RAVINE, "epochs": 20}, bare_view),
    ("view: lecture data, sgd + momentum, batch 10, 5 epochs", "view", api.view,
     {"problem": "linear-regression", "runs": RAVINE[::2], "epochs": 5, "batch_size": 10,
      "schedule": {"name": "lecture"}}, bare_view),
    ("map η × γ: the valley, 1000 configurations × 50 steps", "map", api.stability_map,
     {"problem": "quadratic-2d", "optimizer": "momentum", "epochs": 50, "x": {"name": "lr", "values": LRS},
      "y": {"name": "momentum", "values": GAMMAS}}, bare_map),
    ("map η × γ: lecture data, 1000 configurations, batch 10, 2 epochs", "map", api.stability_map,
     {"problem": "linear-regression", "optimizer": "momentum", "epochs": 2, "batch_size": 10,
      "x": {"name": "lr", "values": LRS}, "y": {"name": "momentum", "values": GAMMAS}}, bare_map),
    ("map η × γ: lecture data, 1000 configurations, batch 10, 5 epochs", "map", api.stability_map,
     {"problem": "linear-regression", "optimizer": "momentum", "epochs": 5, "batch_size": 10,
      "schedule": {"name": "lecture"}, "x": {"name": "lr", "values": LRS},
      "y": {"name": "momentum", "values": GAMMAS}}, bare_map),
    ("map η × batch: lecture data, 40 × 10 batch sizes, 5 epochs", "map", api.stability_map,
     {"problem": "linear-regression", "optimizer": "sgd", "epochs": 5, "schedule": {"name": "lecture"},
      "x": {"name": "lr", "values": LRS}, "y": {"name": "batch_size", "values": BATCHES}}, bare_map),
    ("taylor: x⁴ (599 starts measured)", "taylor", api.taylor, {"function": "x4", "lr": 0.05, "start": 3.0}, None),
    ("ema: γ = 0.9", "ema", api.ema, {"gamma": 0.9, "t": 20}, None),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print("| request | API function | over HTTP | bare optimlab.train | API / bare |")
    print("|---|---|---|---|---|")
    with app.running() as url, httpx.Client(base_url=url, timeout=60) as http:
        for label, endpoint, function, body, bare in CASES:
            function(body)  # warm: the lecture's data and the curvature moments are built once per server
            in_process = best_of(args.repeats, lambda: function(body))
            over_http = best_of(args.repeats, lambda: http.post(f"/api/{endpoint}", json=body).raise_for_status())
            reference = best_of(args.repeats, lambda: bare(body)) if bare else float("nan")
            ratio = f"{in_process / reference:.2f}×" if bare else "–"
            ref = f"{reference * 1e3:.1f} ms" if bare else "–"
            print(f"| {label} | {in_process * 1e3:.1f} ms | {over_http * 1e3:.1f} ms | {ref} | {ratio} |")


if __name__ == "__main__":
    main()
