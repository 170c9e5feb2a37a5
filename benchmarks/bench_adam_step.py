"""One Adam step on 10M float32 parameters: optimlab's drop-in optimizer against torch.optim.Adam, side by side in
one process, reported as ratios.

    python benchmarks/bench_adam_step.py [--params 10000000] [--repeats 20] [--no-compile] [--layout one|model|both]

Two layouts of the same number of parameters: ``one`` tensor, and a ``model``'s 40 tensors (20 layers, each an
(n, 500) weight and an (n,) bias, n = P/(20·501) rounded: 10,020,000 parameters for the default P).

1. ``optimlab.torch.make("adam", ...)`` (the lecture's formula from optimlab.optim, run eagerly on tensors) against
   ``torch.optim.Adam`` with its default implementation and with ``foreach=True``.
2. The same formula through ``torch.compile`` (``make(..., compile=True)``) against ``torch.optim.Adam(fused=True)``.
   torch.compile's CPU backend needs a C++ compiler; where it cannot run, the script says so.

Each figure is the best of ``--repeats`` steps after warm-up, the contenders taking turns (the least disturbed by
the rest of the machine); every contender starts from the same parameters, with its own copy and state, and steps
on the same gradient.
"""

from __future__ import annotations

import argparse
import math
import shutil
import time

import torch

import optimlab.torch as otorch


def interleaved_best(steps: dict, repeats: int) -> dict:
    """Best time of each contender's step, the contenders taking turns (so that a busy moment of the shared machine
    hits them alike) after warm-up steps (state allocation, compilation)."""
    for step in steps.values():
        for _ in range(3):
            step()
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def contenders(compile_ok: bool):
    yield "torch.optim.Adam (default)", lambda ps: torch.optim.Adam(ps, lr=1e-3)
    yield "torch.optim.Adam (foreach=True)", lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True)
    yield "optimlab drop-in Adam", lambda ps: otorch.make("adam", ps, lr=1e-3)
    yield "torch.optim.Adam (fused=True)", lambda ps: torch.optim.Adam(ps, lr=1e-3, fused=True)
    if compile_ok:
        yield "optimlab drop-in Adam, torch.compile", lambda ps: otorch.make("adam", ps, lr=1e-3, compile=True)


def layout_shapes(layout: str, params: int) -> list[tuple]:
    if layout == "one":
        return [(params,)]
    n = max(1, round(params / 20 / 501))  # 20 layers: a (n, 500) weight and an (n,) bias each
    return [(n, 500), (n,)] * 20


def measure(shapes: list[tuple], device: str, compile_ok: bool, repeats: int) -> dict:
    torch.manual_seed(0)
    starts = [torch.randn(s, device=device) for s in shapes]
    grads = [torch.randn(s, device=device) * 1e-2 for s in shapes]
    steps = {}
    for name, build in contenders(compile_ok):
        params = []
        for x, g in zip(starts, grads):  # each contender its own parameters and state, the same gradients
            p = torch.nn.Parameter(x.clone())
            p.grad = g
            params.append(p)
        try:
            opt = build(params)
            opt.step()
        except Exception as e:  # noqa: BLE001  (a contender that cannot run here is reported, not fatal)
            print(f"  {name:<40} cannot run here: {type(e).__name__}: {str(e).splitlines()[0][:100]}")
            continue
        steps[name] = opt.step
    return interleaved_best(steps, repeats)


def report(times: dict) -> None:
    for name, seconds in times.items():
        print(f"  {name:<40} {seconds * 1e3:8.2f} ms per step")
    ours = times.get("optimlab drop-in Adam")
    for ref in ("torch.optim.Adam (default)", "torch.optim.Adam (foreach=True)"):
        if ours and ref in times:
            print(f"  drop-in / {ref}: {ours / times[ref]:.2f}x (target <= 1.5x against the default)")
    compiled = times.get("optimlab drop-in Adam, torch.compile")
    fused = times.get("torch.optim.Adam (fused=True)")
    if compiled and fused:
        print(f"  compiled drop-in / fused: {compiled / fused:.2f}x (target <= 1.3x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--layout", choices=("one", "model", "both"), default="both")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    compiler = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    compile_ok = not args.no_compile and (args.device != "cpu" or compiler is not None)
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
          f"C++ compiler: {compiler or 'none (torch.compile cannot run on CPU)'}")
    if not compile_ok:
        print("torch.compile not measured: " + ("--no-compile" if args.no_compile else "no C++ compiler"))
    for layout in ("one", "model") if args.layout == "both" else (args.layout,):
        shapes = layout_shapes(layout, args.params)
        total = sum(math.prod(s) for s in shapes)
        print(f"{layout}: {len(shapes)} tensor(s), {total:,} float32 parameters")
        report(measure(shapes, args.device, compile_ok, args.repeats))


if __name__ == "__main__":
    main()
