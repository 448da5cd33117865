"""Runs the enabled connectors of the database as coordinators in one event loop — the web server's, or a
`synfab connect` worker's for scale — and follows changes to their settings and tags.

Two processes never run the same connector: a process takes a connector only when no other process has
reported its health within `LEASE_S` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from synfab.connect.kinds import coordinator_class
from synfab.connect.models import Connector, ConnectorStatus
from synfab.connect.pipeline import TelemetryPipeline
from synfab.connect.runtime import Coordinator, SourceAddress, SourceError
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.telemetry.models import Tag

log = logging.getLogger(__name__)
LEASE_S = 15.0


@dataclass
class NoSource(Exception):
    """The connector has no source to test: devices post to synfab (HTTP ingest)."""


@dataclass
class Running:
    coordinator: Coordinator
    task: asyncio.Task[None]
    stamp: tuple[Any, ...]


def _addresses(session: Any, connector_id: int) -> list[SourceAddress]:
    rows = session.execute(select(Tag.address, Tag.sampling_ms).where(
        Tag.connector_id == connector_id, Tag.enabled.is_(True)).order_by(Tag.id))
    return [SourceAddress(a, s or 0) for a, s in rows]


def build_coordinator(session: Any, connector: Connector, intake: Any) -> Coordinator | None:
    cls = coordinator_class(connector.kind)
    if cls is None:
        return None
    return cls(connector.code, cls.parse_config(connector.config), _addresses(session, connector.id), intake,
               secret=connector.secret)


async def probe(db: Database, connector_id: int, timeout_s: float = 10.0) -> dict[str, Any]:
    """Connect once with the connector's settings ("test connection"); raise `SourceError` saying why not."""

    class _Nowhere:
        def readings(self, batch: Any) -> None: ...
        def quarantine(self, *a: Any) -> None: ...
        def connected(self, *a: Any) -> None: ...

    with db.session() as s:
        connector = s.get(Connector, connector_id)
        coordinator = build_coordinator(s, connector, _Nowhere()) if connector else None
    if coordinator is None:
        raise NoSource()
    try:
        return await asyncio.wait_for(coordinator.probe(), timeout_s)
    except TimeoutError:
        raise SourceError(f"no answer within {timeout_s:.0f} s") from None


def _part_offline(intake: Any) -> Any:
    def changed(change: Any) -> None:
        if not change.online:
            prefix = f"{change.group}/{change.node}/" + (f"{change.device}/" if change.device else "")
            intake.part_offline(prefix, change.ts_ms)
    return changed


class ConnectorManager:
    """Start, stop and follow the connectors this process runs."""

    def __init__(self, db: Database, pipeline: TelemetryPipeline, *, only: set[str] | None = None,
                 watch_every_s: float = 3.0) -> None:
        self.db = db
        self.pipeline = pipeline
        self.only = only
        self.watch_every_s = watch_every_s
        self.running: dict[int, Running] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Follow the database from now on (call inside the event loop)."""
        self.pipeline.start()
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="synfab-connectors")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for connector_id in list(self.running):
            await self._stop_one(connector_id)
        await asyncio.to_thread(self.pipeline.stop)

    async def sync(self) -> None:
        """Start what should run here, stop what should not, restart what changed."""
        wanted = await asyncio.to_thread(self._wanted)
        for connector_id in [c for c in self.running if c not in wanted or self.running[c].stamp != wanted[c][1]]:
            await self._stop_one(connector_id)
        for connector_id, (connector, stamp, addresses) in wanted.items():
            if connector_id in self.running:
                continue
            cls = coordinator_class(connector.kind)
            if cls is None:
                continue
            intake = self.pipeline.intake(connector.id, connector.code)
            try:
                config = cls.parse_config(connector.config)
            except Exception as exc:  # noqa: BLE001 - shown on the health page; the others keep running
                intake.health.last_error = f"settings not valid: {exc}"
                continue
            coordinator = cls(connector.code, config, addresses, intake, secret=connector.secret)
            if hasattr(coordinator, "on_node_change"):  # Sparkplug: a node or device that dies is offline
                coordinator.on_node_change = _part_offline(intake)
            intake.health.running = True
            task = asyncio.create_task(coordinator.run(), name=f"connector-{connector.code}")
            self.running[connector_id] = Running(coordinator, task, stamp)
            log.info("connector %s (%s) started with %d tags", connector.code, connector.kind.value, len(addresses))

    def _wanted(self) -> dict[int, tuple[Connector, tuple[Any, ...], list[SourceAddress]]]:
        now = datetime.now(UTC)
        with acting_as(SYSTEM), self.db.session() as s:
            q = select(Connector).where(Connector.enabled.is_(True))
            if self.only is not None:
                q = q.where(Connector.code.in_(self.only))
            leased = {r.connector_id: r for r in s.scalars(select(ConnectorStatus))}
            tag_stamps = dict(s.execute(select(Tag.connector_id, func.sum(Tag.version) + func.count(Tag.id))
                                        .group_by(Tag.connector_id)).all())
            out = {}
            for c in s.scalars(q):
                if coordinator_class(c.kind) is None:
                    continue
                lease = leased.get(c.id)
                if (c.id not in self.running and lease is not None and lease.running
                        and lease.process != self.pipeline.process
                        and lease.updated_at > now - timedelta(seconds=LEASE_S)):
                    continue  # another process runs it
                out[c.id] = (c, (c.version, tag_stamps.get(c.id, 0)), _addresses(s, c.id))
                s.expunge(c)
            return out

    async def _stop_one(self, connector_id: int) -> None:
        run = self.running.pop(connector_id)
        run.coordinator.stop()
        try:
            await asyncio.wait_for(run.task, 10)
        except (TimeoutError, asyncio.CancelledError):
            run.task.cancel()
        except Exception:  # noqa: BLE001
            log.exception("connector %s ended with an error", run.coordinator.code)
        intake = self.pipeline.intakes.get(connector_id)
        if intake is not None:
            intake.health.running = False
            intake.health.connected = False

    async def _watch(self) -> None:
        while True:
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be away for a moment; try again
                log.exception("could not follow the connector settings")
            await asyncio.sleep(self.watch_every_s)
