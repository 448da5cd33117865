"""Events, in-transaction handlers, the outbox and its dispatcher, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from synfab.core import clock
from synfab.core.bus import Event
from synfab.core.context import request_id_var
from synfab.core.db import Database, check_version
from synfab.core.errors import Conflict
from synfab.core.models import EventRecord, IdempotencyKey, OutboxMessage, OutboxStatus
from synfab.core.outbox import OutboxDispatcher, outbox_counts, retry_outbox
from synfab.plant.models import EquipmentClass


@dataclass(frozen=True, kw_only=True)
class ThingHappened(Event):
    name: str


@dataclass(frozen=True, kw_only=True)
class ThingFollowed(Event):
    name: str


def _add_class(uow, code: str) -> EquipmentClass:
    ec = EquipmentClass(code=code, name=code)
    uow.session.add(ec)
    uow.flush()
    return ec


def test_events_are_logged_with_correlation_and_causation(db: Database) -> None:
    def follow(uow, event: ThingHappened) -> None:
        _add_class(uow, f"{event.name}-follow")
        uow.record(ThingFollowed(name=event.name))

    db.bus.on(ThingHappened, follow)
    token = request_id_var.set("req-42")
    try:
        with db.uow() as uow:
            first = uow.record(ThingHappened(name="a"))
            uow.commit()
    finally:
        request_id_var.reset(token)
    with db.session() as s:
        rows = {r.type: r for r in s.scalars(select(EventRecord))}
        assert set(rows) == {"ThingHappened", "ThingFollowed"}
        assert rows["ThingHappened"].correlation_id == "req-42"
        assert rows["ThingHappened"].causation_id is None
        assert rows["ThingFollowed"].causation_id == first.id
        assert rows["ThingFollowed"].correlation_id == "req-42"
        assert rows["ThingHappened"].payload == {"name": "a"}
        assert s.scalar(select(EquipmentClass.code)) == "a-follow"


def test_nothing_is_written_without_commit(db: Database) -> None:
    with db.uow() as uow:
        _add_class(uow, "X")
        uow.record(ThingHappened(name="x"))
    with db.session() as s:
        assert s.scalar(select(EquipmentClass)) is None
        assert s.scalar(select(EventRecord)) is None


def test_failing_handler_is_isolated_recorded_and_retried(db: Database) -> None:
    calls = {"n": 0}

    def flaky(uow, event: ThingHappened) -> None:
        calls["n"] += 1
        _add_class(uow, f"by-handler-{calls['n']}")
        if calls["n"] == 1:
            raise RuntimeError("printer on fire")

    db.bus.on(ThingHappened, flaky)
    with db.uow() as uow:
        _add_class(uow, "by-command")
        uow.record(ThingHappened(name="b"))
        uow.commit()
    with db.session() as s:
        # The command's own change stands; the handler's half-done work was rolled back alone.
        assert list(s.scalars(select(EquipmentClass.code))) == ["by-command"]
        row = s.scalar(select(OutboxMessage))
        assert row.status == OutboxStatus.PENDING and row.attempts == 1
        assert "printer on fire" in row.last_error
    later = clock.now() + timedelta(minutes=5)
    clock.set_clock(lambda: later)
    worker = OutboxDispatcher(db)
    assert asyncio.run(worker.drain()) == 1
    with db.session() as s:
        assert sorted(s.scalars(select(EquipmentClass.code))) == ["by-command", "by-handler-2"]
        assert s.scalar(select(OutboxMessage.status)) == OutboxStatus.DONE


def test_outbox_consumer_retries_with_backoff_then_dead_letters(db: Database) -> None:
    attempts: list[str] = []

    def always_fails(database, event: ThingHappened) -> None:
        attempts.append(event.name)
        raise ConnectionError("webhook down")

    db.bus.deliver(ThingHappened, always_fails)
    with db.uow() as uow:
        uow.record(ThingHappened(name="c"))
        uow.commit()
    base = clock.now()
    worker = OutboxDispatcher(db, max_attempts=3, backoff_s=10)
    for minutes in (0, 1, 10):  # each round after the previous backoff has passed
        clock.set_clock(lambda m=minutes: base + timedelta(minutes=m))
        asyncio.run(worker.run_once())
    assert attempts == ["c", "c", "c"]
    assert outbox_counts(db)[OutboxStatus.DEAD] == 1
    with db.session() as s:
        row = s.scalar(select(OutboxMessage))
        assert row.attempts == 3 and "webhook down" in row.last_error

    # An administrator retries the dead row: it is due at once and delivered again.
    assert retry_outbox(db) == 1
    assert outbox_counts(db)[OutboxStatus.PENDING] == 1
    asyncio.run(worker.run_once())
    assert attempts == ["c", "c", "c", "c"]


def test_consumer_sees_the_event_it_was_given(db: Database) -> None:
    seen: list[Event] = []

    async def collect(database, event: Event) -> None:
        seen.append(event)

    db.bus.deliver(ThingHappened, collect)
    with db.uow() as uow:
        sent = uow.record(ThingHappened(name="d"))
        uow.commit()
    asyncio.run(OutboxDispatcher(db).drain())
    assert len(seen) == 1
    assert seen[0] == sent  # same id, time, causation, correlation and payload


def test_dispatcher_wakes_on_commit(db: Database) -> None:
    got = threading.Event()
    db.bus.deliver(ThingHappened, lambda database, event: got.set())

    async def scenario() -> None:
        worker = OutboxDispatcher(db, poll_s=30)  # far longer than the test waits: only the wake-up can deliver
        task = asyncio.create_task(worker.run_forever())
        await asyncio.sleep(0.1)

        def commit() -> None:
            with db.uow() as uow:
                uow.record(ThingHappened(name="e"))
                uow.commit()

        await asyncio.to_thread(commit)
        for _ in range(100):
            if got.is_set():
                break
            await asyncio.sleep(0.02)
        worker.stop()
        await task

    asyncio.run(scenario())
    assert got.is_set()


def test_idempotency_key_returns_the_first_result(db: Database) -> None:
    with db.uow() as uow:
        assert uow.claim_idempotency("k1", "test") is None
        uow.complete_idempotency("k1", {"id": 7})
        uow.commit()
    with db.uow() as uow:
        assert uow.claim_idempotency("k1", "test") == {"id": 7}
    with db.session() as s:
        assert s.scalar(select(IdempotencyKey.result)) == {"id": 7}


def test_stale_version_names_who_changed_it(db: Database) -> None:
    with db.uow() as uow:
        ec = _add_class(uow, "V")
        uow.commit()
    with db.uow() as uow:
        rec = uow.session.get(EquipmentClass, ec.id)
        rec.name = "changed"
        uow.commit()
        assert rec.version == 2
        with pytest.raises(Conflict) as info:
            check_version(rec, 1)
    assert info.value.code == "stale_version"
    assert "system" in info.value.message.in_locale("en")
    assert "system" in info.value.message.in_locale("zh_CN")
    assert info.value.message.in_locale("zh_CN") != info.value.message.in_locale("en")


def test_two_dispatchers_never_claim_the_same_row(postgres_database: Database) -> None:
    """On PostgreSQL, rows are claimed with FOR UPDATE SKIP LOCKED and a lease: concurrent dispatchers split them."""
    from tests.conftest import _empty

    db = postgres_database
    _empty(db)
    db.bus = type(db.bus)()
    db.bus.deliver(ThingHappened, lambda database, event: None)
    with db.uow() as uow:
        for i in range(200):
            uow.record(ThingHappened(name=str(i)))
        uow.commit()
    first, second = OutboxDispatcher(db, batch=150), OutboxDispatcher(db, batch=150)
    barrier = threading.Barrier(2)
    claimed: dict[str, list[int]] = {}

    def claim(name: str, worker: OutboxDispatcher) -> None:
        barrier.wait()
        claimed[name] = [c.id for c in worker.claim()]

    threads = [threading.Thread(target=claim, args=(n, w)) for n, w in (("a", first), ("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(claimed["a"]) & set(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == 200
    assert first.claim() == [] and second.claim() == []  # leased: nobody takes them again until the lease ends
