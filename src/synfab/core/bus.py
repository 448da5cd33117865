"""Domain events and the message bus.

Services record past-tense events on the unit of work. On commit the bus
- runs the **in-transaction handlers** (consistency: reservations follow a changed work order), each in
  a savepoint; a handler that fails is rolled back alone and queued on the outbox for retry, so it is
  recorded, retried and visible on the outbox page, never silently swallowed;
- writes one **outbox** row per event and out-of-transaction consumer (notifications, publishing,
  webhooks, live pages), delivered at least once by the dispatcher (`core/outbox.py`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import TypeAdapter

from synfab.core import clock
from synfab.core.ids import new_id

if TYPE_CHECKING:
    from synfab.core.db import Database
    from synfab.core.uow import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every domain event: what happened, when, and what caused it."""

    id: str = field(default_factory=new_id)
    occurred_at: datetime = field(default_factory=clock.now)
    causation_id: str | None = None
    correlation_id: str | None = None

    registry: ClassVar[dict[str, type[Event]]] = {}
    BASE_FIELDS: ClassVar[frozenset[str]] = frozenset({"id", "occurred_at", "causation_id", "correlation_id"})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Event.registry[cls.__name__] = cls

    @property
    def type_name(self) -> str:
        return type(self).__name__

    def payload(self) -> dict[str, Any]:
        """The event's own fields as JSON-ready values."""
        data = _adapter(type(self)).dump_python(self, mode="json")
        return {k: v for k, v in data.items() if k not in self.BASE_FIELDS}

    @staticmethod
    def restore(
        type_name: str, payload: dict[str, Any], *, id: str, occurred_at: datetime,
        causation_id: str | None, correlation_id: str | None,
    ) -> Event:
        """Rebuild an event from its stored form."""
        cls = Event.registry[type_name]
        data = {**payload, "id": id, "occurred_at": occurred_at,
                "causation_id": causation_id, "correlation_id": correlation_id}
        known = {f.name for f in fields(cls)}
        return _adapter(cls).validate_python({k: v for k, v in data.items() if k in known})


@lru_cache(maxsize=None)
def _adapter(cls: type[Event]) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


SyncHandler = Callable[["UnitOfWork", Event], None]
Consumer = Callable[["Database", Event], Awaitable[None] | None]


@dataclass(frozen=True)
class Registration:
    name: str
    event_type: type[Event]
    fn: Callable[..., Any]
    mode: Literal["sync", "outbox"]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


class MessageBus:
    """Which code reacts to which event. Wired once, in `synfab.bootstrap`."""

    def __init__(self) -> None:
        self._registrations: dict[str, Registration] = {}

    @staticmethod
    def _name(fn: Callable[..., Any]) -> str:
        return f"{fn.__module__}.{fn.__qualname__}"

    def _add(self, event_type: type[Event], fn: Callable[..., Any], mode: Literal["sync", "outbox"],
             name: str | None) -> None:
        reg = Registration(name or self._name(fn), event_type, fn, mode)
        existing = self._registrations.get(reg.name)
        if existing is not None and existing != reg:
            raise ValueError(f"handler name {reg.name} registered twice")
        self._registrations[reg.name] = reg

    def on(self, event_type: type[Event], handler: SyncHandler, *, name: str | None = None) -> None:
        """Run `handler(uow, event)` inside the transaction that records the event."""
        self._add(event_type, handler, "sync", name)

    def deliver(self, event_type: type[Event], consumer: Consumer, *, name: str | None = None) -> None:
        """Deliver the event to `consumer(db, event)` after commit, at least once, through the outbox."""
        self._add(event_type, consumer, "outbox", name)

    def handlers_for(self, event: Event, mode: Literal["sync", "outbox"]) -> list[Registration]:
        """Registrations of this mode for the event's class or any of its bases."""
        return [r for r in self._registrations.values() if r.mode == mode and isinstance(event, r.event_type)]

    def get(self, name: str) -> Registration | None:
        return self._registrations.get(name)

    def registrations(self) -> list[Registration]:
        return list(self._registrations.values())
