"""The path from a connector to the store: intake → on-disk buffer → writer (map, store, derive) → acknowledge.

`TelemetryPipeline` runs one writer thread per process. Each connector gets a `ConnectorIntake` (the
`Intake` of `runtime.py`) that appends to the buffer and keeps the connector's health. The writer takes the
oldest batches, converts them with the tag map, writes samples, rollups, states and counts, quarantined
input and unmapped addresses in one transaction, and acknowledges the batches only after the commit.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from synfab.connect.buffer import Batch, Buffer, BufferFull
from synfab.connect.models import Connector, ConnectorStatus, QuarantinedInput, UnmappedAddress
from synfab.connect.runtime import Reading, now_ms
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.telemetry.events import BufferFillingUp
from synfab.telemetry.mapping import Converted, TagMap
from synfab.telemetry.states import StateEngine
from synfab.telemetry.writer import store_samples

log = logging.getLogger(__name__)


@dataclass
class Health:
    """One connector's figures in this process, as the health page shows them."""

    connector_id: int
    code: str
    running: bool = False
    connected: bool = False
    since: datetime | None = None
    last_error: str | None = None
    last_data_at: datetime | None = None
    points_total: int = 0
    errors: int = 0
    quarantined: int = 0
    unmapped: int = 0
    dropped: int = 0
    _window: deque[tuple[float, int]] = field(default_factory=deque)

    def received(self, n: int) -> None:
        now = time.monotonic()
        self.points_total += n
        self.last_data_at = datetime.now(UTC)
        self._window.append((now, n))
        while self._window and now - self._window[0][0] > 10.0:
            self._window.popleft()

    @property
    def points_per_s(self) -> float:
        now = time.monotonic()
        while self._window and now - self._window[0][0] > 10.0:
            self._window.popleft()
        return sum(n for _, n in self._window) / 10.0


class ConnectorIntake:
    """A connector's door into the pipeline: everything goes to the buffer first."""

    def __init__(self, pipeline: TelemetryPipeline, connector_id: int, code: str) -> None:
        self.pipeline = pipeline
        self.connector_id = connector_id
        self.health = Health(connector_id, code)
        self.unmapped_addresses: set[str] = set()

    def readings(self, batch: list[Reading]) -> bool:
        """Put the batch on the buffer; False when the buffer is full and the batch was not taken."""
        if not batch:
            return True
        body = [(r.address, r.ts_ms, r.value, r.quality) for r in batch]
        if not self.pipeline.put(self, "r", body, len(body)):
            return False
        self.health.received(len(body))
        return True

    def quarantine(self, reason: str, detail: str, payload: bytes | str) -> None:
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
        if self.pipeline.put(self, "q", [(reason, detail[:1000], text[:4000], now_ms())], 0):
            self.health.quarantined += 1

    def connected(self, up: bool, error: str | None = None) -> None:
        h = self.health
        if up != h.connected:
            h.since = datetime.now(UTC)
        if error:
            h.errors += 1
            h.last_error = error
        elif up:
            h.last_error = None
        h.connected = up
        # In order with the data: a machine goes offline after the last values it sent before the loss.
        self.pipeline.put(self, "c", (up, error, now_ms()), 0)

    def part_offline(self, prefix: str, at_ms: int | None = None) -> None:
        """One part of the source is lost while the connector stays connected (a Sparkplug node or device died):
        the machines whose tag addresses start with `prefix` are offline."""
        self.pipeline.put(self, "c", (False, None, at_ms or now_ms(), prefix), 0)


