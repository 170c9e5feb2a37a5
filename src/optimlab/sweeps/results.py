"""A stored sweep as data: a pandas DataFrame, and the summary ``optimlab sweep show`` prints."""

from __future__ import annotations

import numpy as np

from optimlab.sweeps.store import Store


def load(store_dir, sweep: str | None = None):
    """The configurations of one sweep (by name or id; the only one by default) as a pandas DataFrame: one row per
    configuration with ``config, chunk, seed, batch_size``, one column per hyperparameter, ``final_loss,
    diverged, diverged_at, epoch_losses`` (array per row) and ``curve`` (array per row)."""
    import pandas as pd

    with Store(store_dir, create=False) as store:
        rows = store.results(store.find(sweep)["id"])
    records = [{k: v for k, v in r.items() if k != "hyperparams"} | r["hyperparams"] for r in rows]
    columns = ["config", "chunk", "seed", "batch_size"] + (list(rows[0]["hyperparams"]) if rows else []) + \
        ["final_loss", "diverged", "diverged_at", "epoch_losses", "curve"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.astype({"diverged": bool, "diverged_at": "Int64"})  # Int64: <NA> where it did not diverge


def summary(store_dir, sweep: str | None = None, top: int = 5) -> dict:
    """Progress, the best configurations (lowest final loss among those that did not diverge; the median over
    seeds of each hyperparameter combination too) and the diverged ones with their parameters."""
    with Store(store_dir, create=False) as store:
        info = store.find(sweep)
        rows = store.results(info["id"])

    def entry(r):
        return {"config": r["config"], "seed": r["seed"], "batch_size": r["batch_size"], **r["hyperparams"],
                "final_loss": None if not np.isfinite(r["final_loss"]) else r["final_loss"]}

    alive = sorted((r for r in rows if not r["diverged"]), key=lambda r: r["final_loss"])
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        key = (r["batch_size"], *sorted(r["hyperparams"].items()))
        groups.setdefault(key, []).append(np.inf if r["diverged"] else r["final_loss"])
    medians = sorted(((float(np.median(v)), k, len(v)) for k, v in groups.items()), key=lambda t: t[0])
    return {
        "sweep": info["id"], "name": info["name"], "num_configs": info["num_configs"], "stored": len(rows),
        "chunks": info["num_chunks"], "chunks_done": info["chunks_done"],
        "problem": info["provenance"]["problem"], "optimizer": info["spec"]["optimizer"]["name"],
        "optimal_loss": info["provenance"].get("optimal_loss"),
        "best": [entry(r) for r in alive[:top]],
        "best_over_seeds": [{"batch_size": k[0], **dict(k[1:]), "median_final_loss": m if np.isfinite(m) else None,
                             "seeds": n} for m, k, n in medians[:top]],
        "diverged": [entry(r) | {"diverged_at": r["diverged_at"]} for r in rows if r["diverged"]],
        "provenance": info["provenance"],
    }
