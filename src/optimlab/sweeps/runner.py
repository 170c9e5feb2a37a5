"""Running a sweep: each chunk is ONE vectorized ``optimlab.train`` call; stored chunks are skipped (resume).

The computation of a chunk (:func:`run_chunk`) is a pure function of the spec and the chunk's index, so it gives
the same numbers in this process, in a Dask worker, before a crash or after it; the store keeps what is done.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time

import numpy as np

from optimlab import checks, optim, problems, schedules
from optimlab.provenance import versions
from optimlab.sweeps.spec import Spec
from optimlab.sweeps.store import Store
from optimlab.train import train


@functools.lru_cache(maxsize=4)
def _problem(text: str):
    """The spec's problem, built once per process (a worker builds it for its first chunk, then reuses it)."""
    options = json.loads(text)
    return problems.make(options.pop("name"), **options)


def problem_of(spec: Spec):
    return _problem(json.dumps(spec.data["problem"], sort_keys=True))


def data_checksum(problem) -> str:
    """SHA-256 of the problem's arrays (its data), so that a stored result names the exact data it came from."""
    digest = hashlib.sha256()
    for name, value in sorted(vars(problem).items()):
        if isinstance(value, np.ndarray):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def provenance(spec: Spec) -> dict:
    problem = problem_of(spec)
    return {"sweep": spec.id, "seed": spec.data["seed"], "spec": spec.data, "problem": problem.describe(),
            "data_sha256": data_checksum(problem), "optimal_loss": problem.optimal_loss, "versions": versions()}


def run_chunk(spec_data: dict, index: int) -> dict:
    """Train chunk ``index`` of the sweep in one call; returns its configurations' results (plain data)."""
    spec = Spec(spec_data)
    chunk = spec.chunks()[index]
    loop = spec.data["loop"]
    sched = dict(loop["schedule"])
    rows = chunk["rows"]
    hyper = {k: [row[k] for row in rows] for k in rows[0]}
    opt = optim.make(spec.data["optimizer"]["name"], **hyper)
    run = train(problem_of(spec), opt, batch_size=chunk["batch_size"], epochs=loop["epochs"],
                period=loop.get("period"), schedule=schedules.make(sched.pop("name"), **sched), seed=chunk["seed"],
                init_scale=loop["init_scale"])
    # (K, E): the last record of each epoch, as Run.epoch_losses, kept 2-D even for a chunk of one configuration
    per_epoch = (run.curves.shape[1] - 1) // run.epochs
    final, epoch_losses = run.final_losses, run.curves[:, per_epoch::per_epoch]
    results = [{"config": chunk["first"] + j, "seed": chunk["seed"], "batch_size": chunk["batch_size"],
                "hyperparams": run.hyperparams[j], "final_loss": float(final[j]),
                "diverged": bool(run.diverged_mask[j]), "diverged_at": run.diverged_examples[j],
                "epoch_losses": epoch_losses[j], "curve": run.curves[j]} for j in range(len(rows))]
    return {"chunk": index, "seconds": run.seconds, "results": results}


def prepare(spec: Spec, store: Store) -> tuple[str, list[int]]:
    """Check the spec against its problem, record the sweep, and return its id and the chunks still to run."""
    problem = problem_of(spec)
    for batch_size, _ in spec.groups():
        if batch_size > problem.n_examples:
            raise ValueError(f"batch_size must be in [1, {problem.n_examples}] for {problem.name}, got {batch_size}")
    sweep = store.register(spec, provenance(spec))
    done = store.done(sweep)
    return sweep, [c["chunk"] for c in spec.chunks() if c["chunk"] not in done]


def run(spec: Spec, store_dir, progress=None, workers: int | None = None, scheduler: str | None = None) -> dict:
    """Run every chunk of ``spec`` not yet in the store at ``store_dir``; with ``workers`` or ``scheduler`` on
    Dask (see :mod:`optimlab.sweeps.distributed`). ``progress(done, total)`` is called as chunks are stored.
    Returns {sweep, name, chunks, skipped, ran, configs, seconds (wall), compute_seconds (the train calls' own
    time, summed over the chunks run now: above ``seconds`` when workers ran them concurrently)}."""
    if workers is not None:
        workers = checks.check_int("workers", workers, minimum=1)
    if workers is not None and scheduler is not None:
        raise ValueError("give workers (a local cluster) or scheduler (an existing one), not both")
    start = time.perf_counter()
    with Store(store_dir) as store:
        sweep, todo = prepare(spec, store)
        total = len(spec.chunks())
        skipped = total - len(todo)
        if progress:
            progress(skipped, total)

        def stored(result: dict) -> None:
            # a chunk another process (running the same sweep on this store) stored first is left as it is: the
            # numbers are the same, and it stays stored once
            store.write_chunk(sweep, result["chunk"], result["seconds"], result["results"])
            stored.compute += result["seconds"]
            if progress:
                stored.count += 1
                progress(skipped + stored.count, total)
        stored.count, stored.compute = 0, 0.0

        if todo and (workers or scheduler):
            from optimlab.sweeps.distributed import run_on_dask
            run_on_dask(spec.data, todo, stored, workers=workers, scheduler=scheduler)
        else:
            for index in todo:
                stored(run_chunk(spec.data, index))
    return {"sweep": sweep, "name": spec.name, "chunks": total, "skipped": skipped, "ran": len(todo),
            "configs": spec.num_configs, "seconds": time.perf_counter() - start, "compute_seconds": stored.compute}