class TelemetryPipeline:
    """One process's buffer and writer; `start()` runs the writer thread, `stop()` drains and ends it."""

    def __init__(self, db: Database, buffer: Buffer, *, batch_points: int = 20_000,
                 status_every_s: float = 2.0) -> None:
        self.db = db
        self.buffer = buffer
        self.batch_points = batch_points
        self.status_every_s = status_every_s
        self.tag_map = TagMap()
        self.states = StateEngine()
        self.intakes: dict[int, ConnectorIntake] = {}
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        self.written = 0
        self.failures = 0
        self._site: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False
        self._status_at = 0.0

    @classmethod
    def at(cls, db: Database, directory: Path, max_bytes: int = 512 * 1024 * 1024) -> TelemetryPipeline:
        return cls(db, Buffer(Path(directory) / "buffer.sqlite", max_bytes=max_bytes))

    def intake(self, connector_id: int, code: str) -> ConnectorIntake:
        intake = self.intakes.get(connector_id)
        if intake is None:
            intake = self.intakes[connector_id] = ConnectorIntake(self, connector_id, code)
        return intake

    def put(self, intake: ConnectorIntake, kind: str, body: Any, points: int) -> bool:
        try:
            self.buffer.put(intake.connector_id, kind, body, points)
        except BufferFull as exc:
            intake.health.dropped += points
            intake.health.last_error = str(exc)
            log.error("%s; %d points of %s dropped", exc, points, intake.health.code)
            return False
        return True

    # -- the writer -----------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="synfab-telemetry-writer", daemon=True)
            self._thread.start()

    def stop(self, drain: bool = True, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if drain:
            while self.buffer.pending and self.write_once():
                pass
        self.write_status(force=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.write_once():
                    self.buffer.wait(0.2)
                self.write_status()
            except Exception:  # noqa: BLE001 - the store is away or a bug: keep the batches, retry later
                self.failures += 1
                log.exception("telemetry writer failed; the batches stay in the buffer and are retried")
                self._stop.wait(min(30.0, 0.5 * 2 ** min(self.failures, 6)))

    def write_once(self) -> int:
        """Write the oldest buffered batches in one transaction, then acknowledge them; points written."""
        batches = self.buffer.take(self.batch_points)
        if not batches:
            return 0
        with acting_as(SYSTEM), self.db.uow() as uow:
            session = uow.session
            self.tag_map.refresh(session)
            self.states.refresh(session, self.tag_map.by_id)
            stored = self._write(uow, batches)
            uow.commit()
        self.buffer.ack(batches)
        self.failures = 0
        self.written += stored
        return max(stored, 1)

    def _write(self, uow: Any, batches: list[Batch]) -> int:
        session = uow.session
        converted: dict[int, Converted] = {}
        events: list[tuple[int, str, Any]] = []  # quarantines and connection changes, in order
        stored = 0

        def flush() -> None:
            nonlocal stored
            rows = [r for c in converted.values() for r in c.rows]
            inserted = store_samples(session, rows)
            stored += len(inserted)
            self.states.apply(uow, inserted, self.tag_map.by_id)
            for connector_id, c in converted.items():
                self._keep_aside(session, connector_id, c)
            converted.clear()

        for batch in batches:
            if batch.kind == "r":
                out = converted.setdefault(batch.connector_id, Converted())
                self.tag_map.convert(batch.connector_id, batch.body, out)
            elif batch.kind == "c":
                flush()  # what came before the loss is the machine's last state
                up, _error, at, *part = batch.body
                if not up:
                    self.states.offline(uow, batch.connector_id, at, part[0] if part else None)
            elif batch.kind == "q":
                events.append((batch.connector_id, "q", batch.body))
        flush()
        for connector_id, _kind, body in events:
            for reason, detail, payload, at in body:
                session.add(QuarantinedInput(connector_id=connector_id, site_id=self._site_of(session, connector_id),
                                             received_at=datetime.fromtimestamp(at / 1000, UTC), reason=reason,
                                             detail=detail, payload=payload))
        return stored

    def _keep_aside(self, session: Any, connector_id: int, c: Converted) -> None:
        if c.quarantined:
            site = self._site_of(session, connector_id)
            for reason, detail, payload in c.quarantined:
                session.add(QuarantinedInput(connector_id=connector_id, site_id=site, reason=reason, detail=detail,
                                             payload=payload))
            intake = self.intakes.get(connector_id)
            if intake is not None:
                intake.health.quarantined += len(c.quarantined)
        if c.unmapped:
            site = self._site_of(session, connector_id)
            known = {u.address: u for u in session.scalars(select(UnmappedAddress).where(
                UnmappedAddress.connector_id == connector_id, UnmappedAddress.address.in_(list(c.unmapped))))}
            now = datetime.now(UTC)
            for address, (count, value, ts) in c.unmapped.items():
                row = known.get(address)
                if row is None:
                    row = UnmappedAddress(connector_id=connector_id, site_id=site, address=address[:300], count=0,
                                          first_seen=now)
                    session.add(row)
                row.count += count
                row.last_seen = now
                row.last_value = str(value)[:200]
                row.last_ts_ms = ts if isinstance(ts, int) else None
            intake = self.intakes.get(connector_id)
            if intake is not None:
                intake.unmapped_addresses.update(c.unmapped)
                intake.health.unmapped = len(intake.unmapped_addresses)

    def _site_of(self, session: Any, connector_id: int) -> int:
        site = self._site.get(connector_id)
        if site is None:
            site = self._site[connector_id] = session.scalar(
                select(Connector.site_id).where(Connector.id == connector_id))
        return site

    # -- health -------------------------------------------------------------------------------------------

    def write_status(self, force: bool = False) -> None:
        """Save every connector's health here for the health page and `/api/v1/connectors`."""
        now = time.monotonic()
        if not force and now - self._status_at < self.status_every_s:
            return
        self._status_at = now
        fill = self.buffer.fill
        with acting_as(SYSTEM), self.db.uow() as uow:
            session = uow.session
            if self.buffer.filling_up and not self._warned:
                log.warning("telemetry buffer %.0f %% full: the store is not keeping up", fill * 100)
                uow.record(BufferFillingUp(process=self.process, fill=round(fill, 3)))
            self._warned = self.buffer.filling_up
            for intake in self.intakes.values():
                h = intake.health
                row = session.get(ConnectorStatus, h.connector_id)
                if row is None:
                    row = ConnectorStatus(connector_id=h.connector_id, site_id=self._site_of(session, h.connector_id))
                    session.add(row)
                row.running, row.connected, row.since = h.running, h.connected, h.since
                row.last_data_at, row.points_per_s, row.points_total = h.last_data_at, h.points_per_s, h.points_total
                row.errors, row.quarantined, row.unmapped = h.errors, h.quarantined, h.unmapped
                row.buffer_fill, row.last_error, row.process = fill, h.last_error, self.process
                row.updated_at = datetime.now(UTC)
            uow.commit()
