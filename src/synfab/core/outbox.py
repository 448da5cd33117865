"""The outbox dispatcher: claims due rows, delivers them, retries with backoff, dead-letters the hopeless.

Runs as a background task of the server (`synfab serve`/`demo`) or once from `synfab outbox run`.
Several dispatchers may run against one PostgreSQL database: rows are claimed with
`FOR UPDATE SKIP LOCKED` and a lease, so each row is worked by one of them at a time.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select, update

from synfab.core import clock
from synfab.core.bus import Event
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.core.models import EventRecord, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    id: int
    consumer: str
    attempts: int
    event: Event


class OutboxDispatcher:
    def __init__(
        self, db: Database, *, max_attempts: int = 8, backoff_s: float = 2.0, poll_s: float = 1.0,
        batch: int = 100, lease_s: float = 120.0,
    ) -> None:
        self.db = db
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.poll_s = poll_s
        self.batch = batch
        self.lease_s = lease_s
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    # -- claiming and settling (blocking; run in a worker thread) ----------------------------------

    def claim(self) -> list[Claimed]:
        now = clock.now()
        with self.db.uow() as uow:
            rows = uow.session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.available_at <= now,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                )
                .order_by(OutboxMessage.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            records = {
                r.id: r for r in uow.session.scalars(
                    select(EventRecord).where(EventRecord.id.in_({row.event_id for row in rows}))
                )
            }
            claimed = []
            for row in rows:
                row.claimed_until = now + timedelta(seconds=self.lease_s)
                rec = records[row.event_id]
                claimed.append(Claimed(row.id, row.consumer, row.attempts, Event.restore(
                    rec.type, rec.payload, id=rec.id, occurred_at=rec.occurred_at,
                    causation_id=rec.causation_id, correlation_id=rec.correlation_id,
                )))
            uow.session.commit()
            return claimed

    def settle(self, done: list[int], failed: list[tuple[Claimed, str]]) -> None:
        now = clock.now()
        with self.db.uow() as uow:
            if done:
                uow.session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(done))
                    .values(status=OutboxStatus.DONE, done_at=now, claimed_until=None, last_error=None)
                )
            for item, error in failed:
                attempts = item.attempts + 1
                dead = attempts >= self.max_attempts
                delay = self.backoff_s * (2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
                uow.session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == item.id).values(
                        attempts=attempts, last_error=error[:2000], claimed_until=None,
                        status=OutboxStatus.DEAD if dead else OutboxStatus.PENDING,
                        available_at=now + timedelta(seconds=delay),
                    )
                )
                if dead:
                    log.error("outbox %s → %s dead after %d attempts: %s", item.id, item.consumer, attempts, error)
            uow.session.commit()

    def _run_sync_handler(self, fn: object, event: Event) -> None:
        """Retry of an in-transaction handler that failed: its own unit of work."""
        with self.db.uow() as uow:
            with uow.caused_by(event):
                fn(uow, event)  # type: ignore[operator]
            uow.commit()

    # -- delivery -----------------------------------------------------------------------------------

    async def deliver(self, item: Claimed) -> str | None:
        """Deliver one claimed row; the error text, or None on success."""
        reg = self.db.bus.get(item.consumer)
        if reg is None:
            return f"no consumer named {item.consumer} is registered"
        try:
            with acting_as(SYSTEM):
                if reg.mode == "sync":
                    await asyncio.to_thread(self._run_sync_handler, reg.fn, item.event)
                elif inspect.iscoroutinefunction(reg.fn):
                    await reg.fn(self.db, item.event)
                else:
                    await asyncio.to_thread(reg.fn, self.db, item.event)
        except Exception as exc:
            log.warning("outbox %s → %s failed: %s", item.id, item.consumer, exc)
            return f"{type(exc).__name__}: {exc}"
        return None

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many rows were worked."""
        claimed = await asyncio.to_thread(self.claim)
        if not claimed:
            return 0
        done: list[int] = []
        failed: list[tuple[Claimed, str]] = []
        for item in claimed:
            error = await self.deliver(item)
            if error is None:
                done.append(item.id)
            else:
                failed.append((item, error))
        await asyncio.to_thread(self.settle, done, failed)
        return len(claimed)

    async def drain(self) -> int:
        """Deliver everything due now (CLI, tests)."""
        total = 0
        while worked := await self.run_once():
            total += worked
        return total

    def wake(self) -> None:
        """Thread-safe: a commit wrote outbox rows."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.db.on_outbox_written(self.wake)
        while not self._stopping:
            try:
                worked = await self.run_once()
            except Exception:
                log.exception("outbox dispatcher round failed; retrying")
                worked = 0
            if worked:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stopping = True
        self.wake()


# -- the outbox page's queries and commands -----------------------------------------------------------

def outbox_counts(db: Database) -> dict[OutboxStatus, int]:
    with db.session() as s:
        rows = s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    counts = {status: 0 for status in OutboxStatus}
    counts.update({OutboxStatus(status): n for status, n in rows})
    return counts


def retry_outbox(db: Database, ids: list[int] | None = None) -> int:
    """Deliver again now: all failed rows, or the given rows if they are not delivered yet."""
    with db.uow() as uow:
        if ids is None:
            stmt = update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)
        else:
            stmt = update(OutboxMessage).where(
                OutboxMessage.id.in_(ids), OutboxMessage.status != OutboxStatus.DONE
            )
        result = uow.session.execute(stmt.values(
            status=OutboxStatus.PENDING, attempts=0, available_at=clock.now(), claimed_until=None,
        ))
        uow.session.commit()
    db.notify_outbox()
    return result.rowcount or 0
