"""What diverged configurations cost the ones still running, side by side in one process.

    python benchmarks/bench_divergence.py [--repeats 5]

A learning-rate grid at batch 10 on the lecture's data (5 epochs, lecture decay) where the upper half of the
learning rates diverges within the first epoch, timed against the same grid without that half (only the
configurations that keep running). The ratio is what the diverged rows cost: 1.0 would be free.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_of  # benchmarks/timing.py: run these scripts as python benchmarks/NAME.py

import optimlab

LECTURE = optimlab.schedules.make("lecture", after=2, factor=0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", type=int, default=1000)
    args = parser.parse_args()
    problem = optimlab.problems.make("linear-regression", seed=1)
    live = np.geomspace(1e-3, 0.5, args.configs // 2)  # these converge or crawl
    dead = np.geomspace(5.0, 50.0, args.configs - live.size)  # these diverge within the first epoch

    def run(lrs):
        return optimlab.train(problem, optimlab.optim.make("sgd", lr=lrs), batch_size=10, epochs=5, period=10,
                              schedule=LECTURE, seed=1)

    mixed = run(np.concatenate([live, dead]))
    first = max(mixed.diverged_at[k] for k in range(live.size, mixed.num_configs))
    assert not np.any(mixed.diverged_mask[:live.size]) and mixed.diverged_mask[live.size:].all()
    with_dead = best_of(args.repeats, lambda: run(np.concatenate([live, dead])))
    alone = best_of(args.repeats, lambda: run(live))
    print(f"{live.size} running configurations, plus {dead.size} that diverge within {first} examples")
    print(f"  with the diverged ones  {with_dead:8.3f} s")
    print(f"  running ones alone      {alone:8.3f} s")
    print(f"  ratio                   {with_dead / alone:8.2f}x")


if __name__ == "__main__":
    main()
