"""The OPC UA coordinator: one subscription per session, monitoring every tag at its sampling interval.

Each tag's address is a node id string; one that is not a node id, or that the server refuses to monitor
(unknown node, no access), is quarantined with its reason and left out. A session connects, creates the
subscription (publishing interval from the settings, sampling per tag from its `sampling_ms`, else the
default) and hands the changes to the intake in batches: collected as publish responses arrive, handed on
every 50 ms or every 1,000 changes. A reading keeps the node id as the tag has it and the source timestamp
(else the server's, else when it was received). The session ends with `SourceError` as soon as the
connection is lost (closed at once; a server that hangs within the watchdog interval): the base loop reports
the connector lost and reconnects with backoff, and the next session creates the subscription anew.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

from synfab.connect.opcua.client import MonitoredTag, OpcUaClient, parse_node_id
from synfab.connect.opcua.config import Credentials, OpcUaConfig
from synfab.connect.runtime import Coordinator, Intake, Reading, SourceAddress, SourceError

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.05
FLUSH_AT = 1000
PROBE_VALUES = 20


def credentials_of(secret: str | None) -> Credentials:
    try:
        return Credentials.from_secret(secret)
    except ValueError as exc:
        raise SourceError(f"the connector's secret cannot be read: {exc}") from exc


class OpcUaCoordinator(Coordinator):
    """One OPC UA server, subscribed to."""

    kind: ClassVar[str] = "opcua"
    config_schema: ClassVar[type[OpcUaConfig]] = OpcUaConfig
    config: OpcUaConfig

    def __init__(self, code: str, config: OpcUaConfig, addresses: list[SourceAddress], intake: Intake,
                 secret: str | None = None) -> None:
        super().__init__(code, config, addresses, intake, secret)
        self.tags: list[MonitoredTag] = []
        self._bad: list[tuple[str, str]] = []
        self._refused_reported: set[str] = set()
        seen: set[str] = set()
        for source in addresses:
            if source.address in seen:
                continue
            seen.add(source.address)
            try:
                node_id = parse_node_id(source.address)
            except ValueError as exc:
                self._bad.append((source.address, str(exc)))
                continue
            self.tags.append(MonitoredTag(source.address, node_id,
                                          source.sampling_ms or config.sampling_interval_ms))
        self._pending: list[Reading] = []

    def _client(self) -> OpcUaClient:
        return OpcUaClient(self.config, credentials_of(self.secret))

    def _report_bad_addresses(self) -> None:
        for text, error in self._bad:
            log.warning("connector %s: tag address %r left out: %s", self.code, text, error)
            self.intake.quarantine("opcua_bad_address", error, text)
        self._bad = []

    def _report_refused(self, refused: list[tuple[str, str]]) -> None:
        for address, reason in refused:
            if address in self._refused_reported:
                continue
            self._refused_reported.add(address)
            log.warning("connector %s: the server does not monitor %s: %s", self.code, address, reason)
            self.intake.quarantine("opcua_node_refused", f"the server refused to monitor it: {reason}",
                                   address)

    # -- the session ---------------------------------------------------------------------------------

    async def session(self) -> None:
        self._report_bad_addresses()
        client = self._client()
        self._pending = []
        try:
            await client.connect()
            if self.tags:
                refused = await client.subscribe(self.tags, self._collect, self.config.publishing_interval_ms)
                self._report_refused(refused)
            self.mark_connected()
            while not self.stopping:
                if await self.wait_stopped(FLUSH_EVERY_S):
                    break
                self._flush()
                lost = client.lost
                if lost:
                    raise SourceError(lost)
        finally:
            self._flush()
            await client.disconnect()

    def _collect(self, batch: list[Reading]) -> None:
        """A publish response's changes: kept until the next flush, or handed on at once when many."""
        self._pending.extend(batch)
        if len(self._pending) >= FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.intake.readings(batch)

    # -- test connection -----------------------------------------------------------------------------

    async def probe(self) -> dict[str, Any]:
        """Connect, read the server's status and namespaces and the first tags' values, disconnect."""
        started = time.monotonic()
        client = self._client()
        try:
            await client.connect()
            summary: dict[str, Any] = {"endpoint": self.config.endpoint,
                                       "security": f"{self.config.security_mode}"
                                                   + (f" {self.config.security_policy}"
                                                      if self.config.security_mode != "None" else ""),
                                       **await client.server_summary(),
                                       "tags": len(self.tags), "bad_addresses": [t for t, _ in self._bad]}
            first = [t.address for t in self.tags[:PROBE_VALUES]]
            if first:
                readings = await client.read_values(first)
                summary["values"] = {r.address: r.value for r in readings}
                summary["bad_quality"] = [r.address for r in readings if r.quality]
            summary["elapsed_ms"] = round((time.monotonic() - started) * 1000)
            return summary
        finally:
            await client.disconnect()


async def browse(config: OpcUaConfig | dict[str, Any], secret: str | None = None,
                 node_id: str | None = None) -> list[dict[str, Any]]:
    """The children of `node_id` (default: the Objects folder) on the connector's server, for picking nodes:
    [{"node_id", "browse_name", "display_name", "node_class", "data_type", "has_children"}, ...].
    Raises `SourceError` saying why when the server cannot be browsed."""
    cfg = config if isinstance(config, OpcUaConfig) else OpcUaConfig.model_validate(config)
    if node_id:
        try:
            parse_node_id(node_id)
        except ValueError as exc:
            raise SourceError(str(exc)) from None
    client = OpcUaClient(cfg, credentials_of(secret))
    try:
        await client.connect()
        return await client.browse(node_id)
    finally:
        await client.disconnect()
