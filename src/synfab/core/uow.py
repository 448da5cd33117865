"""The unit of work: one transaction, the events it records, and what happens when it commits."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from synfab.core import clock
from synfab.core.bus import Event
from synfab.core.changes import forget, log_of
from synfab.core.context import current_actor, request_id_var
from synfab.core.errors import Conflict
from synfab.core.i18n import _l
from synfab.core.models import EventRecord, IdempotencyKey, OutboxMessage

if TYPE_CHECKING:
    from synfab.core.db import Database

log = logging.getLogger(__name__)


class UnitOfWork:
    """Use as `with db.uow() as uow: service.do(uow, …); uow.commit()`. Leaving without commit rolls back."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.session: Session = None  # type: ignore[assignment]
        self._pending: list[Event] = []
        self._cause: Event | None = None
        self._outbox_rows = 0
        self.published: list[Event] = []

    def __enter__(self) -> UnitOfWork:
        self.session = self.db.sessions()
        restriction = current_actor().restriction
        # A person's reads see only their scope, and their writes are re-checked against it (core.db).
        self.session.info["restriction"] = restriction
        self.session.info["write_restriction"] = restriction
        self.session.info["capture_changes"] = True
        if self.db.is_sqlite:
            self.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()
        self.session.close()

    # -- events -----------------------------------------------------------------------------------

    def record(self, event: Event) -> Event:
        """Record an event; it is published when the unit of work commits."""
        if self._cause is not None:
            event = dataclasses.replace(
                event,
                causation_id=event.causation_id or self._cause.id,
                correlation_id=event.correlation_id or self._cause.correlation_id or self._cause.id,
            )
        elif event.correlation_id is None:
            event = dataclasses.replace(event, correlation_id=request_id_var.get() or event.id)
        self._pending.append(event)
        return event

    def is_pending(self, event: Event) -> bool:
        """Whether this event (as `record` returned it) is still waiting to be published."""
        return any(e is event for e in self._pending)

    @contextmanager
    def caused_by(self, event: Event) -> Iterator[None]:
        previous, self._cause = self._cause, event
        info = self.session.info
        previous_cause, info["change_cause"] = info.get("change_cause"), event.type_name  # for the audit log
        try:
            yield
        finally:
            self._cause = previous
            info["change_cause"] = previous_cause

    @contextmanager
    def as_system(self) -> Iterator[None]:
        """Consequences of an event are the system's business: handlers see and keep the whole plant consistent,
        whoever's action set them off."""
        info = self.session.info
        saved = info.get("restriction"), info.get("system_writes")
        info["restriction"], info["system_writes"] = None, True
        try:
            yield
        finally:
            info["restriction"], info["system_writes"] = saved

    def _publish(self) -> None:
        bus = self.db.bus
        actor = current_actor().username
        request_id = request_id_var.get()
        while self._pending:
            event = self._pending.pop(0)
            self.session.add(EventRecord(
                id=event.id, type=event.type_name, occurred_at=event.occurred_at, causation_id=event.causation_id,
                correlation_id=event.correlation_id, actor=actor, request_id=request_id, payload=event.payload(),
            ))
            for reg in bus.handlers_for(event, "sync"):
                queued = len(self._pending)
                captured = len(log_of(self.session).changes)
                try:
                    # The savepoint flushes on leaving, still as the system: innermost.
                    with self.caused_by(event), self.as_system(), self.session.begin_nested():
                        reg.fn(self, event)
                except Exception as exc:  # isolated: retried from the outbox, visible on its page
                    del self._pending[queued:]
                    del log_of(self.session).changes[captured:]  # rolled back with its savepoint
                    log.exception("handler %s failed on %s %s; queued for retry", reg.name, event.type_name, event.id)
                    self._queue(event, reg.name, error=f"{type(exc).__name__}: {exc}")
            for reg in bus.handlers_for(event, "outbox"):
                self._queue(event, reg.name)
            self.published.append(event)

    def _queue(self, event: Event, consumer: str, error: str | None = None) -> None:
        now = clock.now()
        self.session.add(OutboxMessage(
            event_id=event.id, event_type=event.type_name, consumer=consumer,
            attempts=1 if error else 0, last_error=error,
            available_at=now + timedelta(seconds=self.db.bus_retry_delay_s) if error else now,
        ))
        self._outbox_rows += 1

    # -- idempotency ------------------------------------------------------------------------------

    def claim_idempotency(self, key: str, scope: str) -> dict[str, Any] | None:
        """Claim a client's submission key. Returns what the first submission produced if it was seen.

        A concurrent duplicate waits on the key's row and then sees the stored result.
        """
        found = self.session.get(IdempotencyKey, key)
        if found is not None:
            return found.result or {}
        try:
            with self.session.begin_nested():
                self.session.add(IdempotencyKey(key=key, scope=scope, actor=current_actor().username))
        except IntegrityError:
            found = self.session.scalars(
                select(IdempotencyKey).where(IdempotencyKey.key == key).execution_options(populate_existing=True)
            ).one()
            return found.result or {}
        return None

    def complete_idempotency(self, key: str, result: dict[str, Any]) -> None:
        row = self.session.get(IdempotencyKey, key)
        if row is not None:
            row.result = result

    # -- transaction ------------------------------------------------------------------------------

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        """Run in-transaction handlers, write the event log and outbox, and commit — all or nothing."""
        try:
            self._publish()
            self.session.flush()
            changes = forget(self.session)
            for hook in self.db.commit_hooks:
                hook(self, changes)
            self.session.commit()
        except StaleDataError as exc:
            self.session.rollback()
            raise Conflict(
                "stale_version", _l("Someone else changed this record at the same time — reload and try again.")
            ) from exc
        if self._outbox_rows:
            self._outbox_rows = 0
            self.db.notify_outbox()

    def rollback(self) -> None:
        self._pending.clear()
        self.session.rollback()
