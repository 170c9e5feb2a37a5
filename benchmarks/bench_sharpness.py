"""The cost of optimlab.torch's microscope, side by side in one process, in units of the model's own gradient.

    python benchmarks/bench_sharpness.py [--repeats 5]

1. Sharpness (λ_max by Lanczos on double-backward Hessian-vector products) of a 100k-parameter MLP on the digits
   data: Hessian-vector products, seconds, and both in gradient evaluations (one forward + backward on the same
   batch), float32 and float64. The full Hessian there would take 100k products and 80 GB (float64): infeasible.
2. The full-Hessian route where it is feasible (a 1.2k-parameter MLP): torch.autograd.functional.hessian + eigvalsh
   against Lanczos, time and the error of λ_max.
3. Critical sharpness: forward passes and seconds per measurement.
4. StabilityMonitor overhead: the same training loop on a small MLP with and without the monitor (defaults: every
   10 steps, Lanczos every 100, budget 10%), best of ``--repeats``, alternated.

Times are CPU seconds of this process with one torch and one BLAS thread (see cpu()).
"""

from __future__ import annotations

import os

# one BLAS thread (set before numpy loads OpenBLAS): on the shared 2-core machine, ARPACK's second BLAS thread
# spins waiting for a core and slows the torch side of each Lanczos iteration by up to 2x
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from optimlab.torch import StabilityMonitor, critical_sharpness, sharpness  # noqa: E402


def digits(dtype):
    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return torch.tensor(X, dtype=dtype), torch.tensor(y)


def mlp(widths, dtype, seed=0):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers[:-1]).to(dtype)


LOSS = torch.nn.CrossEntropyLoss()


def cpu(fn):
    """(result, CPU seconds of this process): with one torch thread and one BLAS thread, the CPU time is the work
    itself, while the wall time on this shared machine swings by 2x with the other users' load."""
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def best_of(repeats, fn) -> float:
    return min(cpu(fn)[1] for _ in range(repeats))


def gradient_seconds(model, batch, repeats):
    """Best of many: a gradient takes milliseconds, and the least disturbed one is the reference."""
    def once():
        model.zero_grad()
        LOSS(model(batch[0]), batch[1]).backward()
    return best_of(10 * repeats, once)


def hvp_over_gradient(model, batch, rounds=30) -> float:
    """One Hessian-vector product (a backward pass through the gradient's graph) over one gradient evaluation,
    timed alternately ``rounds`` times and compared best against best, so that the machine's load hits both."""
    params = list(model.parameters())
    grads = torch.autograd.grad(LOSS(model(batch[0]), batch[1]), params, create_graph=True)
    v = [torch.randn_like(p) for p in params]
    t_grad, t_hvp = [], []
    for _ in range(rounds):
        t_grad.append(gradient_seconds(model, batch, 1))
        t_hvp.append(cpu(lambda: torch.autograd.grad(sum((g * u).sum() for g, u in zip(grads, v)), params,
                                                     retain_graph=True))[1])
    return min(t_hvp) / min(t_grad)


def big(repeats):
    print("## 1. sharpness of a 100k-parameter MLP (64-320-240-10, tanh), one batch of 512 digits")
    print("| dtype | parameters | λ_max | HVPs | seconds | one gradient | sharpness in gradient evaluations | "
          "one HVP in gradient evaluations |")
    print("|---|---|---|---|---|---|---|---|")
    for dtype in (torch.float32, torch.float64):
        X, y = digits(dtype)
        batch = (X[:512], y[:512])
        model = mlp([64, 320, 240, 10], dtype)
        n = sum(p.numel() for p in model.parameters())
        t_grad, results = [], []
        for _ in range(repeats):  # gradients timed right before and after each call: the same load for both
            t_grad.append(gradient_seconds(model, batch, 1))
            results.append(cpu(lambda: sharpness(model, LOSS, batch, tol=1e-4)))  # noqa: B023
            t_grad.append(gradient_seconds(model, batch, 1))
        (s, seconds), g = min(results, key=lambda r: r[1]), min(t_grad)
        ratio = hvp_over_gradient(model, batch)
        print(f"| {str(dtype).split('.')[-1]} | {n} | {s.lambda_max:.6g} | {s.hvps} | {seconds:.3f} | "
              f"{g * 1e3:.2f} ms | {seconds / g:.0f} | {ratio:.2f} |")
    print(f"\nThe full Hessian of {n} parameters: {n} HVPs (≈{n / s.hvps:.0f}× the Lanczos count) and "
          f"{n * n * 8 / 1e9:.0f} GB in float64.")


