"""FAULT: "OPC UA server stopped for 20 s, then restarted: subscriptions come back by themselves; a
sequence-counter tag shows 0 duplicates and no values missing beyond what the source itself did not keep."

The simulated server publishes its Sequence tag every 250 ms (slower than the 100 ms sampling, so no value is
legitimately coalesced) and records what it published. While it is stopped nothing is published (a stopped
source keeps nothing); after the restart it serves the last value with its own timestamp and goes on counting.
"""

from __future__ import annotations

import asyncio
import time

from synfab.connect.opcua import OpcUaConfig, OpcUaCoordinator
from synfab.connect.runtime import SourceAddress
from synfab.sim.opcua_server import MachiningSim, node_id
from tests.connect.machines.support import MemoryIntake, free_port, until

DOWN_S = 20.0
TICK_S = 0.25
SEQ = node_id("CNC-01", "Sequence")


def received(intake: MemoryIntake) -> list[tuple[int, object]]:
    with intake.lock:
        return [(r.ts_ms, r.value) for r in intake.readings_seen if r.address == SEQ]


def lost(intake: MemoryIntake) -> list[str]:
    with intake.lock:
        return [error for up, error in intake.states if not up and error]


def test_server_stopped_for_20_s_then_restarted_the_subscription_comes_back_without_gaps() -> None:
    sim = MachiningSim(["CNC-01"], port=free_port(), record=True)
    sim.start()
    port = sim.port
    intake = MemoryIntake()
    cfg = OpcUaConfig(endpoint=sim.endpoint, publishing_interval_ms=100, sampling_interval_ms=100,
                      watchdog_interval_ms=1000)
    coord = OpcUaCoordinator("machining", cfg, [SourceAddress(SEQ)], intake)
    coord.max_backoff_s = 2.0  # keep the test short; the backoff itself is the base loop's
    timeline: dict[str, float] = {}

    async def ticking() -> None:
        while True:
            sim.tick(TICK_S)
            await asyncio.sleep(TICK_S)

    async def scenario() -> None:
        task = asyncio.create_task(coord.run())
        ticker = asyncio.create_task(ticking())
        try:
            await until(lambda: intake.is_connected and len(received(intake)) >= 8, 10)
            started = time.monotonic()
            sim.stop()
            timeline["stopped_ms"] = time.time() * 1000
            await until(lambda: bool(lost(intake)), 5, step=0.02)
            timeline["noticed_s"] = time.monotonic() - started
            count_when_lost = len(received(intake))
            await asyncio.sleep(DOWN_S - (time.monotonic() - started))
            assert not intake.is_connected
            assert any("cannot be reached" in e for e in lost(intake)), lost(intake)
            assert len(received(intake)) == count_when_lost

            restarted = time.monotonic()
            sim.start()
            assert sim.port == port
            await until(lambda: intake.is_connected, 15)
            timeline["back_s"] = time.monotonic() - restarted
            after = len(received(intake))
            await until(lambda: len(received(intake)) >= after + 8, 10)
        finally:
            ticker.cancel()
            coord.stop()
            await asyncio.wait_for(task, 10)

    try:
        asyncio.run(scenario())
    finally:
        sim.stop()

    seen = received(intake)
    # No (address, timestamp) twice with different values; the same value twice (the restarted server's
    # current value with its original timestamp) is what the store drops as a duplicate.
    by_ts: dict[int, set[object]] = {}
    for ts, value in seen:
        by_ts.setdefault(ts, set()).add(value)
    assert all(len(values) == 1 for values in by_ts.values()), by_ts
    distinct = sorted(set(seen))
    assert intake.duplicates() == len(seen) - len(distinct) <= 1
    # Nothing was published while the server was down, and everything published while connected arrived.
    published = sim.published(SEQ)
    first = distinct[0]
    assert [p for p in published if p >= first] == distinct
    # The values after the restart continue the sequence: no value missing, none counted twice.
    values = [v for _, v in distinct]
    assert values == list(range(values[0], values[0] + len(values)))
    stopped_ms = timeline["stopped_ms"]
    assert not [ts for ts, _ in published if stopped_ms + 50 < ts < stopped_ms + 19_000]
    ups = [up for up, _ in intake.states]
    assert ups[0] is True and False in ups and ups[ups.index(False):].count(True) == 1, intake.states
    assert timeline["noticed_s"] < 3.0, timeline
    assert timeline["back_s"] < coord.max_backoff_s + 5.0, timeline


def test_a_server_that_hangs_is_lost_within_the_watchdog_interval_and_picked_up_when_it_answers() -> None:
    sim = MachiningSim(["CNC-01"], port=free_port())
    sim.start()
    intake = MemoryIntake()
    cfg = OpcUaConfig(endpoint=sim.endpoint, publishing_interval_ms=100, watchdog_interval_ms=500,
                      request_timeout_ms=1000)
    coord = OpcUaCoordinator("machining", cfg, [SourceAddress(SEQ)], intake)
    coord.max_backoff_s = 1.0

    async def scenario() -> None:
        task = asyncio.create_task(coord.run())
        try:
            await until(lambda: intake.is_connected and len(received(intake)) >= 1, 10)
            started = time.monotonic()
            sim.hang(4.0)
            await until(lambda: bool(lost(intake)), 5, step=0.02)
            # Noticed by the watchdog's read of the server state (not answered within its interval).
            assert time.monotonic() - started < 2.5
            assert "does not answer" in lost(intake)[0], lost(intake)
            await until(lambda: intake.is_connected, 15)
            assert time.monotonic() - started >= 3.5
            sim.tick(1.0)
            await until(lambda: 1 in intake.values(SEQ), 5)
        finally:
            coord.stop()
            await asyncio.wait_for(task, 10)

    try:
        asyncio.run(scenario())
    finally:
        sim.stop()
    ups = [up for up, _ in intake.states]
    changes = [up for i, up in enumerate(ups) if i == 0 or up != ups[i - 1]]
    assert changes == [True, False, True, False], intake.states
