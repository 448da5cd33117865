"""What every machine connector shares: the reading it produces, where it hands readings, and the coordinator
loop that connects, streams, and reconnects with exponential backoff and jitter.

A protocol package (`connect/opcua`, `connect/modbus`, `connect/mqtt`, `connect/sparkplug`) holds a pydantic
config schema, a thin wrapper over its library (library exceptions stop there and become `SourceError`), and
a `Coordinator` subclass. The coordinator never writes the store: it hands batches of `Reading`s to its
`Intake`, which puts them on the on-disk buffer before returning (store-and-forward).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

log = logging.getLogger(__name__)

# OPC UA-style quality, kept small: what a trend shows and the state rules may ignore.
GOOD, UNCERTAIN, BAD = 0, 1, 2


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class Reading:
    """One value as a source sent it, before mapping: the source's own address and timestamp."""

    address: str
    ts_ms: int
    value: Any
    quality: int = GOOD


class SourceError(Exception):
    """A source could not be reached or answered wrongly; the coordinator backs off and reconnects."""


class Intake(Protocol):
    """Where a coordinator hands what it receives. Thread-safe; every method returns quickly."""

    def readings(self, batch: list[Reading]) -> None:
        """Take a batch; it is on the on-disk buffer when this returns."""
        ...

    def quarantine(self, reason: str, detail: str, payload: bytes | str) -> None:
        """Keep input that cannot be read (malformed payload, wrong type, bad timestamp), with its reason."""
        ...

    def connected(self, up: bool, error: str | None = None) -> None:
        """The source is reachable (True) or lost (False, with the error a person can read)."""
        ...


@dataclass(frozen=True)
class SourceAddress:
    """A tag's address at its source and how often it should be sampled (0: as the connector decides)."""

    address: str
    sampling_ms: int = 0


class Coordinator(ABC):
    """One source: connect, subscribe or poll, hand readings on; on loss back off with jitter and reconnect.

    Subclasses implement `session` (connect and stream until stopped or the source is lost: raise
    `SourceError`) and `probe` (connect once and say what is there, for "test connection").
    """

    kind: ClassVar[str]
    config_schema: ClassVar[type[BaseModel]]

    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def __init__(self, code: str, config: BaseModel, addresses: list[SourceAddress], intake: Intake,
                 secret: str | None = None) -> None:
        self.code = code
        self.config = config
        self.addresses = addresses
        self.intake = intake
        self.secret = secret
        self._stop = asyncio.Event()
        self._lost_logged = False

    @classmethod
    def parse_config(cls, raw: dict[str, Any]) -> BaseModel:
        return cls.config_schema.model_validate(raw)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()

    async def wait_stopped(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True when asked to stop meanwhile."""
        try:
            await asyncio.wait_for(self._stop.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def run(self) -> None:
        """Run until stopped, reconnecting after every loss."""
        delay = self.initial_backoff_s
        while not self.stopping:
            try:
                await self.session()
                delay = self.initial_backoff_s
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of a session means "lost"; logged once
                message = str(exc) or type(exc).__name__
                self.intake.connected(False, message)
                if not self._lost_logged:
                    log.warning("connector %s lost its source: %s; reconnecting", self.code, message)
                    self._lost_logged = True
            if self.stopping:
                break
            # Full jitter: a plant of connectors that lost one switch does not reconnect in lockstep.
            if await self.wait_stopped(random.uniform(delay / 2, delay)):
                break
            delay = min(delay * 2, self.max_backoff_s)
        self.intake.connected(False, None)

    def mark_connected(self) -> None:
        """Call when the source answers: health shows it, and a lost source is logged as back once."""
        if self._lost_logged:
            log.info("connector %s is connected again", self.code)
            self._lost_logged = False
        self.intake.connected(True, None)

    @abstractmethod
    async def session(self) -> None:
        """Connect and stream until `stopping` (return) or the source is lost (raise)."""

    @abstractmethod
    async def probe(self) -> dict[str, Any]:
        """Connect once, read what is there, disconnect; a short summary for the "test connection" button.
        Raise `SourceError` with a readable reason when it fails."""