def small(repeats):
    print("\n## 2. full Hessian against Lanczos where feasible (64-16-10, float64, all 1797 digits)")
    X, y = digits(torch.float64)
    model = mlp([64, 16, 10], torch.float64)
    params = list(model.parameters())
    names = [k for k, _ in model.named_parameters()]
    n = sum(p.numel() for p in params)

    def f(flat):
        d, i = {}, 0
        for name, p in zip(names, params):
            d[name] = flat[i:i + p.numel()].view_as(p)
            i += p.numel()
        return LOSS(torch.func.functional_call(model, d, (X,)), y)

    flat = torch.cat([p.detach().reshape(-1) for p in params])
    H, t_hessian = cpu(lambda: torch.autograd.functional.hessian(f, flat).numpy())
    top, t_eig = cpu(lambda: np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
    t_full = t_hessian + t_eig
    s, t_lanczos = min((cpu(lambda: sharpness(model, LOSS, (X, y), tol=1e-10)) for _ in range(repeats)),
                       key=lambda r: r[1])
    print("| parameters | full Hessian + eigvalsh | Lanczos (tol 1e-10) | HVPs | speed-up | relative error of λ_max |")
    print("|---|---|---|---|---|---|")
    print(f"| {n} | {t_full:.2f} s | {t_lanczos:.3f} s | {s.hvps} | {t_full / t_lanczos:.0f}x | "
          f"{abs(s.lambda_max - top) / top:.1e} |")


def critical(repeats):
    print("\n## 3. critical sharpness (100k-parameter MLP, float32, batch of 512)")
    X, y = digits(torch.float32)
    batch = (X[:512], y[:512])
    model = mlp([64, 320, 240, 10], torch.float32)
    t_grad = gradient_seconds(model, batch, repeats)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    c, t = min((cpu(lambda: critical_sharpness(model, LOSS, batch, opt)) for _ in range(repeats)),
               key=lambda r: r[1])
    print(f"2/η_c = {c.critical_sharpness:.4g} (η_c = {c.critical_lr:.4g}, η/η_c = {c.ratio:.3f}): "
          f"{c.forward_passes} forward passes, {t * 1e3:.1f} ms = {t / t_grad:.1f} gradient evaluations")


def monitor_overhead(repeats, steps=3000):
    print(f"\n## 4. StabilityMonitor overhead ({steps} steps, MLP 64-64-10 (4.8k parameters), batch 64, Adam)")
    X, y = digits(torch.float32)

    def loop(monitor_kwargs):
        torch.manual_seed(0)
        model = mlp([64, 64, 10], torch.float32)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        monitor = StabilityMonitor(model, opt, LOSS, **monitor_kwargs) if monitor_kwargs is not None else None
        g = torch.Generator().manual_seed(1)
        for _ in range(steps):
            i = torch.randint(0, len(X), (64,), generator=g)
            opt.zero_grad()
            loss = LOSS(model(X[i]), y[i])
            loss.backward()
            if monitor:
                monitor.step(loss, (X[i], y[i]))
            opt.step()
        return monitor

    settings = {"without monitor": None, "monitor, defaults (every 10, Lanczos every 100, budget 10%)": {},
                "monitor, every 10, Lanczos every 100, no budget": {"budget": None}}
    times = {name: [] for name in settings}
    monitors = {}
    for _ in range(repeats):  # alternated, so that a change in the machine's load hits all alike
        for name, kwargs in settings.items():
            monitors[name], seconds = cpu(lambda: loop(kwargs))  # noqa: B023
            times[name].append(seconds)
    plain = min(times["without monitor"])
    print("| loop | CPU seconds | ratio | measurements (critical, Lanczos) | the monitor's own estimate (wall) |")
    print("|---|---|---|---|---|")
    for name, m in monitors.items():
        best = min(times[name])
        if m is None:
            print(f"| {name} | {best:.3f} | | | |")
            continue
        crit = sum(1 for r in m.log if r["critical_lr"] == r["critical_lr"])
        lanczos = sum(1 for r in m.log if r["sharpness"] == r["sharpness"])
        print(f"| {name} | {best:.3f} | {best / plain:.3f}x ({best / plain - 1:+.1%}) | {crit}, {lanczos} | "
              f"{m.overhead:.1%} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    # one thread: the 2-core machine is shared, and torch's second thread then mostly waits for a core, which
    # makes every ratio noisy; one thread gives steady ratios (the absolute times are a single core's)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread; times are CPU seconds of this process\n")
    big(args.repeats)
    small(args.repeats)
    critical(args.repeats)
    monitor_overhead(args.repeats)


if __name__ == "__main__":
    main()
