"""Chunked sweeps: throughput, how a chunk's time grows with K, the store's cost, Dask 1 against 2 workers.

    python benchmarks/bench_sweeps.py [--repeats 3] [--skip-dask]

1. config·steps per second of one chunk (one vectorized train call) for K = 1 .. 1024 configurations, on the
   lecture's problem (SGD, batch 10, 2 epochs = 200 updates, a record every 10 examples) and, when the problem is
   registered (after the `problems` branch is merged), on the digits MLP; the reference is K = 1 in the same process.
2. A whole sweep through the SQLite store (optimlab.sweeps.run) against the same train calls without a store.
3. The same sweep on a Dask LocalCluster of 1 and of 2 worker processes (cluster started beforehand, so its
   start-up is reported apart), against the serial run.
4. What divergence bookkeeping costs the configurations that keep running: a chunk where half the configurations
   diverge early against one where none do (same K, same updates).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from timing import best_of  # benchmarks/timing.py: run these scripts as python benchmarks/NAME.py

import optimlab
from optimlab import sweeps
from optimlab.sweeps.spec import validate

KS = (1, 4, 16, 64, 256, 1024)


def chunk_rate(problem, k, batch_size, epochs, repeats, lr_range=(1e-3, 0.1)):
    opt = optimlab.optim.make("sgd", lr=np.geomspace(*lr_range, k))
    steps = epochs * -(-problem.n_examples // batch_size)
    seconds = best_of(repeats, lambda: optimlab.train(problem, opt, batch_size=batch_size, epochs=epochs, seed=1))
    return seconds, k * steps / seconds


def throughput(name, problem, batch_size, epochs, repeats, ks=KS):
    print(f"\n1. One chunk = one train call, {name}: batch {batch_size}, {epochs} epochs")
    base = None
    for k in ks:
        seconds, rate = chunk_rate(problem, k, batch_size, epochs, repeats)
        base = base or rate
        print(f"   K = {k:5d}: {seconds * 1e3:9.1f} ms   {rate:12,.0f} config·steps/s   ({rate / base:6.1f}x K=1)")


def spec(chunks, chunk_size, name="bench", batch_size=10, epochs=2):
    return validate({"name": name, "chunk_size": chunk_size, "optimizer": {"name": "sgd"},
                     "grid": {"lr": {"log": [1e-3, 0.5], "num": chunk_size}},
                     "loop": {"seeds": chunks, "epochs": epochs, "batch_size": batch_size}})


def store_cost(repeats):
    """The store's cost: a whole sweep through optimlab.sweeps.run minus the same train calls alone, for 8 and 32
    chunks of 64 configurations; the difference between the two gives the cost per chunk and the fixed cost."""
    problem = optimlab.problems.make("linear-regression")
    lrs = np.geomspace(1e-3, 0.5, 64)
    overhead = {}
    for chunks in (8, 32):
        s = spec(chunks=chunks, chunk_size=64, name=f"store-{chunks}")

        def bare(chunks=chunks):
            for seed in range(1, chunks + 1):
                optimlab.train(problem, optimlab.optim.make("sgd", lr=lrs), batch_size=10, epochs=2, seed=seed)

        def stored(s=s):
            with tempfile.TemporaryDirectory() as d:
                sweeps.run(s, d)

        a, b = best_of(repeats, bare), best_of(repeats, stored)
        overhead[chunks] = b - a
        print(f"{'' if chunks == 32 else chr(10) + '2.'}   {chunks:2d} chunks × 64 configurations: train calls alone "
              f"{a:.3f} s; through the store {b:.3f} s")
    per_chunk = (overhead[32] - overhead[8]) / 24
    print(f"   the store costs {per_chunk * 1e3:.1f} ms per chunk (one transaction: 64 rows, curves as float64 bytes)"
          f" + {max(overhead[8] - 8 * per_chunk, 0) * 1e3:.0f} ms once (open, provenance, register, close)")


def dask_speedup(repeats):
    from dask.distributed import Client, LocalCluster

    # chunks of ~0.1-0.2 s (5000 updates of 256 configurations): large against a Dask task's overhead (~ms)
    s = spec(chunks=16, chunk_size=256, name="dask", batch_size=1, epochs=5)
    with tempfile.TemporaryDirectory() as d:
        serial = best_of(1, lambda: sweeps.run(s, os.path.join(d, "serial")))
    print(f"\n3. 16 chunks × 256 configurations (batch 1, 5 epochs: 5000 updates each): serial {serial:.2f} s")
    times = {}
    for n in (1, 2):
        start = time.perf_counter()
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               host="127.0.0.1")
        client = Client(cluster)
        startup = time.perf_counter() - start
        try:
            runs = []
            for r in range(repeats):
                with tempfile.TemporaryDirectory() as d:
                    t = time.perf_counter()
                    outcome = sweeps.run(s, os.path.join(d, f"w{n}-{r}"), scheduler=cluster.scheduler_address)
                    runs.append((time.perf_counter() - t, outcome["compute_seconds"]))
            times[n], compute = min(runs)
        finally:
            client.close()
            cluster.close()
        print(f"   {n} worker{'s' if n > 1 else ' '}: {times[n]:.2f} s  (cluster start-up {startup:.1f} s, apart)   "
              f"{serial / times[n]:.2f}x serial; chunks computing {compute:.2f} s in all, "
              f"so {compute / times[n]:.2f} running at once on average")
    print(f"   speed-up 1 -> 2 workers: {times[1] / times[2]:.2f}x  (os.cpu_count() = {os.cpu_count()})")


def divergence_cost(repeats):
    problem = optimlab.problems.make("linear-regression")
    k = 256
    calm = optimlab.optim.make("sgd", lr=np.full(k, 0.05))
    half = optimlab.optim.make("sgd", lr=np.where(np.arange(k) % 2, 0.05, 5.0))  # η = 5 diverges in ~100 examples
    a = best_of(repeats, lambda: optimlab.train(problem, calm, batch_size=10, epochs=2, seed=1))
    b = best_of(repeats, lambda: optimlab.train(problem, half, batch_size=10, epochs=2, seed=1))
    print(f"\n4. K = {k}, batch 10, 2 epochs: none diverge {a * 1e3:.1f} ms; half diverge early {b * 1e3:.1f} ms "
          f"({100 * (b / a - 1):+.1f}%: train cuts the diverged configurations out at the record that caught them)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    throughput("lecture linear regression (P = 3)", optimlab.problems.make("linear-regression"), 10, 2, args.repeats)
    if "mlp" in optimlab.problems.PROBLEMS:
        # the loss is recorded on a fixed subset of 200 examples (gradients use every minibatch in full); the MLP's
        # matrix products make each configuration's cost real work, so K stops at 64
        mlp = optimlab.problems.make("mlp", dataset="digits", hidden=(32,), eval_examples=200)
        throughput(f"digits MLP (P = {mlp.dim}, loss on 200 examples)", mlp, 32, 1, max(1, args.repeats // 2),
                   ks=(1, 4, 16, 64))
    else:
        print("\n   (the digits MLP is not registered on this branch: merge `problems` to time it)")
    store_cost(args.repeats)
    if not args.skip_dask:
        dask_speedup(args.repeats)
    divergence_cost(args.repeats)


if __name__ == "__main__":
    main()
