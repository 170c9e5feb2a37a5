"""The lecture's SGD experiment timed three ways, side by side in one process, reported as ratios.

    python benchmarks/bench_train.py [--repeats 5]

1. optimlab.train, one configuration (batch 1 and batch 10).
2. An idiomatic PyTorch loop of the same experiment: nn.Linear, torch.optim.SGD, the mean loss over all examples
   recorded every 10 examples (skipped with a message when torch is absent).
3. A 1000-configuration learning-rate grid at batch 10 in one vectorized call, against the same grid run one
   configuration at a time (optimlab.train per configuration, timed on a subset and scaled) and against PyTorch.

Every timing is the best of ``--repeats`` runs (the least disturbed by the rest of the machine).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from timing import best_of  # benchmarks/timing.py: run these scripts as python benchmarks/NAME.py

import optimlab

LECTURE = optimlab.schedules.make("lecture", after=2, factor=0.1)
EXPERIMENTS = {"batch 1 (lr 0.1)": (1, 0.1), "batch 10 (lr 0.2)": (10, 0.2)}
EPOCHS, PERIOD = 5, 10



def optimlab_run(problem, batch_size, lr):
    return optimlab.train(problem, optimlab.optim.make("sgd", lr=lr), batch_size=batch_size, epochs=EPOCHS,
                          period=PERIOD, schedule=LECTURE, seed=1)


def torch_run(torch, X, y, batch_size, lr, seed=1):
    """The experiment as a PyTorch user writes it (tensors sliced by a shuffled index; a DataLoader is slower)."""
    torch.manual_seed(seed)
    net = torch.nn.Linear(2, 1).double()
    torch.nn.init.normal_(net.weight, std=1.0)
    torch.nn.init.zeros_(net.bias)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss()
    n = X.shape[0]
    with torch.no_grad():
        curve = [loss_fn(net(X), y).item() / 2]
    for epoch in range(1, EPOCHS + 1):
        if epoch > 2:
            for group in opt.param_groups:
                group["lr"] *= 0.1
        perm = torch.randperm(n)
        for i, start in enumerate(range(0, n, batch_size)):
            idx = perm[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(net(X[idx]), y[idx]) / 2
            loss.backward()
            opt.step()
            if i * batch_size % PERIOD == 0:
                with torch.no_grad():
                    curve.append(loss_fn(net(X), y).item() / 2)
    return curve


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--sequential-sample", type=int, default=20,
                        help="configurations actually run one at a time; the total is scaled from them")
    args = parser.parse_args()
    problem = optimlab.problems.make("linear-regression", seed=1)
    try:
        import torch
        X, y = torch.tensor(problem.X), torch.tensor(problem.y).reshape(-1, 1)
    except ImportError:
        torch = None
        print("torch is not installed: the PyTorch comparison is skipped (pip install 'optimlab[torch]')")
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
                                        if torch else ""))
    print("\nSingle run: the lecture's SGD experiment, 5 epochs, loss recorded every 10 examples")
    torch_per_run = {}
    for name, (bs, lr) in EXPERIMENTS.items():
        ours = best_of(args.repeats, lambda bs=bs, lr=lr: optimlab_run(problem, bs, lr))
        line = f"  {name:<18} optimlab {ours * 1e3:8.1f} ms"
        if torch:
            theirs = best_of(max(1, args.repeats // 2), lambda bs=bs, lr=lr: torch_run(torch, X, y, bs, lr))
            torch_per_run[bs] = theirs
            line += f"   PyTorch loop {theirs * 1e3:8.1f} ms   ratio {theirs / ours:6.1f}x faster"
        print(line)

    k = args.configs
    lrs = np.logspace(-4, 1, k)  # 1e-4 .. 10: crawling, converging and diverging configurations
    grid = optimlab.optim.make("sgd", lr=lrs)
    print(f"\nSweep: {k} learning rates in [1e-4, 10], batch 10, 5 epochs, lecture decay")
    batched = best_of(max(1, args.repeats // 2), lambda: optimlab.train(problem, grid, batch_size=10, epochs=EPOCHS,
                                                                         period=PERIOD, schedule=LECTURE, seed=1))
    sample = lrs[:: max(1, k // args.sequential_sample)]
    start = time.perf_counter()
    for lr in sample:
        optimlab_run(problem, 10, float(lr))
    sequential = (time.perf_counter() - start) / len(sample) * k
    print(f"  one vectorized call        {batched:8.3f} s   ({batched / k * 1e3:.3f} ms per configuration)")
    print(f"  one configuration at a time {sequential:7.3f} s   (scaled from {len(sample)} runs)"
          f"   ratio {sequential / batched:6.1f}x")
    if torch:
        per = torch_per_run[10]
        print(f"  PyTorch loop, one at a time {per * k:7.1f} s   (scaled from one run)   "
              f"ratio {per * k / batched:6.0f}x per configuration")


if __name__ == "__main__":
    main()
