"""Live messages to people's open pages (Server-Sent Events): the hub that fans them out inside one process.

A context turns its events into `LiveMessage`s in an outbox consumer (after commit, at least once) and publishes
them on `db.live`. Each open stream (`GET /api/v1/live`) subscribes with a filter built from the person's grants —
the same scoping helper that filters their queries — so a message about line 2 never reaches a line-1 operator.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from synfab.core import clock
from synfab.core.i18n import LazyText


@dataclass(frozen=True)
class LiveMessage:
    """Something a person should see at once: what happened, to which record, where in the plant, for whom."""

    topic: str  # what it is about: "work_order", "schedule", "purchasing" …
    object_type: str  # the permission object type needed to see it (its `.view`)
    path: str | None  # the plant node path of the record (None: plant-wide, for the unrestricted only)
    text: LazyText
    link: str | None
    event_id: str
    causation_id: str | None = None
    correlation_id: str | None = None
    roles: frozenset[str] = frozenset()  # only people holding one of these roles …
    usernames: frozenset[str] = frozenset()  # … or these people (both empty: everyone who may see it)
    occurred_at: datetime = field(default_factory=clock.now)

    def as_json(self, locale: str) -> dict[str, Any]:
        return {"topic": self.topic, "text": self.text.in_locale(locale), "link": self.link,
                "event_id": self.event_id, "causation_id": self.causation_id,
                "correlation_id": self.correlation_id, "at": self.occurred_at.isoformat()}


@dataclass(eq=False)
class Subscriber:
    accepts: Callable[[LiveMessage], bool]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[LiveMessage]
    dropped: int = 0


class LiveHub:
    """Subscribers of this process and what was published to them (the latest emission time, for benchmarks)."""

    def __init__(self, queue_size: int = 200) -> None:
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self.queue_size = queue_size
        self.published = 0
        # event id and correlation id → time.perf_counter() when handed to the streams (what benchmarks wait for)
        self.last_emitted: dict[str, float] = {}

    def subscribe(self, accepts: Callable[[LiveMessage], bool]) -> Subscriber:
        sub = Subscriber(accepts, asyncio.get_running_loop(), asyncio.Queue(self.queue_size))
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, message: LiveMessage) -> int:
        """Hand a message to every stream whose filter takes it (from any thread); returns how many took it."""
        with self._lock:
            subs = list(self._subscribers)
        taken = 0
        for sub in subs:
            if not sub.accepts(message):
                continue
            taken += 1
            sub.loop.call_soon_threadsafe(self._put, sub, message)
        self.published += 1
        now = time.perf_counter()
        self.last_emitted[message.event_id] = now
        if message.correlation_id:
            self.last_emitted[message.correlation_id] = now
        if len(self.last_emitted) > 10_000:
            self.last_emitted.clear()
        return taken

    @staticmethod
    def _put(sub: Subscriber, message: LiveMessage) -> None:
        try:
            sub.queue.put_nowait(message)
        except asyncio.QueueFull:  # a stalled page loses the oldest news, never blocks the others
            sub.dropped += 1
            sub.queue.get_nowait()
            sub.queue.put_nowait(message)
