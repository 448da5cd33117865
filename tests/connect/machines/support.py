"""Test support for machine connectors: an intake that keeps what it is handed, and free local ports."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field

from synfab.connect.runtime import Reading


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MemoryIntake:
    """Keeps readings, quarantined input and connection changes, for assertions."""

    readings_seen: list[Reading] = field(default_factory=list)
    quarantined: list[tuple[str, str, bytes | str]] = field(default_factory=list)
    states: list[tuple[bool, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def readings(self, batch: list[Reading]) -> None:
        with self.lock:
            self.readings_seen.extend(batch)

    def quarantine(self, reason: str, detail: str, payload: bytes | str) -> None:
        with self.lock:
            self.quarantined.append((reason, detail, payload))

    def connected(self, up: bool, error: str | None = None) -> None:
        with self.lock:
            self.states.append((up, error))

    @property
    def is_connected(self) -> bool:
        return bool(self.states) and self.states[-1][0]

    def values(self, address: str) -> list[object]:
        with self.lock:
            return [r.value for r in self.readings_seen if r.address == address]

    def duplicates(self) -> int:
        """Readings seen more than once for the same (address, timestamp): what the store would drop."""
        with self.lock:
            counts = Counter((r.address, r.ts_ms) for r in self.readings_seen)
        return sum(n - 1 for n in counts.values() if n > 1)


async def until(predicate, timeout: float = 10.0, step: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    """Wait until `predicate()` is true, or fail with a clear message."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)
