"""Chunks on Dask: a LocalCluster of worker processes, or an existing cluster at ``tcp://HOST:PORT``.

The unit of distribution is a chunk (one vectorized train call over many configurations), never one configuration:
a configuration costs microseconds per update, far less than a task's scheduling overhead (about a millisecond).
Workers only compute; the client writes each chunk to the store as soon as it completes, so a crash of the client,
a worker or the whole cluster loses at most the chunks in flight, and the same command resumes from the store.

Across machines::

    dask scheduler                                   # on one machine: prints tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1         # on each machine (optimlab installed there)
    optimlab sweep run spec.toml --store DIR --scheduler tcp://HOST:8786

or on a batch system with dask-jobqueue (``SLURMCluster(...).scale(jobs=N)``, then pass its scheduler address).
"""

from __future__ import annotations

import uuid

from optimlab.sweeps.runner import run_chunk


def _client(workers: int | None, scheduler: str | None):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the environment
        raise ValueError("--workers and --scheduler need Dask: pip install 'optimlab[sweeps]'") from None
    if scheduler:
        return Client(scheduler, timeout="30s"), None
    # one thread per process: each chunk is NumPy-bound and holds the GIL between small array operations
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1")
    return Client(cluster), cluster


def run_on_dask(spec_data: dict, chunks: list[int], stored, workers: int | None = None,
                scheduler: str | None = None) -> None:
    """Compute ``chunks`` on Dask and hand each result to ``stored`` (in this process) as it completes."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers}")
    from dask.distributed import as_completed

    client, cluster = _client(workers, scheduler)
    try:
        spec_future = client.scatter(spec_data, broadcast=True)
        run_id = uuid.uuid4().hex[:8]  # task keys unique on a cluster that others may share
        futures = [client.submit(run_chunk, spec_future, i, key=f"optimlab-chunk-{i}-{run_id}", pure=False)
                   for i in chunks]
        for future in as_completed(futures):
            stored(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
