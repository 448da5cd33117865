"""Store-and-forward: what connectors receive waits in an on-disk SQLite file until the store has committed it.

A batch is written here before the connector's `Intake` returns; the telemetry writer takes the oldest
batches, commits them to the store, and only then deletes them (acknowledges). After a crash or restart the
unacknowledged batches are simply taken again — the store is idempotent on (tag, time), so nothing doubles.
Bodies are pickled lists of primitive tuples written by this process (pickle's protocols stay readable across
Python versions; the file is as trusted as the database itself).
"""

from __future__ import annotations

import logging
import pickle
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class BufferFull(Exception):
    """The buffer reached its size cap: the store has not taken batches for too long."""


@dataclass(frozen=True)
class Batch:
    id: int
    connector_id: int
    kind: str  # "r" readings, "q" quarantined input, "c" connection change
    points: int
    size: int
    body: Any


class Buffer:
    """An append-only queue of batches in one SQLite file, safe to use from several threads."""

    def __init__(self, path: Path, max_bytes: int = 512 * 1024 * 1024, warn_fraction: float = 0.7) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.warn_fraction = warn_fraction
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL survives a killed process (the WAL is in the OS's hands once written); FULL would add an fsync
        # per batch for surviving a power cut.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS batch (id INTEGER PRIMARY KEY AUTOINCREMENT, connector_id INTEGER NOT NULL,"
            " kind TEXT NOT NULL, points INTEGER NOT NULL, size INTEGER NOT NULL, body BLOB NOT NULL)")
        row = self._db.execute("SELECT coalesce(sum(size), 0), count(*) FROM batch").fetchone()
        self._bytes, self._count = int(row[0]), int(row[1])
        self._arrived = threading.Event()
        if self._count:
            log.info("buffer %s holds %d unacknowledged batches from before; they will be written", path, self._count)
            self._arrived.set()

    # -- the connectors' side ---------------------------------------------------------------------------

    def put(self, connector_id: int, kind: str, body: Any, points: int) -> int:
        """Append a batch durably; raise `BufferFull` at the cap."""
        data = pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            if self._bytes + len(data) > self.max_bytes:
                raise BufferFull(f"buffer {self.path} is full ({self._bytes} of {self.max_bytes} bytes)")
            cur = self._db.execute("INSERT INTO batch (connector_id, kind, points, size, body) VALUES (?, ?, ?, ?, ?)",
                                   (connector_id, kind, points, len(data), data))
            self._bytes += len(data)
            self._count += 1
        self._arrived.set()
        return int(cur.lastrowid or 0)

    # -- the writer's side ------------------------------------------------------------------------------

    def take(self, max_points: int = 20_000) -> list[Batch]:
        """The oldest unacknowledged batches, up to about `max_points` (at least one batch)."""
        out: list[Batch] = []
        total = 0
        with self._lock:
            rows = self._db.execute(
                "SELECT id, connector_id, kind, points, size, body FROM batch ORDER BY id LIMIT 500").fetchall()
        for id_, connector_id, kind, points, size, body in rows:
            if out and total + points > max_points:
                break
            out.append(Batch(id_, connector_id, kind, points, size, pickle.loads(body)))
            total += points
        return out

    def ack(self, batches: list[Batch]) -> None:
        """The store committed these (the oldest batches, as `take` gave them): forget them."""
        if not batches:
            return
        with self._lock:
            # `take` returns the oldest rows in id order, so they are one range: no batch sits between them.
            self._db.execute("DELETE FROM batch WHERE id >= ? AND id <= ?", (batches[0].id, batches[-1].id))
            self._bytes -= sum(b.size for b in batches)
            self._count -= len(batches)
            if self._count <= 0:
                self._arrived.clear()

    def wait(self, timeout: float) -> bool:
        """Block until a batch may be waiting (or the timeout passes)."""
        return self._arrived.wait(timeout)

    # -- health ---------------------------------------------------------------------------------------

    @property
    def fill(self) -> float:
        """How full the buffer is, 0 to 1."""
        return self._bytes / self.max_bytes if self.max_bytes else 0.0

    @property
    def pending(self) -> int:
        return self._count

    @property
    def filling_up(self) -> bool:
        return self.fill >= self.warn_fraction

    def close(self) -> None:
        with self._lock:
            self._db.close()
