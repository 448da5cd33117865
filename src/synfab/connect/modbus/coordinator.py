"""The Modbus TCP coordinator: poll a device's tags in as few block reads as the limits allow.

Each tag's address (see `address`) is parsed once; one that cannot be read is quarantined with its reason
and left out, the rest are polled. Addresses are grouped by their polling interval (the tag's `sampling_ms`,
else `poll_interval_ms`) and each group is planned into block reads. Every poll hands one batch of readings,
all stamped with the poll's start time, to the intake.

A device that answers a read with a Modbus exception ("no such address") has that read put aside: a joined
read is first split value by value so only the values that really cannot be read are quarantined; the rest
keeps polling. They are tried again on the next connection. A device that does not answer within
timeout x (retries + 1) ends the session with `SourceError`: the base loop reports the connector lost
(the equipment shows offline) and reconnects with backoff; the first answer after that reports it back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from synfab.connect.modbus.address import (
    AddressError,
    Block,
    ModbusAddress,
    parse_address,
    plan_blocks,
    split_block,
)
from synfab.connect.modbus.client import BlockRefused, ModbusClient
from synfab.connect.modbus.config import ModbusConfig
from synfab.connect.runtime import BAD, GOOD, Coordinator, Intake, Reading, SourceAddress, SourceError, now_ms

log = logging.getLogger(__name__)


@dataclass
class PollGroup:
    """Tags polled at the same interval, as block reads, and when they are next due (monotonic seconds)."""

    interval_s: float
    blocks: list[Block]
    due: float = 0.0
    put_aside: list[Block] = field(default_factory=list)


class ModbusCoordinator(Coordinator):
    """One Modbus TCP device (or gateway with several units), polled."""

    kind: ClassVar[str] = "modbus"
    config_schema: ClassVar[type[ModbusConfig]] = ModbusConfig
    config: ModbusConfig

    def __init__(self, code: str, config: ModbusConfig, addresses: list[SourceAddress], intake: Intake,
                 secret: str | None = None) -> None:
        super().__init__(code, config, addresses, intake, secret)
        # Parsed once: each address with the tag address strings as configured (several tags may share one).
        self._parsed: dict[ModbusAddress, list[str]] = {}
        self._bad: list[tuple[str, str]] = []
        self._bad_reported = False
        for source in addresses:
            try:
                self._parsed.setdefault(parse_address(source.address), []).append(source.address)
            except AddressError as exc:
                self._bad.append((source.address, str(exc)))

    def _report_bad_addresses(self) -> None:
        if self._bad_reported:
            return
        self._bad_reported = True
        for text, error in self._bad:
            log.warning("connector %s: tag address %r left out: %s", self.code, text, error)
            self.intake.quarantine("modbus_bad_address", error, text)

    def _groups(self) -> list[PollGroup]:
        """The poll plan: one group of block reads per polling interval."""
        cfg = self.config
        by_interval: dict[int, set[ModbusAddress]] = {}
        intervals: dict[str, int] = {s.address: s.sampling_ms or cfg.poll_interval_ms for s in self.addresses}
        for parsed, texts in self._parsed.items():
            # Several tags on one address: poll it at the fastest of their intervals.
            interval = min(intervals[t] for t in texts)
            by_interval.setdefault(max(interval, 10), set()).add(parsed)
        limits = (cfg.max_block_registers, cfg.max_gap, cfg.max_block_bits)
        return [PollGroup(ms / 1000, plan_blocks(members, *limits))
                for ms, members in sorted(by_interval.items())]

    def _client(self) -> ModbusClient:
        cfg = self.config
        return ModbusClient(cfg.host, cfg.port, cfg.timeout_s, cfg.retries)

    async def session(self) -> None:
        self._report_bad_addresses()
        client = self._client()
        try:
            await client.connect()
            groups = self._groups()
            if not groups:
                # Nothing to poll: the device is reachable, that is all there is to say.
                self.mark_connected()
                await self._stop.wait()
                return
            answered = False
            loop = asyncio.get_running_loop()
            while not self.stopping:
                now = loop.time()
                for group in groups:
                    if group.due > now:
                        continue
                    batch = await self._poll(client, group)
                    if not answered:
                        answered = True
                        self.mark_connected()
                    if batch:
                        self.intake.readings(batch)
                    # Fixed rate; a poll that overran its interval is not caught up with a burst.
                    group.due = max((group.due or now) + group.interval_s, loop.time())
                next_due = min(g.due for g in groups)
                if await self.wait_stopped(max(0.0, next_due - loop.time())):
                    return
        finally:
            client.close()

    async def _poll(self, client: ModbusClient, group: PollGroup) -> list[Reading]:
        """Read every block of the group once; values of refused reads are put aside, the rest returned."""
        ts = now_ms()
        batch: list[Reading] = []
        pending = list(group.blocks)
        while pending:
            block = pending.pop(0)
            try:
                raw = await client.read_block(block.unit, block.table, block.start, block.count)
            except BlockRefused as exc:
                if not exc.permanent:
                    log.debug("connector %s: %s", self.code, exc)
                    continue
                if len(block.addresses) > 1:
                    parts = split_block(block)
                    group.blocks[group.blocks.index(block):group.blocks.index(block) + 1] = parts
                    pending[:0] = parts
                    continue
                self._put_aside(group, block, exc)
                continue
            for address, value in block.values(raw):
                for text in self._parsed[address]:
                    batch.append(Reading(text, ts, value, GOOD if value is not None else BAD))
        return batch

    def _put_aside(self, group: PollGroup, block: Block, exc: BlockRefused) -> None:
        group.blocks.remove(block)
        group.put_aside.append(block)
        texts = [t for a in block.addresses for t in self._parsed[a]]
        log.warning("connector %s: %s; tags %s are not polled until the next connection", self.code, exc,
                    ", ".join(texts))
        self.intake.quarantine(f"modbus_{exc.reason}", f"{exc}; tags: {', '.join(texts)}", "\n".join(texts))

    async def probe(self) -> dict[str, Any]:
        """Connect, read the first block of the plan, and say what was found."""
        started = time.monotonic()
        client = self._client()
        try:
            await client.connect()
            groups = self._groups()
            blocks = [b for g in groups for b in g.blocks]
            summary: dict[str, Any] = {
                "endpoint": client.where, "tags": sum(len(t) for t in self._parsed.values()),
                "bad_addresses": [text for text, _ in self._bad], "blocks": len(blocks)}
            if blocks:
                first = blocks[0]
                try:
                    raw = await client.read_block(first.unit, first.table, first.start, first.count)
                except BlockRefused as exc:
                    raise SourceError(f"Modbus device {client.where} refused {exc}") from exc
                summary["first_block"] = str(first)
                summary["values"] = {t: v for a, v in first.values(raw) for t in self._parsed[a]}
            summary["elapsed_ms"] = round((time.monotonic() - started) * 1000)
            return summary
        finally:
            client.close()
