"""The sweep store: one SQLite file, DIR/sweeps.sqlite, results keyed by (sweep, chunk).

Tables::

    sweeps  (id PRIMARY KEY, name UNIQUE, spec, provenance, num_configs, num_chunks, created)
    chunks  (sweep, chunk, seconds, written)            PRIMARY KEY (sweep, chunk)
    results (sweep, config, chunk, seed, batch_size, hyperparams, final_loss, diverged, diverged_at,
             epoch_losses, curve)                        PRIMARY KEY (sweep, config)

A chunk's row and its configurations' rows are written in ONE transaction, so after a crash (even SIGKILL in the
middle of a write: SQLite's write-ahead log drops the partial transaction) a chunk is either wholly stored or absent;
the primary keys make a second write of a stored configuration an error instead of a duplicate. Curves are stored
as raw little-endian float64 bytes, so a stored result is bit-for-bit the computed one.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np

FILENAME = "sweeps.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, spec TEXT NOT NULL,
    provenance TEXT NOT NULL, num_configs INTEGER NOT NULL, num_chunks INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (sweep TEXT NOT NULL REFERENCES sweeps(id), chunk INTEGER NOT NULL,
    seconds REAL NOT NULL, written REAL NOT NULL, PRIMARY KEY (sweep, chunk));
CREATE TABLE IF NOT EXISTS results (sweep TEXT NOT NULL, config INTEGER NOT NULL, chunk INTEGER NOT NULL,
    seed INTEGER NOT NULL, batch_size INTEGER NOT NULL, hyperparams TEXT NOT NULL, final_loss REAL,
    diverged INTEGER NOT NULL, diverged_at INTEGER, epoch_losses BLOB NOT NULL, curve BLOB NOT NULL,
    PRIMARY KEY (sweep, config), FOREIGN KEY (sweep, chunk) REFERENCES chunks(sweep, chunk));
"""


def _blob(values) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def _array(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f8").copy()


class Store:
    """A sweep store in folder ``root`` (created if missing). Use as a context manager or call ``close()``."""

    def __init__(self, root, create: bool = True):
        self.root = Path(root)
        self.path = self.root / FILENAME
        if not create and not self.path.is_file():
            raise ValueError(f"no sweep store in {str(self.root)!r} (expected {FILENAME} there)")
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"store {str(self.root)!r} is not a folder")
        self.root.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT) and nothing else is implied
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        self.db.execute("PRAGMA foreign_keys = ON")
        # Write-ahead log, synced at checkpoints: a commit is atomic and survives the death of the process (SIGKILL)
        # at any instant; only a power cut or OS crash may lose the last commits (never half of one). A full fsync
        # per chunk (the default) costs ~17 ms on this machine, longer than a 64-configuration chunk takes to run.
        # While a sweep runs, sweeps.sqlite-wal and -shm lie beside the file; a clean close folds them back in.
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.executescript(SCHEMA)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- sweeps ----------------------------------------------------------------------------------------------
    def register(self, spec, provenance: dict) -> str:
        """Record the sweep (once); returns its id. A different spec under a stored name is refused."""
        row = self.db.execute("SELECT id FROM sweeps WHERE name = ?", (spec.name,)).fetchone()
        if row and row[0] != spec.id:
            raise ValueError(f"store {str(self.root)!r} already holds a different sweep named {spec.name!r} "
                             f"(id {row[0]}, this spec is {spec.id}); rename the sweep or use another --store")
        if not row:
            self.db.execute("INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (spec.id, spec.name, json.dumps(spec.data), json.dumps(provenance),
                             spec.num_configs, len(spec.chunks()), time.time()))
        return spec.id

    def sweeps(self) -> list[dict]:
        rows = self.db.execute("SELECT id, name, spec, provenance, num_configs, num_chunks, created, "
                               "(SELECT COUNT(*) FROM chunks c WHERE c.sweep = s.id) FROM sweeps s "
                               "ORDER BY created").fetchall()
        return [{"id": r[0], "name": r[1], "spec": json.loads(r[2]), "provenance": json.loads(r[3]),
                 "num_configs": r[4], "num_chunks": r[5], "created": r[6], "chunks_done": r[7]} for r in rows]

    def find(self, name_or_id: str | None) -> dict:
        """One sweep by name or id; without one, the only sweep of the store."""
        found = self.sweeps()
        if name_or_id is not None:
            found = [s for s in found if name_or_id in (s["name"], s["id"])]
        if len(found) != 1:
            names = ", ".join(s["name"] for s in self.sweeps()) or "none"
            what = f"no sweep {name_or_id!r}" if name_or_id else "several sweeps" if found else "no sweep"
            raise ValueError(f"{what} in store {str(self.root)!r}; its sweeps: {names}")
        return found[0]

    # -- chunks ----------------------------------------------------------------------------------------------
    def done(self, sweep: str) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT chunk FROM chunks WHERE sweep = ?", (sweep,))}

    def write_chunk(self, sweep: str, chunk: int, seconds: float, results: list[dict]) -> bool:
        """Store one chunk and all its configurations in one transaction; False (and nothing written) when the chunk
        is stored already, e.g. by another process running the same sweep on the same store."""
        rows = [(sweep, r["config"], chunk, r["seed"], r["batch_size"], json.dumps(r["hyperparams"]),
                 None if not np.isfinite(r["final_loss"]) else float(r["final_loss"]), int(r["diverged"]),
                 r["diverged_at"], _blob(r["epoch_losses"]), _blob(r["curve"])) for r in results]
        self.db.execute("BEGIN IMMEDIATE")  # takes the write lock: the check below and the inserts are one step
        try:
            if self.db.execute("SELECT 1 FROM chunks WHERE sweep = ? AND chunk = ?", (sweep, chunk)).fetchone():
                self.db.execute("ROLLBACK")
                return False
            self.db.execute("INSERT INTO chunks VALUES (?, ?, ?, ?)", (sweep, chunk, seconds, time.time()))
            self.db.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return True

    def results(self, sweep: str) -> list[dict]:
        """Every stored configuration of ``sweep``, in configuration order."""
        rows = self.db.execute("SELECT config, chunk, seed, batch_size, hyperparams, final_loss, diverged, "
                               "diverged_at, epoch_losses, curve FROM results WHERE sweep = ? ORDER BY config",
                               (sweep,)).fetchall()
        return [{"config": r[0], "chunk": r[1], "seed": r[2], "batch_size": r[3], "hyperparams": json.loads(r[4]),
                 "final_loss": np.nan if r[5] is None else r[5], "diverged": bool(r[6]), "diverged_at": r[7],
                 "epoch_losses": _array(r[8]), "curve": _array(r[9])} for r in rows]
