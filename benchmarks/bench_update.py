"""What update()'s input checks cost: one optimizer step with the checks (``opt.update``) against the same rule
without them (``opt.rule``), side by side in one process, for one configuration and for 1000.

    python benchmarks/bench_update.py [--repeats 15]

The checks (grads of the params' shape, a state of this optimizer for params of this shape, a finite η >= 0) are a
few comparisons and, for a per-configuration η, one min and max; the update is NumPy arithmetic on (K, 3) arrays,
the lecture's problem. Each figure is the best of ``--repeats`` rounds of 2000 calls, the two variants alternating.
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import optimlab


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    calls = 2000
    print(f"numpy {np.__version__}; µs per update, best of {args.repeats} rounds of {calls} calls")
    print(f"{'optimizer':<10} {'K':>5} {'rule':>8} {'checked':>8} {'checks':>8}")
    for k in (1, 1000):
        x, g = np.ones((k, 3)), np.full((k, 3), 0.5)
        lr = np.full((k, 1), 0.01)  # this step's η per configuration, as train() passes it
        for name in optimlab.optim.OPTIMIZERS:
            opt = optimlab.optim.make(name)
            state = opt.init(x)
            kw = {"lr": lr} if "lr" in opt.hyperparams else {}
            best = {"rule": np.inf, "checked": np.inf}
            for _ in range(args.repeats):
                for variant, fn in (("rule", opt.rule), ("checked", opt.update)):
                    t = timeit.timeit(lambda fn=fn: fn(x, g, state, **kw), number=calls) / calls * 1e6
                    best[variant] = min(best[variant], t)
            print(f"{name:<10} {k:>5} {best['rule']:8.2f} {best['checked']:8.2f} "
                  f"{best['checked'] - best['rule']:+8.2f}")


if __name__ == "__main__":
    main()
