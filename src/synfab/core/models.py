"""The core's own tables: event log, outbox, idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from synfab.core import clock
from synfab.core.choices import Choice, ChoiceType
from synfab.core.db import Base, UtcDateTime
from synfab.core.i18n import _l


class EventRecord(Base):
    """Every committed domain event, so a chain of causes can be followed and rules replayed."""

    __audited__ = False  # a log of its own

    __tablename__ = "event_record"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(80), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    causation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    correlation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    request_id: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class OutboxStatus(Choice):
    PENDING = "pending", _l("Pending"), "blue"
    DONE = "done", _l("Delivered"), "green"
    DEAD = "dead", _l("Failed"), "red"


class OutboxMessage(Base):
    """One delivery of one event to one consumer outside the transaction that produced it."""

    __audited__ = False  # delivery bookkeeping

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "available_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("event_record.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(80))
    consumer: Mapped[str] = mapped_column(String(120))
    status: Mapped[OutboxStatus] = mapped_column(ChoiceType(OutboxStatus, 10), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class IdempotencyKey(Base):
    """A client-supplied key of a submission already processed, with what it produced."""

    __audited__ = False

    __tablename__ = "idempotency_key"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
