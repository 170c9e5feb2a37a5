"""What records cost on the digits MLP (n = 1797, P = 2410): the runs behind `explain` and `lr-find`, with the
period the lecture's rule gives (20: about 90 full losses per epoch) against the cost-aware periods (a user's run:
360, 6 records per epoch; a measurement grid: 900, 3 per epoch), side by side in one process, as ratios; then one
`explain` of a default run, end to end, for scale.

    python benchmarks/bench_measure.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

from timing import best_of

import optimlab
from optimlab import loop, problems
from optimlab.analysis.advice import POINTS
from optimlab.analysis.budget import measurement_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    mlp = problems.make("mlp")
    old = loop.default_period(10, mlp.n_examples)  # the rule before records were priced: n only
    user = loop.default_period(10, mlp.n_examples, mlp.dim)
    grid = measurement_loop(mlp, {"batch_size": 10, "period": None})["period"]
    lrs = [0.1 * 1.5 ** k for k in range(POINTS)]
    rows = [("a user's run (K = 1, 5 epochs)", [0.1], user), (f"a measurement grid (K = {POINTS}, 5 epochs)", lrs, grid)]
    print(f"digits MLP: n = {mlp.n_examples}, P = {mlp.dim}; periods: lecture rule {old}, user {user}, grid {grid}")
    for what, lr, period in rows:
        times = {p: best_of(args.repeats, lambda p=p: optimlab.train(mlp, optimlab.optim.make("sgd", lr=lr),
                                                                     period=p))
                 for p in (old, period)}
        print(f"{what}: period {old} {times[old]:.2f} s, period {period} {times[period]:.2f} s, "
              f"{times[old] / times[period]:.1f}x faster")
    run = optimlab.train(mlp, optimlab.optim.make("sgd"))
    start = time.perf_counter()
    optimlab.explain(run)
    print(f"explain of a default run (sgd, η = 0.1), measurement included: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
