"""The plain-MQTT coordinator: subscribe to topic filters whose messages are JSON readings.

A message is `{"value": v, "timestamp": t}` or a JSON array of such objects; `t` is epoch milliseconds or
ISO-8601 (missing: the time we received it); the reading's address is the topic. What cannot be read is
quarantined with a reason code and the connector goes on.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timezone
from typing import Any, ClassVar

from synfab.connect.mqtt.client import MqttLink
from synfab.connect.mqtt.config import MqttConfig
from synfab.connect.runtime import GOOD, Coordinator, Intake, Reading, SourceAddress, SourceError


class PayloadRejected(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _timestamp(raw: Any, received_ms: int, max_future_ms: int) -> int:
    if raw is None:
        return received_ms
    if isinstance(raw, bool):
        raise PayloadRejected("bad_timestamp", f"timestamp {raw!r} is not a time")
    if isinstance(raw, int | float):
        if not math.isfinite(raw) or raw < 0:
            raise PayloadRejected("bad_timestamp", f"timestamp {raw!r} is not a time")
        ts = int(raw)
    elif isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise PayloadRejected(
                "bad_timestamp", f"timestamp {raw!r} is neither epoch ms nor ISO-8601"
            ) from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)  # a sender without a zone is taken as UTC
        ts = int(parsed.timestamp() * 1000)
    else:
        raise PayloadRejected("bad_timestamp", f"timestamp {raw!r} is not a time")
    if ts - received_ms > max_future_ms:
        raise PayloadRejected("future_timestamp", f"timestamp {ts} is more than {max_future_ms} ms ahead")
    return ts


def parse_json_readings(
    topic: str, payload: bytes, received_ms: int, max_future_ms: int = 86_400_000
) -> list[Reading]:
    """The readings in one message; `PayloadRejected` (with its reason code) when any part is unreadable."""
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadRejected("malformed_json", f"{topic}: {exc}") from exc
    items = doc if isinstance(doc, list) else [doc]
    readings = []
    for item in items:
        if not isinstance(item, dict) or "value" not in item:
            raise PayloadRejected("wrong_type", f'{topic}: expected {{"value": ..., "timestamp": ...}}')
        value = item["value"]
        if isinstance(value, dict | list) or (isinstance(value, float) and not math.isfinite(value)):
            raise PayloadRejected("wrong_type", f"{topic}: value of type {type(value).__name__}")
        readings.append(
            Reading(topic, _timestamp(item.get("timestamp"), received_ms, max_future_ms), value, GOOD)
        )
    return readings


class MqttCoordinator(Coordinator):
    """One broker; JSON readings from the configured topic filters."""

    kind: ClassVar[str] = "mqtt"
    config_schema: ClassVar[type[MqttConfig]] = MqttConfig
    config: MqttConfig

    def __init__(
        self,
        code: str,
        config: MqttConfig,
        addresses: list[SourceAddress],
        intake: Intake,
        secret: str | None = None,
    ) -> None:
        super().__init__(code, config, addresses, intake, secret)

    def _link(self, client_id: str) -> MqttLink:
        cfg = self.config
        return MqttLink(
            cfg.broker_url,
            client_id,
            self._message,
            username=cfg.username,
            password=self.secret,
            ca_file=cfg.tls.ca_file if cfg.tls else None,
            tls_insecure=bool(cfg.tls and cfg.tls.insecure),
            keepalive_s=cfg.keepalive_s,
        )

    def _message(self, topic: str, payload: bytes, received_ms: int) -> None:
        """On paho's thread: read the message, hand it on or put it aside."""
        try:
            batch = parse_json_readings(topic, payload, received_ms, self.config.max_future_ms)
        except PayloadRejected as exc:
            self.intake.quarantine(exc.reason, str(exc), payload)
            return
        self.intake.readings(batch)

    async def session(self) -> None:
        try:
            link = self._link(self.config.client_id)
        except ValueError as exc:
            raise SourceError(str(exc)) from exc
        try:
            await link.connect()
            await link.subscribe(self.config.topics, self.config.qos)
            self.mark_connected()
            await link.wait_lost(self._stop)
        finally:
            link.close()

    async def probe(self) -> dict[str, Any]:
        """Connect (with a client id of its own, not to kick the running connector off) and subscribe."""
        started = time.monotonic()
        try:
            link = MqttLink(
                self.config.broker_url,
                f"{self.config.client_id}-probe",
                lambda *_: None,
                username=self.config.username,
                password=self.secret,
                ca_file=self.config.tls.ca_file if self.config.tls else None,
            )
        except ValueError as exc:
            raise SourceError(str(exc)) from exc
        try:
            await link.connect()
            await link.subscribe(self.config.topics, self.config.qos)
            return {
                "broker": str(link.broker),
                "topics": self.config.topics,
                "elapsed_ms": round((time.monotonic() - started) * 1000),
            }
        finally:
            link.close()
