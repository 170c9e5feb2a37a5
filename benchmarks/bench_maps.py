"""Stability maps timed, side by side in one process: a 100 × 100 map against the same cells trained one at a time,
and the throughput of chunked training in configuration·steps per second on the lecture's problem and the digits
MLP.

    python benchmarks/bench_maps.py [--repeats 3]

config·steps/s counts one configuration advanced by one update as one; the map records the loss once per epoch.
On a shared, loaded machine OpenBLAS's threads wait for each other and small products get ~10x slower: run with
OPENBLAS_NUM_THREADS=1 there (the figures in benchmarks/README.md say which).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from timing import best_of  # benchmarks/timing.py: run these scripts as python benchmarks/NAME.py

import optimlab
from optimlab.maps import stability_map

LRS, GAMMAS = np.geomspace(1e-3, 10, 100), np.linspace(0, 0.99, 100)


def one_at_a_time(problem, cells, batch_size, epochs):
    """The same cells as separate calls, one configuration each (what a loop over configurations costs)."""
    for lr, g in cells:
        stability_map(problem, "momentum", x=("lr", [lr]), y=("momentum", [g]), batch_size=batch_size,
                      epochs=epochs, theory=False)


def lecture(repeats):
    problem = optimlab.problems.make("linear-regression", seed=1)
    print("lecture's problem (1000 examples, P = 3), momentum, lr × momentum 100 × 100 cells")
    for batch, epochs in ((10, 5), (1000, 100)):
        updates = epochs * math.ceil(1000 / batch)
        t_map = best_of(repeats, lambda: stability_map(problem, "momentum", x=("lr", LRS), y=("momentum", GAMMAS),
                                                       batch_size=batch, epochs=epochs, theory=False))
        t_theory = best_of(repeats, lambda: stability_map(problem, "momentum", x=("lr", LRS[:1]),
                                                          y=("momentum", GAMMAS), batch_size=batch, epochs=1))
        rng = np.random.default_rng(0)
        sample = [(LRS[i], GAMMAS[j]) for i, j in zip(rng.integers(0, 100, 50), rng.integers(0, 100, 50))]
        t_loop = best_of(1, lambda: one_at_a_time(problem, sample, batch, epochs)) * 10000 / len(sample)
        print(f"  batch {batch}, {epochs} epochs ({updates} updates): map {t_map:.2f} s "
              f"({10000 * updates / t_map:.3g} config·steps/s), theory ≈ {t_theory:.2f} s; one cell at a time "
              f"(50 timed, scaled) {t_loop:.1f} s: the map is {t_loop / t_map:.0f}x faster")


def torch_mlp(X, y, batch, epochs, lr=0.1, seed=1):
    """The same network and loop as a PyTorch user writes it (float64, one configuration)."""
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10)).double()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = X.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            opt.zero_grad()
            loss_fn(net(X[idx]), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            loss_fn(net(X), y).item()


def digits(repeats):
    problem = optimlab.problems.make("mlp", dataset="digits", hidden=(32,))
    batch, epochs = 64, 2
    updates = epochs * math.ceil(problem.n_examples / batch)
    print(f"digits MLP (1797 examples, 64-32-10 tanh, P = {problem.dim}), sgd, batch {batch}, {epochs} epochs "
          f"({updates} updates)")
    for k in (1, 16, 64, 256):
        lrs = np.geomspace(1e-3, 3, k)
        seconds = best_of(repeats, lambda: stability_map(problem, "sgd", x=("lr", lrs), y=("seed", [1]),
                                                         batch_size=batch, epochs=epochs, theory=False))
        print(f"  K = {k:4d} configurations: {seconds:.2f} s, {k * updates / seconds:.3g} config·steps/s")
    try:
        import torch
    except ImportError:
        print("  (torch is not installed: no PyTorch reference)")
        return
    X, y = torch.tensor(problem.X), torch.tensor(problem.data.y)
    for threads in sorted({1, torch.get_num_threads()}):
        torch.set_num_threads(threads)
        seconds = best_of(repeats, lambda: torch_mlp(X, y, batch, epochs))
        print(f"  PyTorch loop, one configuration ({threads} thread{'s' if threads > 1 else ''}): {seconds:.2f} s, "
              f"{updates / seconds:.3g} config·steps/s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    lecture(args.repeats)
    digits(args.repeats)


if __name__ == "__main__":
    main()
