"""FAULT: a Modbus device not answering. After the configured retries the equipment is offline (not down);
it recovers by itself when the device answers again, on the same connection or after a restart."""

from __future__ import annotations

import asyncio
import time

from synfab.connect.modbus import ModbusConfig, ModbusCoordinator
from synfab.connect.modbus.server_wrap import ModbusDeviceServer
from synfab.connect.runtime import SourceAddress, now_ms
from tests.connect.machines.support import MemoryIntake, free_port, until

TIMEOUT_S, RETRIES = 0.4, 2
# pymodbus sends a request 1 + retries times, each waiting up to the timeout.
LOST_AFTER_S = TIMEOUT_S * (RETRIES + 1)
TEXTS = ["1/hr/0", "1/coil/0"]


def start_device() -> ModbusDeviceServer:
    server = ModbusDeviceServer([1], port=free_port())
    server.write(1, "hr", 0, [1])
    server.start()
    return server


def connector(server: ModbusDeviceServer, intake: MemoryIntake) -> ModbusCoordinator:
    config = ModbusConfig(host="127.0.0.1", port=server.port, poll_interval_ms=100, timeout_s=TIMEOUT_S,
                          retries=RETRIES)
    coord = ModbusCoordinator("assembly", config, [SourceAddress(t) for t in TEXTS], intake)
    coord.max_backoff_s = 1.0  # keep the test short; the backoff itself is the base loop's
    return coord


def lost(intake: MemoryIntake) -> list[str]:
    with intake.lock:
        return [error for up, error in intake.states if not up and error]


def readings_since(intake: MemoryIntake, ts_ms: int) -> list[object]:
    with intake.lock:
        return [r.value for r in intake.readings_seen if r.address == "1/hr/0" and r.ts_ms >= ts_ms]


async def wait_lost_after_pause(server: ModbusDeviceServer, intake: MemoryIntake) -> tuple[float, int]:
    """Pause the device; return how long until the connector reported it lost, and when it was paused."""
    await until(lambda: intake.is_connected and len(intake.values("1/hr/0")) >= 2, 5)
    paused_ms = now_ms()
    started = time.monotonic()
    server.pause()
    await until(lambda: bool(lost(intake)), 10, step=0.02)
    return time.monotonic() - started, paused_ms


def test_device_not_answering_goes_offline_after_retries_and_recovers_when_it_answers() -> None:
    server = start_device()
    intake = MemoryIntake()
    coord = connector(server, intake)

    async def scenario() -> None:
        task = asyncio.create_task(coord.run())
        try:
            elapsed, paused_ms = await wait_lost_after_pause(server, intake)
            # Not before every retry has timed out, and not much later (a poll may begin up to 0.1 s late).
            assert LOST_AFTER_S - 0.05 <= elapsed <= LOST_AFTER_S + 1.0, elapsed
            assert "does not answer" in lost(intake)[0] and "127.0.0.1" in lost(intake)[0]
            # Still not answering: reconnects reach the port but never report it back, and nothing is read.
            await asyncio.sleep(2 * LOST_AFTER_S)
            assert not intake.is_connected
            assert readings_since(intake, paused_ms) == []

            server.write(1, "hr", 0, [2])
            resumed_ms = now_ms()
            server.resume()
            await until(lambda: intake.is_connected and 2 in readings_since(intake, resumed_ms), 10)
            recovered_s = (now_ms() - resumed_ms) / 1000
            assert recovered_s < LOST_AFTER_S + coord.max_backoff_s + 1.0, recovered_s
        finally:
            coord.stop()
            await asyncio.wait_for(task, 10)

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    ups = [up for up, _ in intake.states]
    assert ups[0] is True and ups.count(True) == 2, intake.states


def test_device_gone_and_restarted_on_the_same_port_is_picked_up_again() -> None:
    server = start_device()
    port = server.port
    intake = MemoryIntake()
    coord = connector(server, intake)

    async def scenario() -> None:
        task = asyncio.create_task(coord.run())
        try:
            await until(lambda: intake.is_connected and len(intake.values("1/hr/0")) >= 2, 5)
            stopped_ms = now_ms()
            started = time.monotonic()
            server.stop()
            await until(lambda: bool(lost(intake)), 10, step=0.02)
            assert time.monotonic() - started <= LOST_AFTER_S + 1.0
            # While the port is closed every reconnect is refused and says so.
            await asyncio.sleep(1.5)
            assert any("cannot be reached" in e for e in lost(intake)), lost(intake)
            assert not intake.is_connected
            assert readings_since(intake, stopped_ms + 50) == []

            server.write(1, "hr", 0, [3])
            restarted_ms = now_ms()
            server.start()
            assert server.port == port
            await until(lambda: intake.is_connected and 3 in readings_since(intake, restarted_ms), 10)
            assert (now_ms() - restarted_ms) / 1000 < coord.max_backoff_s + LOST_AFTER_S + 1.0
        finally:
            coord.stop()
            await asyncio.wait_for(task, 10)

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    assert [up for up, _ in intake.states].count(True) == 2, intake.states
