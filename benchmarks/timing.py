"""Shared by the benchmarks: the best of repeated wall-clock timings (the run least disturbed by the machine)."""

from __future__ import annotations

import time


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
